package oob

import (
	"time"
)

// Paths of the identity service (docs/protocol.md).
const (
	PathAuth    = "/rp/v6.0/auth"
	PathCollect = "/rp/v6.0/collect"
	PathCancel  = "/rp/v6.0/cancel"

	PathLookup            = "/authn/v1/lookup"
	PathQR                = "/authn/v1/qr"
	PathComplete          = "/authn/v1/complete"
	PathTransactionCancel = "/authn/v1/cancel"
)

// Limits and timing (docs/protocol.md, "Limits" and "Timing").
const (
	// MaxBodySize bounds every request and reply body.
	MaxBodySize = 64 << 10
	// MaxUserVisibleText bounds the relying party's text, in characters
	// (runes), as BankID's userVisibleData does.
	MaxUserVisibleText = 1500
	// MaxRelyingPartyName bounds the relying party's display name (runes).
	MaxRelyingPartyName = 100
	// MaxPersonName bounds a name in completionData (runes).
	MaxPersonName = 200
	// MaxDetails bounds the free text of an error reply (runes).
	MaxDetails = 1000
	// MaxSignatureSize bounds a challenge signature: RSA-4096 is 512 bytes,
	// an ECDSA P-521 DER signature at most 139.
	MaxSignatureSize = 1024
	// ChallengeSize is the size of the lookup challenge in bytes.
	ChallengeSize = 32

	// OrderLifetime is how long an order lives (BankID's 3 minutes).
	OrderLifetime = 3 * time.Minute
	// CollectInterval is how often a relying party polls collect.
	CollectInterval = 2 * time.Second
	// QRWindow: a QR code is accepted only while t ≤ 30 s after the order
	// started.
	QRWindow = 30 * time.Second
	// QRMaxAge: a QR code whose t is more than this behind the service's
	// clock is refused (a relayed or photographed code).
	QRMaxAge = 5 * time.Second
)

// Order status values of CollectResponse.Status.
const (
	StatusPending  = "pending"
	StatusFailed   = "failed"
	StatusComplete = "complete"
)

// Hint codes of CollectResponse.HintCode. The first three go with status
// pending, the others with failed. A relying party must treat an unknown
// hint code as a generic pending or failed state (BankID's rule), so the
// decoder accepts any well-formed code.
const (
	HintOutstandingTransaction = "outstandingTransaction"
	HintStarted                = "started"
	HintUserSign               = "userSign"
	HintUserCancel             = "userCancel"
	HintExpiredTransaction     = "expiredTransaction"
	HintCertificateErr         = "certificateErr"
	HintStartFailed            = "startFailed"
	HintCardRemoved            = "cardRemoved"
	// HintEndUserIPMismatch: the order asked for RequireEndUserIPMatch
	// and an autostart lookup came from another address than the order's
	// endUserIp (docs/protocol.md §5, §8.1). A failed hint.
	HintEndUserIPMismatch = "endUserIpMismatch"
)

// Error codes of ErrorResponse.ErrorCode. A client must treat an unknown code
// by its HTTP status, so the decoder accepts any well-formed code.
const (
	ErrorCodeInvalidParameters = "invalidParameters"
	ErrorCodeAlreadyInProgress = "alreadyInProgress"
	ErrorCodeUnauthorized      = "unauthorized"
	ErrorCodeNotFound          = "notFound"
	ErrorCodeRequestTimeout    = "requestTimeout"
	ErrorCodeMaintenance       = "maintenance"
	ErrorCodeInternalError     = "internalError"
	ErrorCodeTooManyRequests   = "tooManyRequests"
	ErrorCodeExpired           = "expired"
	ErrorCodeAlreadyCompleted  = "alreadyCompleted"
	ErrorCodeCertificateErr    = "certificateErr"
	ErrorCodeBadSignature      = "badSignature"
	// ErrorCodeEndUserIPMismatch: lookup refused (403) because it came
	// from another address than the order's endUserIp and the relying
	// party asked for a match (docs/protocol.md §5).
	ErrorCodeEndUserIPMismatch = "endUserIpMismatch"
)

