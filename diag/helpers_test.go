package diag_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/agenttest"
	"github.com/sithseid/sithseid/internal/cardkind"
	"github.com/sithseid/sithseid/internal/rig"
	"github.com/sithseid/sithseid/internal/testpki"
	"github.com/sithseid/sithseid/internal/vcard"
	"github.com/sithseid/sithseid/oob"
)

func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }

const rpKey = "diag-test-relying-party-key-0123456789"

type fixture struct {
	svc  *app.Service
	card *rig.Card
	env  environment.Environment
	rp   *oob.RPClient
}

// setup inserts kind's card issued as spec in reader 0 and starts the
// reference identity service; svc reaches the card as the product does.
func setup(t testing.TB, kind cardkind.Kind, spec testpki.CardSpec) *fixture {
	t.Helper()
	waitEmpty(t, rig.Require(t).Reader(0))
	card := kind.Insert(t, 0, spec, vcard.RunOptions{})
	is := agenttest.StartIdentityService(t, idp.Options{}, rpKey)
	return &fixture{svc: agenttest.Service(t, kind), card: card, env: agenttest.DemoEnvironment(t, is.URL), rp: is.RP}
}

func waitEmpty(t testing.TB, name string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		rs, err := cardreader.ListReaders(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		busy := false
		for _, r := range rs {
			busy = busy || (r.Name == name && r.CardPresent)
		}
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reader %q still shows a card", name)
		}
	}
}

// prompts answers each kind of prompt with its own secret.
func prompts(pin, newPIN, puk string) app.Prompt {
	return func(_ context.Context, req app.PromptRequest) (*cardreader.Secret, error) {
		switch req.Kind {
		case app.PromptNewPIN:
			return cardreader.NewSecret([]byte(newPIN)), nil
		case app.PromptPUK:
			return cardreader.NewSecret([]byte(puk)), nil
		}
		return cardreader.NewSecret([]byte(pin)), nil
	}
}

// configDir holds a policy file written by the test.
type configDir struct {
	dir  string
	opts config.Options
}

func (c *configDir) policy(t *testing.T, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(c.opts.PolicyFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.opts.PolicyFile, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (c *configDir) load(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load(c.opts)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
