package idp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"sync"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/oob"
)

// A completion is refused, with the reason in details and the order failed
// with certificateErr, for every certificate or signature that must not
// log in (docs/protocol.md §5 steps 2 and 3).
func TestCompleteRefused(t *testing.T) {
	f := newFixture(t, nil)
	other, err := testpki.New(testpki.Options{Seed: "another-pki"})
	if err != nil {
		t.Fatal(err)
	}
	otherCard, err := other.IssueCard(testpki.CardSpec{})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := f.pki.IssueCard(testpki.CardSpec{HSAID: "SE2321000016-0001", Variant: testpki.Expired})
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := f.pki.IssueCard(testpki.CardSpec{HSAID: "SE2321000016-0002"})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Revoke(revoked.HSAAuth.Cert.SerialNumber)
	revokedInPKI, err := f.pki.IssueCard(testpki.CardSpec{HSAID: "SE2321000016-0003"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.pki.Revoke(revokedInPKI.HSAAuth.Cert); err != nil {
		t.Fatal(err)
	}
	strangerKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	good := &f.card.HSAAuth
	for _, tc := range []struct {
		name   string
		cred   *testpki.Credential // client certificate (nil: none)
		signer func(oob.LookupResponse) (string, []byte)
		code   string
		detail string
	}{
		{"no client certificate", nil, nil, oob.ErrorCodeCertificateErr, "no client certificate"},
		{"another PKI", &otherCard.HSAAuth, nil, oob.ErrorCodeCertificateErr, "not issued by the HSA-ID person CA"},
		{"personal-number certificate", &f.card.PNAuth, nil, oob.ErrorCodeCertificateErr, "not issued by the HSA-ID person CA"},
		{"signing certificate", &f.card.HSASign, nil, oob.ErrorCodeCertificateErr, "not an authentication certificate"},
		{"expired", &expired.HSAAuth, nil, oob.ErrorCodeCertificateErr, "expired"},
		{"revoked", &revoked.HSAAuth, nil, oob.ErrorCodeCertificateErr, "revoked"},
		{"revoked through testpki", &revokedInPKI.HSAAuth, nil, oob.ErrorCodeCertificateErr, "revoked"},
		{"server certificate", ptr(f.srv.Certificate()), nil, oob.ErrorCodeCertificateErr, "not issued by the HSA-ID person CA"},
		{"ECDSA signature for an RSA certificate", good, func(l oob.LookupResponse) (string, []byte) {
			return sign(t, strangerKey, l)
		}, oob.ErrorCodeBadSignature, "does not fit"},
		{"signature by another key", good, func(l oob.LookupResponse) (string, []byte) {
			return sign(t, otherCard.HSAAuth.Key, l)
		}, oob.ErrorCodeBadSignature, "does not verify"},
		{"signature by the signing key of the same card", good, func(l oob.LookupResponse) (string, []byte) {
			return sign(t, f.card.HSASign.Key, l)
		}, oob.ErrorCodeBadSignature, "does not verify"},
		{"signature over another text", good, func(l oob.LookupResponse) (string, []byte) {
			l.UserVisibleText = "Överför 10 000 kr"
			return sign(t, f.card.HSAAuth.Key, l)
		}, oob.ErrorCodeBadSignature, "does not verify"},
		{"signature over another relying party", good, func(l oob.LookupResponse) (string, []byte) {
			l.RelyingParty.Name = "Evil"
			return sign(t, f.card.HSAAuth.Key, l)
		}, oob.ErrorCodeBadSignature, "does not verify"},
		{"algorithm not fitting the key", good, func(l oob.LookupResponse) (string, []byte) {
			_, sig := sign(t, f.card.HSAAuth.Key, l)
			return oob.AlgECDSASHA256, sig
		}, oob.ErrorCodeBadSignature, "does not fit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			a := f.auth("Logga in", "")
			l := f.lookup(a.AutoStartToken)
			var alg string
			var sig []byte
			if tc.signer != nil {
				alg, sig = tc.signer(l)
			} else {
				key := f.card.HSAAuth.Key
				if tc.cred != nil {
					key = tc.cred.Key
				}
				alg, sig = sign(t, key, l)
			}
			f.wantError(f.complete(tc.cred, l.TransactionID, alg, sig), http.StatusForbidden, tc.code, tc.detail)
			f.wantState(a.OrderRef, oob.StatusFailed, oob.HintCertificateErr)
			// The failed order stays failed: a right completion is too late.
			alg, sig = sign(t, f.card.HSAAuth.Key, l)
			f.wantError(f.complete(good, l.TransactionID, alg, sig), http.StatusGone, oob.ErrorCodeExpired, "")
		})
	}
}

func ptr[T any](v T) *T { return &v }

// Of concurrent completions of one transaction (and of two transactions of
// one order) exactly one wins; the others get 409 alreadyCompleted. Run
// with -race.
func TestConcurrentCompletions(t *testing.T) {
	f := newFixture(t, nil)
	for round := 0; round < 3; round++ {
		a := f.auth("Logga in", "")
		l1 := f.lookup(a.AutoStartToken)
		l2 := f.lookup(a.AutoStartToken) // a second authenticator session
		if l1.TransactionID == l2.TransactionID || string(l1.Challenge) == string(l2.Challenge) {
			t.Fatal("two lookups share a transaction or challenge")
		}
		const n = 8
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			l := l1
			if i%2 == 1 {
				l = l2
			}
			alg, sig := sign(t, f.card.HSAAuth.Key, l)
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = f.complete(&f.card.HSAAuth, l.TransactionID, alg, sig).status
			}()
		}
		wg.Wait()
		won, lost := 0, 0
		for _, c := range codes {
			switch c {
			case http.StatusOK:
				won++
			case http.StatusConflict:
				lost++
			default:
				t.Fatalf("completion answered %d", c)
			}
		}
		if won != 1 || lost != n-1 {
			t.Fatalf("%d won, %d lost; want exactly one winner", won, lost)
		}
		f.wantState(a.OrderRef, oob.StatusComplete, "")
	}
}
