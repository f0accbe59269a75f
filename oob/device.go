package oob

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
)

// The device proof binds a completion to the installation that made it:
// every installation of the app has a device key (ECDSA P-256, created on
// its first login and kept in the OS keyring), and signs each completion
// with it besides the card's signature. The service reports the key's
// fingerprint to the relying party as completionData.device.uhi (BankID's
// "unique hardware identifier" slot), so a relying party can tell a login
// from the user's usual workstation from one finished on an unknown
// installation: the trace a talked-into approval or a relayed link leaves.
// The proof adds no authority: the card's signature still decides.

// DeviceDomain opens what the device key signs, so its signature can never
// stand for the card's (or anything else's).
const DeviceDomain = "SITHSEID-DEVICE-V1"

// MaxDevicePublicKeySize bounds DeviceProof.PublicKey (a P-256 SPKI is 91
// bytes).
const MaxDevicePublicKeySize = 128

// ErrBadDeviceProof: a device proof whose key is not P-256 or whose
// signature does not verify.
var ErrBadDeviceProof = errors.New("device proof does not verify")

// DeviceProof is the optional "device" of a CompleteRequest.
type DeviceProof struct {
	// PublicKey is the device key's PKIX SubjectPublicKeyInfo (DER).
	PublicKey Base64 `json:"publicKey"`
	// Signature is ASN.1 ECDSA over SHA-256(DeviceDomain || 0x00 || tbs),
	// tbs the same ToBeSigned the card signs.
	Signature Base64 `json:"signature"`
}

func (p *DeviceProof) validate(w string) error {
	if n := len(p.PublicKey); n == 0 || n > MaxDevicePublicKeySize {
		return &DecodeError{What: w, Field: "device.publicKey", Reason: "empty or too long"}
	}
	if _, err := parseDeviceKey(p.PublicKey); err != nil {
		return &DecodeError{What: w, Field: "device.publicKey", Err: err}
	}
	if n := len(p.Signature); n == 0 || n > MaxSignatureSize {
		return &DecodeError{What: w, Field: "device.signature", Reason: "empty or too long"}
	}
	return nil
}

func parseDeviceKey(spki []byte) (*ecdsa.PublicKey, error) {
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return nil, err
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%T: want an ECDSA P-256 key: %w", pub, ErrUnsupportedKey)
	}
	return k, nil
}

func deviceDigest(tbs []byte) [32]byte {
	b := make([]byte, 0, len(DeviceDomain)+1+len(tbs))
	b = append(b, DeviceDomain...)
	b = append(b, 0)
	b = append(b, tbs...)
	return sha256.Sum256(b)
}

// SignDevice makes the device proof for tbs with the device key.
func SignDevice(key *ecdsa.PrivateKey, tbs []byte) (*DeviceProof, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("device key: %w", ErrUnsupportedKey)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	d := deviceDigest(tbs)
	sig, err := ecdsa.SignASN1(rand.Reader, key, d[:])
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	return &DeviceProof{PublicKey: spki, Signature: sig}, nil
}

// VerifyDevice checks p against tbs and returns the device's UHI.
func VerifyDevice(p *DeviceProof, tbs []byte) (string, error) {
	k, err := parseDeviceKey(p.PublicKey)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadDeviceProof, err)
	}
	d := deviceDigest(tbs)
	if !ecdsa.VerifyASN1(k, d[:], p.Signature) {
		return "", ErrBadDeviceProof
	}
	return DeviceUHI(p.PublicKey), nil
}

// DeviceUHI is a device key's fingerprint as the relying party sees it:
// base64url (no padding) of SHA-256 of its SubjectPublicKeyInfo, 43
// characters.
func DeviceUHI(spki []byte) string {
	sum := sha256.Sum256(spki)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// checkUHI accepts "" (no device proof) or a DeviceUHI.
func checkUHI(w, field, v string) error {
	if v == "" {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) != sha256.Size || len(v) != 43 {
		return &DecodeError{What: w, Field: field, Reason: "not a device fingerprint"}
	}
	return nil
}
