package idp

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/big"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/mtls"
	"github.com/sithseid/sithseid/oob"
)

// RelyingParty is a client of the relying-party API.
type RelyingParty struct {
	// Name is the display name the authenticator shows before the PIN,
	// e.g. "Journalsystemet Demo".
	Name string
	// OrgID is the organisation number (optional), shown with the name.
	OrgID string
	// APIKey is the bearer key of the relying-party API
	// ("Authorization: Bearer <key>"). At least 16 bytes.
	APIKey string
}

// Defaults of Options.
const (
	// DefaultRelyingPartyName is the relying party configured when
	// Options.RelyingParties is empty.
	DefaultRelyingPartyName = "Journalsystemet Demo"
	// DemoRelyingPartyName is the built-in relying party of the demo page.
	DemoRelyingPartyName = "Demo-journalen"

	DefaultMaxOrders = 10_000
	DefaultRPRate    = 10 // requests per second per relying-party key
	DefaultRPBurst   = 50
	DefaultIPRate    = 20 // requests per second per client IP
	DefaultIPBurst   = 60
)

// Options configure New. The zero value gives a working service: a test
// PKI from testpki.DefaultSeed, one relying party with a random API key
// (see Server.RelyingParties), BankID's timing and moderate rate limits.
type Options struct {
	// PKI is the test PKI: its FunctionCA issues the server certificate,
	// its HSA-ID person CA issues the certificates that may log in, and the
	// OCSP responder answers for its issuing CAs. Nil: testpki.New with Seed.
	PKI *testpki.PKI
	// Seed is the test PKI's seed when PKI is nil ("" = testpki.DefaultSeed).
	Seed string
	// ServerNames are the names in the server certificate; default
	// "localhost", "127.0.0.1", "::1".
	ServerNames []string

	// RelyingParties may use the relying-party API. Empty: one relying
	// party named DefaultRelyingPartyName with a random key.
	RelyingParties []RelyingParty

	// Now is the clock (tests inject one). Nil: time.Now.
	Now func() time.Time
	// Logger receives one line per order event. Nil: discard. Tokens,
	// secrets and signatures are never logged.
	Logger *slog.Logger

	// Revoked serial numbers: the OCSP responder answers revoked for them
	// (from the start; see also Server.Revoke).
	Revoked []*big.Int
	// KnownSerial, when set, tells whether the CA with serial issuer issued
	// serial; the responder answers "unknown" for serials it does not know.
	// Nil: every serial of a known issuer is good unless revoked (the test
	// PKI mints cards in other processes).
	KnownSerial func(issuer, serial *big.Int) bool
	// OCSPDelegated signs OCSP responses with a delegated responder
	// certificate per CA instead of the CA key.
	OCSPDelegated bool

	// OrderLifetime: default oob.OrderLifetime (3 minutes).
	OrderLifetime time.Duration
	// MaxOrders bounds the orders held (live plus recently ended);
	// default DefaultMaxOrders. Past it, auth answers 503 maintenance.
	MaxOrders int
	// RPRate and RPBurst bound requests per relying-party key, IPRate and
	// IPBurst per client IP (token buckets). Zero: the defaults; negative
	// rate: no limit.
	RPRate  float64
	RPBurst int
	IPRate  float64
	IPBurst int

	// PublicURL is the service's base URL for the demo page's return
	// URL, e.g. "https://127.0.0.1:8443" (sithseid-idp serve: --public-url,
	// else the address it listens on). "": the demo page's orders have no
	// return URL. Never taken from the request's Host header, which any
	// client sets.
	PublicURL string
}

// relyingParty is a configured relying party.
type relyingParty struct {
	name, orgID string
	key         []byte
}

// Server is the reference identity service. It is an http.Handler; serve
// it with TLSConfig (mutual TLS is needed for /authn/v1/complete).
// Its methods are safe for concurrent use.
type Server struct {
	now      func() time.Time
	log      *slog.Logger
	pki      *testpki.PKI
	cert     testpki.Credential
	lifetime time.Duration

	rps      map[tokenKey]*relyingParty
	rpList   []RelyingParty
	demoRP   *relyingParty
	orders   *orderStore
	ocsp     *ocspResponder
	rpLimit  *rateLimiter
	ipLimit  *rateLimiter
	demo     *demoSessions
	mux      *http.ServeMux
	baseURL  string
	personCA *x509.Certificate
	// personCA2 issues the test PKI's extra eIDs of other organisations
	// (testpki.CardSpec.EIDs): accepted as well.
	personCA2 *x509.Certificate
}

