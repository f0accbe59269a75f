package cli_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/nginxtest"
	"github.com/sithseid/sithseid/internal/testpki"
	"github.com/sithseid/sithseid/oob"
)

// openscModule is Debian's OpenSC PKCS#11 module: the path real SITHS
// cards take (OpenSC's idprime driver, or Thales SAC's module elsewhere).
const openscModule = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"

// Login and mutual TLS through the PKCS#11 backend, OpenSC's module in
// front of the virtual card: RSA and ECC, TLS 1.3 and 1.2, and a whole
// out-of-band login, as a real SITHS card would do them.
func TestPKCS11BackendLoginAndTLSCheck(t *testing.T) {
	if _, err := os.Stat(openscModule); err != nil {
		t.Fatalf("OpenSC's module: %v (scripts/setup installs opensc)", err)
	}
	p11 := []string{"--backend", "pkcs11", "--pkcs11-module", openscModule}
	pki, err := testpki.New(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ngx := nginxtest.Start(t, nginxtest.PKIOptions(t, pki))
	for _, key := range []testpki.KeyType{testpki.RSA2048, testpki.P256} {
		t.Run(string(key), func(t *testing.T) {
			insert(t, 0, testpki.CardSpec{Key: key})
			for _, v := range []struct {
				flag, proto string
			}{{"", "TLS 1.3"}, {"--tls12", "TLS 1.2"}} {
				args := append([]string{"tls-check", ngx.URL, "--env", "DEMO", "--pin-stdin"}, p11...)
				if v.flag != "" {
					args = append(args, v.flag)
				}
				r := en(t, "123456\n", args...)
				wantCode(t, r, 0)
				wantIn(t, r.stdout, v.proto)
				wantIn(t, r.stdout, testpki.DefaultHSAID)
			}
			s := startIDP(t)
			o := s.order(t, "Logga in")
			r := s.login(t, "123456\n", oob.AutoStartURL(o.AutoStartToken, ""), p11...)
			wantCode(t, r, 0)
			if c := s.collect(t, o); c.Status != oob.StatusComplete || c.CompletionData.User.HSAID != testpki.DefaultHSAID {
				t.Fatalf("collect: %+v", c)
			}
		})
	}
}

// tls-check with no --env uses the environment in effect, with the trust
// anchors policy gives it: a helpdesk check on a managed PC needs no flags.
func TestTLSCheckPolicyEnvironment(t *testing.T) {
	insert(t, 0, testpki.CardSpec{})
	pki, err := testpki.New(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ngx := nginxtest.Start(t, nginxtest.PKIOptions(t, pki))
	anchors := filepath.Join(t.TempDir(), "anchors.pem")
	if err := os.WriteFile(anchors, pki.Root.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newConfigEnv(t, `{"environment": "TEST", "allowEnvironmentSwitch": false, "language": "en",
		"environments": {"TEST": {"serviceURL": "https://127.0.0.1:1", "trustAnchorsFile": "`+anchors+`"}}}`)
	r := sithseidEnvIn(t, e, "123456\n", "tls-check", ngx.URL, "--pin-stdin")
	wantCode(t, r, 0)
	wantIn(t, r.stdout, testpki.DefaultHSAID)

	// Locked to TEST: another environment by name is refused before the PIN.
	r = sithseidEnvIn(t, e, "123456\n", "tls-check", ngx.URL, "--pin-stdin", "--env", "DEMO")
	wantCode(t, r, cli.ExitConfirm)
	wantIn(t, r.stderr, "locked")
	if c := onlyCard(t, status(t)); c.PIN.Retries != 3 {
		t.Fatalf("PIN: %+v", c.PIN)
	}
}
