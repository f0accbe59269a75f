package cli_test

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/logfile"
)

// "sithseid diag" with a card inserted: the archive has the reader, the
// card (personal number masked), the configuration and the logs (scrubbed),
// and no PIN, PUK or unmasked personal number. The flows that handle the
// PIN and PUK are in app's TestDiagnosticsHoldNoSecrets.
func TestDiagCLI(t *testing.T) {
	card := insert(t, 0, testpki.CardSpec{})
	e := newConfigEnv(t, `{"logLevel": "debug"}`)
	state := filepath.Join(t.TempDir(), "state")
	logDir := filepath.Join(state, "sithseid", "log")
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		t.Fatal(err)
	}
	// A log line written by something that did not mask: diag must.
	if err := os.WriteFile(filepath.Join(logDir, logfile.LogFileName), []byte("holder "+testpki.DefaultPersonalNumber+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"LANG": "en_US.UTF-8", "XDG_CONFIG_HOME": e.home, "XDG_STATE_HOME": state}
	out := filepath.Join(t.TempDir(), "diag.zip")
	r := sithseidEnv(t, env, "diag", "--out", out)
	wantCode(t, r, 0)
	wantIn(t, r.stdout, out)
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files := map[string]string{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = string(b)
	}
	for _, secret := range []string{vcard.DefaultPIN, vcard.DefaultPUK, testpki.DefaultPersonalNumber} {
		for name, body := range files {
			if strings.Contains(body, secret) {
				t.Errorf("%s holds %q", name, secret)
			}
		}
	}
	wantIn(t, files["readers.json"], card.Reader)
	wantIn(t, files["status.json"], `"personalNumber": "19900101-XXXX"`)
	wantIn(t, files["status.json"], testpki.DefaultHSAID)
	wantIn(t, files["config.json"], `"source": "policy"`)
	wantIn(t, files["logs/"+logfile.LogFileName], "holder 19900101-XXXX")
	wantIn(t, files["summary.json"], `"version": "test"`)

	wantCode(t, sithseidEnv(t, env, "diag"), 2) // --out is required
}
