package idp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/sithseid/sithseid/oob"
)

func (f *fixture) completeWithDevice(txID, alg string, sig []byte, p *oob.DeviceProof) reply {
	f.t.Helper()
	return f.post(f.client(&f.card.HSAAuth), oob.PathComplete, map[string]any{
		"transactionId":      txID,
		"signatureAlgorithm": alg,
		"signature":          base64.StdEncoding.EncodeToString(sig),
		"device": map[string]string{
			"publicKey": base64.StdEncoding.EncodeToString(p.PublicKey),
			"signature": base64.StdEncoding.EncodeToString(p.Signature),
		},
	}, nil)
}

// A completion with the installation's device proof tells the relying
// party the device's fingerprint; a proof that does not verify (another
// key's signature, or one over another order) fails the order like a bad
// card signature; without a proof there is no fingerprint.
func TestCompletionDeviceProof(t *testing.T) {
	f := newFixture(t, nil)
	dev, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	a := f.auth("Logga in", "")
	l := f.lookup(a.AutoStartToken)
	alg, sig := sign(t, f.card.HSAAuth.Key, l)
	tbs := oob.ToBeSigned(l.Challenge, l.RelyingParty.Name, l.UserVisibleText)
	proof, err := oob.SignDevice(dev, tbs)
	if err != nil {
		t.Fatal(err)
	}
	var cr oob.CompleteResponse
	f.decodeReply(f.completeWithDevice(l.TransactionID, alg, sig, proof), http.StatusOK, &cr)
	c := f.wantState(a.OrderRef, oob.StatusComplete, "")
	if want := oob.DeviceUHI(proof.PublicKey); c.CompletionData.Device.UHI != want || len(want) != 43 {
		t.Fatalf("device %+v, want uhi %s", c.CompletionData.Device, want)
	}

	// A proof made for another order does not verify for this one.
	b := f.auth("Logga in igen", "")
	lb := f.lookup(b.AutoStartToken)
	algB, sigB := sign(t, f.card.HSAAuth.Key, lb)
	f.wantError(f.completeWithDevice(lb.TransactionID, algB, sigB, proof), http.StatusForbidden, oob.ErrorCodeBadSignature, "device proof does not verify")
	f.wantState(b.OrderRef, oob.StatusFailed, oob.HintCertificateErr)

	// Without a proof: complete, no fingerprint.
	d := f.auth("Logga in", "")
	ld := f.lookup(d.AutoStartToken)
	algD, sigD := sign(t, f.card.HSAAuth.Key, ld)
	f.decodeReply(f.complete(&f.card.HSAAuth, ld.TransactionID, algD, sigD), http.StatusOK, &cr)
	if c := f.wantState(d.OrderRef, oob.StatusComplete, ""); c.CompletionData.Device.UHI != "" {
		t.Fatalf("uhi %q without a proof", c.CompletionData.Device.UHI)
	}
}
