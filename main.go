// Command sithseid is the SITHS eID desktop client: one binary with the
// roles agent, ui, cli and URL handler (see docs/architecture.md).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sithseid/sithseid/cli"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run picks the role. A lone sithseid: URL is the browser handing over a
// login.
func run(ctx context.Context, args []string) int {
	if len(args) == 1 && len(args[0]) > 9 && args[0][:9] == "sithseid:" {
		args = []string{"login", args[0]}
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
