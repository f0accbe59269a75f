package oob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy bounds the automatic retries of idempotent calls on 429 and
// 503 replies. The zero value means 3 retries, waiting Retry-After capped at
// 10 s, or 0.5 s, 1 s, 2 s without the header.
type RetryPolicy struct {
	// MaxRetries is the number of retries after the first attempt; 0 means
	// 3, negative means none.
	MaxRetries int
	// MaxWait caps one wait, including a longer Retry-After; 0 means 10 s.
	// When Retry-After exceeds it the call fails with the reply's error
	// instead of waiting.
	MaxWait time.Duration
	// Backoff is the first wait without Retry-After, doubled each time; 0
	// means 0.5 s.
	Backoff time.Duration
}

func (p RetryPolicy) retries() int {
	switch {
	case p.MaxRetries < 0:
		return 0
	case p.MaxRetries == 0:
		return 3
	}
	return p.MaxRetries
}

func (p RetryPolicy) maxWait() time.Duration {
	if p.MaxWait <= 0 {
		return 10 * time.Second
	}
	return p.MaxWait
}

func (p RetryPolicy) backoff(attempt int) time.Duration {
	b := p.Backoff
	if b <= 0 {
		b = 500 * time.Millisecond
	}
	return b << attempt
}

// endpoint is the HTTP side shared by Client and RPClient.
type endpoint struct {
	base   *url.URL
	retry  RetryPolicy
	bearer string // RP API key; "" for the authenticator API
}

func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("identity service base URL must be https://host[:port][/path]")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// noRedirects returns a shallow copy of hc that never follows redirects
// (the protocol has none; following one could carry a token elsewhere).
func noRedirects(hc *http.Client) *http.Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// call POSTs req to path and decodes a 200 reply into reply. Idempotent
// calls are retried on 429/503 under e.retry; others never.
func (e *endpoint) call(ctx context.Context, hc *http.Client, path string, req, reply Message, idempotent bool) error {
	body, err := Encode(req)
	if err != nil {
		return err
	}
	u := *e.base
	u.Path += path
	target := u.String()
	retries := 0
	if idempotent {
		retries = e.retry.retries()
	}
	for attempt := 0; ; attempt++ {
		err := e.once(ctx, hc, target, body, reply)
		var se *ServiceError
		if !errors.As(err, &se) || attempt >= retries ||
			se.Status != http.StatusTooManyRequests && se.Status != http.StatusServiceUnavailable {
			return err
		}
		wait := se.RetryAfter
		if wait == 0 {
			wait = e.retry.backoff(attempt)
		}
		if wait > e.retry.maxWait() {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (waiting to retry after: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

func (e *endpoint) once(ctx context.Context, hc *http.Client, target string, body []byte, reply Message) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if e.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+e.bearer)
	}
	resp, err := hc.Do(req)
	if err != nil {
		// *url.Error names the URL, which carries no token (tokens are
		// only in bodies).
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodySize+1))
	if err != nil {
		return fmt.Errorf("reading reply: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		if !isJSON(resp.Header.Get("Content-Type")) {
			return fmt.Errorf("%w: content type %q", ErrMalformedReply, resp.Header.Get("Content-Type"))
		}
		if err := DecodeBytes(data, reply); err != nil {
			return fmt.Errorf("%w: %w", ErrMalformedReply, err)
		}
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fmt.Errorf("HTTP %d: %w", resp.StatusCode, ErrRedirect)
	case resp.StatusCode >= 400:
		se := &ServiceError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
		var er ErrorResponse
		if isJSON(resp.Header.Get("Content-Type")) && DecodeBytes(data, &er) == nil {
			se.Code, se.Details = er.ErrorCode, er.Details
		}
		return se
	}
	return fmt.Errorf("%w: HTTP status %d", ErrMalformedReply, resp.StatusCode)
}

func isJSON(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// parseRetryAfter reads delta-seconds or an HTTP date (RFC 9110 §10.2.3);
// 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if isDigits(v) && len(v) <= 6 {
		n, _ := strconv.Atoi(v)
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
