package app

import (
	"time"

	"github.com/sithseid/sithseid/cardreader"
)

// eidStatuses lists id's eIDs for a CardStatus.
func eidStatuses(id cardreader.Identity, now time.Time) []EIDStatus {
	out := []EIDStatus{}
	for _, e := range id.EIDs {
		es := EIDStatus{
			Organisation:       e.Organisation,
			OrganisationNumber: e.OrganisationNumber,
			HSAID:              e.HSAID,
			Default:            e.Default,
			AuthCertID:         e.Auth,
			SignCertID:         e.Sign,
			CertIDs:            append([]string{}, e.CertIDs...),
			LoA:                e.LoA,
			Expired:            e.Expired(now),
		}
		if !e.NotAfter.IsZero() {
			nb, na := e.NotBefore, e.NotAfter
			es.NotBefore, es.NotAfter = &nb, &na
		}
		out = append(out, es)
	}
	return out
}

// withEID names in w the organisation and HSA-ID of the eID w's
// certificate belongs to, so that an expiry warning says whose eID expires.
func withEID(id cardreader.Identity, w Warning) Warning {
	if e, ok := id.EIDOf(w.CertID); ok {
		w.Organisation, w.HSAID = e.Organisation, e.HSAID
	}
	return w
}
