package diag_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }

const rpKey = "diag-test-relying-party-key-0123456789"

// setup is agenttest.Setup with this package's relying party.
func setup(t testing.TB, kind cardkind.Kind, spec testpki.CardSpec) *agenttest.Fixture {
	t.Helper()
	return agenttest.Setup(t, kind, spec, rpKey)
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
