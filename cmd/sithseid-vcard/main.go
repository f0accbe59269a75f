// Command sithseid-vcard is a virtual SITHS card for tests, benchmarks and
// the demo: a PIV card or an IDPrime 940 (internal/testkit/vcard) provisioned from
// the test PKI and put in a vsmartcard vpcd reader of pcscd.
//
//	sithseid-vcard init   --dir D [--kind piv|idprime] [--with-signing]
//	                      [--holder "Given Surname"] [--hsa-id ID] [--personal-number N]
//	                      [--key rsa2048|p256] [--variant normal|expired|expiring|reserve]
//	                      [--seed S] [--mgmt-key default|default-aes|HEX|3des:HEX] [--force]
//	sithseid-vcard run    --dir D [--vpcd 127.0.0.1:35963] [--profile none|idprime-usb]
//	                      [--latency DUR] [--sign-latency DUR]
//	                      [--drop-after N] [--trace FILE]
//	sithseid-vcard ctl    --dir D remove|insert|reinsert|stats [--json]|drop-after N|drop-before-answer N|mute|unmute
//	sithseid-vcard status --dir D [--json]
//
// run listens on the control socket D/ctl.sock (mode 0600). SIGUSR1
// re-inserts the card (remove, 300 ms, insert); SIGTERM and SIGINT end it.
// It is not shipped to users.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sithseid-vcard:", err)
		os.Exit(exitCode(err))
	}
}
