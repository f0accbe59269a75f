package vcard

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// StateFile is the card's state inside its directory.
const StateFile = "card.json"

// stateFormat versions the JSON layout.
const stateFormat = 1

// state is everything a card remembers across power cycles. It is written as
// one JSON file, atomically, after every change. PIN and PUK are kept only as
// salted PBKDF2 hashes.
type state struct {
	Format int `json:"format"`
	// Kind is the card application; absent (states from before kinds)
	// means KindPIV.
	Kind    Kind    `json:"kind,omitempty"`
	Version [3]byte `json:"version"` // answered to GET VERSION (INS FD)
	Serial  uint32  `json:"serial"`
	Holder  string  `json:"holder,omitempty"` // for `status`; not on the card's wire
	HSAID   string  `json:"hsa_id,omitempty"`

	// PIN is the PIV PIN (80) or the IDPrime identification PIN (11); PUK
	// the PUK of either.
	PIN refData `json:"pin"`
	PUK refData `json:"puk"`
	// SignPIN is the IDPrime signature PIN (83), on cards with a signing
	// key only.
	SignPIN *refData `json:"sign_pin,omitempty"`
	// IDPrime holds an IDPrime card's keys and certificates; nil on PIV
	// cards, which keep theirs in Keys and Objects.
	IDPrime *idpState `json:"idprime,omitempty"`

	MgmtAlg byte   `json:"mgmt_alg"` // 03, 08, 0A or 0C
	MgmtKey []byte `json:"mgmt_key"`
	// MgmtDefault is true while the management key is the well-known default.
	MgmtDefault bool `json:"mgmt_default"`

	// Keys by slot, in lower-case hex ("9a").
	Keys map[string]*slotKey `json:"keys"`
	// Objects by BER-TLV tag in lower-case hex ("5fc105"): the value of the
	// 53 template (or, for the discovery object 7E, the whole 7E TLV).
	Objects map[string][]byte `json:"objects"`
}

// refData is one reference datum (PIN or PUK): its hash and retry counter.
type refData struct {
	Salt    []byte `json:"salt"`
	Hash    []byte `json:"hash"`
	Tries   int    `json:"tries_left"`
	Max     int    `json:"tries_max"`
	Default bool   `json:"default"` // still the factory value
}

// slotKey is a private key in a slot.
type slotKey struct {
	Alg         byte   `json:"alg"` // 07 RSA-2048, 11 P-256
	PKCS8       []byte `json:"pkcs8"`
	PINPolicy   byte   `json:"pin_policy"`   // Yubico values: 01 never, 02 once, 03 always
	TouchPolicy byte   `json:"touch_policy"` // 01 never
	Origin      byte   `json:"origin"`       // 01 generated, 02 imported
}

const pbkdf2Iter = 2048

func hashRef(salt, padded []byte) []byte {
	k, err := pbkdf2.Key(sha256.New, string(padded), salt, pbkdf2Iter, 32)
	if err != nil { // only on invalid parameters, which are constants here
		panic(err)
	}
	return k
}

// setRef stores the hash of padded (8 bytes) with a fresh salt.
func (r *refData) set(padded []byte) error {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	r.Salt = salt
	r.Hash = hashRef(salt, padded)
	return nil
}

func (r *refData) matches(padded []byte) bool {
	return subtle.ConstantTimeCompare(hashRef(r.Salt, padded), r.Hash) == 1
}

// loadState reads dir/card.json.
func loadState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return nil, fmt.Errorf("vcard: reading state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("vcard: %s: %w", filepath.Join(dir, StateFile), err)
	}
	if st.Kind == "" {
		st.Kind = KindPIV
	}
	if st.Format != stateFormat {
		return nil, fmt.Errorf("vcard: %s: unsupported format %d", filepath.Join(dir, StateFile), st.Format)
	}
	if err := st.check(); err != nil {
		return nil, fmt.Errorf("vcard: %s: %w", filepath.Join(dir, StateFile), err)
	}
	if st.Keys == nil {
		st.Keys = map[string]*slotKey{}
	}
	if st.Objects == nil {
		st.Objects = map[string][]byte{}
	}
	return &st, nil
}

func (st *state) check() error {
	refs := []*refData{&st.PIN, &st.PUK}
	if st.SignPIN != nil {
		refs = append(refs, st.SignPIN)
	}
	for _, r := range refs {
		if len(r.Salt) == 0 || len(r.Hash) != 32 || r.Max < 1 || r.Max > 15 || r.Tries < 0 || r.Tries > r.Max {
			return errors.New("invalid PIN or PUK record")
		}
	}
	switch st.Kind {
	case KindIDPrime:
		return st.checkIDPrime()
	case KindPIV:
	default:
		return fmt.Errorf("unknown card kind %q", st.Kind)
	}
	if st.IDPrime != nil || st.SignPIN != nil {
		return errors.New("IDPrime data on a PIV card")
	}
	if n, ok := mgmtKeyLen[st.MgmtAlg]; !ok || n != len(st.MgmtKey) {
		return errors.New("invalid management key")
	}
	return nil
}

// saveState writes st to dir/card.json atomically: a temporary file in the
// same directory, fsync, rename over the old file, fsync of the directory.
// A crash leaves either the old or the new state, never a torn file.
func saveState(dir string, st *state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".card-*.json")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, StateFile)); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
