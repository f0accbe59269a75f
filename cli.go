package main

import (
	"context"
	"fmt"
	"io"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.0.0-dev"

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: sithseid COMMAND")
		return errUsage
	}
	switch args[0] {
	case "version", "--version":
		fmt.Fprintf(stdout, "sithseid %s\n", version)
		return nil
	}
	fmt.Fprintf(stderr, "sithseid: unknown command %q\n", args[0])
	return errUsage
}
