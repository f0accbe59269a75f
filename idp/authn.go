package idp

import (
	"crypto/x509"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/oob"
)

// The authenticator API (docs/protocol.md, "Authenticator API"): what the
// desktop app calls.

// refuse answers a call on an order that is not live (docs/protocol.md
// §5, §7): unknown (or long forgotten) 404 notFound, ended 410 expired.
// Lookup treats a completed order as ended; complete says 409
// alreadyCompleted (first completion wins).
func refuse(w http.ResponseWriter, e lookupError, completing bool) {
	switch e {
	case lookupNotFound:
		writeError(w, http.StatusNotFound, oob.ErrorCodeNotFound, "no such order, token or transaction")
	case lookupCompleted:
		if completing {
			writeError(w, http.StatusConflict, oob.ErrorCodeAlreadyCompleted, "order already completed")
			return
		}
		writeError(w, http.StatusGone, oob.ErrorCodeExpired, "order has ended")
	case lookupTooMany:
		writeError(w, http.StatusConflict, oob.ErrorCodeAlreadyInProgress, "too many lookups of this order")
	default:
		writeError(w, http.StatusGone, oob.ErrorCodeExpired, "order has ended")
	}
}

func (s *Server) handleLookup(w http.ResponseWriter, r *http.Request) {
	var req oob.LookupRequest
	if !decodeOrReject(w, r, &req) {
		return
	}
	var (
		v orderView
		e lookupError
	)
	via := "autostart"
	ip := clientIP(r)
	var origin *oob.Origin
	if req.AutoStartToken != "" {
		v, e = s.orders.byAutoStartToken(req.AutoStartToken)
		// The same-device flow: the link was opened on the computer whose
		// browser started the order, so the lookup should come from the
		// order's endUserIp (docs/protocol.md §5, §8.1). A QR code is
		// scanned on another device by design and is not compared.
		if e == lookupOK {
			origin = &oob.Origin{EndUserIP: v.endUserIP, EndUserIPMatch: sameEndUser(v.endUserIP, ip)}
			if !origin.EndUserIPMatch && v.requireIP {
				s.orders.failByAutoStartToken(v.autoStart, oob.HintEndUserIPMismatch)
				s.log.Warn("lookup refused: not from the order's endUserIp", "rp", v.rp.name, "orderRef", v.ref,
					"endUserIp", v.endUserIP, "ip", ip)
				writeError(w, http.StatusForbidden, oob.ErrorCodeEndUserIPMismatch,
					"the lookup does not come from the address the order was started from")
				return
			}
		}
	} else {
		via = "qr"
		q, err := oob.ParseQRPayload(req.QRCode)
		if err != nil { // Validate parsed it already
			writeError(w, http.StatusBadRequest, oob.ErrorCodeInvalidParameters, err.Error())
			return
		}
		v, e = s.orders.byQRStartToken(q.QRStartToken)
		if e == lookupOK {
			if err := q.Verify(v.qrSecret, s.now().Sub(v.created)); err != nil {
				s.log.Info("QR code refused", "rp", v.rp.name, "orderRef", v.ref, "reason", qrReason(err), "ip", clientIP(r))
				if errors.Is(err, oob.ErrQRHMAC) {
					refuse(w, lookupNotFound, false)
					return
				}
				writeError(w, http.StatusGone, oob.ErrorCodeExpired, "QR code "+qrReason(err))
				return
			}
		}
	}
	if e != lookupOK {
		refuse(w, e, false)
		return
	}
	tx, v, e := s.orders.startTransaction(v.autoStart)
	if e != lookupOK {
		refuse(w, e, false)
		return
	}
	if origin != nil && !origin.EndUserIPMatch {
		s.log.Warn("order looked up from another address than its endUserIp", "rp", v.rp.name, "orderRef", v.ref,
			"endUserIp", v.endUserIP, "ip", ip)
	}
	s.log.Info("order looked up", "rp", v.rp.name, "orderRef", v.ref, "via", via, "ip", ip)
	writeJSON(w, http.StatusOK, &oob.LookupResponse{
		TransactionID:   tx.id,
		RelyingParty:    oob.RelyingParty{Name: v.rp.name, OrgID: v.rp.orgID},
		UserVisibleText: v.text,
		Challenge:       tx.challenge,
		ExpiresAt:       v.expires.UTC().Truncate(time.Second),
		Origin:          origin,
	})
}

func qrReason(err error) string {
	switch {
	case errors.Is(err, oob.ErrQRHMAC):
		return "HMAC mismatch"
	case errors.Is(err, oob.ErrExpired):
		return "past its 30 s window"
	case errors.Is(err, oob.ErrQRStale):
		return "too old or from the future"
	}
	return "invalid"
}