// Signature algorithms of CompleteRequest.SignatureAlgorithm. Each signs
// SHA-256(tbs) of ToBeSigned.
const (
	AlgRSAPKCS1SHA256 = "rsa-pkcs1-sha256"
	AlgRSAPSSSHA256   = "rsa-pss-sha256" // salt length = hash length (32)
	AlgECDSASHA256    = "ecdsa-sha256"   // ASN.1 DER (r, s)
)

// Reasons of TransactionCancelRequest.Reason; the order fails with the hint
// code of the same name.
const (
	ReasonUserCancel  = "userCancel"
	ReasonCardRemoved = "cardRemoved"
	ReasonStartFailed = "startFailed"
)

// Message is a protocol message: Validate checks the rules that JSON types
// cannot express (formats, bounds, which fields go together). Decode calls it.
type Message interface {
	Validate() error
}

// ---- Relying-party API ----

// AuthRequest starts an order: POST /rp/v6.0/auth.
type AuthRequest struct {
	// EndUserIP is the end user's IP address as the relying party sees it.
	EndUserIP string `json:"endUserIp"`
	// UserVisibleData is the text shown to the user before the PIN, as
	// UTF-8 bytes (base64 on the wire), at most MaxUserVisibleText
	// characters, newlines allowed, no other control characters.
	UserVisibleData Base64 `json:"userVisibleData"`
	// ReturnURL is where the browser goes after completion (optional).
	ReturnURL string `json:"returnUrl,omitempty"`
	// RequireEndUserIPMatch (optional): an autostart lookup from another
	// address than EndUserIP is refused (403 endUserIpMismatch) and the
	// order fails, instead of being flagged to the authenticator
	// (docs/protocol.md §3, §5). For relying parties that see the user's
	// own address, not a proxy's.
	RequireEndUserIPMatch bool `json:"requireEndUserIpMatch,omitempty"`
}

// Validate implements Message.
func (m *AuthRequest) Validate() error {
	const w = "AuthRequest"
	if err := checkIP(w, "endUserIp", m.EndUserIP); err != nil {
		return err
	}
	if err := checkText(w, "userVisibleData", string(m.UserVisibleData), MaxUserVisibleText, true); err != nil {
		return err
	}
	if m.ReturnURL != "" {
		if err := CheckRedirect(m.ReturnURL); err != nil {
			return &DecodeError{What: w, Field: "returnUrl", Err: err}
		}
	}
	return nil
}

// AuthResponse is the reply to AuthRequest. The relying party keeps
// OrderRef and QRStartSecret to itself; AutoStartToken goes into the
// sithseid: URL, QRStartToken into the QR payload.
type AuthResponse struct {
	OrderRef       string `json:"orderRef"`
	AutoStartToken string `json:"autoStartToken"`
	QRStartToken   string `json:"qrStartToken"`
	QRStartSecret  string `json:"qrStartSecret"`
}

// Validate implements Message.
func (m *AuthResponse) Validate() error {
	const w = "AuthResponse"
	for _, f := range []struct{ n, v string }{
		{"orderRef", m.OrderRef}, {"autoStartToken", m.AutoStartToken},
		{"qrStartToken", m.QRStartToken}, {"qrStartSecret", m.QRStartSecret},
	} {
		if err := checkUUID(w, f.n, f.v); err != nil {
			return err
		}
	}
	return nil
}

// CollectRequest polls an order: POST /rp/v6.0/collect.
type CollectRequest struct {
	OrderRef string `json:"orderRef"`
}

// Validate implements Message.
func (m *CollectRequest) Validate() error { return checkUUID("CollectRequest", "orderRef", m.OrderRef) }

// CancelRequest cancels an order from the relying party: POST
// /rp/v6.0/cancel. The reply is EmptyResponse.
type CancelRequest struct {
	OrderRef string `json:"orderRef"`
}

// Validate implements Message.
func (m *CancelRequest) Validate() error { return checkUUID("CancelRequest", "orderRef", m.OrderRef) }

// CollectResponse is the state of an order. HintCode is present exactly
// when Status is pending or failed; CompletionData exactly when complete.
type CollectResponse struct {
	OrderRef       string          `json:"orderRef"`
	Status         string          `json:"status"`
	HintCode       string          `json:"hintCode,omitempty"`
	CompletionData *CompletionData `json:"completionData,omitempty"`
}

