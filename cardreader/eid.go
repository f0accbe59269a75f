package cardreader

import (
	"slices"
	"time"
)

// EID is one organisation's SITHS eID on a card: the HSA-ID pair
// (authentication and signing certificate) whose subject names the
// organisation (O=) and whose serialNumber is an HSA-ID beginning with the
// organisation's number. A card can carry eIDs of several organisations (a
// clinician on assignment in another region).
type EID struct {
	Organisation string // subject O= of its certificates
	// OrganisationNumber is "SE" and the ten-digit organisation number:
	// the first twelve characters of the HSA-ID.
	OrganisationNumber string
	HSAID              string
	// Auth and Sign are the backend IDs of its authentication and signing
	// certificates ("" when the card lacks one); with several (a renewal
	// not yet cleaned up) Auth is the one a login would use.
	Auth, Sign string
	// CertIDs are the backend IDs of all its certificates, card order.
	CertIDs []string
	// LoA, NotBefore and NotAfter are the authentication certificate's
	// (or, without one, the signing certificate's).
	LoA                 int
	NotBefore, NotAfter time.Time
	// Default marks the eID that logins and mutual TLS use unless told
	// otherwise; its authentication certificate is the login certificate.
	Default bool
}

// Expired reports whether the eID is past its NotAfter at now.
func (e EID) Expired(now time.Time) bool { return now.After(e.NotAfter) }

// OrganisationNumberOf is the "SE" + ten digits prefix of an HSA-ID, ""
// when hsaID is not one.
func OrganisationNumberOf(hsaID string) string {
	if !IsHSAID(hsaID) {
		return ""
	}
	return hsaID[:12]
}

func firstOf(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

// groupEIDs fills id.EIDs and id.PersonalPair from id.Certificates. The
// eID holding the login certificate is the default.
func (id *Identity) groupEIDs(now time.Time) {
	id.EIDs, id.PersonalPair = nil, nil
	index := map[string]int{}
	authIdx := map[string]int{} // HSA-ID -> index in id.Certificates of its best auth cert
	for i, c := range id.Certificates {
		switch c.Kind {
		case KindPersonalNumber:
			id.PersonalPair = append(id.PersonalPair, c)
			continue
		case KindHSAID:
		default:
			continue
		}
		n, ok := index[c.HSAID]
		if !ok {
			n = len(id.EIDs)
			index[c.HSAID] = n
			id.EIDs = append(id.EIDs, EID{HSAID: c.HSAID, OrganisationNumber: OrganisationNumberOf(c.HSAID)})
		}
		e := &id.EIDs[n]
		e.CertIDs = append(e.CertIDs, c.ID)
		if e.Organisation == "" {
			e.Organisation = c.Organisation
		}
		switch c.Usage {
		case UsageAuth:
			cur, has := authIdx[c.HSAID]
			if c.Login || !has || (!id.Certificates[cur].Login && betterLogin(c, id.Certificates, cur, now)) {
				authIdx[c.HSAID] = i
			}
		case UsageSign:
			if e.Sign == "" {
				e.Sign = c.ID
			}
		}
	}
	for n := range id.EIDs {
		e := &id.EIDs[n]
		var m CertInfo
		if i, ok := authIdx[e.HSAID]; ok {
			m = id.Certificates[i]
			e.Auth = m.ID
			e.Default = m.Login
		} else if c, ok := id.Certificate(e.Sign); ok {
			m = c
		}
		e.LoA, e.NotBefore, e.NotAfter = m.LoA, m.NotBefore, m.NotAfter
	}
}

// EID returns the eID with the HSA-ID hsaID.
func (id *Identity) EID(hsaID string) (EID, bool) {
	for _, e := range id.EIDs {
		if e.HSAID == hsaID {
			return e, true
		}
	}
	return EID{}, false
}

// DefaultEID returns the default eID (the one holding the login
// certificate), if the card has one.
func (id *Identity) DefaultEID() (EID, bool) {
	for _, e := range id.EIDs {
		if e.Default {
			return e, true
		}
	}
	return EID{}, false
}

// EIDOf returns the eID that certificate certID belongs to.
func (id *Identity) EIDOf(certID string) (EID, bool) {
	for _, e := range id.EIDs {
		if slices.Contains(e.CertIDs, certID) {
			return e, true
		}
	}
	return EID{}, false
}

// EIDsOfOrganisation returns the eIDs whose organisation number is orgNumber.
func (id *Identity) EIDsOfOrganisation(orgNumber string) []EID {
	var out []EID
	for _, e := range id.EIDs {
		if e.OrganisationNumber == orgNumber {
			out = append(out, e)
		}
	}
	return out
}

// SetDefault makes the eID with HSA-ID hsaID the default: its
// authentication certificate becomes the login certificate, and the
// identity's HSA-ID, issuer, LoA and validity become its. It reports false
// (and changes nothing) when the card has no such eID with an
// authentication certificate.
func (id *Identity) SetDefault(hsaID string) bool {
	e, ok := id.EID(hsaID)
	if !ok || e.Auth == "" {
		return false
	}
	// Certificates and EIDs may be shared with copies of id (the identity
	// cache hands out copies): give this one its own before changing them.
	id.Certificates, id.EIDs = slices.Clone(id.Certificates), slices.Clone(id.EIDs)
	for i := range id.Certificates {
		id.Certificates[i].Login = id.Certificates[i].ID == e.Auth
	}
	for i := range id.EIDs {
		id.EIDs[i].Default = id.EIDs[i].HSAID == hsaID
	}
	m, _ := id.Certificate(e.Auth)
	id.HSAID, id.Issuer, id.LoA = m.HSAID, m.Issuer, m.LoA
	id.NotBefore, id.NotAfter, id.Reserve = m.NotBefore, m.NotAfter, m.Reserve
	return true
}

// LoA3EIDs returns the eIDs of LoA 3 valid at now.
func (id *Identity) LoA3EIDs(now time.Time) []EID {
	var out []EID
	for _, e := range id.EIDs {
		if e.LoA >= 3 && !e.Expired(now) {
			out = append(out, e)
		}
	}
	return out
}
