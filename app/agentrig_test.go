package app_test

// The agent rig (agenttest's), for the use-case tests that run through an
// agent (bench, fault, soak).

import (
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/localapi"
)

func startAgent(t testing.TB, svc *app.Service, env environment.Environment, addr string) *agenttest.Rig {
	t.Helper()
	return agenttest.StartRig(t, svc, env, addr)
}

func dial(t testing.TB, addr string) *localapi.Client { return agenttest.Dial(t, addr) }

type recorder = agenttest.Recorder
