package cli_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// insList records the instruction byte of every APDU the card gets.
type insList struct {
	mu  sync.Mutex
	ins []byte
}

func (l *insList) add(ins byte) { l.mu.Lock(); l.ins = append(l.ins, ins); l.mu.Unlock() }

// take returns what was recorded since the last take, as "A4 CA ...".
func (l *insList) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := make([]string, len(l.ins))
	for i, b := range l.ins {
		s[i] = fmt.Sprintf("%02X", b)
	}
	l.ins = nil
	return strings.Join(s, " ")
}

// "sithseid certs" without an agent (a fresh service, nothing cached, the
// default backends) reads what it shows and nothing else: the card's
// identity and certificates, no PIN's or PUK's tries (it shows none), in
// one session on the IDPrime card. Counted by the virtual card, APDU by
// APDU; the figure is the peer's work that docs/performance.md compares
// with pkcs15-tool (BenchmarkInsertion, insertion_*_certs_cold_*). The
// tries are still read where they are shown: "status" right after.
func TestCertsReadsOnlyTheCertificates(t *testing.T) {
	for _, c := range []struct {
		k cardkind.Kind
		// certs: SELECT of the applet, the card ID (IDPrime: GET DATA of
		// the CPLC; PIV: the CHUID, then GET VERSION, which claims the
		// card), then the certificates (IDPrime: in the same session,
		// SELECT and READ of the index, SELECT of kxc00 and five READs;
		// PIV: the key history and six certificate slots, in a second
		// session with its SELECT, or in the same one when the backend
		// reads them while it opens the card). Any of the lists given.
		certs []string
		// tries: what status reads on top (IDPrime: an empty VERIFY of the
		// PIN, the PUK and the signature PIN; PIV: GET METADATA of the PIN
		// and the PUK).
		tries []string
	}{
		{cardkind.IDPrime, []string{"A4 CA A4 B0 A4 B0 B0 B0 B0 B0"}, []string{"20", "20", "20"}},
		{cardkind.PIV, []string{"A4 CB FD A4 CB CB CB CB CB CB CB", "A4 CB FD CB CB CB CB CB CB CB"}, []string{"F7", "F7"}},
	} {
		t.Run(c.k.Name, func(t *testing.T) {
			card := c.k.Insert(t, 0, testpki.CardSpec{}, vcard.RunOptions{})
			var l insList
			card.Server.Observe(l.add)
			t.Cleanup(func() { card.Server.Observe(nil) })

			for _, args := range [][]string{{"certs", "--json"}, {"certs"}} {
				before := card.Server.Stats().APDUs
				r := sv(t, "", args...)
				wantCode(t, r, 0)
				n := card.Server.Stats().APDUs - before
				got := l.take()
				t.Logf("%v: %d APDUs: %s", args, n, got)
				if !slices.Contains(c.certs, got) {
					t.Errorf("%v sent %d APDUs %s, want %q", args, n, got, c.certs)
				}
			}
			r := sv(t, "", "certs", "--json")
			var certs []app.CertStatus
			if err := json.Unmarshal([]byte(r.stdout), &certs); err != nil || len(certs) != c.k.Certificates {
				t.Fatalf("certs --json: %v, %d certificates, want %d\n%s", err, len(certs), c.k.Certificates, r.stdout)
			}
			_ = l.take()

			r = sv(t, "", "certs", "--export", t.TempDir())
			wantCode(t, r, 0)
			if got := l.take(); !slices.Contains(c.certs, got) {
				t.Errorf("certs --export sent %s, want %q", got, c.certs)
			}

			st := onlyCard(t, status(t))
			got := strings.Fields(l.take())
			if st.PIN.Retries != 3 || st.PUK == nil || st.PUK.Retries != 3 {
				t.Errorf("status after certs: PIN %+v, PUK %+v", st.PIN, st.PUK)
			}
			for _, ins := range c.tries {
				i := slices.Index(got, ins)
				if i < 0 {
					t.Fatalf("status read no tries (%s missing): %v", ins, got)
				}
				got = slices.Delete(got, i, i+1)
			}
		})
	}
}
