package oob

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"
)

func TestToBeSignedLayout(t *testing.T) {
	ch := bytes.Repeat([]byte{0xAB}, 32)
	tbs := ToBeSigned(ch, "Journalsystemet Demo", "Logga in")
	n := sha256.Sum256([]byte("Journalsystemet Demo"))
	x := sha256.Sum256([]byte("Logga in"))
	want := append(append(append(append([]byte("SITHSEID-OOB-V1"), 0), ch...), n[:]...), x[:]...)
	if !bytes.Equal(tbs, want) || len(tbs) != 15+1+32+32+32 {
		t.Fatalf("ToBeSigned = %x", tbs)
	}
	// A fixed vector, computed independently (Python hashlib), so the
	// service and other implementations can check theirs: challenge
	// 0x00..0x1f, relying party "RP", text "Text".
	var seq [32]byte
	for i := range seq {
		seq[i] = byte(i)
	}
	const wantTBS = "53495448534549442d4f4f422d563100000102030405060708090a0b0c0d0e0f" +
		"101112131415161718191a1b1c1d1e1fdcd3491f84f8ffc1bd6e66c68f6abd0b" +
		"cae2e8aa520a1748c8f01b0f90609dc771988c4d8e0803ba4519f0b2864c1331" +
		"c14a1890bf8694e251379177bfedb5c3"
	if got := hex.EncodeToString(ToBeSigned(seq[:], "RP", "Text")); got != wantTBS {
		t.Fatalf("ToBeSigned vector = %s", got)
	}
	if bytes.Equal(ToBeSigned(ch, "A", "BC"), ToBeSigned(ch, "AB", "C")) {
		t.Fatal("name/text boundary is ambiguous")
	}
}

// pssSigner wraps a key with a SupportsPSS answer, like a card backend.
type pssSigner struct {
	crypto.Signer
	pss  bool
	used crypto.SignerOpts
}

func (s *pssSigner) SupportsPSS() bool { return s.pss }
func (s *pssSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	s.used = o
	return s.Signer.Sign(r, d, o)
}

type failingSigner struct{ crypto.Signer }

func (failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("card removed")
}

func TestSignAndVerifyChallenge(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tbs := ToBeSigned(bytes.Repeat([]byte{1}, 32), "Journalsystemet", "Logga in")
	other := ToBeSigned(bytes.Repeat([]byte{2}, 32), "Journalsystemet", "Logga in")

	cases := []struct {
		name   string
		signer crypto.Signer
		alg    string
	}{
		{"rsa plain signer", rsaKey, AlgRSAPKCS1SHA256},
		{"rsa no pss", &pssSigner{Signer: rsaKey, pss: false}, AlgRSAPKCS1SHA256},
		{"rsa pss", &pssSigner{Signer: rsaKey, pss: true}, AlgRSAPSSSHA256},
		{"ecdsa p256", ecKey, AlgECDSASHA256},
		{"ecdsa p384", ec384, AlgECDSASHA256},
	}
	for _, c := range cases {
		alg, sig, err := SignChallenge(c.signer, tbs)
		if err != nil || alg != c.alg {
			t.Errorf("%s: SignChallenge = %q, %v; want %q", c.name, alg, err, c.alg)
			continue
		}
		pub := c.signer.Public()
		if err := VerifyChallenge(pub, alg, sig, tbs); err != nil {
			t.Errorf("%s: VerifyChallenge: %v", c.name, err)
		}
		if err := VerifyChallenge(pub, alg, sig, other); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: other message: %v", c.name, err)
		}
		bad := bytes.Clone(sig)
		bad[len(bad)/2] ^= 1
		if err := VerifyChallenge(pub, alg, bad, tbs); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: flipped bit: %v", c.name, err)
		}
		for _, wrong := range []string{AlgRSAPKCS1SHA256, AlgRSAPSSSHA256, AlgECDSASHA256, "none"} {
			if wrong == alg {
				continue
			}
			if err := VerifyChallenge(pub, wrong, sig, tbs); err == nil {
				t.Errorf("%s: verified as %s", c.name, wrong)
			}
		}
	}
	// PSS with salt length = hash length, as docs/protocol.md says.
	ps := &pssSigner{Signer: rsaKey, pss: true}
	if _, _, err := SignChallenge(ps, tbs); err != nil {
		t.Fatal(err)
	}
	if o, ok := ps.used.(*rsa.PSSOptions); !ok || o.SaltLength != rsa.PSSSaltLengthEqualsHash || o.Hash != crypto.SHA256 {
		t.Errorf("PSS options %#v", ps.used)
	}
	// A signature by another key does not verify.
	rsa2, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, sig, _ := SignChallenge(rsa2, tbs)
	if err := VerifyChallenge(&rsaKey.PublicKey, AlgRSAPKCS1SHA256, sig, tbs); !errors.Is(err, ErrBadSignature) {
		t.Errorf("other key: %v", err)
	}

	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	if _, _, err := SignChallenge(edKey, tbs); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("ed25519 signer: %v", err)
	}
	if err := VerifyChallenge(edKey.Public(), AlgECDSASHA256, []byte{1}, tbs); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("ed25519 public key: %v", err)
	}
	if _, _, err := SignChallenge(failingSigner{ecKey}, tbs); err == nil {
		t.Error("signer error not returned")
	}
}
