package vcard

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// Test credentials of a freshly provisioned card. These are test cards:
// printing them is the point of `sithseid-vcard init`.
const (
	DefaultPIN = "123456"
	DefaultPUK = "12345678"
)

// DefaultVersion is the firmware version the card reports to GET VERSION:
// a YubiKey 5.7, so clients use GET METADATA and AES management keys.
var DefaultVersion = [3]byte{5, 7, 1}

// ErrExists: Provision refuses to overwrite a provisioned card without Force.
var ErrExists = errors.New("vcard: a card is already provisioned in this directory")

// Slots of the SITHS certificates on the virtual PIV card.
const (
	SlotHSAAuth = 0x9A // HSA-ID authentication (PIV authentication)
	SlotHSASign = 0x9C // HSA-ID signing (digital signature)
	SlotPNAuth  = 0x82 // personal-number authentication (retired key 1)
	SlotPNSign  = 0x83 // personal-number signing (retired key 2)
)

// MaxExtraEIDsPIV is how many further organisations' eIDs a virtual PIV
// card holds (CardSpec.EIDs): the retired key-management slots 84–95, two
// each. MaxExtraEIDsIDPrime is the IDPrime card's (ten containers).
const (
	MaxExtraEIDsPIV     = 9
	MaxExtraEIDsIDPrime = 9
)

// SlotExtraEID is the PIV slots of extra eID i (0-based): 84/85, 86/87, ...
func SlotExtraEID(i int) (auth, sign byte) {
	return byte(0x84 + 2*i), byte(0x85 + 2*i)
}

// ProvisionOptions describe a card to provision.
type ProvisionOptions struct {
	Dir  string           // the state directory (created 0700 if missing)
	Spec testpki.CardSpec // holder, HSA-ID, personal number, key type, variant
	PKI  testpki.Options  // seed, now and OCSP URL of the test PKI

	// Kind is the card application: "" or KindPIV, or KindIDPrime (RSA-2048
	// keys only).
	Kind Kind

	PIN, PUK string // "" = DefaultPIN, DefaultPUK

	// WithSigning gives an IDPrime card the HSA-ID signing key and
	// certificate (container 1, "ksc01") under the signature PIN 83. Without
	// it an IDPrime card is a SITHS card as issued since 2024: the HSA-ID
	// authentication key and certificate only. PIV cards always hold both
	// HSA-ID pairs and the personal-number pairs.
	WithSigning bool
	// SignPIN is the signature PIN of a WithSigning IDPrime card: "" =
	// DefaultSignPIN.
	SignPIN string

	// MgmtKey is the management key: "" = a random AES-192 key stored
	// PIN-protected on the card (YubiKey style: PRINTED 5FC109 holds
	// 88 { 89 key }, ADMIN DATA 5FFF00 flags it); "default" (or
	// "default-3des") = the well-known default key as 3DES, "default-aes"
	// as AES-192; or hex (16/24/32 bytes = AES-128/192/256), optionally
	// prefixed "3des:".
	MgmtKey string // PIV only

	Serial  uint32  // 0 = derived from the card number
	Version [3]byte // zero = DefaultVersion; PIV only
	Force   bool    // overwrite an existing card
}

