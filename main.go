// Command sithseid is the SITHS eID desktop client: one binary with the
// roles agent, ui, cli and URL handler (see docs/architecture.md).
package main

import (
	// Before Fyne's lang package initialises (see its doc).
	_ "github.com/sithseid/sithseid/internal/localefix"

	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/ui"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

func main() {
	attachParentConsole()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run picks the role. A lone sithseid: URL is a login handed over: from a
// browser (no terminal) it goes to the session's agent, which asks for the
// PIN; typed in a terminal, it is completed right there.
func run(ctx context.Context, args []string) int {
	if len(args) == 1 && strings.HasPrefix(strings.ToLower(args[0]), "sithseid:") {
		if !term.IsTerminal(int(os.Stdin.Fd())) {
			return cli.Handoff(ctx, cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Version: version, LogToFile: true}, args[0])
		}
		args = []string{"login", args[0]}
	}
	switch {
	case len(args) > 0 && args[0] == "agent": // the resident role
		return agent.Run(ctx, agent.Env{Args: args[1:], Stdout: os.Stdout, Stderr: os.Stderr, Version: version, LogToFile: true})
	case len(args) > 0 && args[0] == "ui": // the windows: a Fyne process of their own
		return ui.Run(ctx, ui.Env{Args: args[1:], Stderr: os.Stderr, Version: version})
	}
	return cli.Run(ctx, cli.Env{
		Args:      args,
		Stdin:     os.Stdin,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		Version:   version,
		LogToFile: true,
	})
}
