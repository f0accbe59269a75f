package diag_test

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/piv"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/diag"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/logfile"
	"github.com/sithseid/sithseid/oob"
)

// Flows that handle the test PIN and PUK run at debug level against a
// virtual card: a login, a wrong PIN, a PIN change, an unblock with the
// PUK, a status with the personal number shown. The diagnostics archive
// built afterwards holds neither the PIN nor the PUK nor the unmasked
// personal number in any file.
func TestDiagnosticsHoldNoSecrets(t *testing.T) {
	const (
		pin      = vcard.DefaultPIN // 123456
		puk      = vcard.DefaultPUK // 12345678
		pn       = testpki.DefaultPersonalNumber
		newPIN   = "246813"
		afterPUK = "135792"
	)
	f := setup(t, cardkind.PIV, testpki.CardSpec{})
	dir := t.TempDir()
	c := &configDir{dir: dir, opts: config.Options{
		PolicyFile: filepath.Join(dir, "policy.json"),
		UserFile:   filepath.Join(dir, "user", "config.json"),
	}}
	c.policy(t, `{"logLevel": "debug", "environment": "DEMO", "userMayOverride": ["environment"]}`)
	cfg := c.load(t)
	level, err := config.ParseLogLevel(cfg.Effective().LogLevel)
	if err != nil {
		t.Fatal(err)
	}
	lg, err := logfile.Open(logfile.Options{Dir: filepath.Join(dir, "log"), Level: level})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	cache := cardreader.NewIdentityCache(8)
	svc, err := app.NewService(app.Options{
		Backends: []cardreader.Backend{piv.New(piv.Options{Cache: cache})},
		Readers:  cardreader.ListReaders,
		Cache:    cache,
		Log:      lg.Logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// A login with the PIN.
	o, err := f.RP.Auth(ctx, "127.0.0.1", "Logga in", "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Login(ctx, app.LoginRequest{
		Link:    oob.AutoStartURL(o.AutoStartToken, ""),
		Env:     f.Env,
		Prompt:  agenttest.Prompts(pin, "", ""),
		Approve: func(context.Context, app.LoginApproval) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	lg.Debug("login done", "result", res)
	// A wrong PIN, then a change, then an unblock with the PUK.
	var wrong *cardreader.WrongPINError
	if err := svc.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, agenttest.Prompts("111111", newPIN, "")); !errors.As(err, &wrong) {
		t.Fatalf("wrong PIN: %v", err)
	}
	if err := svc.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, agenttest.Prompts(pin, newPIN, "")); err != nil {
		t.Fatal(err)
	}
	if err := svc.UnblockPIN(ctx, app.Selector{}, cardreader.PINIdentification, agenttest.Prompts("", afterPUK, puk)); err != nil {
		t.Fatal(err)
	}
	// A status with the personal number unmasked, logged whole: the log's
	// filter must mask it.
	st, err := svc.Status(ctx, app.StatusOptions{ShowPersonalNumber: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Cards) != 1 || st.Cards[0].Holder.PersonalNumber != pn {
		t.Fatalf("status: %+v", st.Cards)
	}
	lg.Debug("status", "status", st, "pn", st.Cards[0].Holder.PersonalNumber)

	zipPath := filepath.Join(dir, "diag.zip")
	err = diag.WriteFile(ctx, zipPath, diag.Options{
		Version:        "test",
		Config:         cfg,
		Service:        svc,
		LogFiles:       lg.File.Files(),
		PKCS11Defaults: []string{"/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(zipPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("archive: %v %v", fi, err)
	}
	files := readZip(t, zipPath)
	for _, name := range []string{"summary.json", "readers.json", "status.json", "config.json", "environment.json", "pkcs11.json", "logs/" + logfile.LogFileName} {
		if _, ok := files[name]; !ok {
			t.Errorf("archive lacks %s (has %v)", name, keys(files))
		}
	}
	for name, body := range files {
		for _, secret := range []string{pin, puk, pn, newPIN, afterPUK, "111111"} {
			if i := strings.Index(body, secret); i >= 0 {
				t.Errorf("%s holds %q: …%s…", name, secret, body[max(0, i-60):min(len(body), i+60)])
			}
		}
	}
	// The flows really were logged, and the personal number was there to
	// be masked.
	log := files["logs/"+logfile.LogFileName]
	for _, want := range []string{`"level":"DEBUG"`, "PIN changed", "PIN unblocked", "19900101-XXXX"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	var status struct {
		Status app.Status `json:"status"`
	}
	if err := json.Unmarshal([]byte(files["status.json"]), &status); err != nil {
		t.Fatal(err)
	}
	if len(status.Status.Cards) != 1 || status.Status.Cards[0].Holder.PersonalNumber != "19900101-XXXX" || status.Status.Cards[0].Holder.HSAID != testpki.DefaultHSAID {
		t.Errorf("status.json: %s", files["status.json"])
	}
	if !strings.Contains(files["readers.json"], f.Card.Reader) || !strings.Contains(files["readers.json"], `"atr": "3b`) {
		t.Errorf("readers.json: %s", files["readers.json"])
	}
	for _, want := range []string{`"key": "logLevel"`, `"source": "policy"`, `"locked": true`} {
		if !strings.Contains(files["config.json"], want) {
			t.Errorf("config.json lacks %s:\n%s", want, files["config.json"])
		}
	}
	if !strings.Contains(files["environment.json"], `"name": "DEMO"`) {
		t.Errorf("environment.json: %s", files["environment.json"])
	}
}

func readZip(t *testing.T, path string) map[string]string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = string(b)
	}
	return out
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The scrubber is the last line of defence: a log file that somehow holds
// an unmasked personal number comes out masked, and a missing piece is
// reported in errors.txt instead of failing the archive.
func TestDiagnosticsScrubAndProblems(t *testing.T) {
	dir := t.TempDir()
	logf := filepath.Join(dir, "raw.log")
	if err := os.WriteFile(logf, []byte("written by something else: 199001012385 / 19900101-2385\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	w := &writerTo{&buf}
	err := diag.Write(context.Background(), w, diag.Options{
		Readers:  func(context.Context) ([]cardreader.Reader, error) { return nil, cardreader.ErrNoService },
		LogFiles: []string{logf, filepath.Join(dir, "missing.log")},
		Problems: []string{"configuration: broken"},
	})
	if err != nil {
		t.Fatal(err)
	}
	zp := filepath.Join(dir, "d.zip")
	if err := os.WriteFile(zp, []byte(buf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	files := readZip(t, zp)
	if got := files["logs/raw.log"]; got != "written by something else: 19900101-XXXX / 19900101-XXXX\n" {
		t.Errorf("raw.log: %q", got)
	}
	e := files["errors.txt"]
	for _, want := range []string{"configuration: broken", "readers:", "status: not collected", "config: not collected", "missing.log"} {
		if !strings.Contains(e, want) {
			t.Errorf("errors.txt lacks %q:\n%s", want, e)
		}
	}
	var sum diag.Summary
	if err := json.Unmarshal([]byte(files["summary.json"]), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.GoVersion == "" || sum.OS == "" || sum.Files["errors.txt"] == "" {
		t.Errorf("summary: %+v", sum)
	}
}

type writerTo struct{ b *strings.Builder }

func (w *writerTo) Write(p []byte) (int, error) { return w.b.Write(p) }