// Validate implements Message.
func (m *CollectResponse) Validate() error {
	const w = "CollectResponse"
	if err := checkUUID(w, "orderRef", m.OrderRef); err != nil {
		return err
	}
	switch m.Status {
	case StatusPending, StatusFailed:
		if m.HintCode == "" {
			return &DecodeError{What: w, Field: "hintCode", Reason: "required when status is " + m.Status}
		}
		if err := checkCode(w, "hintCode", m.HintCode); err != nil {
			return err
		}
		if m.CompletionData != nil {
			return &DecodeError{What: w, Field: "completionData", Reason: "only allowed when status is complete"}
		}
	case StatusComplete:
		if m.HintCode != "" {
			return &DecodeError{What: w, Field: "hintCode", Reason: "not allowed when status is complete"}
		}
		if m.CompletionData == nil {
			return &DecodeError{What: w, Field: "completionData", Reason: "required when status is complete"}
		}
		return m.CompletionData.validate(w)
	default:
		return &DecodeError{What: w, Field: "status", Reason: "unknown status"}
	}
	return nil
}

// CompletionData tells the relying party who logged in.
type CompletionData struct {
	User   CompletionUser   `json:"user"`
	Device CompletionDevice `json:"device"`
	Cert   CompletionCert   `json:"cert"`
	// Signature is the authenticator's signature over ToBeSigned (the
	// challenge, relying party name and text), so the relying party can
	// keep evidence of what was approved.
	Signature Base64 `json:"signature"`
	// OCSPResponse is the DER OCSP response the service used to check the
	// certificate.
	OCSPResponse Base64 `json:"ocspResponse"`
}

// CompletionUser is the card holder, from the HSA-ID authentication
// certificate.
type CompletionUser struct {
	// HSAID is the subject serialNumber, e.g. SE2321000016-1234.
	HSAID     string `json:"hsaId"`
	Name      string `json:"name"`
	GivenName string `json:"givenName"`
	Surname   string `json:"surname"`
}

// CompletionDevice is the authenticator's network origin.
type CompletionDevice struct {
	// IPAddress is the authenticator's address as the service saw it.
	IPAddress string `json:"ipAddress"`
	// UHI is the fingerprint of the installation's device key (DeviceUHI)
	// when the completion carried a device proof that verified; absent
	// otherwise.
	UHI string `json:"uhi,omitempty"`
}

// CompletionCert is the certificate's validity, in Unix milliseconds as
// decimal strings (BankID's form).
type CompletionCert struct {
	NotBefore string `json:"notBefore"`
	NotAfter  string `json:"notAfter"`
}

func (c *CompletionData) validate(w string) error {
	const p = "completionData."
	if err := CheckHSAID(c.User.HSAID); err != nil {
		return &DecodeError{What: w, Field: p + "user.hsaId", Err: err}
	}
	for _, f := range []struct{ n, v string }{
		{"name", c.User.Name}, {"givenName", c.User.GivenName}, {"surname", c.User.Surname},
	} {
		if err := checkText(w, p+"user."+f.n, f.v, MaxPersonName, false); err != nil {
			return err
		}
	}
	if err := checkIP(w, p+"device.ipAddress", c.Device.IPAddress); err != nil {
		return err
	}
	if err := checkUHI(w, p+"device.uhi", c.Device.UHI); err != nil {
		return err
	}
	nb, err := parseUnixMillis(c.Cert.NotBefore)
	if err != nil {
		return &DecodeError{What: w, Field: p + "cert.notBefore", Err: err}
	}
	na, err := parseUnixMillis(c.Cert.NotAfter)
	if err != nil {
		return &DecodeError{What: w, Field: p + "cert.notAfter", Err: err}
	}
	if na < nb {
		return &DecodeError{What: w, Field: p + "cert", Reason: "notAfter before notBefore"}
	}
	if len(c.Signature) == 0 || len(c.Signature) > MaxSignatureSize {
		return &DecodeError{What: w, Field: p + "signature", Reason: "empty or too long"}
	}
	if len(c.OCSPResponse) == 0 {
		return &DecodeError{What: w, Field: p + "ocspResponse", Reason: "empty"}
	}
	return nil
}

