package oob

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Client is the authenticator's side of the protocol: the desktop app looks
// orders up, fetches QR payloads, completes and cancels transactions.
//
// It does no TLS configuration itself: the caller builds Plain with the
// environment's pinned trust anchors and MTLS with package mtls and the
// card's signer. Redirects are never followed. Methods are safe for
// concurrent use.
type Client struct {
	e     endpoint
	plain *http.Client
	mtls  *http.Client
}

// ErrNoMTLS: a completion on a client without a mutual-TLS client
// (WithMTLS).
var ErrNoMTLS = errors.New("no mutual TLS client")

// NewClient returns a client for the identity service at baseURL (https).
// plain serves lookup, qr and cancel over server-authenticated TLS. retry
// bounds retries of idempotent calls; its zero value is sensible.
// Completions need WithMTLS.
func NewClient(baseURL string, plain *http.Client, retry RetryPolicy) (*Client, error) {
	u, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	return &Client{e: endpoint{base: u, retry: retry}, plain: noRedirects(plain)}, nil
}

// WithMTLS returns a copy of c that completes logins over mtls: a client
// that authenticates with the card's HSA-ID authentication certificate
// (package mtls), made once the card's signer exists.
func (c *Client) WithMTLS(mtls *http.Client) *Client {
	d := *c
	d.mtls = noRedirects(mtls)
	return &d
}

// LookupKey is what an order is looked up by: an AutoStart (same device) or
// a QRCode (scanned).
type LookupKey interface {
	lookupRequest() LookupRequest
}

func (a AutoStart) lookupRequest() LookupRequest { return LookupRequest{AutoStartToken: a.Token} }
func (q QRCode) lookupRequest() LookupRequest    { return LookupRequest{QRCode: q.String()} }

// Transaction is a looked-up order as the authenticator sees it: what to
// show the user before the PIN, and what to sign.
type Transaction struct {
	// ID is the transactionId for Complete and Cancel.
	ID string
	// RelyingParty is who asks for the login, from the service.
	RelyingParty RelyingParty
	// Text is the relying party's text for the user.
	Text string
	// Challenge is the 32-byte challenge.
	Challenge []byte
	// ExpiresAt is when the order ends.
	ExpiresAt time.Time
	// Origin is where the order was started and whether this lookup came
	// from the same address (docs/protocol.md §5); nil when the service
	// did not say (a QR lookup).
	Origin *Origin
}

// ToBeSigned returns the message to sign for Complete.
func (t *Transaction) ToBeSigned() []byte {
	return ToBeSigned(t.Challenge, t.RelyingParty.Name, t.Text)
}

// Lookup looks an order up by key. The order's hint becomes "started".
// Errors: ErrExpired (410) for an ended order or a dead QR code,
// ErrEndUserIPMismatch (403: started from another address, and the
// relying party asked for a match), *ServiceError, ErrMalformedReply,
// ErrRedirect; retried on 429/503.
func (c *Client) Lookup(ctx context.Context, key LookupKey) (*Transaction, error) {
	req := key.lookupRequest()
	var r LookupResponse
	if err := c.e.call(ctx, c.plain, PathLookup, &req, &r, true); err != nil {
		return nil, fmt.Errorf("looking up order: %w", err)
	}
	return &Transaction{
		ID:           r.TransactionID,
		RelyingParty: r.RelyingParty,
		Text:         r.UserVisibleText,
		Challenge:    r.Challenge,
		ExpiresAt:    r.ExpiresAt,
		Origin:       r.Origin,
	}, nil
}

// QRState is the order's current QR payload.
type QRState struct {
	// Payload is the text to encode (QRPNG).
	Payload string
	// Code is Payload parsed.
	Code QRCode
	// ValidFor is how much of the 30 s window is left.
	ValidFor time.Duration
}

// QR fetches the current QR payload of the order with autoStartToken, for
// handing the order over to a phone. Call it once a second while the code
// is shown. ErrExpired after the window.
func (c *Client) QR(ctx context.Context, autoStartToken string) (QRState, error) {
	req := QRRequest{AutoStartToken: autoStartToken}
	var r QRResponse
	if err := c.e.call(ctx, c.plain, PathQR, &req, &r, true); err != nil {
		return QRState{}, fmt.Errorf("fetching QR code: %w", err)
	}
	q, _ := ParseQRPayload(r.QRCode) // validated by Decode
	return QRState{Payload: r.QRCode, Code: q, ValidFor: time.Duration(r.ValidFor) * time.Second}, nil
}

// Completion is the result of a successful Complete.
type Completion struct {
	// Redirect is the relying party's return URL, "" for none. It has
	// passed CheckRedirect.
	Redirect string
}

// Complete sends the card's signature over tx.ToBeSigned() (see
// SignChallenge) over mutual TLS. It is never retried. Errors:
// ErrAlreadyCompleted (another completion won), ErrExpired, *ServiceError
// with Code certificateErr or badSignature, ErrMalformedReply.
func (c *Client) Complete(ctx context.Context, tx *Transaction, alg string, sig []byte) (*Completion, error) {
	return c.CompleteWithDevice(ctx, tx, alg, sig, nil)
}

// CompleteWithDevice is Complete with the installation's device proof
// (SignDevice over the same tx.ToBeSigned()); nil sends none.
func (c *Client) CompleteWithDevice(ctx context.Context, tx *Transaction, alg string, sig []byte, device *DeviceProof) (*Completion, error) {
	if c.mtls == nil {
		return nil, fmt.Errorf("completing login: %w", ErrNoMTLS)
	}
	req := CompleteRequest{TransactionID: tx.ID, SignatureAlgorithm: alg, Signature: sig, Device: device}
	var r CompleteResponse
	if err := c.e.call(ctx, c.mtls, PathComplete, &req, &r, false); err != nil {
		return nil, fmt.Errorf("completing login: %w", err)
	}
	var done Completion
	if r.Redirect != nil {
		done.Redirect = *r.Redirect
	}
	return &done, nil
}

// Cancel ends tx with reason (ReasonUserCancel, ReasonCardRemoved,
// ReasonStartFailed); the order fails with that hint code.
func (c *Client) Cancel(ctx context.Context, tx *Transaction, reason string) error {
	req := TransactionCancelRequest{TransactionID: tx.ID, Reason: reason}
	var r EmptyResponse
	if err := c.e.call(ctx, c.plain, PathTransactionCancel, &req, &r, true); err != nil {
		return fmt.Errorf("cancelling login: %w", err)
	}
	return nil
}
