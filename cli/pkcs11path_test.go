package cli_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/nginxtest"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/oob"
)

// A PIV card through OpenSC's PKCS#11 module: OpenSC's PIV driver, with an
// ECC P-256 key, which the card kinds (cardkind: the IDPrime card through
// OpenSC is RSA only) do not cover. Status, a PIN change and a wrong PIN
// (the PIV backend sees the same counter), the unblock OpenSC cannot do
// on a PIV card ("no PUK" rather than an obscure failure), mutual TLS 1.3
// and 1.2 against nginx, and a whole out-of-band login. PIV only: the
// point is OpenSC's PIV driver.
func TestPKCS11PIVP256ThroughOpenSC(t *testing.T) {
	if _, err := os.Stat(cardkind.OpenSCModule); err != nil {
		testenv.Missing(t, "no PKCS#11 module %s (scripts/setup installs opensc)", cardkind.OpenSCModule)
	}
	p11 := kindCLI{cardkind.Kind{Preference: cardreader.PreferPKCS11, Module: cardkind.OpenSCModule}}
	pki, err := testpki.New(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ngx := nginxtest.Start(t, nginxtest.PKIOptions(t, pki))
	insert(t, 0, testpki.CardSpec{Key: testpki.P256})

	c := onlyCard(t, p11.status(t))
	if c.Backend != cardreader.BackendPKCS11 || c.Holder.HSAID != testpki.DefaultHSAID || c.PIN.Retries != 3 {
		t.Fatalf("status through PKCS#11: %+v", c)
	}
	login := 0
	for _, ct := range c.Certificates {
		if ct.Login {
			login++
		}
	}
	if len(c.Certificates) != 4 || login != 1 {
		t.Fatalf("certificates through PKCS#11: %+v", c.Certificates)
	}

	for _, v := range []struct {
		flag, proto string
	}{{"", "TLS 1.3"}, {"--tls12", "TLS 1.2"}} {
		args := []string{"tls-check", ngx.URL, "--env", "DEMO", "--pin-stdin"}
		if v.flag != "" {
			args = append(args, v.flag)
		}
		r := p11.en(t, "123456\n", args...)
		wantCode(t, r, 0)
		wantIn(t, r.stdout, v.proto)
		wantIn(t, r.stdout, testpki.DefaultHSAID)
	}
	s := startIDP(t)
	o := s.order(t, "Logga in")
	r := s.login(t, "123456\n", oob.AutoStartURL(o.AutoStartToken, ""), p11.k.Args()...)
	wantCode(t, r, 0)
	if c := s.collect(t, o); c.Status != oob.StatusComplete || c.CompletionData.User.HSAID != testpki.DefaultHSAID {
		t.Fatalf("collect: %+v", c)
	}

	wantCode(t, p11.sv(t, "123456\n24681357\n", "pin", "change", "--pin-stdin"), 0)
	r = p11.sv(t, "123456\n97531864\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, cli.ExitWrongPIN)
	wantIn(t, r.stderr, "2 försök kvar")
	// The PIV backend sees the same card and the same counter.
	if c := onlyCard(t, status(t)); c.Backend != cardreader.BackendPIV || c.PIN.Retries != 2 {
		t.Fatalf("through PIV afterwards: %+v", c)
	}
	r = p11.sv(t, "12345678\n97531864\n", "pin", "unblock", "--pin-stdin")
	wantCode(t, r, cli.ExitPUKBlocked)
	wantIn(t, r.stderr, "ingen PUK-kod")
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
