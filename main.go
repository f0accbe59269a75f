// Command sithseid is the SITHS eID desktop client: the roles agent, cli
// and URL handler; its windows are an executable of their own,
// sithseid-ui (cmd/sithseid-ui), the only one linked with Fyne, which
// "sithseid ui VIEW …" runs (see docs/architecture.md, "Processes").
package main

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/uiexe"
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
	case len(args) > 0 && args[0] == "ui": // the windows: sithseid-ui, a Fyne process of its own
		exe, err := uiexe.Path()
		if err == nil {
			err = runUI(exe, args[1:])
		}
		// Only a program that could not be started comes back.
		return cli.Fail(cli.Env{Args: args[1:], Stderr: os.Stderr, Version: version, LogToFile: true}, "ui", err)
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
