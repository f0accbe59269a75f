package cli

import (
	"context"
	"fmt"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/internal/usertext"
)

// certRemoveEID is "cert remove --eid HSA-ID [--yes]": one organisation's
// SITHS eID (its certificate pair, and its keys where the card allows)
// removed from a card with several (issue 15). It first says which
// organisation and HSA-ID, and what removing the default or the only LoA3
// eID means; without --yes it stops there (exit 11).
func (r *runner) certRemoveEID(ctx context.Context, args []string) error {
	var cf cardFlags
	fs := r.flagSet("cert remove", &cf)
	yes, mgmt := r.removeFlags(fs)
	hsaID := fs.String("eid", "", "the HSA-ID of the SITHS eID to remove (see 'sithseid status')")
	if _, err := r.parse(fs, args, 0); err != nil {
		return err
	}
	if *hsaID == "" {
		fs.Usage()
		return errUsage
	}
	opts, prompt, err := r.removeOptions(&cf, *yes, *mgmt)
	if err != nil {
		return err
	}
	defer opts.ManagementKey.Wipe()
	ops, done, err := r.operationsUnless(ctx, &cf, opts.ManagementKey != nil)
	if err != nil {
		return err
	}
	defer done()
	sel := cf.selector()
	st, err := ops.Status(ctx, app.StatusOptions{Select: sel})
	if err != nil {
		return err
	}
	if len(st.Cards) == 0 {
		return fmt.Errorf("%w: %s", app.ErrNoSuchEID, *hsaID)
	}
	n, ok := app.EIDRemoval(st.Cards[0], *hsaID)
	if !ok {
		return fmt.Errorf("%w: %s", app.ErrNoSuchEID, *hsaID)
	}
	for _, line := range usertext.EIDRemoval(r.cat, n) {
		fmt.Fprintln(r.Stderr, line)
	}
	if !*yes {
		fmt.Fprintln(r.Stderr, r.cat.T("eid.remove_yes"))
		return app.ErrConfirmEIDRemoval
	}
	removed, err := ops.RemoveEID(ctx, sel, *hsaID, opts, prompt)
	for _, id := range removed {
		fmt.Fprintln(r.Stdout, r.cat.T("cert.removed", id))
	}
	return err
}
