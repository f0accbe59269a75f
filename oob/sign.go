package oob

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
)

// TBSDomain opens every to-be-signed message, so a challenge signature
// cannot be mistaken for a signature in any other protocol (a TLS
// CertificateVerify, a document signature) made with the same card key.
const TBSDomain = "SITHSEID-OOB-V1"

// ToBeSigned returns the message the authenticator signs to complete a
// transaction:
//
//	"SITHSEID-OOB-V1" || 0x00 || challenge (32 bytes) ||
//	SHA-256(UTF-8 relying party name) || SHA-256(UTF-8 userVisibleText)
//
// Binding the name and text means the signature approves what the user was
// shown, not just an opaque challenge. The fixed-length hashes make the
// encoding unambiguous.
func ToBeSigned(challenge []byte, rpName, text string) []byte {
	n := sha256.Sum256([]byte(rpName))
	t := sha256.Sum256([]byte(text))
	b := make([]byte, 0, len(TBSDomain)+1+len(challenge)+2*sha256.Size)
	b = append(b, TBSDomain...)
	b = append(b, 0)
	b = append(b, challenge...)
	b = append(b, n[:]...)
	b = append(b, t[:]...)
	return b
}

// PSSSupporter is implemented by signers that know whether their key can
// make RSA-PSS signatures (a smart card may only do PKCS#1 v1.5).
type PSSSupporter interface {
	SupportsPSS() bool
}

// SignChallenge signs SHA-256(tbs) with signer and returns the protocol's
// algorithm name with the signature. RSA keys sign with PSS (salt length =
// hash length) when the signer implements PSSSupporter and says yes, else
// with PKCS#1 v1.5; ECDSA keys sign ASN.1 DER. It blocks while the card
// signs, so the caller holds ctx-bound card access.
func SignChallenge(signer crypto.Signer, tbs []byte) (alg string, sig []byte, err error) {
	digest := sha256.Sum256(tbs)
	var opts crypto.SignerOpts
	switch signer.Public().(type) {
	case *rsa.PublicKey:
		alg, opts = AlgRSAPKCS1SHA256, crypto.SHA256
		if p, ok := signer.(PSSSupporter); ok && p.SupportsPSS() {
			alg = AlgRSAPSSSHA256
			opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
		}
	case *ecdsa.PublicKey:
		alg, opts = AlgECDSASHA256, crypto.SHA256
	default:
		return "", nil, fmt.Errorf("signing challenge: %T: %w", signer.Public(), ErrUnsupportedKey)
	}
	sig, err = signer.Sign(rand.Reader, digest[:], opts)
	if err != nil {
		return "", nil, fmt.Errorf("signing challenge: %w", err)
	}
	return alg, sig, nil
}

// VerifyChallenge checks a signature made by SignChallenge. The algorithm
// must fit the key type; anything else is ErrUnsupportedKey, a signature
// that does not verify ErrBadSignature.
func VerifyChallenge(pub crypto.PublicKey, alg string, sig, tbs []byte) error {
	digest := sha256.Sum256(tbs)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		var err error
		switch alg {
		case AlgRSAPKCS1SHA256:
			err = rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig)
		case AlgRSAPSSSHA256:
			err = rsa.VerifyPSS(k, crypto.SHA256, digest[:], sig,
				&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
		default:
			return fmt.Errorf("%q with an RSA key: %w", alg, ErrUnsupportedKey)
		}
		if err != nil {
			return ErrBadSignature
		}
		return nil
	case *ecdsa.PublicKey:
		if alg != AlgECDSASHA256 {
			return fmt.Errorf("%q with an ECDSA key: %w", alg, ErrUnsupportedKey)
		}
		if !ecdsa.VerifyASN1(k, digest[:], sig) {
			return ErrBadSignature
		}
		return nil
	}
	return fmt.Errorf("%T: %w", pub, ErrUnsupportedKey)
}
