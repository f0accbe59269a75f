package app_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/oob"
)

// TestLoginVerifiesOnce (issue 17): a login whose TLS session resumes
// presents the PIN to the card once, in the session that signs the
// challenge (PIV: VERIFY then GENERAL AUTHENTICATE; IDPrime: VERIFY then
// MSE SET and PSO), and reads no certificate again: the signer's public
// key comes from the certificate read with the card's identity. It was a
// VERIFY of its own (with a tries read) before the signer, the login
// certificate read again, and a second VERIFY in the signature's session.
func TestLoginVerifiesOnce(t *testing.T) {
	for _, tc := range []struct {
		k     cardkind.Kind
		apdus int
	}{
		// Open (SELECT, the PIN's and PUK's tries) and the signature's
		// session (PIV: SELECT, VERIFY, GENERAL AUTHENTICATE chained in
		// two and its GET RESPONSE for an RSA-2048 key; IDPrime:
		// SELECT, the key references file (SELECT FILE, READ BINARY),
		// VERIFY, MSE SET, PSO HASH, PSO COMPUTE DIGITAL SIGNATURE).
		{cardkind.PIV, 8},
		{cardkind.IDPrime, 10},
	} {
		t.Run(tc.k.Name, func(t *testing.T) {
			waitEmpty(t, rig.Require(t).Reader(0))
			tr := &agenttest.SyncBuffer{}
			card := tc.k.Insert(t, 0, testpki.CardSpec{}, vcard.RunOptions{Trace: tr})
			is := agenttest.StartIdentityService(t, idp.Options{}, rpKey)
			env := agenttest.DemoEnvironment(t, is.URL)
			svc := agenttest.Service(t, tc.k)
			login := func() *app.LoginResult {
				t.Helper()
				o, err := is.RP.Auth(context.Background(), "127.0.0.1", "Logga in", "")
				if err != nil {
					t.Fatal(err)
				}
				res, err := svc.Login(context.Background(), app.LoginRequest{Link: oob.AutoStartURL(o.AutoStartToken, ""), Env: env, Prompt: pinPrompt(vcard.DefaultPIN)})
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			login() // the TLS session the next one resumes
			tr.Reset()
			before := card.Server.Stats().APDUs
			if res := login(); !res.TLSResumed {
				t.Fatalf("the second login did not resume TLS: %+v", res)
			}
			trace := tr.String()
			// A VERIFY that presents a PIN (an empty one reads the tries).
			presented := regexp.MustCompile(`ins=20 p1p2=00[0-9A-F]{2} VERIFY capdu=([6-9]|[1-9][0-9])`).FindAllString(trace, -1)
			if len(presented) != 1 {
				t.Errorf("the PIN was presented %d times, want once:\n%s", len(presented), trace)
			}
			if strings.Contains(trace, "GET_DATA") && tc.k.Name == cardkind.PIV.Name {
				t.Errorf("a certificate was read again:\n%s", trace)
			}
			n := card.Server.Stats().APDUs - before
			t.Logf("a resumed login: %d APDUs", n)
			if n > int64(tc.apdus) {
				t.Errorf("a resumed login: %d APDUs, want at most %d:\n%s", n, tc.apdus, trace)
			}
		})
	}
}
