package testpki_test

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

func Example() {
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	pki, err := testpki.New(testpki.Options{Now: now})
	if err != nil {
		panic(err)
	}
	card, err := pki.IssueCard(testpki.CardSpec{Key: testpki.P256, CardNumber: "9752269000000012345"})
	if err != nil {
		panic(err)
	}
	auth := card.HSAAuth.Cert
	_, err = auth.Verify(x509.VerifyOptions{
		Roots:         pki.Roots(),
		Intermediates: pki.Intermediates(),
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	number, _ := testpki.ParseCardNumber(auth)
	fmt.Println(auth.Subject.CommonName, auth.Subject.SerialNumber, number)
	fmt.Println("issuer:", auth.Issuer.CommonName)
	fmt.Println("verified:", err == nil, "LoA:", testpki.LoA(auth))
	fmt.Println("auth:", testpki.IsAuthentication(auth), "sign:", testpki.IsSigning(card.HSASign.Cert))
	// Output:
	// Anna Svensson SE2321000016-1234 9752269000000012345
	// issuer: SITHS e-id Person HSA-id 3 CA v1 TEST
	// verified: true LoA: 3
	// auth: true sign: true
}
