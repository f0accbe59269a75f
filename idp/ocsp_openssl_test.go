package idp

import (
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// openssl ocsp, an independent client, queries the responder over HTTPS
// and verifies its answers, signed by the CA and by a delegated responder.
func TestOCSPWithOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		testenv.Missing(t, "openssl not installed")
	}
	for _, delegated := range []bool{false, true} {
		name := "ca-signed"
		if delegated {
			name = "delegated"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.OCSPDelegated = delegated })
			card, err := f.pki.IssueCard(testpki.CardSpec{HSAID: "SE2321000016-0777"})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			write := func(name string, b []byte) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, b, 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			root := write("root.pem", f.pki.Root.CertPEM())
			issuer := write("issuer.pem", f.pki.HSAPersonCA.CertPEM())
			cert := write("cert.pem", card.HSAAuth.CertPEM())
			query := func() string {
				t.Helper()
				out, err := exec.Command("openssl", "ocsp", "-issuer", issuer, "-cert", cert,
					"-url", f.ts.URL+ocspPath, "-CAfile", root, "-no_nonce").CombinedOutput()
				if err != nil {
					t.Fatalf("openssl ocsp: %v\n%s", err, out)
				}
				return string(out)
			}
			if out := query(); !strings.Contains(out, "Response verify OK") || !strings.Contains(out, cert+": good") {
				t.Fatalf("openssl ocsp:\n%s", out)
			}
			f.srv.Revoke(card.HSAAuth.Cert.SerialNumber)
			if out := query(); !strings.Contains(out, "Response verify OK") || !strings.Contains(out, cert+": revoked") {
				t.Fatalf("openssl ocsp after Revoke:\n%s", out)
			}
		})
	}
}
