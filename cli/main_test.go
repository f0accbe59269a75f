package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/rig"
	"github.com/sithseid/sithseid/internal/testpki"
	"github.com/sithseid/sithseid/internal/vcard"
)

// The CLI tests run cli.Run in-process against a private pcscd and virtual
// cards (internal/rig): the real PC/SC stack, piv-go and OpenSC, no fakes.
// Tests in this package share one pcscd and run one after another.
func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return "exit " + itoa(r.code) + "\nstdout:\n" + r.stdout + "\nstderr:\n" + r.stderr
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// sithseid runs the CLI with stdin and a fixed language.
func sithseid(t *testing.T, lang, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	// No agent: these tests run the operations in-process (agent_test.go
	// drives the same commands through an agent).
	// HOME points nowhere, so no user preferences of this machine apply.
	env := map[string]string{"LANG": lang, "SITHSEID_NO_AGENT": "1", "HOME": "/nonexistent"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := cli.Run(ctx, cli.Env{
		Args:    args,
		Stdin:   strings.NewReader(stdin),
		Stdout:  &out,
		Stderr:  &errb,
		Getenv:  func(k string) string { return env[k] },
		Version: "test",
	})
	return result{out.String(), errb.String(), code}
}

func sv(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return sithseid(t, "sv_SE.UTF-8", stdin, args...)
}

func en(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return sithseid(t, "en_US.UTF-8", stdin, args...)
}

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
}

func wantIn(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("want %q in:\n%s", sub, s)
	}
}

func status(t *testing.T, args ...string) app.Status {
	t.Helper()
	r := sv(t, "", append([]string{"status", "--json"}, args...)...)
	wantCode(t, r, 0)
	var st app.Status
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	return st
}

// insert puts a freshly provisioned card into reader (the rig waits until
// pcscd can have seen the reader's previous card go).
func insert(t testing.TB, reader int, spec testpki.CardSpec) *rig.Card {
	t.Helper()
	return rig.Require(t).InsertCard(t, reader, vcard.ProvisionOptions{Dir: t.TempDir(), Spec: spec}, vcard.RunOptions{})
}

func onlyCard(t *testing.T, st app.Status) app.CardStatus {
	t.Helper()
	if len(st.Cards) != 1 {
		t.Fatalf("want one card, got %d: %+v", len(st.Cards), st.Cards)
	}
	return st.Cards[0]
}