// qrWindowSeconds is oob.QRWindow in whole seconds.
const qrWindowSeconds = int(oob.QRWindow / time.Second)

// qrTime is t of the QR payload at now: whole seconds since the order
// started, or false past the 30 s window.
func qrTime(v orderView, now time.Time) (int, bool) {
	elapsed := now.Sub(v.created)
	if elapsed < 0 {
		elapsed = 0
	}
	t := int(elapsed / time.Second)
	return t, t <= qrWindowSeconds
}

func (s *Server) handleQR(w http.ResponseWriter, r *http.Request) {
	var req oob.QRRequest
	if !decodeOrReject(w, r, &req) {
		return
	}
	v, e := s.orders.byAutoStartToken(req.AutoStartToken)
	if e != lookupOK {
		refuse(w, e, false)
		return
	}
	t, ok := qrTime(v, s.now())
	if !ok {
		writeError(w, http.StatusGone, oob.ErrorCodeExpired, "QR window over")
		return
	}
	writeJSON(w, http.StatusOK, &oob.QRResponse{
		QRCode:   oob.QRPayload(v.qrToken, v.qrSecret, t),
		ValidFor: qrWindowSeconds - t,
	})
}

func (s *Server) handleTransactionCancel(w http.ResponseWriter, r *http.Request) {
	var req oob.TransactionCancelRequest
	if !decodeOrReject(w, r, &req) {
		return
	}
	tv, e := s.orders.transaction(req.TransactionID)
	if e == lookupOK {
		e = s.orders.fail(tv.tx, req.Reason)
	}
	if e != lookupOK {
		refuse(w, e, false)
		return
	}
	s.log.Info("order cancelled by authenticator", "rp", tv.order.rp.name, "orderRef", tv.order.ref, "reason", req.Reason)
	writeJSON(w, http.StatusOK, &oob.EmptyResponse{})
}

// CertificateError says why a client certificate was refused at
// /authn/v1/complete. Reason is a short phrase for the reply's details.
type CertificateError struct {
	Reason string
	Err    error
}

func (e *CertificateError) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *CertificateError) Unwrap() error { return e.Err }

// verifyClientCertificate checks the TLS client certificate of a
// completion: it chains to the root through the HSA-ID person CA (and no
// other issuing CA), is valid now, allows client authentication, is an
// authentication certificate (digitalSignature, not nonRepudiation), names
// an HSA-ID as subject serialNumber, and OCSP says good. It returns the
// OCSP response for completionData.
func (s *Server) verifyClientCertificate(peer []*x509.Certificate) ([]byte, error) {
	if len(peer) == 0 {
		return nil, &CertificateError{Reason: "no client certificate: complete needs mutual TLS with the HSA-ID authentication certificate"}
	}
	leaf := peer[0]
	inter := x509.NewCertPool()
	inter.AddCert(s.personCA)
	inter.AddCert(s.personCA2)
	now := s.now()
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         s.pki.Roots(),
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.IncompatibleUsage {
			return nil, &CertificateError{Reason: "not an authentication certificate (extended key usage)", Err: err}
		}
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			if now.Before(leaf.NotBefore) {
				return nil, &CertificateError{Reason: "certificate not yet valid", Err: err}
			}
			return nil, &CertificateError{Reason: "certificate expired", Err: err}
		}
		var ua x509.UnknownAuthorityError
		if errors.As(err, &ua) {
			return nil, &CertificateError{Reason: "certificate not issued by the HSA-ID person CA", Err: err}
		}
		return nil, &CertificateError{Reason: "certificate chain not valid", Err: err}
	}
	if len(chains[0]) < 2 || !(chains[0][1].Equal(s.personCA) || chains[0][1].Equal(s.personCA2)) {
		return nil, &CertificateError{Reason: "certificate not issued by the HSA-ID person CA"}
	}
	issuer := chains[0][1]
	if !testpki.IsAuthentication(leaf) {
		return nil, &CertificateError{Reason: "not an authentication certificate (key usage)"}
	}
	if err := oob.CheckHSAID(leaf.Subject.SerialNumber); err != nil {
		return nil, &CertificateError{Reason: "subject serialNumber is not an HSA-ID", Err: err}
	}
	// A certificate revoked through the test PKI itself (testpki's Revoke,
	// which also feeds its CRLs) joins the responder's list.
	if s.pki.IsRevoked(leaf) {
		s.ocsp.revoke(leaf.SerialNumber, now)
	}
	resp, err := s.ocsp.check(leaf, issuer)
	if err != nil {
		if errors.Is(err, errOCSPRevoked) {
			return nil, &CertificateError{Reason: "certificate revoked", Err: err}
		}
		return nil, &CertificateError{Reason: "revocation check failed", Err: err}
	}
	return resp, nil
}

