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

// eidText is one eID in status: organisation, HSA-ID, valid until, and
// whether it is the default or expired.
func eidText(t func(string, ...any) string, e app.EIDStatus) string {
	until := "–"
	if e.NotAfter != nil {
		until = e.NotAfter.Format("2006-01-02")
	}
	s := t("status.eid_value", e.Organisation, e.HSAID, until)
	if e.Default {
		s += " " + t("status.eid_default")
	}
	if e.Expired {
		s += " " + t("status.eid_expired")
	}
	return s
}

// certsByEID prints cs's certificates eID by eID, each group under a line
// naming the organisation and HSA-ID, then those of no eID.
func (r *runner) certsByEID(cs app.CardStatus, line func(app.CertStatus)) {
	byID := map[string]app.CertStatus{}
	for _, ct := range cs.Certificates {
		byID[ct.ID] = ct
	}
	done := map[string]bool{}
	for _, e := range cs.EIDs {
		fmt.Fprintln(r.Stdout, r.cat.T("status.eid")+": "+eidText(r.cat.T, e))
		for _, id := range e.CertIDs {
			if ct, ok := byID[id]; ok && !done[id] {
				done[id] = true
				fmt.Fprint(r.Stdout, "  ")
				line(ct)
			}
		}
	}
	first := true
	for _, ct := range cs.Certificates {
		if done[ct.ID] {
			continue
		}
		if first {
			fmt.Fprintln(r.Stdout, r.cat.T("certs.other_group"))
			first = false
		}
		fmt.Fprint(r.Stdout, "  ")
		line(ct)
	}
}
