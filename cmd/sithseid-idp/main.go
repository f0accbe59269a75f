// Command sithseid-idp is the reference identity service of the
// out-of-band login (docs/protocol.md) and a scriptable relying party for
// it. It serves tests, the demo and integrators; it is not shipped to
// clinicians.
//
//	sithseid-idp serve [--listen 127.0.0.1:8443] [--state DIR] [--seed S]
//	                   [--rp-key KEY] [--rp-name NAME] [--revoked SERIAL[,SERIAL]]...
//	                   [--public-url URL] [--ocsp-delegated]
//	sithseid-idp rp auth    [--server URL] [--ca FILE] [--key KEY] [--text T]
//	                        [--end-user-ip IP] [--return-url URL]
//	sithseid-idp rp collect [--wait] ORDERREF
//	sithseid-idp rp cancel  ORDERREF
//	sithseid-idp authn lookup (--token T | --qr PAYLOAD)
//
// See usage for the files in the state directory and the exit codes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
