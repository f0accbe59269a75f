package idp

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/sithseid/sithseid/oob"
)

func TestOrderLifecycle(t *testing.T) {
	f := newFixture(t, nil)
	const text = "Logga in i journalen\nAvdelning 12"
	a := f.auth(text, "https://journal.example/done?x=1")
	for _, v := range []string{a.AutoStartToken, a.QRStartToken, a.QRStartSecret} {
		if v == a.OrderRef {
			t.Fatal("tokens must differ from the orderRef")
		}
	}
	f.wantState(a.OrderRef, oob.StatusPending, oob.HintOutstandingTransaction)

	l := f.lookup(a.AutoStartToken)
	if l.RelyingParty.Name != testRPName || l.RelyingParty.OrgID != "2321000016" || l.UserVisibleText != text {
		t.Fatalf("lookup shows %+v", l)
	}
	if l.TransactionID == a.OrderRef || l.TransactionID == a.AutoStartToken {
		t.Fatal("transactionId reuses an order token")
	}
	if d := l.ExpiresAt.Sub(f.clock.Now()); d < oob.OrderLifetime-2*time.Second || d > oob.OrderLifetime {
		t.Fatalf("expiresAt %v from now", d)
	}
	f.wantState(a.OrderRef, oob.StatusPending, oob.HintStarted)

	alg, sig := sign(t, f.card.HSAAuth.Key, l)
	var cr oob.CompleteResponse
	f.decodeReply(f.complete(&f.card.HSAAuth, l.TransactionID, alg, sig), http.StatusOK, &cr)
	if cr.Redirect == nil || *cr.Redirect != "https://journal.example/done?x=1" {
		t.Fatalf("redirect %v", cr.Redirect)
	}

	c := f.wantState(a.OrderRef, oob.StatusComplete, "")
	cd := c.CompletionData
	cert := f.card.HSAAuth.Cert
	if cd.User.HSAID != "SE2321000016-1234" || cd.User.Name != "Anna Svensson" ||
		cd.User.GivenName != "Anna" || cd.User.Surname != "Svensson" {
		t.Fatalf("user %+v", cd.User)
	}
	if cd.Device.IPAddress != "127.0.0.1" {
		t.Fatalf("device %+v", cd.Device)
	}
	if cd.Cert.NotBefore != strconv.FormatInt(cert.NotBefore.UnixMilli(), 10) ||
		cd.Cert.NotAfter != strconv.FormatInt(cert.NotAfter.UnixMilli(), 10) {
		t.Fatalf("cert %+v", cd.Cert)
	}
	if err := oob.VerifyChallenge(cert.PublicKey, alg, cd.Signature,
		oob.ToBeSigned(l.Challenge, testRPName, text)); err != nil {
		t.Fatalf("completionData.signature: %v", err)
	}
	or, err := ocsp.ParseResponseForCert(cd.OCSPResponse, cert, f.pki.HSAPersonCA.Cert)
	if err != nil || or.Status != ocsp.Good {
		t.Fatalf("completionData.ocspResponse: %v %+v", err, or)
	}

	// Replay: the token of an ended order is refused, a second completion
	// loses, a new lookup is refused.
	f.wantError(f.post(f.plain, oob.PathLookup, map[string]string{"autoStartToken": a.AutoStartToken}, nil),
		http.StatusGone, oob.ErrorCodeExpired, "ended")
	f.wantError(f.complete(&f.card.HSAAuth, l.TransactionID, alg, sig), http.StatusConflict, oob.ErrorCodeAlreadyCompleted, "")
	f.wantError(f.post(f.plain, oob.PathQR, map[string]string{"autoStartToken": a.AutoStartToken}, nil),
		http.StatusGone, oob.ErrorCodeExpired, "")
	// Cancelling a completed order is refused and changes nothing.
	f.wantError(f.rp(oob.PathCancel, map[string]string{"orderRef": a.OrderRef}), http.StatusGone, oob.ErrorCodeExpired, "")
	f.wantState(a.OrderRef, oob.StatusComplete, "")
}

