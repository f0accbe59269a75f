package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
)

func (r *runner) certs(ctx context.Context, args []string) error {
	var cf cardFlags
	fs := r.flagSet("certs", &cf)
	asJSON := fs.Bool("json", false, "JSON output")
	export := fs.String("export", "", "write the certificates to this directory")
	format := fs.String("format", "pem", "export format: pem or der")
	showPN := fs.Bool("show-personal-number", false, "show personal numbers unmasked")
	if _, err := r.parse(fs, args, 0); err != nil {
		return err
	}
	svc, done, err := r.service(&cf)
	if err != nil {
		return err
	}
	defer done()
	if *export != "" {
		// Certificates only: no tries read while the card is opened.
		files, err := svc.Export(cardreader.WithoutTries(ctx), cf.selector(), *export, app.ExportFormat(strings.ToLower(*format)))
		for _, f := range files {
			if !*asJSON {
				fmt.Fprintln(r.Stdout, r.cat.T("certs.exported", f.Path))
			}
		}
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(r.Stdout, files)
		}
		return nil
	}
	sel := cf.selector()
	// The certificates and the identity only: no tries are read, not
	// even in the session that opens the card (this command shows none).
	st, err := svc.Status(ctx, app.StatusOptions{Select: sel, ShowPersonalNumber: *showPN, ExpiryWarning: r.cfg.ExpiryWarning(), WithoutTries: true})
	if err != nil {
		return err
	}
	if len(st.Cards) == 0 {
		return cardreader.ErrNoCard
	}
	if len(st.Cards) > 1 {
		return cardreader.ErrAmbiguousCard
	}
	cs := st.Cards[0]
	if *asJSON {
		return writeJSON(r.Stdout, cs.Certificates)
	}
	if len(cs.Certificates) == 0 {
		fmt.Fprintln(r.Stdout, r.cat.T("certs.none"))
	}
	line := func(ct app.CertStatus) {
		flags := ""
		if ct.Login {
			flags += r.cat.T("certs.login")
		}
		if ct.Expired {
			flags += r.cat.T("certs.expired")
		}
		fmt.Fprintln(r.Stdout, r.cat.T("certs.line", ct.ID, r.cat.T("usage."+ct.Usage), r.cat.T("kind."+ct.Kind),
			ct.Subject, ct.NotAfter.Format("2006-01-02"), flags))
	}
	if len(cs.EIDs) > 1 {
		// Several organisations' eIDs: the certificates eID by eID, each
		// under its organisation and HSA-ID, then the rest (issue 15).
		r.certsByEID(cs, line)
	} else {
		for _, ct := range cs.Certificates {
			line(ct)
		}
	}
	for _, wn := range cs.Warnings {
		if len(cs.EIDs) < 2 {
			wn.Organisation = ""
		}
		if wn.Code == app.WarnTooManyCertificates || wn.Code == app.WarnCertificateExpired {
			fmt.Fprintln(r.Stdout, "! "+r.warning(wn))
		}
	}
	return nil
}