func (s *Server) handleComplete(w http.ResponseWriter, r *http.Request) {
	var req oob.CompleteRequest
	if !decodeOrReject(w, r, &req) {
		return
	}
	tv, e := s.orders.beginComplete(req.TransactionID)
	if e != lookupOK {
		refuse(w, e, true)
		return
	}
	ip := clientIP(r)
	var peer []*x509.Certificate
	if r.TLS != nil {
		peer = r.TLS.PeerCertificates
	}
	ocspResp, err := s.verifyClientCertificate(peer)
	if err != nil {
		var ce *CertificateError
		reason := "certificate refused"
		if errors.As(err, &ce) {
			reason = ce.Reason
		}
		s.orders.fail(tv.tx, oob.HintCertificateErr)
		attrs := []any{"rp", tv.order.rp.name, "orderRef", tv.order.ref, "ip", ip, "err", err}
		if len(peer) > 0 {
			attrs = append(attrs, "subject", peer[0].Subject.String(), "serial", peer[0].SerialNumber.Text(16))
		}
		s.log.Warn("completion refused", attrs...)
		writeError(w, http.StatusForbidden, oob.ErrorCodeCertificateErr, reason)
		return
	}
	leaf := peer[0]
	tbs := oob.ToBeSigned(tv.tx.challenge, tv.order.rp.name, tv.order.text)
	if err := oob.VerifyChallenge(leaf.PublicKey, req.SignatureAlgorithm, req.Signature, tbs); err != nil {
		s.log.Warn("completion refused", "rp", tv.order.rp.name, "orderRef", tv.order.ref, "ip", ip,
			"subject", leaf.Subject.String(), "err", err)
		s.orders.fail(tv.tx, oob.HintCertificateErr)
		if errors.Is(err, oob.ErrUnsupportedKey) {
			writeError(w, http.StatusForbidden, oob.ErrorCodeBadSignature, "signature algorithm does not fit the certificate's key")
			return
		}
		writeError(w, http.StatusForbidden, oob.ErrorCodeBadSignature, "challenge signature does not verify with the client certificate's key")
		return
	}
	// The installation's device proof, when sent, must verify: a forged
	// one fails the order like a bad card signature would.
	var uhi string
	if req.Device != nil {
		if uhi, err = oob.VerifyDevice(req.Device, tbs); err != nil {
			s.log.Warn("completion refused", "rp", tv.order.rp.name, "orderRef", tv.order.ref, "ip", ip, "err", err)
			s.orders.fail(tv.tx, oob.HintCertificateErr)
			writeError(w, http.StatusForbidden, oob.ErrorCodeBadSignature, "device proof does not verify")
			return
		}
	}
	cd := &oob.CompletionData{
		User: oob.CompletionUser{
			HSAID:     leaf.Subject.SerialNumber,
			Name:      leaf.Subject.CommonName,
			GivenName: testpki.GivenName(leaf.Subject),
			Surname:   testpki.Surname(leaf.Subject),
		},
		Device:       oob.CompletionDevice{IPAddress: ip, UHI: uhi},
		Cert:         oob.CompletionCert{NotBefore: unixMillis(leaf.NotBefore), NotAfter: unixMillis(leaf.NotAfter)},
		Signature:    req.Signature,
		OCSPResponse: ocspResp,
	}
	// The reply to collect must pass the relying party's strict decoder:
	// a certificate without the holder's names cannot complete an order.
	if _, err := oob.Encode(&oob.CollectResponse{OrderRef: tv.order.ref, Status: oob.StatusComplete, CompletionData: cd}); err != nil {
		s.orders.fail(tv.tx, oob.HintCertificateErr)
		s.log.Warn("completion refused", "rp", tv.order.rp.name, "orderRef", tv.order.ref, "ip", ip, "err", err)
		writeError(w, http.StatusForbidden, oob.ErrorCodeCertificateErr, "certificate lacks the holder's HSA-ID or names")
		return
	}
	v, e := s.orders.complete(tv.tx, cd)
	if e != lookupOK {
		refuse(w, e, true)
		return
	}
	s.log.Info("order complete", "rp", v.rp.name, "orderRef", v.ref, "hsaId", cd.User.HSAID, "ip", ip, "uhi", uhi)
	resp := &oob.CompleteResponse{Status: oob.StatusComplete}
	if v.returnURL != "" {
		ru := v.returnURL
		resp.Redirect = &ru
	}
	writeJSON(w, http.StatusOK, resp)
}

func unixMillis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
