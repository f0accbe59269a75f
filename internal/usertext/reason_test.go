package usertext

import (
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sithseid/sithseid/diag"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/localsocket"
	"github.com/sithseid/sithseid/mtls"
)

// Errors that used to read as something else (a wrong clock as "not
// trusted", another user's socket as "not running", a bad output path as
// "could not reach the server") say their real reason.
func TestExplainRealReason(t *testing.T) {
	now := time.Date(2031, 1, 2, 3, 4, 0, 0, time.Local)
	clock := &mtls.ServerCertificateTimeError{
		Host: "idp.example", Now: now,
		NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.AddDate(-1, 0, 0),
		Err: x509Expired{},
	}
	for _, tc := range []struct {
		err    error
		class  Class
		sv, en []string
		not    []string
	}{
		{fmt.Errorf("login: %w", &net.OpError{Op: "remote error", Err: clock}), Service,
			[]string{"datorns klocka", "2031-01-02 03:04", "datum, tid och tidszon"},
			[]string{"this computer's clock", "2031-01-02 03:04", "date, time and time zone"},
			[]string{"tillitsankare", "trust anchors", "nå servern", "reach the server"}},
		{fmt.Errorf("connecting: %w", &localsocket.NotOwnerError{Path: "/tmp/sithseid-1000", UID: 1001, Want: 1000}), Failure,
			[]string{"annan användare", "/tmp/sithseid-1000", "Logga ut och in"},
			[]string{"another user", "/tmp/sithseid-1000", "Log out and in"},
			[]string{"körs inte", "not running"}},
		{&diag.OutputError{Path: "/nope/d.zip", Err: fmt.Errorf("writing /nope/d.zip: %w", &os.PathError{Op: "open", Path: "/nope/.d.zip-1", Err: syscall.ENOENT})}, Failure,
			[]string{"/nope/d.zip", "mappen finns inte"},
			[]string{"/nope/d.zip", "folder does not exist"},
			[]string{"nå servern", "reach the server"}},
		{&diag.OutputError{Path: "/ro/d.zip", Err: &os.PathError{Op: "open", Path: "/ro/.d.zip-1", Err: syscall.EROFS}}, Failure,
			[]string{"/ro/d.zip", "skrivskyddad"},
			[]string{"/ro/d.zip", "read-only"},
			[]string{"nå servern", "reach the server"}},
		{&diag.OutputError{Path: "/x/d.zip", Err: &os.PathError{Op: "open", Path: "/x/.d.zip-1", Err: syscall.EACCES}}, Failure,
			[]string{"/x/d.zip", "behörighet"},
			[]string{"/x/d.zip", "permission"},
			nil},
	} {
		for _, lang := range []l10n.Lang{l10n.Swedish, l10n.English} {
			c := l10n.MustLoad(lang)
			msg, hint, class := Explain(c, tc.err)
			if class != tc.class {
				t.Errorf("%s %v: class %d, want %d", lang, tc.err, class, tc.class)
			}
			text := msg + " " + hint
			if strings.Contains(text, "err.") || strings.Contains(text, "hint.") || strings.Contains(text, "%!") {
				t.Errorf("%s %v: no sentence of its own: %q", lang, tc.err, text)
			}
			want := tc.sv
			if lang == l10n.English {
				want = tc.en
			}
			for _, w := range want {
				if !strings.Contains(text, w) {
					t.Errorf("%s %v: %q, want %q", lang, tc.err, text, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(text, n) {
					t.Errorf("%s %v: %q, must not say %q", lang, tc.err, text, n)
				}
			}
		}
	}
}

type x509Expired struct{}

func (x509Expired) Error() string { return "x509: certificate has expired or is not yet valid" }
