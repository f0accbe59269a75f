package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/usertext"
)

func (r *runner) status(ctx context.Context, args []string) error {
	var cf cardFlags
	fs := r.flagSet("status", &cf)
	asJSON := fs.Bool("json", false, "JSON output")
	showPN := fs.Bool("show-personal-number", false, "show personal numbers unmasked")
	if _, err := r.parse(fs, args, 0); err != nil {
		return err
	}
	svc, done, err := r.operations(ctx, &cf)
	if err != nil {
		return err
	}
	defer done()
	st, err := svc.Status(ctx, app.StatusOptions{Select: cf.selector(), ShowPersonalNumber: *showPN, ExpiryWarning: r.cfg.ExpiryWarning()})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(r.Stdout, r.statusJSON(st))
	}
	r.printStatus(st)
	return nil
}

// statusOut is app.Status as "status --json" writes it: each card as
// app.CardStatus, plus the helpdesk policy names when the card needs one.
type statusOut struct {
	*app.Status
	Cards []cardOut `json:"cards"`
}

type cardOut struct {
	app.CardStatus
	// Helpdesk is policy's helpdesk (the helpdesk* keys) when the PIN is
	// blocked and the card has no PUK the holder can use (issue 17).
	Helpdesk *config.Helpdesk `json:"helpdesk,omitempty"`
}

func (r *runner) statusJSON(st *app.Status) statusOut {
	out := statusOut{Status: st, Cards: make([]cardOut, 0, len(st.Cards))}
	for _, cs := range st.Cards {
		co := cardOut{CardStatus: cs}
		if needsHelpdesk(cs) && !r.cfg.Helpdesk.IsZero() {
			h := r.cfg.Helpdesk
			co.Helpdesk = &h
		}
		out.Cards = append(out.Cards, co)
	}
	return out
}

// needsHelpdesk: the card's PIN is blocked and it has no PUK the holder
// can use, so only the region's helpdesk can unblock it.
func needsHelpdesk(cs app.CardStatus) bool {
	return slices.ContainsFunc(cs.Warnings, func(w app.Warning) bool { return w.Code == app.WarnPINBlockedNoPUK })
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (r *runner) printStatus(st *app.Status) {
	c, w := r.cat, r.Stdout
	if len(st.Readers) == 0 && len(st.Cards) == 0 {
		fmt.Fprintln(w, c.T("status.no_readers"))
		return
	}
	for _, rd := range st.Readers {
		state := c.T("status.reader_empty")
		switch {
		case rd.Busy:
			state = c.T("status.reader_busy")
		case rd.Unsupported:
			state = c.T("status.reader_unsupported")
		case rd.CardPresent:
			state = c.T("status.reader_card")
		}
		fmt.Fprintln(w, c.T("status.reader", rd.Name, state))
	}
	for _, cs := range st.Cards {
		fmt.Fprintln(w)
		where := cs.Reader
		if where == "" {
			where = "PKCS#11"
		}
		fmt.Fprintln(w, c.T("status.card", cs.CardNumber, where, cs.Backend))
		// Rows are gathered first and aligned on the longest label.
		type line struct{ label, value string }
		var lines []line
		row := func(label, value string) {
			if value != "" {
				lines = append(lines, line{label + ":", value})
			}
		}
		row(c.T("status.holder"), cs.Holder.Name)
		row(c.T("status.hsaid"), cs.Holder.HSAID)
		if len(cs.EIDs) > 1 {
			// Several organisations' eIDs: each with its organisation,
			// HSA-ID and end date (issue 15).
			for _, e := range cs.EIDs {
				row(c.T("status.eid"), eidText(c.T, e))
			}
		}
		row(c.T("status.personal_number"), cs.Holder.PersonalNumber)
		if cs.Issuer != "" {
			iss := cs.Issuer
			if cs.LoA > 0 {
				iss += fmt.Sprintf(" (LoA %d)", cs.LoA)
			}
			if cs.Reserve {
				iss += ", " + c.T("status.reserve")
			}
			row(c.T("status.issuer"), iss)
		}
		if cs.NotBefore != nil && cs.NotAfter != nil {
			row(c.T("status.valid"), cs.NotBefore.Format("2006-01-02")+" – "+cs.NotAfter.Format("2006-01-02"))
		}
		if cs.SignaturePIN != nil {
			// Two PINs: name each, the identification PIN (login) first.
			row(c.T("status.id_pin"), r.tries(cs.PIN))
			row(c.T("status.sign_pin"), r.tries(*cs.SignaturePIN))
		} else {
			row(c.T("status.pin"), r.tries(cs.PIN))
		}
		if cs.PUK == nil {
			row(c.T("status.puk"), c.T("status.no_puk"))
		} else {
			row(c.T("status.puk"), r.tries(*cs.PUK))
		}
		login := ""
		for _, ct := range cs.Certificates {
			if ct.Login {
				login = ct.ID
			}
		}
		certs := fmt.Sprint(len(cs.Certificates))
		if login != "" {
			certs += " (" + c.T("status.login_cert", login) + ")"
		}
		row(c.T("status.certificates"), certs)
		width := 0
		for _, l := range lines {
			width = max(width, utf8.RuneCountInString(l.label))
		}
		for _, l := range lines {
			fmt.Fprintf(w, "  %s%s %s\n", l.label, strings.Repeat(" ", width-utf8.RuneCountInString(l.label)), l.value)
		}
		for _, wn := range cs.Warnings {
			if len(cs.EIDs) < 2 {
				wn.Organisation = "" // one eID: whose it is goes without saying
			}
			fmt.Fprintln(w, "  ! "+r.warning(wn))
			if wn.Code == app.WarnPINBlockedNoPUK {
				if hd := usertext.Helpdesk(c, r.cfg.Helpdesk); hd != "" {
					fmt.Fprintln(w, "    "+hd)
				}
			}
		}
		if cs.Error != "" {
			msg, _, _ := explain(c, cs.Err())
			fmt.Fprintln(w, "  ! "+c.T("status.error", msg))
		}
	}
}

func (r *runner) tries(s app.SecretStatus) string {
	switch {
	case s.Blocked:
		return r.cat.T("status.blocked")
	case s.Retries < 0:
		return r.cat.T("status.tries_unknown")
	}
	return r.cat.T("status.tries", s.Retries)
}

func (r *runner) warning(w app.Warning) string {
	switch w.Code {
	case app.WarnCertificateExpired:
		if w.Organisation != "" {
			return r.cat.T("warn."+w.Code+"_org", w.CertID, w.Organisation, w.HSAID)
		}
		return r.cat.T("warn."+w.Code, w.CertID)
	case app.WarnCertificateExpiring:
		if w.Organisation != "" {
			return r.cat.T("warn."+w.Code+"_org", w.CertID, w.Organisation, w.HSAID, w.Days)
		}
		return r.cat.T("warn."+w.Code, w.CertID, w.Days)
	case app.WarnTooManyCertificates:
		return r.cat.T("warn."+w.Code, w.Days)
	}
	return r.cat.T("warn." + w.Code)
}