// NotBeforeTime returns the certificate's notBefore. Valid after Validate.
func (c CompletionCert) NotBeforeTime() time.Time {
	ms, _ := parseUnixMillis(c.NotBefore)
	return time.UnixMilli(ms)
}

// NotAfterTime returns the certificate's notAfter. Valid after Validate.
func (c CompletionCert) NotAfterTime() time.Time {
	ms, _ := parseUnixMillis(c.NotAfter)
	return time.UnixMilli(ms)
}

// EmptyResponse is the reply {} of both cancel calls.
type EmptyResponse struct{}

// Validate implements Message.
func (*EmptyResponse) Validate() error { return nil }

// ErrorResponse is the body of every 4xx/5xx reply.
type ErrorResponse struct {
	ErrorCode string `json:"errorCode"`
	Details   string `json:"details"`
}

// Validate implements Message.
func (m *ErrorResponse) Validate() error {
	const w = "ErrorResponse"
	if err := checkCode(w, "errorCode", m.ErrorCode); err != nil {
		return err
	}
	if m.Details == "" {
		return nil
	}
	return checkText(w, "details", m.Details, MaxDetails, false)
}

// ---- Authenticator API ----

// LookupRequest looks an order up: POST /authn/v1/lookup over
// server-authenticated TLS. Exactly one of AutoStartToken (same device)
// and QRCode (the current QR payload, another device) is set.
type LookupRequest struct {
	AutoStartToken string `json:"autoStartToken,omitempty"`
	QRCode         string `json:"qrCode,omitempty"`
}

// Validate implements Message.
func (m *LookupRequest) Validate() error {
	const w = "LookupRequest"
	switch {
	case m.AutoStartToken != "" && m.QRCode != "":
		return &DecodeError{What: w, Reason: "both autoStartToken and qrCode"}
	case m.AutoStartToken != "":
		return checkUUID(w, "autoStartToken", m.AutoStartToken)
	case m.QRCode != "":
		if _, err := ParseQRPayload(m.QRCode); err != nil {
			return &DecodeError{What: w, Field: "qrCode", Err: err}
		}
		return nil
	}
	return &DecodeError{What: w, Reason: "neither autoStartToken nor qrCode"}
}

// LookupResponse is what the authenticator shows before asking for the PIN.
// It never carries the orderRef.
type LookupResponse struct {
	// TransactionID names this authenticator session of the order.
	TransactionID string       `json:"transactionId"`
	RelyingParty  RelyingParty `json:"relyingParty"`
	// UserVisibleText is the relying party's decoded userVisibleData.
	UserVisibleText string `json:"userVisibleText"`
	// Challenge is ChallengeSize random bytes, signed by the card.
	Challenge Base64 `json:"challenge"`
	// ExpiresAt is when the order ends (RFC 3339).
	ExpiresAt time.Time `json:"expiresAt"`
	// Origin is where the order was started, as the relying party saw it,
	// and whether this lookup came from the same address. The service
	// sends it for autostart lookups (same device); nil otherwise.
	Origin *Origin `json:"origin,omitempty"`
}

// Origin is where an order was started (docs/protocol.md §5): the
// relying party's endUserIp, and whether the authenticator's lookup came
// from the same address (SameEndUser). A mismatch is what a login started
// on another computer and sent here as a link looks like (§8.1).
type Origin struct {
	EndUserIP      string `json:"endUserIp"`
	EndUserIPMatch bool   `json:"endUserIpMatch"`
}

func (o *Origin) validate(w string) error {
	return checkIP(w, "origin.endUserIp", o.EndUserIP)
}

// RelyingParty is the relying party as the service knows it from its API
// key; the authenticator shows Name before the PIN.
type RelyingParty struct {
	Name  string `json:"name"`
	OrgID string `json:"orgId,omitempty"`
}

