package mtls_test

import (
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// BenchmarkHandshake compares a full handshake (the card signs) with a
// resumed one (no signature), each on a new connection to a real nginx.
// signatures/op is counted by a signer wrapper.
//
//	go test -run '^$' -bench Handshake ./mtls/
func BenchmarkHandshake(b *testing.B) {
	p := newPKI(b, "mtls-bench")
	for _, proto := range []string{"TLSv1.2", "TLSv1.3"} {
		srv := startNginx(b, p, serverOpts{protocols: []string{proto}})
		for _, key := range []testpki.KeyType{testpki.RSA2048, testpki.P256} {
			cred := issueCard(b, p, key)
			for _, mode := range []string{"full", "resumed"} {
				b.Run(proto+"/"+string(key)+"/"+mode, func(b *testing.B) {
					signer := &countingSigner{Signer: cred.Key}
					c := newClient(b, options(p, cred, signer))
					fetch(b, srv, c) // a session to resume
					c.CloseIdleConnections()
					signer.n.Store(0)
					b.ResetTimer()
					for b.Loop() {
						if mode == "full" {
							c.ForgetSessions()
						} else {
							c.CloseIdleConnections()
						}
						fetch(b, srv, c)
					}
					b.ReportMetric(float64(signer.n.Load())/float64(b.N), "signatures/op")
				})
			}
		}
	}
}
