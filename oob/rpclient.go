package oob

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// RPClient is a relying party's client of the identity service, used by
// `sithseid-idp rp`, the demo and end-to-end tests. Replies are parsed as
// strictly as the authenticator's.
type RPClient struct {
	e  endpoint
	hc *http.Client
}

// NewRPClient returns a relying-party client for the service at baseURL
// (https) authenticating with apiKey. hc carries the TLS configuration
// (nil: http.DefaultClient). The key is sent only in the Authorization
// header and never appears in errors.
func NewRPClient(baseURL, apiKey string, hc *http.Client, retry RetryPolicy) (*RPClient, error) {
	u, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	if apiKey == "" {
		return nil, errors.New("relying party API key is empty")
	}
	return &RPClient{e: endpoint{base: u, retry: retry, bearer: apiKey}, hc: noRedirects(hc)}, nil
}

// Auth starts an order. text is shown to the user before the PIN. Never
// retried (a retry would start a second order).
func (c *RPClient) Auth(ctx context.Context, endUserIP, text, returnURL string) (*AuthResponse, error) {
	return c.StartOrder(ctx, AuthRequest{EndUserIP: endUserIP, UserVisibleData: Base64(text), ReturnURL: returnURL})
}

// StartOrder is Auth with the whole request (RequireEndUserIPMatch).
// Never retried.
func (c *RPClient) StartOrder(ctx context.Context, req AuthRequest) (*AuthResponse, error) {
	var r AuthResponse
	if err := c.e.call(ctx, c.hc, PathAuth, &req, &r, false); err != nil {
		return nil, fmt.Errorf("starting order: %w", err)
	}
	return &r, nil
}

// Collect polls an order once (retried on 429/503).
func (c *RPClient) Collect(ctx context.Context, orderRef string) (*CollectResponse, error) {
	req := CollectRequest{OrderRef: orderRef}
	var r CollectResponse
	if err := c.e.call(ctx, c.hc, PathCollect, &req, &r, true); err != nil {
		return nil, fmt.Errorf("collecting order: %w", err)
	}
	if r.OrderRef != orderRef {
		return nil, fmt.Errorf("%w: collect reply is for another order", ErrMalformedReply)
	}
	return &r, nil
}

// CollectUntilDone polls every interval (0: CollectInterval) until the order
// is failed or complete, or ctx ends.
func (c *RPClient) CollectUntilDone(ctx context.Context, orderRef string, interval time.Duration) (*CollectResponse, error) {
	if interval <= 0 {
		interval = CollectInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		r, err := c.Collect(ctx, orderRef)
		if err != nil || r.Status != StatusPending {
			return r, err
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-t.C:
		}
	}
}

// Cancel cancels an order; it fails with hint userCancel.
func (c *RPClient) Cancel(ctx context.Context, orderRef string) error {
	req := CancelRequest{OrderRef: orderRef}
	var r EmptyResponse
	if err := c.e.call(ctx, c.hc, PathCancel, &req, &r, true); err != nil {
		return fmt.Errorf("cancelling order: %w", err)
	}
	return nil
}

// QRPayloadAt is the payload a relying party's page shows at elapsed since
// the order started: t is elapsed in whole seconds.
func (r *AuthResponse) QRPayloadAt(elapsed time.Duration) string {
	return QRPayload(r.QRStartToken, r.QRStartSecret, int(elapsed/time.Second))
}

// AutoStartURL is the sithseid: URL for this order.
func (r *AuthResponse) AutoStartURL(redirect string) string {
	return AutoStartURL(r.AutoStartToken, redirect)
}
