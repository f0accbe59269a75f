package mtls_test

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"

	"github.com/sithseid/sithseid/mtls"
)

// The app builds one Client per inserted card and drops its sessions when
// the card goes.
func ExampleNewClient() {
	var (
		cardKey   crypto.Signer       // from cardreader.Card.Signer
		loginCert []*x509.Certificate // HSA-ID authentication certificate, then its CA
		anchors   *x509.CertPool      // the environment's trust anchors
	)
	c, err := mtls.NewClient(mtls.Options{Signer: cardKey, Chain: loginCert, Roots: anchors})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := c.HTTP.Get("https://idp.example/api/complete")
	var untrusted *mtls.UntrustedServerError
	switch {
	case errors.As(err, &untrusted) && untrusted.LikelyInspectingProxy:
		fmt.Println("the network inspects TLS; ask IT to exempt the service")
	case err != nil:
		fmt.Println(err)
	default:
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// On card removal:
	c.ForgetSessions()
	fmt.Println(c.Stats().Signatures <= 1)
}
