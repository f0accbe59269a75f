package app_test

import (
	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
)

// prompts answers each kind of prompt with its own secret.
func prompts(pin, newPIN, puk string) app.Prompt { return agenttest.Prompts(pin, newPIN, puk) }