// Provision creates a SITHS card from the test PKI in opts.Dir. A PIV card
// gets the HSA-ID pair in 9A/9C, the personal-number pair in 82/83, CHUID,
// CCC, discovery and key history objects, PIN, PUK and management key; an
// IDPrime card the HSA-ID authentication key (and with WithSigning the
// HSA-ID signing key), its cardid, PINs and PUK. It also writes the PKI's
// root.pem and cas.pem into the directory for relying parties.
func Provision(opts ProvisionOptions) error {
	if opts.Dir == "" {
		return errors.New("vcard: no directory")
	}
	kind, err := ParseKind(string(opts.Kind))
	if err != nil {
		return err
	}
	pin, puk := opts.PIN, opts.PUK
	if pin == "" {
		pin = DefaultPIN
	}
	if puk == "" {
		puk = DefaultPUK
	}
	if !validPIN(padRef(pin)) || len(pin) > 8 {
		return errors.New("vcard: the PIN must be 6–8 digits")
	}
	if !validPUK(padRef(puk), true) || len(puk) != 8 {
		return errors.New("vcard: the PUK must be 8 digits")
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return fmt.Errorf("vcard: %w", err)
	}
	if _, err := os.Stat(filepath.Join(opts.Dir, StateFile)); err == nil && !opts.Force {
		return fmt.Errorf("%w: %s", ErrExists, opts.Dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("vcard: %w", err)
	}

	if kind == KindIDPrime && opts.Spec.Key != "" && opts.Spec.Key != testpki.RSA2048 {
		return fmt.Errorf("vcard: an IDPrime card holds RSA-2048 keys only, not %s", opts.Spec.Key)
	}
	if kind == KindIDPrime && (opts.MgmtKey != "" || opts.Version != [3]byte{}) {
		return errors.New("vcard: an IDPrime card has no PIV management key or version")
	}
	if kind == KindPIV && (opts.WithSigning || opts.SignPIN != "") {
		return errors.New("vcard: a PIV card always holds its signing key under its one PIN")
	}
	if kind == KindIDPrime && opts.WithSigning {
		sp := opts.SignPIN
		if sp == "" {
			sp = DefaultSignPIN
		}
		if !validIDPPIN(padIDP(sp)) {
			return errors.New("vcard: the signature PIN must be 6–8 digits")
		}
	}

	pki, err := testpki.New(opts.PKI)
	if err != nil {
		return fmt.Errorf("vcard: test PKI: %w", err)
	}
	tc, err := pki.IssueCard(opts.Spec)
	if err != nil {
		return fmt.Errorf("vcard: issuing card: %w", err)
	}

	if kind == KindIDPrime {
		st, err := idprimeState(opts, tc, pin, puk)
		if err != nil {
			return err
		}
		return writeCard(opts.Dir, pki, st)
	}

	st := &state{
		Format:  stateFormat,
		Kind:    KindPIV,
		Version: opts.Version,
		Serial:  opts.Serial,
		Holder:  strings.TrimSpace(tc.Spec.GivenName + " " + tc.Spec.Surname),
		HSAID:   tc.Spec.HSAID,
		Keys:    map[string]*slotKey{},
		Objects: map[string][]byte{},
	}
	if st.Version == [3]byte{} {
		st.Version = DefaultVersion
	}
	cardID := cardIDSeed(tc.Spec.CardNumber)
	if st.Serial == 0 {
		st.Serial = binary.BigEndian.Uint32(cardID[:4]) & 0x7FFFFFFF
		if st.Serial == 0 {
			st.Serial = 1
		}
	}
	if err := setDefaultRefs(st, DefaultTries, DefaultTries); err != nil {
		return err
	}
	p, u := padRef(pin), padRef(puk)
	defer clear(p)
	defer clear(u)
	if err := st.PIN.set(p); err != nil {
		return err
	}
	if err := st.PUK.set(u); err != nil {
		return err
	}
	st.PIN.Default, st.PUK.Default = pin == DefaultPIN, puk == DefaultPUK

	protected, err := setMgmtKey(st, opts.MgmtKey)
	if err != nil {
		return err
	}
	if protected {
		st.Objects[objKey(tagAdminData)] = adminData(adminFlagProtectedMgmt)
		st.Objects[objKey(tagPrinted)] = protectedData(st.MgmtKey)
	}

	type slotCred struct {
		slot byte
		cred testpki.Credential
	}
	slots := []slotCred{
		{SlotHSAAuth, tc.HSAAuth}, {SlotHSASign, tc.HSASign},
		{SlotPNAuth, tc.PNAuth}, {SlotPNSign, tc.PNSign},
	}
	// Further organisations' eIDs: each pair in the next two retired
	// key-management slots (84/85, 86/87, ... up to 95).
	if len(tc.EIDs) > MaxExtraEIDsPIV {
		return fmt.Errorf("vcard: a PIV card holds at most %d extra eIDs, not %d", MaxExtraEIDsPIV, len(tc.EIDs))
	}
	for i, e := range tc.EIDs {
		auth, sign := SlotExtraEID(i)
		slots = append(slots, slotCred{auth, e.Auth}, slotCred{sign, e.Sign})
	}
	for _, sc := range slots {
		alg := byte(algRSA2048)
		switch k := sc.cred.Key.(type) {
		case *rsa.PrivateKey:
			if k.N.BitLen() != 2048 {
				return fmt.Errorf("vcard: slot %02x: RSA-%d not supported", sc.slot, k.N.BitLen())
			}
		case *ecdsa.PrivateKey:
			alg = algECCP256
		default:
			return fmt.Errorf("vcard: slot %02x: unsupported key %T", sc.slot, sc.cred.Key)
		}
		der, err := x509.MarshalPKCS8PrivateKey(sc.cred.Key)
		if err != nil {
			return err
		}
		pp := defaultPINPolicy(sc.slot)
		if sc.slot > SlotPNSign && sc.slot%2 == 1 {
			pp = pinPolicyAlways // an extra eID's signing key, like 9C and 83
		}
		st.Keys[describeSlot(sc.slot)] = &slotKey{Alg: alg, PKCS8: der,
			PINPolicy: pp, TouchPolicy: touchNever, Origin: originImported}
		obj, _ := slotObject(sc.slot)
		st.Objects[objKey(obj)] = certObject(sc.cred.Cert.Raw)
	}
	expiry := tc.HSAAuth.Cert.NotAfter.UTC().Format("20060102")
	st.Objects[objKey(tagCHUID)] = chuid(cardID[4:20], expiry)
	st.Objects[objKey(tagCCC)] = ccc(cardID[4:18])
	st.Objects[objKey(tagDiscovery)] = discovery()
	st.Objects[objKey(tagKeyHistory)] = keyHistory(2 + 2*len(tc.EIDs))

	return writeCard(opts.Dir, pki, st)
}

// writeCard checks st and writes it with the PKI's CA certificates.
func writeCard(dir string, pki *testpki.PKI, st *state) error {
	if err := st.check(); err != nil {
		return fmt.Errorf("vcard: %w", err)
	}
	if err := pki.WriteDir(dir); err != nil {
		return fmt.Errorf("vcard: writing CA certificates: %w", err)
	}
	if err := saveState(dir, st); err != nil {
		return fmt.Errorf("vcard: writing state: %w", err)
	}
	return nil
}

// cardIDSeed is the per-card value every identifier of a card derives from
// (PIV serial, CHUID, IDPrime cardid): a hash of its card number, so each
// card has its own and the same card number gives the same card.
func cardIDSeed(cardNumber string) [32]byte {
	return sha256.Sum256([]byte("sithseid-vcard card id\x00" + cardNumber))
}

// idprimeState is the state of an IDPrime card issued as tc.
func idprimeState(opts ProvisionOptions, tc *testpki.Card, pin, puk string) (*state, error) {
	st := &state{
		Format:  stateFormat,
		Kind:    KindIDPrime,
		Version: [3]byte{4, 3, 5},
		Serial:  opts.Serial,
		Holder:  strings.TrimSpace(tc.Spec.GivenName + " " + tc.Spec.Surname),
		HSAID:   tc.Spec.HSAID,
	}
	seed := cardIDSeed(tc.Spec.CardNumber)
	if st.Serial == 0 {
		st.Serial = binary.BigEndian.Uint32(seed[:4]) & 0x7FFFFFFF
		if st.Serial == 0 {
			st.Serial = 1
		}
	}
	set := func(r *refData, v string) error {
		p := padIDP(v)
		defer clear(p)
		if err := r.set(p); err != nil {
			return err
		}
		r.Tries, r.Max = DefaultTries, DefaultTries
		return nil
	}
	if err := set(&st.PIN, pin); err != nil {
		return nil, err
	}
	if err := set(&st.PUK, puk); err != nil {
		return nil, err
	}
	st.PIN.Default, st.PUK.Default = pin == DefaultPIN, puk == DefaultPUK
	d := &idpState{Label: idprimeTokenLabel}
	d.CardID = append(append(d.CardID, seed[4:12]...), seed[4:12]...)
	creds := []struct {
		cred    testpki.Credential
		signing bool
		pinRef  byte
	}{{tc.HSAAuth, false, refIDPPIN}}
	if opts.WithSigning {
		sp := opts.SignPIN
		if sp == "" {
			sp = DefaultSignPIN
		}
		st.SignPIN = &refData{}
		if err := set(st.SignPIN, sp); err != nil {
			return nil, err
		}
		st.SignPIN.Default = sp == DefaultSignPIN
		creds = append(creds, struct {
			cred    testpki.Credential
			signing bool
			pinRef  byte
		}{tc.HSASign, true, refIDPSignPIN})
	}
	// Further organisations' eIDs: each its authentication key in the next
	// container (and with WithSigning its signing key in the one after).
	for _, e := range tc.EIDs {
		creds = append(creds, struct {
			cred    testpki.Credential
			signing bool
			pinRef  byte
		}{e.Auth, false, refIDPPIN})
		if opts.WithSigning {
			creds = append(creds, struct {
				cred    testpki.Credential
				signing bool
				pinRef  byte
			}{e.Sign, true, refIDPSignPIN})
		}
	}
	if len(creds) > 10 {
		return nil, fmt.Errorf("vcard: an IDPrime card has ten containers, not %d", len(creds))
	}
	for n, c := range creds {
		k, ok := c.cred.Key.(*rsa.PrivateKey)
		if !ok || k.N.BitLen() != 2048 {
			return nil, errors.New("vcard: an IDPrime card holds RSA-2048 keys only")
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, err
		}
		d.Keys = append(d.Keys, &idpKey{Container: n, Signing: c.signing, PINRef: c.pinRef, PKCS8: der, Cert: c.cred.Cert.Raw})
	}
	st.IDPrime = d
	return st, nil
}

// setMgmtKey applies ProvisionOptions.MgmtKey; protected reports a random
// PIN-protected key.
func setMgmtKey(st *state, spec string) (protected bool, err error) {
	switch spec {
	case "":
		st.MgmtAlg, st.MgmtKey = algAES192, make([]byte, 24)
		if _, err := rand.Read(st.MgmtKey); err != nil {
			return false, err
		}
		return true, nil
	case "default", "default-3des":
		// 3DES, as on YubiKeys before 5.7: Debian 12's yubico-piv-tool
		// 2.2.0 authenticates with 3DES only.
		st.MgmtAlg, st.MgmtKey, st.MgmtDefault = alg3DES, append([]byte(nil), DefaultManagementKey...), true
		return false, nil
	case "default-aes":
		st.MgmtAlg, st.MgmtKey, st.MgmtDefault = algAES192, append([]byte(nil), DefaultManagementKey...), true
		return false, nil
	}
	tdes := strings.HasPrefix(spec, "3des:")
	key, err := hex.DecodeString(strings.TrimPrefix(spec, "3des:"))
	if err != nil {
		return false, fmt.Errorf("vcard: management key: not hex")
	}
	switch {
	case tdes && len(key) == 24:
		st.MgmtAlg = alg3DES
	case !tdes && len(key) == 16:
		st.MgmtAlg = algAES128
	case !tdes && len(key) == 24:
		st.MgmtAlg = algAES192
	case !tdes && len(key) == 32:
		st.MgmtAlg = algAES256
	default:
		return false, fmt.Errorf("vcard: management key: %d bytes (want 16, 24 or 32; 3des: 24)", len(key))
	}
	st.MgmtKey = key
	st.MgmtDefault = string(key) == string(DefaultManagementKey)
	return false, nil
}
