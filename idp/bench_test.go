package idp

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/sithseid/sithseid/oob"
)

// BenchmarkLogin is one whole login on the service over kept-alive TLS
// connections: auth, lookup, complete (chain, OCSP signed and verified,
// challenge signature) and collect. The client's RSA signature is part of
// the loop, as a card's would be.
func BenchmarkLogin(b *testing.B) {
	f := newFixture(b, nil)
	mtls := f.client(&f.card.HSAAuth)
	for b.Loop() {
		a := f.auth("Logga in", "")
		l := f.lookup(a.AutoStartToken)
		alg, sig := sign(b, f.card.HSAAuth.Key, l)
		r := f.post(mtls, oob.PathComplete, map[string]string{
			"transactionId": l.TransactionID, "signatureAlgorithm": alg,
			"signature": base64.StdEncoding.EncodeToString(sig),
		}, nil)
		if r.status != http.StatusOK {
			b.Fatalf("complete: %d %s", r.status, r.body)
		}
		if c := f.collect(a.OrderRef); c.Status != oob.StatusComplete {
			b.Fatal(c.Status)
		}
	}
}