// Each signature algorithm and key type of the protocol completes, over
// TLS 1.2 and 1.3.
func TestCompleteAlgorithms(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.OCSPDelegated = true })
	ec, err := f.pki.IssueCard(cardSpecP256())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		pss  bool
		ec   bool
		tls  uint16
	}{
		{"rsa-pkcs1/tls1.2", false, false, tls.VersionTLS12},
		{"rsa-pkcs1/tls1.3", false, false, tls.VersionTLS13},
		{"rsa-pss/tls1.3", true, false, tls.VersionTLS13},
		{"ecdsa/tls1.2", false, true, tls.VersionTLS12},
		{"ecdsa/tls1.3", false, true, tls.VersionTLS13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.tlsMax = tc.tls
			a := f.auth("Logga in", "")
			l := f.lookup(a.AutoStartToken)
			cred := &f.card.HSAAuth
			if tc.ec {
				cred = &ec.HSAAuth
			}
			key := cred.Key
			if tc.pss {
				key = pssSigner{key}
			}
			alg, sig := sign(t, key, l)
			var cr oob.CompleteResponse
			f.decodeReply(f.complete(cred, l.TransactionID, alg, sig), http.StatusOK, &cr)
			if v := f.lastTLSVersion; v != tc.tls {
				t.Fatalf("TLS version %x, want %x", v, tc.tls)
			}
			if cr.Redirect != nil {
				t.Fatalf("redirect %q without returnUrl", *cr.Redirect)
			}
			c := f.wantState(a.OrderRef, oob.StatusComplete, "")
			// Delegated responder: the response carries the responder's
			// certificate, issued by the HSA-ID CA.
			or, err := ocsp.ParseResponseForCert(c.CompletionData.OCSPResponse, cred.Cert, f.pki.HSAPersonCA.Cert)
			if err != nil || or.Status != ocsp.Good || or.Certificate == nil ||
				or.Certificate.ExtKeyUsage[0] != x509.ExtKeyUsageOCSPSigning {
				t.Fatalf("delegated OCSP response: %v %+v", err, or)
			}
		})
	}
}

// The service resumes TLS sessions with client certificates (RFC 8446
// §2.2), so an app that keeps its session cache logs in again without a
// new card signature for TLS; the client certificate of the resumed
// session is checked as on a full handshake.
func TestCompleteOnResumedSession(t *testing.T) {
	f := newFixture(t, nil)
	tc := f.card.HSAAuth.TLSCertificate()
	handshakes := 0
	cfg := &tls.Config{
		RootCAs:            f.pki.Roots(),
		ClientSessionCache: tls.NewLRUClientSessionCache(4),
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			handshakes++ // a full handshake: the card would sign here
			return &tc, nil
		},
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		handshakes = 0
		cfg.MinVersion, cfg.MaxVersion = v, v
		for i := range 3 {
			// A new connection each time: no keep-alive.
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
			a := f.auth("Logga in", "")
			l := f.lookup(a.AutoStartToken)
			alg, sig := sign(t, f.card.HSAAuth.Key, l)
			r := f.post(c, oob.PathComplete, map[string]string{
				"transactionId": l.TransactionID, "signatureAlgorithm": alg,
				"signature": base64.StdEncoding.EncodeToString(sig),
			}, nil)
			if r.status != http.StatusOK {
				t.Fatalf("TLS %x login %d: %d %s", v, i, r.status, r.body)
			}
			if c := f.wantState(a.OrderRef, oob.StatusComplete, ""); c.CompletionData.User.HSAID != "SE2321000016-1234" {
				t.Fatalf("HSA-ID %q on a resumed session", c.CompletionData.User.HSAID)
			}
		}
		if handshakes != 1 {
			t.Fatalf("TLS %x: %d full handshakes for 3 logins, want 1", v, handshakes)
		}
	}
}
