package idprime

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"slices"
	"testing"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/pkcs11"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// The native backend and OpenSC's idprime driver (through its PKCS#11
// module, an implementation nobody here wrote) read the same card the same
// way: the same certificates, byte for byte, and signatures that verify
// under the same public key. PKCS#1 v1.5 is deterministic, so both must
// produce the very same signature; PSS is randomised, so each is verified.
func TestAgreesWithOpenSC(t *testing.T) {
	testenv.Stat(t, testenv.OpenSCModule, "OpenSC's PKCS#11 module (scripts/setup installs opensc)")
	vc, native := insert(t, true)
	ctx := context.Background()
	p11 := pkcs11.New(pkcs11.Options{ModulePath: testenv.OpenSCModule})
	defer p11.Close()
	oc, err := p11.Open(ctx, cardreader.Reader{Name: vc.Reader, CardPresent: true})
	if err != nil {
		t.Fatalf("OpenSC: %v", err)
	}

	mine, err := native.Certificates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := oc.Certificates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fingerprints := func(cs []cardreader.Certificate) [][32]byte {
		var out [][32]byte
		for _, c := range cs {
			out = append(out, sha256.Sum256(c.Cert.Raw))
		}
		slices.SortFunc(out, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
		return out
	}
	if len(mine) != 2 || !slices.Equal(fingerprints(mine), fingerprints(theirs)) {
		t.Fatalf("certificates differ: native %d, OpenSC %d", len(mine), len(theirs))
	}

	// The login key: kxc00 natively, 0001 to OpenSC, both under PIN 11.
	var leaf *x509.Certificate
	for _, c := range mine {
		if c.ID == "kxc00" {
			leaf = c.Cert
		}
	}
	if leaf == nil {
		t.Fatal("no kxc00")
	}
	pub := leaf.PublicKey.(*rsa.PublicKey)
	signer := func(c cardreader.Card, id string) crypto.Signer {
		s, err := c.Signer(ctx, id, cardreader.NewSecret([]byte(vc.PIN)))
		if err != nil {
			t.Fatalf("%s signer %s: %v", c.Backend(), id, err)
		}
		return s
	}
	ns, os := signer(native, "kxc00"), signer(oc, "0001")
	if !ns.Public().(*rsa.PublicKey).Equal(os.Public()) || !pub.Equal(ns.Public()) {
		t.Fatal("the two backends name different keys")
	}
	digest := sha256.Sum256([]byte("SITHS eID: native and OpenSC"))
	a, err := ns.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("PKCS#1 v1.5 signatures differ between the native backend and OpenSC")
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], a); err != nil {
		t.Errorf("PKCS#1 v1.5: %v", err)
	}
	pss := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	for name, s := range map[string]crypto.Signer{"native": ns, "OpenSC": os} {
		sig, err := s.Sign(rand.Reader, digest[:], pss)
		if err != nil {
			t.Fatalf("%s PSS: %v", name, err)
		}
		if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, pss); err != nil {
			t.Errorf("%s PSS signature does not verify under the certificate's key: %v", name, err)
		}
	}
	if p, _ := vc.State.PINRetries(); p != 3 {
		t.Errorf("PIN tries left %d after correct PINs", p)
	}
}
