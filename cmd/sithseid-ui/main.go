// Command sithseid-ui is the SITHS eID desktop client's windows: one
// window of one view per process, the only executable of the product
// linked with Fyne and its GL driver. The agent starts it for its tray's
// and notifications' windows; "sithseid ui VIEW …" runs it (same
// arguments); docs/architecture.md, "Processes", says why it is an
// executable of its own.
//
//	sithseid-ui VIEW [--handoff ID] [--lang sv|en] [--card N] [--socket PATH]
package main

import (
	// Before Fyne's lang package initialises (see its doc).
	_ "github.com/sithseid/sithseid/internal/localefix"

	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sithseid/sithseid/ui"
)

// version is set at build time with -ldflags "-X main.version=…", as the
// main binary's.
var version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := ui.Run(ctx, ui.Env{Args: os.Args[1:], Stderr: os.Stderr, Version: version})
	stop()
	os.Exit(code)
}
