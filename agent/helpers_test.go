package agent_test

import (
	"os"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }

const rpKey = "agent-test-relying-party-key-0123456789"

// setup is agenttest.Setup with this package's relying party.
func setup(t testing.TB, kind cardkind.Kind, spec testpki.CardSpec) *agenttest.Fixture {
	t.Helper()
	return agenttest.Setup(t, kind, spec, rpKey)
}