// New builds a server.
func New(opts Options) (*Server, error) {
	s := &Server{now: opts.Now, log: opts.Logger, pki: opts.PKI, lifetime: opts.OrderLifetime, baseURL: opts.PublicURL}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.lifetime <= 0 {
		s.lifetime = oob.OrderLifetime
	}
	s.baseURL = strings.TrimSuffix(s.baseURL, "/")
	if s.baseURL != "" {
		if err := oob.CheckRedirect(s.baseURL + "/"); err != nil {
			return nil, fmt.Errorf("public URL %q: %w", opts.PublicURL, err)
		}
	}
	if s.pki == nil {
		p, err := testpki.New(testpki.Options{Seed: opts.Seed, Now: s.now()})
		if err != nil {
			return nil, fmt.Errorf("building test PKI: %w", err)
		}
		s.pki = p
	}
	s.personCA, s.personCA2 = s.pki.HSAPersonCA.Cert, s.pki.HSAPersonCA2.Cert
	var err error
	if s.cert, err = s.pki.ServerCert(opts.ServerNames...); err != nil {
		return nil, fmt.Errorf("issuing server certificate: %w", err)
	}

	s.rps = map[tokenKey]*relyingParty{}
	rpl := opts.RelyingParties
	if len(rpl) == 0 {
		rpl = []RelyingParty{{Name: DefaultRelyingPartyName, APIKey: oob.NewUUID()}}
	}
	for _, rp := range rpl {
		if err := oob.CheckText(rp.Name, oob.MaxRelyingPartyName, false); err != nil {
			return nil, fmt.Errorf("relying party name %q: %w", rp.Name, err)
		}
		if len(rp.APIKey) < 16 {
			return nil, fmt.Errorf("relying party %q: API key shorter than 16 bytes", rp.Name)
		}
		k := keyOf(rp.APIKey)
		if _, dup := s.rps[k]; dup {
			return nil, fmt.Errorf("relying party %q: API key used twice", rp.Name)
		}
		s.rps[k] = &relyingParty{name: rp.Name, orgID: rp.OrgID, key: []byte(rp.APIKey)}
	}
	s.rpList = rpl
	s.demoRP = &relyingParty{name: DemoRelyingPartyName}

	maxOrders := opts.MaxOrders
	if maxOrders <= 0 {
		maxOrders = DefaultMaxOrders
	}
	s.orders = newOrderStore(s.now, s.lifetime, maxOrders)

	if s.ocsp, err = newOCSPResponder(s.now, s.pki.IssuingCAs(), opts.OCSPDelegated); err != nil {
		return nil, err
	}
	s.ocsp.known = opts.KnownSerial
	for _, serial := range opts.Revoked {
		s.ocsp.revoke(serial, s.now())
	}

	s.rpLimit = newLimiter(opts.RPRate, opts.RPBurst, DefaultRPRate, DefaultRPBurst, s.now)
	s.ipLimit = newLimiter(opts.IPRate, opts.IPBurst, DefaultIPRate, DefaultIPBurst, s.now)
	s.demo = newDemoSessions()

	mux := http.NewServeMux()
	for path, h := range map[string]http.HandlerFunc{
		oob.PathAuth:              s.rpAPI(s.handleAuth),
		oob.PathCollect:           s.rpAPI(s.handleCollect),
		oob.PathCancel:            s.rpAPI(s.handleCancel),
		oob.PathLookup:            s.handleLookup,
		oob.PathQR:                s.handleQR,
		oob.PathComplete:          s.handleComplete,
		oob.PathTransactionCancel: s.handleTransactionCancel,
	} {
		mux.Handle(path, postOnly(h))
	}
	mux.Handle(ocspPath, s.ocsp)
	mux.Handle(ocspPath+"/", s.ocsp)
	s.demoRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, oob.ErrorCodeNotFound, "no such endpoint")
	})
	s.mux = mux
	return s, nil
}

// postOnly refuses every method but POST with a JSON 405 (every call of
// the protocol is a POST, docs/protocol.md §2).
func postOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, oob.ErrorCodeInvalidParameters, "method not allowed: use POST")
			return
		}
		h(w, r)
	}
}

func newLimiter(rate float64, burst int, defRate float64, defBurst int, now func() time.Time) *rateLimiter {
	if rate == 0 {
		rate = defRate
	}
	if burst == 0 {
		burst = defBurst
	}
	return newRateLimiter(rate, burst, now)
}

// PKI returns the test PKI in use.
func (s *Server) PKI() *testpki.PKI { return s.pki }

// Certificate returns the server's TLS credential.
func (s *Server) Certificate() testpki.Credential { return s.cert }

