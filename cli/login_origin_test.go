package cli_test

import (
	"context"
	"testing"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/oob"
)

func (s *service) orderFrom(t *testing.T, ip string, strict bool) *oob.AuthResponse {
	t.Helper()
	o, err := s.RP.StartOrder(context.Background(), oob.AuthRequest{EndUserIP: ip, UserVisibleData: oob.Base64("Logga in"), RequireEndUserIPMatch: strict})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// The CLI says where a login was started and whose login to approve; one
// the identity service saw started on another computer is a warning, and
// one it refused for that is a plain sentence, the login-cancelled exit
// code, and no PIN tried.
func TestLoginOrigin(t *testing.T) {
	insert(t, 0, testpki.CardSpec{})
	s := startIDP(t)

	o := s.orderFrom(t, "127.0.0.1", true)
	r := s.login(t, "123456\n", oob.AutoStartURL(o.AutoStartToken, ""))
	wantCode(t, r, 0)
	wantIn(t, r.stderr, "Startad i webbläsaren på den här datorn (127.0.0.1).")
	wantIn(t, r.stderr, "Logga bara in om du själv just startade inloggningen.")

	o = s.orderFrom(t, "192.0.2.7", false)
	r = sithseid(t, "en_US.UTF-8", "123456\n", "login", oob.AutoStartURL(o.AutoStartToken, ""), "--pin-stdin", "--env", "DEMO", "--service", s.URL)
	wantCode(t, r, 0)
	wantIn(t, r.stderr, "Warning: this login seems to have been started on another computer (address 192.0.2.7)")
	wantIn(t, r.stderr, "press Ctrl+C")

	o = s.orderFrom(t, "192.0.2.7", true)
	r = s.login(t, "123456\n", oob.AutoStartURL(o.AutoStartToken, ""))
	wantCode(t, r, cli.ExitLoginCanceled)
	wantIn(t, r.stderr, "Inloggningen stoppades: den startades på en annan dator än den här.")
	if c := onlyCard(t, status(t)); c.PIN.Retries != 3 {
		t.Fatalf("PIN tries after the refusal: %+v", c.PIN)
	}
	if c := s.collect(t, o); c.Status != oob.StatusFailed || c.HintCode != oob.HintEndUserIPMismatch {
		t.Fatalf("refused order: %+v", c)
	}
}
