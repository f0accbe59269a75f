package vcard

import (
	"crypto/x509"
	"fmt"
	"sort"
	"strconv"
)

// Info is what `sithseid-vcard status` shows: read offline from the state,
// without spending anything.
type Info struct {
	Kind       Kind   `json:"kind"`
	Holder     string `json:"holder"`
	HSAID      string `json:"hsa_id"`
	Serial     uint32 `json:"serial"`
	Version    string `json:"version"`
	PINTries   int    `json:"pin_tries_left"`
	PINMax     int    `json:"pin_tries_max"`
	PUKTries   int    `json:"puk_tries_left"`
	PUKMax     int    `json:"puk_tries_max"`
	PINDefault bool   `json:"pin_default"`
	// The IDPrime signature PIN (83), on cards that have one.
	HasSignPIN    bool       `json:"has_sign_pin,omitempty"`
	SignPINTries  int        `json:"sign_pin_tries_left,omitempty"`
	SignPINMax    int        `json:"sign_pin_tries_max,omitempty"`
	CardID        string     `json:"card_id,omitempty"` // IDPrime cardid, hex
	MgmtAlgorithm string     `json:"mgmt_algorithm"`
	MgmtDefault   bool       `json:"mgmt_default"`
	MgmtProtected bool       `json:"mgmt_pin_protected"`
	Slots         []SlotInfo `json:"slots"`
}

// SlotInfo describes one key slot (PIV) or key container (IDPrime).
type SlotInfo struct {
	Slot        string            `json:"slot"` // "9a"; on IDPrime the certificate file, "kxc00"
	Algorithm   string            `json:"algorithm,omitempty"`
	PINPolicy   string            `json:"pin_policy,omitempty"`
	KeyRef      string            `json:"key_ref,omitempty"` // IDPrime key reference, "56"
	PIN         string            `json:"pin,omitempty"`     // IDPrime PIN reference guarding the key: 11 or 83
	Certificate *x509.Certificate `json:"-"`
	Subject     string            `json:"subject,omitempty"`
	NotAfter    string            `json:"not_after,omitempty"`
}

// Info summarises the card.
func (c *Card) Info() Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.st
	if c.idp != nil {
		return c.idprimeInfo()
	}
	in := Info{
		Kind:   KindPIV,
		Holder: st.Holder, HSAID: st.HSAID, Serial: st.Serial,
		Version:  versionString(st.Version),
		PINTries: st.PIN.Tries, PINMax: st.PIN.Max, PUKTries: st.PUK.Tries, PUKMax: st.PUK.Max,
		PINDefault: st.PIN.Default, MgmtAlgorithm: algName(st.MgmtAlg), MgmtDefault: st.MgmtDefault,
	}
	if a, ok := st.Objects[objKey(tagAdminData)]; ok {
		if m, err := parseTLVs(a); err == nil {
			if inner, err := parseTLVs(m[0x80]); err == nil && len(inner[0x81]) == 1 {
				in.MgmtProtected = inner[0x81][0]&adminFlagProtectedMgmt != 0
			}
		}
	}
	seen := map[string]bool{}
	var slots []string
	for s := range st.Keys {
		seen[s] = true
		slots = append(slots, s)
	}
	for s := 0x82; s <= 0xFF; s++ {
		name := describeSlot(byte(s))
		if obj, ok := slotObject(byte(s)); ok && !seen[name] {
			if _, has := st.Objects[objKey(obj)]; has {
				slots = append(slots, name)
			}
		}
	}
	sort.Slice(slots, func(i, j int) bool { return slotOrder(slots[i]) < slotOrder(slots[j]) })
	for _, s := range slots {
		si := SlotInfo{Slot: s}
		if k, ok := st.Keys[s]; ok {
			si.Algorithm, si.PINPolicy = algName(k.Alg), policyName(k.PINPolicy)
		}
		b, _ := strconv.ParseUint(s, 16, 8)
		if obj, ok := slotObject(byte(b)); ok {
			if v, ok := st.Objects[objKey(obj)]; ok {
				if m, err := parseTLVs(v); err == nil {
					if cert, err := x509.ParseCertificate(m[0x70]); err == nil {
						si.Certificate = cert
						si.Subject = "CN=" + cert.Subject.CommonName + ", serialNumber=" + cert.Subject.SerialNumber
						si.NotAfter = cert.NotAfter.UTC().Format("2006-01-02")
					}
				}
			}
		}
		in.Slots = append(in.Slots, si)
	}
	return in
}

// slotOrder lists 9A, 9C, 9D, 9E before the retired slots.
func slotOrder(s string) string {
	if s >= "9a" {
		return "0" + s
	}
	return "1" + s
}

func versionString(v [3]byte) string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

func algName(a byte) string {
	switch a {
	case alg3DES:
		return "3DES"
	case algAES128:
		return "AES-128"
	case algAES192:
		return "AES-192"
	case algAES256:
		return "AES-256"
	case algRSA2048:
		return "RSA-2048"
	case algECCP256:
		return "ECC P-256"
	}
	return "unknown"
}

func policyName(p byte) string {
	switch p {
	case pinPolicyNever:
		return "never"
	case pinPolicyOnce:
		return "once"
	case pinPolicyAlways:
		return "always"
	}
	return "default"
}

func (c *Card) idprimeInfo() Info {
	st := c.st
	in := Info{
		Kind: KindIDPrime, Holder: st.Holder, HSAID: st.HSAID, Serial: st.Serial,
		Version:  idprimeAppletVersion,
		PINTries: st.PIN.Tries, PINMax: st.PIN.Max, PUKTries: st.PUK.Tries, PUKMax: st.PUK.Max,
		PINDefault: st.PIN.Default, CardID: fmt.Sprintf("%X", st.IDPrime.CardID),
	}
	if st.SignPIN != nil {
		in.HasSignPIN, in.SignPINTries, in.SignPINMax = true, st.SignPIN.Tries, st.SignPIN.Max
	}
	for _, k := range st.IDPrime.Keys {
		si := SlotInfo{Slot: k.fileName(), Algorithm: "RSA-2048",
			KeyRef: fmt.Sprintf("%02x", k.keyRef()), PIN: fmt.Sprintf("%02x", k.PINRef)}
		if cert, err := x509.ParseCertificate(k.Cert); err == nil {
			si.Certificate = cert
			si.Subject = "CN=" + cert.Subject.CommonName + ", serialNumber=" + cert.Subject.SerialNumber
			si.NotAfter = cert.NotAfter.UTC().Format("2006-01-02")
		}
		in.Slots = append(in.Slots, si)
	}
	return in
}
