package winelane_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/exitcode"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/oob"
)

// A login with the card from the Windows command line, PIN on standard
// input: the relying party (the reference identity service, DEMO, in this
// process) sees the order complete; then tls-check against the same
// service. DEMO is turned on the way an
// administrator does it: policy's allowDemo under HKLM (the release build
// refuses DEMO without it, exit 16, checked first).
func TestWindowsCLILoginAndTLSCheck(t *testing.T) {
	l := newLane(t)
	p := rig.Require(t)
	p.InsertCard(t, 0, vcard.ProvisionOptions{Kind: vcard.KindIDPrime}, vcard.RunOptions{})
	is := agenttest.StartIdentityService(t, idp.Options{}, "winelane-relying-party-key")
	env := l.env("SITHSEID_NO_AGENT=1")
	order := func() *oob.AuthResponse {
		t.Helper()
		o, err := is.RP.Auth(context.Background(), "127.0.0.1", "Logga in", "")
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	login := func(o *oob.AuthResponse) result {
		t.Helper()
		return l.run(t, env, vcard.DefaultPIN+"\n", "login", oob.AutoStartURL(o.AutoStartToken, ""), "--pin-stdin", "--env", "DEMO", "--service", is.URL)
	}

	const policy = `HKLM\Software\Policies\SITHS eID`
	if r := login(order()); r.code != exitcode.EnvironmentOff {
		t.Errorf("DEMO without allowDemo: exit %d, want %d\n%s%s", r.code, exitcode.EnvironmentOff, r.stdout, r.stderr)
	}
	if out, code := l.wine(t, "reg", "add", policy, "/v", "allowDemo", "/t", "REG_DWORD", "/d", "1", "/f"); code != 0 {
		t.Fatalf("reg add allowDemo: exit %d %s", code, out)
	}
	t.Cleanup(func() {
		if out, code := l.wine(t, "reg", "delete", policy, "/f"); code != 0 {
			t.Errorf("reg delete: exit %d %s", code, out)
		}
	})
	o := order()
	if r := login(o); r.code != exitcode.OK {
		t.Fatalf("login: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	c, err := is.RP.Collect(context.Background(), o.OrderRef)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != oob.StatusComplete {
		t.Errorf("the relying party sees %q, want %q", c.Status, oob.StatusComplete)
	}

	// tls-check: one mutual-TLS call to the identity service with the
	// card's login key (the client certificate from the card, the key's
	// signature made on it through the bridge).
	r := l.run(t, env, vcard.DefaultPIN+"\n", "tls-check", is.URL, "--env", "DEMO", "--pin-stdin")
	if r.code != exitcode.OK || !strings.Contains(r.stdout, "200 ") {
		t.Errorf("tls-check: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
