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

	"github.com/sithseid/sithseid/internal/testpki"
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

// ProvisionOptions describe a card to provision.
type ProvisionOptions struct {
	Dir  string           // the state directory (created 0700 if missing)
	Spec testpki.CardSpec // holder, HSA-ID, personal number, key type, variant
	PKI  testpki.Options  // seed, now and OCSP URL of the test PKI

	PIN, PUK string // "" = DefaultPIN, DefaultPUK

	// MgmtKey is the management key: "" = a random AES-192 key stored
	// PIN-protected on the card (YubiKey style: PRINTED 5FC109 holds
	// 88 { 89 key }, ADMIN DATA 5FFF00 flags it); "default" (or
	// "default-3des") = the well-known default key as 3DES, "default-aes"
	// as AES-192; or hex (16/24/32 bytes = AES-128/192/256), optionally
	// prefixed "3des:".
	MgmtKey string

	Serial  uint32  // 0 = derived from the card number
	Version [3]byte // zero = DefaultVersion
	Force   bool    // overwrite an existing card
}

// Provision creates a SITHS card from the test PKI in opts.Dir: the HSA-ID
// pair in 9A/9C, the personal-number pair in 82/83, CHUID, CCC, discovery
// and key history objects, PIN, PUK and management key. It also writes the
// PKI's root.pem and cas.pem into the directory for relying parties.
func Provision(opts ProvisionOptions) error {
	if opts.Dir == "" {
		return errors.New("vcard: no directory")
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

	pki, err := testpki.New(opts.PKI)
	if err != nil {
		return fmt.Errorf("vcard: test PKI: %w", err)
	}
	tc, err := pki.IssueCard(opts.Spec)
	if err != nil {
		return fmt.Errorf("vcard: issuing card: %w", err)
	}

	st := &state{
		Format:  stateFormat,
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
	cardID := sha256.Sum256([]byte("sithseid-vcard card id\x00" + tc.Spec.CardNumber))
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

	for _, sc := range []struct {
		slot byte
		cred testpki.Credential
	}{
		{SlotHSAAuth, tc.HSAAuth}, {SlotHSASign, tc.HSASign},
		{SlotPNAuth, tc.PNAuth}, {SlotPNSign, tc.PNSign},
	} {
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
		st.Keys[describeSlot(sc.slot)] = &slotKey{Alg: alg, PKCS8: der,
			PINPolicy: defaultPINPolicy(sc.slot), TouchPolicy: touchNever, Origin: originImported}
		obj, _ := slotObject(sc.slot)
		st.Objects[objKey(obj)] = certObject(sc.cred.Cert.Raw)
	}
	expiry := tc.HSAAuth.Cert.NotAfter.UTC().Format("20060102")
	st.Objects[objKey(tagCHUID)] = chuid(cardID[4:20], expiry)
	st.Objects[objKey(tagCCC)] = ccc(cardID[4:18])
	st.Objects[objKey(tagDiscovery)] = discovery()
	st.Objects[objKey(tagKeyHistory)] = keyHistory(2)

	if err := st.check(); err != nil {
		return fmt.Errorf("vcard: %w", err)
	}
	if err := pki.WriteDir(opts.Dir); err != nil {
		return fmt.Errorf("vcard: writing CA certificates: %w", err)
	}
	if err := saveState(opts.Dir, st); err != nil {
		return fmt.Errorf("vcard: writing state: %w", err)
	}
	return nil
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
