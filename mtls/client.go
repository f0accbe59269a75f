package mtls

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Client is an HTTP client that authenticates with one key and chain. Each
// TLS session it sets up costs one signature by the key; later connections
// resume the session (TLS 1.3 PSK tickets, RFC 8446 §2.2; TLS 1.2 session
// tickets, RFC 5077) without the key, until ForgetSessions.
type Client struct {
	// HTTP sends requests over mutual TLS. Its errors wrap the typed
	// errors of this package (*UntrustedServerError,
	// *CertificateNotAcceptedError, *SigningError, *ProtocolVersionError):
	// use errors.As.
	HTTP *http.Client

	s         *setup
	cache     *generationCache
	transport *http.Transport

	// Cold start: while no request has succeeded since the last
	// ForgetSessions, requests go one at a time, so that concurrent first
	// requests resume the first one's session instead of each making a
	// full handshake (and a card signature).
	coldMu   sync.Mutex
	warmGen  uint64 // generation+1 of the cache that is warm; 0: none
	coldWait chan struct{}
}

// Stats counts what a Client's handshakes cost.
type Stats struct {
	// Handshakes is the number of TLS handshakes that completed our
	// verification of the server, full or resumed.
	Handshakes uint64
	// Resumptions is the number of those that resumed a cached session.
	Resumptions uint64
	// Signatures is the number of times the key was asked to sign (one per
	// full handshake that sent the certificate).
	Signatures uint64
}

// Default timeouts of a Client.
const (
	defaultTimeout = time.Minute
	dialTimeout    = 10 * time.Second
	// A handshake includes the card's signature: a few hundred
	// milliseconds on a SITHS card, more through a redirected VDI reader.
	handshakeTimeout = 30 * time.Second
)

// NewClient returns a Client for opts (see Options and Config).
func NewClient(opts Options) (*Client, error) {
	s, err := newSetup(opts)
	if err != nil {
		return nil, err
	}
	return newClient(s, opts), nil
}

// NewServerAuthClient returns a Client that authenticates the server only
// (see ServerAuthConfig): opts.Signer and opts.Chain are ignored.
func NewServerAuthClient(opts Options) (*Client, error) {
	s, err := newServerAuthSetup(opts)
	if err != nil {
		return nil, err
	}
	return newClient(s, opts), nil
}

func newClient(s *setup, opts Options) *Client {
	c := &Client{s: s, cache: s.cache}
	c.transport = &http.Transport{
		Proxy:                 opts.Proxy,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       s.tlsConfig(),
		TLSHandshakeTimeout:   handshakeTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          10,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	c.HTTP = &http.Client{
		Transport: &roundTripper{c: c},
		Timeout:   timeout,
	}
	return c
}

// ForgetSessions drops every cached TLS session and closes idle
// connections, so the next request makes a full handshake and the key signs
// again. Call it when the card is removed. Connections busy with a request
// are not interrupted; a session ticket that such a connection receives
// after the call may still be cached, so drop the Client too when the card
// (not just the session) is gone for good.
func (c *Client) ForgetSessions() {
	c.cache.forget()
	c.transport.CloseIdleConnections()
}

// Stats reports the handshakes and signatures so far.
func (c *Client) Stats() Stats {
	return Stats{
		Handshakes:  c.s.handshakes.Load(),
		Resumptions: c.s.resumptions.Load(),
		Signatures:  c.s.signatures.Load(),
	}
}

// CloseIdleConnections closes idle connections but keeps the cached
// sessions: the next connection resumes without a signature.
func (c *Client) CloseIdleConnections() { c.transport.CloseIdleConnections() }

// roundTripper puts a handshakeRecord into each request's context, so that
// a handshake started for the request can report the signer's own error,
// and turns handshake failures into this package's typed errors.
type roundTripper struct{ c *Client }

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	warmed, err := rt.c.awaitWarm(req)
	if err != nil {
		return nil, err
	}
	rec := &handshakeRecord{}
	resp, err := rt.c.transport.RoundTrip(req.WithContext(withRecord(req.Context(), rec)))
	warmed(err == nil)
	if err != nil {
		return nil, rt.c.classify(err, rec)
	}
	return resp, nil
}