// Validate implements Message.
func (m *LookupResponse) Validate() error {
	const w = "LookupResponse"
	if err := checkUUID(w, "transactionId", m.TransactionID); err != nil {
		return err
	}
	if err := checkText(w, "relyingParty.name", m.RelyingParty.Name, MaxRelyingPartyName, false); err != nil {
		return err
	}
	if m.RelyingParty.OrgID != "" && !isOrgID(m.RelyingParty.OrgID) {
		return &DecodeError{What: w, Field: "relyingParty.orgId", Reason: "not an organisation number"}
	}
	if err := checkText(w, "userVisibleText", m.UserVisibleText, MaxUserVisibleText, true); err != nil {
		return err
	}
	if len(m.Challenge) != ChallengeSize {
		return &DecodeError{What: w, Field: "challenge", Reason: "not 32 bytes"}
	}
	if m.ExpiresAt.IsZero() {
		return &DecodeError{What: w, Field: "expiresAt", Reason: "zero time"}
	}
	if m.Origin != nil {
		return m.Origin.validate(w)
	}
	return nil
}

// QRRequest asks for the order's current QR payload: POST /authn/v1/qr.
type QRRequest struct {
	AutoStartToken string `json:"autoStartToken"`
}

// Validate implements Message.
func (m *QRRequest) Validate() error {
	return checkUUID("QRRequest", "autoStartToken", m.AutoStartToken)
}

// QRResponse is the current QR payload and how many whole seconds of the
// 30 s window are left.
type QRResponse struct {
	QRCode   string `json:"qrCode"`
	ValidFor int    `json:"validFor"`
}

// Validate implements Message.
func (m *QRResponse) Validate() error {
	const w = "QRResponse"
	if _, err := ParseQRPayload(m.QRCode); err != nil {
		return &DecodeError{What: w, Field: "qrCode", Err: err}
	}
	if m.ValidFor < 0 || m.ValidFor > int(QRWindow/time.Second) {
		return &DecodeError{What: w, Field: "validFor", Reason: "out of range"}
	}
	return nil
}

// CompleteRequest completes a transaction: POST /authn/v1/complete over
// mutual TLS with the card's HSA-ID authentication certificate.
type CompleteRequest struct {
	TransactionID      string `json:"transactionId"`
	SignatureAlgorithm string `json:"signatureAlgorithm"`
	// Signature is over SHA-256(ToBeSigned(challenge, rp name, text)).
	Signature Base64 `json:"signature"`
	// Device is the installation's proof (see DeviceProof); optional.
	Device *DeviceProof `json:"device,omitempty"`
}

// Validate implements Message.
func (m *CompleteRequest) Validate() error {
	const w = "CompleteRequest"
	if err := checkUUID(w, "transactionId", m.TransactionID); err != nil {
		return err
	}
	switch m.SignatureAlgorithm {
	case AlgRSAPKCS1SHA256, AlgRSAPSSSHA256, AlgECDSASHA256:
	default:
		return &DecodeError{What: w, Field: "signatureAlgorithm", Reason: "unknown algorithm"}
	}
	if len(m.Signature) == 0 || len(m.Signature) > MaxSignatureSize {
		return &DecodeError{What: w, Field: "signature", Reason: "empty or too long"}
	}
	if m.Device != nil {
		return m.Device.validate(w)
	}
	return nil
}

// CompleteResponse is the reply to a successful completion. Redirect is
// the relying party's returnUrl, or null; the field is always present.
type CompleteResponse struct {
	Status   string  `json:"status"`
	Redirect *string `json:"redirect"`
}

// Validate implements Message.
func (m *CompleteResponse) Validate() error {
	const w = "CompleteResponse"
	if m.Status != StatusComplete {
		return &DecodeError{What: w, Field: "status", Reason: `not "complete"`}
	}
	if m.Redirect != nil {
		if err := CheckRedirect(*m.Redirect); err != nil {
			return &DecodeError{What: w, Field: "redirect", Err: err}
		}
	}
	return nil
}

// TransactionCancelRequest lets the authenticator end a transaction: POST
// /authn/v1/cancel. The order fails with the reason as hint code. The reply
// is EmptyResponse.
type TransactionCancelRequest struct {
	TransactionID string `json:"transactionId"`
	Reason        string `json:"reason"`
}

// Validate implements Message.
func (m *TransactionCancelRequest) Validate() error {
	const w = "TransactionCancelRequest"
	if err := checkUUID(w, "transactionId", m.TransactionID); err != nil {
		return err
	}
	switch m.Reason {
	case ReasonUserCancel, ReasonCardRemoved, ReasonStartFailed:
		return nil
	}
	return &DecodeError{What: w, Field: "reason", Reason: "unknown reason"}
}