// RelyingParties returns the configured relying parties, API keys included
// (the CLI writes the generated key to its state directory).
func (s *Server) RelyingParties() []RelyingParty { return append([]RelyingParty(nil), s.rpList...) }

// Revoke makes the OCSP responder answer revoked for serial from now on.
func (s *Server) Revoke(serial *big.Int) { s.ocsp.revoke(serial, s.now()) }

// Unrevoke undoes Revoke.
func (s *Server) Unrevoke(serial *big.Int) { s.ocsp.unrevoke(serial) }

// TLSConfig returns the listener's TLS configuration: the server
// certificate, TLS 1.2 or later with the AEAD suites the client allows
// (mtls.CipherSuites), and a request (not a demand) for a client
// certificate, naming the HSA-ID person CA as acceptable so the client
// offers its HSA-ID authentication certificate. The certificate is checked
// by the handler of /authn/v1/complete, not by the handshake, so a wrong,
// expired or revoked certificate gets a reply that says why rather than a
// bare TLS alert.
func (s *Server) TLSConfig() *tls.Config {
	cas := x509.NewCertPool()
	cas.AddCert(s.personCA)
	cas.AddCert(s.personCA2)
	return &tls.Config{
		Certificates: []tls.Certificate{s.cert.TLSCertificate()},
		ClientAuth:   tls.RequestClientCert,
		ClientCAs:    cas,
		MinVersion:   tls.VersionTLS12,
		CipherSuites: mtls.CipherSuites(),
	}
}

// ServeHTTP implements http.Handler: the per-IP rate limit, then the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if ok, wait := s.ipLimit.allow(clientIP(r)); !ok {
		tooManyRequests(w, wait)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// clientIP is the TCP peer's address. X-Forwarded-For is not trusted: the
// reference service is not meant to run behind a proxy.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func tooManyRequests(w http.ResponseWriter, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, oob.ErrorCodeTooManyRequests, "rate limit exceeded")
}

// writeJSON encodes m with oob.Encode, which validates it first: the
// service never sends what the client's strict decoder must refuse.
func writeJSON(w http.ResponseWriter, status int, m oob.Message) {
	b, err := oob.Encode(m)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = oob.Encode(&oob.ErrorResponse{ErrorCode: oob.ErrorCodeInternalError, Details: "reply failed validation"})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, code, details string) {
	writeJSON(w, status, &oob.ErrorResponse{ErrorCode: code, Details: cleanDetails(details)})
}

// cleanDetails makes details a valid error text: a decode error may quote
// a key from the request with control or bidirectional characters, which
// the client's strict decoder refuses (docs/protocol.md §2).
func cleanDetails(s string) string {
	if oob.CheckText(s, oob.MaxDetails, false) == nil {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range strings.ToValidUTF8(s, "?") {
		if n == oob.MaxDetails-1 {
			b.WriteRune('…')
			break
		}
		if oob.CheckText(string(r), 1, false) != nil {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	if oob.CheckText(b.String(), oob.MaxDetails, false) != nil {
		return "invalid request"
	}
	return b.String()
}

// errBadContentType: the body is not declared as JSON.
var errBadContentType = errors.New("Content-Type is not application/json")

// decode reads a request body strictly (oob.Decode: exact keys, no
// duplicates or unknown fields, bounded size, then Validate).
func decode(r *http.Request, m oob.Message) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errBadContentType
	}
	return oob.Decode(io.LimitReader(r.Body, oob.MaxBodySize+1), m)
}

// decodeOrReject decodes or answers 400 invalidParameters.
func decodeOrReject(w http.ResponseWriter, r *http.Request, m oob.Message) bool {
	if err := decode(r, m); err != nil {
		writeError(w, http.StatusBadRequest, oob.ErrorCodeInvalidParameters, err.Error())
		return false
	}
	return true
}

// rpAPI authenticates the relying party by its bearer key (compared in
// constant time after a hashed map lookup) and applies its rate limit.
func (s *Server) rpAPI(h func(http.ResponseWriter, *http.Request, *relyingParty)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		rp := s.rps[keyOf(key)]
		if !ok || rp == nil || subtle.ConstantTimeCompare(rp.key, []byte(key)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sithseid-idp"`)
			writeError(w, http.StatusUnauthorized, oob.ErrorCodeUnauthorized, "missing or unknown API key")
			return
		}
		// The bucket is keyed by a hash so the key itself is not kept twice.
		sum := sha256.Sum256(rp.key)
		if ok, wait := s.rpLimit.allow("rp:" + hex.EncodeToString(sum[:8])); !ok {
			tooManyRequests(w, wait)
			return
		}
		h(w, r, rp)
	}
}
