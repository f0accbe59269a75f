package cli

import (
	"context"
	"fmt"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
)

func (r *runner) pinChange(ctx context.Context, args []string) error {
	return r.pinOperation(ctx, "pin change", args, operations.ChangePIN, "pin.changed", "pin.sign_changed")
}

func (r *runner) pinUnblock(ctx context.Context, args []string) error {
	return r.pinOperation(ctx, "pin unblock", args, operations.UnblockPIN, "pin.unblocked", "pin.sign_unblocked")
}

// pinOperation runs a PIN change or unblock on the identification PIN, or
// with --signature on the signature PIN: flags, prompt, service, op, and
// the message on success.
func (r *runner) pinOperation(ctx context.Context, name string, args []string,
	op func(operations, context.Context, app.Selector, cardreader.PINRef, app.Prompt) error, done, signDone string) error {
	var cf cardFlags
	fs := r.flagSet(name, &cf)
	signature := fs.Bool("signature", false, "the signature PIN instead of the identification PIN")
	if _, err := r.parse(fs, args, 0); err != nil {
		return err
	}
	pin := cardreader.PINIdentification
	if *signature {
		pin, done = cardreader.PINSignature, signDone
	}
	prompt, err := r.prompt(&cf)
	if err != nil {
		return err
	}
	svc, closeSvc, err := r.operations(ctx, &cf)
	if err != nil {
		return err
	}
	defer closeSvc()
	if err := op(svc, ctx, cf.selector(), pin, prompt); err != nil {
		return err
	}
	fmt.Fprintln(r.Stdout, r.cat.T(done))
	return nil
}
