package main

import (
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	osexec "os/exec"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/rig"
)

// exec runs a PC/SC client against p and returns its combined output.
func exec(t *testing.T, p *rig.PCSCD, name string, args ...string) string {
	t.Helper()
	if _, err := osexec.LookPath(name); err != nil {
		testenv.Missing(t, "%s not installed", name)
	}
	cmd := osexec.Command(name, args...)
	cmd.Env = p.Env()
	out, _ := cmd.CombinedOutput()
	return string(out)
}
