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
// The opening session reads the PIN's tries only, the count the prompt
// shows (cardreader.WithTriesOf): not the PUK's, nor an IDPrime card's
// signature PIN's. It read every count: PIV 8 APDUs, IDPrime 10, an
// IDPrime card with a signature PIN 11; now 7, 9 and 9.
func TestLoginVerifiesOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		k       cardkind.Kind
		signing bool // an IDPrime card with a signature PIN
		apdus   int
	}{
		// Open (SELECT, the PIN's tries) and the signature's session
		// (PIV: SELECT, VERIFY, GENERAL AUTHENTICATE chained in two and
		// its GET RESPONSE for an RSA-2048 key; IDPrime: SELECT, the
		// key references file (SELECT FILE, READ BINARY), VERIFY, MSE
		// SET, PSO HASH, PSO COMPUTE DIGITAL SIGNATURE).
		{"piv", cardkind.PIV, false, 7},
		{"idprime", cardkind.IDPrime, false, 9},
		{"idprime two PINs", cardkind.IDPrime, true, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			waitEmpty(t, rig.Require(t).Reader(0))
			tr := &agenttest.SyncBuffer{}
			card := rig.Require(t).InsertCard(t, 0, tc.k.Provision(vcard.ProvisionOptions{
				Dir: t.TempDir(), Spec: testpki.CardSpec{}, WithSigning: tc.signing,
			}), vcard.RunOptions{Trace: tr})
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
			// The tries read: PIV with GET METADATA, IDPrime with an
			// empty VERIFY (capdu 4). The PIN's only, once.
			if m := triesReads.FindAllString(trace, -1); len(m) != 1 {
				t.Errorf("%d tries read, want the PIN's only:\n%s", len(m), trace)
			}
			n := card.Server.Stats().APDUs - before
			t.Logf("a resumed login: %d APDUs\n%s", n, trace)
			if n > int64(tc.apdus) {
				t.Errorf("a resumed login: %d APDUs, want at most %d:\n%s", n, tc.apdus, trace)
			}
		})
	}
}

// triesReads finds the reads of a count in a virtual card's trace: PIV's
// GET METADATA, IDPrime's empty VERIFY (capdu 4: no data).
var triesReads = regexp.MustCompile(`GET_METADATA|VERIFY capdu=4 `)