// awaitWarm returns at once when a request has succeeded since the last
// ForgetSessions (or the Client has no key). Otherwise the first caller
// goes ahead and the others wait until it is done: its session is then
// cached, and they resume it. The returned func reports whether the
// request succeeded; after a failure the next waiter goes ahead.
func (c *Client) awaitWarm(req *http.Request) (func(ok bool), error) {
	noop := func(bool) {}
	if c.s.signer == nil {
		return noop, nil
	}
	for {
		c.coldMu.Lock()
		gen := c.cache.generation()
		if c.warmGen == gen+1 {
			c.coldMu.Unlock()
			return noop, nil
		}
		if c.coldWait == nil {
			done := make(chan struct{})
			c.coldWait = done
			c.coldMu.Unlock()
			return func(ok bool) {
				c.coldMu.Lock()
				if ok {
					c.warmGen = gen + 1
				}
				c.coldWait = nil
				c.coldMu.Unlock()
				close(done)
			}, nil
		}
		wait := c.coldWait
		c.coldMu.Unlock()
		select {
		case <-wait:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
}

func (rt *roundTripper) CloseIdleConnections() { rt.c.transport.CloseIdleConnections() }

func (c *Client) classify(err error, rec *handshakeRecord) error {
	if signErr := rec.signError(); signErr != nil {
		return &SigningError{Err: signErr}
	}
	if a, ok := receivedAlert(err); ok && a == alertProtocolVersion {
		return &ProtocolVersionError{MaxVersion: c.s.maxVersion, CappedForPSS: c.s.cappedForPSS, Err: err}
	}
	if a, ok := receivedAlert(err); ok && a == alertHandshakeFailure && !rec.sawCertificateRequest() {
		return fmt.Errorf("%w: %w", ErrNoSharedCipherSuite, err)
	}
	return err
}

// TLS alerts (RFC 8446 §6.2, RFC 5246 §7.2).
const (
	alertHandshakeFailure = 40
	alertProtocolVersion  = 70
)

// receivedAlert finds an alert the peer sent. crypto/tls reports one as a
// *net.OpError{Op: "remote error"} around its unexported alert type (a
// uint8; tls.AlertError is only used with QUIC), so the code is read by
// reflection rather than from the text.
func receivedAlert(err error) (uint8, bool) {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "remote error" || op.Err == nil {
		return 0, false
	}
	if a, ok := errors.AsType[tls.AlertError](op.Err); ok {
		return uint8(a), true
	}
	v := reflect.ValueOf(op.Err)
	if v.Kind() != reflect.Uint8 {
		return 0, false
	}
	return uint8(v.Uint()), true
}

// generationCache wraps a tls.ClientSessionCache so that every entry can be
// dropped at once, whatever the inner cache: keys carry a generation, and
// forget starts a new one (old entries age out of the inner LRU). Keys also
// carry the client certificate's fingerprint, so that Clients sharing one
// Options.SessionCache never resume each other's authenticated sessions.
//
// A nil Put (crypto/tls dropping a ticket after a failed handshake) is
// ignored when a fresh ticket was stored after the last Get of that key:
// the failed connection used an older ticket. Without this, a connection
// that http.Transport abandons mid-handshake (a request served by another
// connection meanwhile) erases the ticket that a concurrent connection has
// just stored, and the next connection costs a card signature.
type generationCache struct {
	inner    tls.ClientSessionCache
	identity string
	gen      atomic.Uint64

	mu   sync.Mutex
	seq  uint64
	last map[string]ticketUse // by full key
}

// ticketUse records, per key, when it was last read and last written.
type ticketUse struct{ got, put uint64 }

func newGenerationCache(inner tls.ClientSessionCache, leaf []byte) *generationCache {
	if inner == nil {
		inner = tls.NewLRUClientSessionCache(0)
	}
	id := "server-auth"
	if leaf != nil {
		sum := sha256.Sum256(leaf)
		id = hex.EncodeToString(sum[:12])
	}
	return &generationCache{inner: inner, identity: id, last: map[string]ticketUse{}}
}

func (g *generationCache) key(k string) string {
	return g.identity + "|" + strconv.FormatUint(g.gen.Load(), 10) + "|" + k
}

func (g *generationCache) Get(sessionKey string) (*tls.ClientSessionState, bool) {
	k := g.key(sessionKey)
	g.mu.Lock()
	u, seen := g.last[k]
	if !seen && len(g.last) >= maxTrackedKeys {
		clear(g.last) // bounded; forgetting only costs one ignored nil
	}
	g.seq++
	u.got = g.seq
	g.last[k] = u
	g.mu.Unlock()
	return g.inner.Get(k)
}

func (g *generationCache) Put(sessionKey string, cs *tls.ClientSessionState) {
	k := g.key(sessionKey)
	g.mu.Lock()
	defer g.mu.Unlock()
	u, seen := g.last[k]
	if cs == nil {
		if seen && u.put > u.got {
			return // a newer ticket than any failed connection used
		}
		delete(g.last, k)
	} else {
		if !seen && len(g.last) >= maxTrackedKeys {
			clear(g.last) // bounded; forgetting only costs one ignored nil
		}
		g.seq++
		u.put = g.seq
		g.last[k] = u
	}
	g.inner.Put(k, cs)
}

// maxTrackedKeys bounds generationCache.last: a Client talks to a handful
// of servers.
const maxTrackedKeys = 256

func (g *generationCache) forget() { g.gen.Add(1) }

func (g *generationCache) generation() uint64 { return g.gen.Load() }
