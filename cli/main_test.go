package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// The CLI tests run cli.Run in-process against a private pcscd and virtual
// cards (internal/testkit/rig): the real PC/SC stack, piv-go and OpenSC, no fakes.
// Tests in this package share one pcscd and run one after another.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sithseid-cli-opensc-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		// OpenSC (in-process, and in the agents this binary starts) keeps
		// no file cache: every default virtual card of a kind has the same
		// card number and so the same cardid, and a test must read its own
		// card, not files an earlier card left under that serial.
		conf := filepath.Join(dir, "opensc.conf")
		if err := os.WriteFile(conf, []byte("app default {\n\tframework pkcs15 {\n\t\tuse_file_caching = false;\n\t}\n}\n"), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := os.Setenv("OPENSC_CONF", conf); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return rig.Main(m)
	}()
	os.Exit(code)
}

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

// insert puts a freshly provisioned PIV card into reader (the rig waits
// until pcscd can have seen the reader's previous card go). Tests that run
// on every kind of card use k.Insert and kindCLI.
func insert(t testing.TB, reader int, spec testpki.CardSpec) *rig.Card {
	t.Helper()
	return cardkind.PIV.Insert(t, reader, spec, vcard.RunOptions{})
}

// kindCLI runs the CLI as sv, en and status do, with the flags that select
// k's backend after the command's own (cardkind.Kind.Args).
type kindCLI struct{ k cardkind.Kind }

func (c kindCLI) args(args []string) []string { return slices.Concat(args, c.k.Args()) }

func (c kindCLI) sv(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return sv(t, stdin, c.args(args)...)
}

func (c kindCLI) en(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return en(t, stdin, c.args(args)...)
}

func (c kindCLI) status(t *testing.T, args ...string) app.Status {
	t.Helper()
	return status(t, c.args(args)...)
}

// wantRetries checks that the card has n PIN tries left, and that status
// through k's backend says so where it can read the exact count
// (cardkind.Kind.ExactRetries). It returns the card's status.
func (c kindCLI) wantRetries(t *testing.T, card *rig.Card, n int, what string) app.CardStatus {
	t.Helper()
	if pin, _ := card.State.PINRetries(); pin != n {
		t.Fatalf("%s: the card has %d PIN tries left, want %d", what, pin, n)
	}
	cs := onlyCard(t, c.status(t))
	if c.k.ExactRetries && cs.PIN.Retries != n {
		t.Fatalf("%s: status shows %+v, want %d tries", what, cs.PIN, n)
	}
	return cs
}

// keyOr is key when k's card can hold it, else the kind's first key type
// (RSA 2048).
func keyOr(k cardkind.Kind, key testpki.KeyType) testpki.KeyType {
	if slices.Contains(k.Keys, key) {
		return key
	}
	return k.Keys[0]
}

func onlyCard(t *testing.T, st app.Status) app.CardStatus {
	t.Helper()
	if len(st.Cards) != 1 {
		t.Fatalf("want one card, got %d: %+v", len(st.Cards), st.Cards)
	}
	return st.Cards[0]
}
