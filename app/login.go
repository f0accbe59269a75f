package app

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/mtls"
	"github.com/sithseid/sithseid/oob"
)

// Login errors.
var (
	// ErrBadLink: neither a sithseid: autostart URL nor a QR payload.
	ErrBadLink = errors.New("not a SITHS eID login link")
	// ErrNoLoginCertificate: the card has no HSA-ID authentication
	// certificate.
	ErrNoLoginCertificate = errors.New("the card has no login certificate")
	// ErrLoginCertificateExpired: the login certificate is past its end.
	ErrLoginCertificateExpired = errors.New("the login certificate has expired")
	// errNoOperation: a TLS handshake asked for a signature outside a
	// login operation (no PIN is held then).
	errNoOperation = errors.New("card signature requested outside an operation")
)

// LoginApproval is what the user sees before typing the PIN: who asks and
// what for. Showing it first is the defence against a caller who talks the
// user into approving someone else's login.
type LoginApproval struct {
	RelyingParty string
	Text         string
	ExpiresAt    time.Time
	Holder       string
	HSAID        string
	CardNumber   string
	// Origin is where the login was started, as the relying party saw the
	// browser (the order's endUserIp), and whether this computer's lookup
	// came from that address; nil when the service did not say. A
	// mismatch is what a login started on another computer and sent here
	// as a link looks like (docs/protocol.md §8.1).
	Origin *oob.Origin
	// EIDs are the card's usable SITHS eIDs when it has more than one
	// (several organisations'): the window lets the user pick which to log
	// in as, HSAID (the default) preselected, and tells Choose.
	EIDs []EIDChoice `json:",omitempty"`

	chooser func(hsaID string)
}

// Choose records the eID (an HSA-ID of EIDs) the user picked in the
// approval; called before the approval returns nil. Without a call the
// login uses HSAID.
func (a LoginApproval) Choose(hsaID string) {
	if a.chooser != nil {
		a.chooser(hsaID)
	}
}

// WithChooser returns a whose Choose calls f: for a transport that carries
// the approval to another process and the choice back.
func (a LoginApproval) WithChooser(f func(hsaID string)) LoginApproval {
	a.chooser = f
	return a
}

// LoginRequest is one out-of-band login.
type LoginRequest struct {
	// Link is the sithseid:///?autostarttoken=… URL, or a scanned QR
	// payload sithseid.<token>.<t>.<mac> (the phone's path).
	Link   string
	Select Selector
	Env    environment.Environment
	// Approve shows the relying party's name and text; returning an error
	// (ErrCancelled) declines and cancels the order. Nil approves, for
	// callers that showed the text themselves.
	Approve func(ctx context.Context, a LoginApproval) error
	Prompt  Prompt
	// HSAID picks the SITHS eID to log in as on a card with several
	// organisations' eIDs (the CLI's --hsa-id); "" means the card's
	// default, which the approval window lets the user change.
	HSAID string
}

// LoginResult is a completed login.
type LoginResult struct {
	RelyingParty string
	HSAID        string
	// Redirect is the relying party's return URL ("" for none).
	Redirect string
	// TLSResumed is true when the login needed no card signature for TLS:
	// the mutual-TLS session was resumed, or its connection reused.
	TLSResumed bool
}

// CheckLink reports whether link is a login link (a sithseid: URL or a QR
// payload) without acting on it: ErrBadLink if not.
func CheckLink(link string) error {
	_, err := parseLink(link)
	return err
}

// parseLink turns a link into an oob lookup key.
func parseLink(link string) (oob.LookupKey, error) {
	switch {
	case strings.HasPrefix(strings.ToLower(link), oob.URLScheme+":"):
		a, err := oob.ParseAutoStartURL(link)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadLink, err)
		}
		return a, nil
	case strings.HasPrefix(link, oob.QRPrefix+"."):
		q, err := oob.ParseQRPayload(link)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadLink, err)
		}
		return q, nil
	}
	return nil, ErrBadLink
}

// Login completes an out-of-band login with the selected card: it looks the
// order up (server-authenticated TLS pinned to the environment), shows who
// asks, reads the PIN's tries left, asks for the PIN once, verifies it, and
// completes the order over mutual TLS with the card's login key plus a card
// signature over the order's challenge.
//
// A wrong PIN returns *cardreader.WrongPINError and leaves the order
// pending, so the user can try again within its lifetime. A declined
// approval, a blocked PIN or a removed card cancel the order, so the
// relying party learns at once.
func (s *Service) Login(ctx context.Context, req LoginRequest) (*LoginResult, error) {
	res, _, err := s.LoginOutcome(ctx, req)
	return res, err
}

// LoginOutcome is Login, also returning what the login learnt of the
// card's tries from the card's own answers (PINOutcome), with no APDU of
// its own: the PIN's tries the opening session read, then the count the
// login's VERIFY left (a login that succeeded verified the PIN: back to a
// full count; a wrong PIN: the tries the card said are left, 63Cx;
// blocked, 6983). The login reads the PIN's count only (loginTriesOf), so
// the PUK's and the signature PIN's are cardreader.ErrTriesNotRead: the
// state the login began with holds them (StatusRead.WithPINOutcome).
// Known is false when the login cannot tell: a card that reads no tries
// in one session (PKCS#11), or a login that ended with any other error
// once the card was selected (the card went, changed, did not answer).
// The agent keeps a known outcome over the card's state instead of
// reading the card again, as for a PIN change (issue 17).
func (s *Service) LoginOutcome(ctx context.Context, req LoginRequest) (*LoginResult, PINOutcome, error) {
	var lo loginTries
	res, err := s.login(ctx, req, &lo)
	return res, lo.outcome(err), err
}

// loginTriesOf is the counts a login or a tls-check reads before its
// prompt: the identification PIN's, which the prompt shows and which says
// a blocked PIN before anything is typed. Nothing in either uses the
// PUK's or the signature PIN's (issue 17: one APDU fewer each, in the
// session that opens the card).
const loginTriesOf = cardreader.TriesOfPIN

// loginTries is what a login read of its card's tries (set), for its
// PINOutcome.
type loginTries struct {
	out PINOutcome // Known: the counts read in one session (loginTriesOf)
}

func (lo *loginTries) set(oc openCard, t cardreader.Tries, read bool) {
	lo.out = PINOutcome{Reader: oc.card.Reader(), CardNumber: oc.identity.CardNumber, Tries: t, Known: read}
}

// outcome is the tries the login leaves known after it ended with err.
// Only the identification PIN is presented by a login; the counts it did
// not read stay cardreader.ErrTriesNotRead.
func (lo *loginTries) outcome(err error) PINOutcome {
	o := lo.out
	if !o.Known {
		return o
	}
	var wrong *cardreader.WrongPINError
	switch {
	case err == nil: // the PIN was verified (the challenge's signature)
		o.Tries.PIN, o.Tries.PINErr = cardreader.PINStatus{Retries: max(o.Tries.PIN.Retries, fullTries)}, nil
	case errors.As(err, &wrong):
		o.Tries.PIN, o.Tries.PINErr = cardreader.PINStatus{Retries: wrong.Retries, Blocked: wrong.Retries == 0}, nil
	case errors.Is(err, cardreader.ErrPINBlocked):
		o.Tries.PIN, o.Tries.PINErr = cardreader.PINStatus{Retries: 0, Blocked: true}, nil
	case errors.Is(err, ErrCancelled):
		// Cancelled at a prompt: nothing went to the card after the
		// tries were read.
	default:
		o.Known = false // the card went, changed or did not answer: read it
	}
	return o
}

func (s *Service) login(ctx context.Context, req LoginRequest, lo *loginTries) (*LoginResult, error) {
	key, err := parseLink(req.Link)
	if err != nil {
		return nil, err
	}
	// A plain-http loopback redirect is for the local demo service only.
	if a, ok := key.(oob.AutoStart); ok && req.Env.Name != environment.DEMO && oob.IsLoopbackRedirect(a.Redirect) {
		return nil, fmt.Errorf("%w: a loopback redirect outside the DEMO environment", ErrBadLink)
	}
	base, err := req.Env.Service()
	if err != nil {
		return nil, err
	}
	roots, err := req.Env.Roots()
	if err != nil {
		return nil, err
	}

	// The service lock is taken for each card phase and never held while
	// the user reads, approves or types (docs/protocol.md §8, "A prompt
	// never holds the card"); the PIN goes to the card selected here and
	// no other (cardreader.ErrCardChanged). The session that opens the
	// card reads the PIN's tries only (tctx).
	tctx := cardreader.WithTriesOf(ctx, loginTriesOf)
	s.mu.Lock()
	oc, login, err := s.loginCard(tctx, req.Select)
	if err == nil && req.HSAID != "" {
		login, err = oc.chooseEID(req.HSAID) // issue 15: the eID asked for
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if login.Expired(s.now()) {
		return nil, ErrLoginCertificateExpired
	}

	plain, err := s.plainClient(req.Env, base, roots)
	if err != nil {
		return nil, err
	}
	client, err := oob.NewClient(base.String(), plain.HTTP, oob.RetryPolicy{})
	if err != nil {
		return nil, err
	}
	tx, err := client.Lookup(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("looking the login up: %w", err)
	}
	cancel := func(reason string) {
		// The order's fate is the service's to know even when ctx is done.
		cctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer stop()
		if err := client.Cancel(cctx, tx, reason); err != nil {
			s.log.Info("cancelling order", "reason", reason, "err", err)
		}
	}
	// The person's part ends when the order does at the latest: an
	// approval or a PIN prompt left open is closed then (its context is
	// done) and the login reports the order expired.
	pctx, pcancel := ctx, context.CancelFunc(func() {})
	if !tx.ExpiresAt.IsZero() {
		pctx, pcancel = context.WithDeadline(ctx, tx.ExpiresAt)
	}
	defer pcancel()
	expired := func(err error) error {
		if ctx.Err() == nil && errors.Is(pctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("waiting for the user: %w", oob.ErrExpired)
		}
		return err
	}
	// The eID the user picks in the approval window (several
	// organisations' eIDs): it may change until the PIN is given.
	var choice eidChoice
	if req.Approve != nil {
		la := LoginApproval{
			RelyingParty: tx.RelyingParty.Name,
			Text:         tx.Text,
			ExpiresAt:    tx.ExpiresAt,
			Holder:       oc.identity.Holder.Name,
			HSAID:        oc.identity.HSAID,
			CardNumber:   oc.identity.CardNumber,
			Origin:       tx.Origin,
		}
		if req.HSAID == "" {
			if eids := loginEIDs(oc.identity, s.now()); len(eids) > 1 {
				la.EIDs, la.chooser = eids, choice.set
			}
		}
		if err := req.Approve(pctx, la); err != nil {
			if err := expired(err); errors.Is(err, oob.ErrExpired) {
				return nil, err
			}
			cancel(oob.ReasonUserCancel)
			return nil, err
		}
	}
	// The installation's device key, before the card is used: a keyring
	// that is slow to answer must not hold the card.
	device := s.deviceKey(ctx)
	s.mu.Lock()
	// The PIN's tries the session that opened the card read (no APDU
	// while fresh), else asked (the PIN's only: tctx).
	t, read, err := prefetchedTries(s, tctx, oc.card)
	var st cardreader.PINStatus
	switch {
	case err != nil:
	case read:
		st, err = t.PIN, t.PINErr
		lo.set(oc, t, true)
	default:
		st, err = onCard(s, ctx, oc.card.PINStatus)
	}
	s.mu.Unlock()
	if err != nil {
		s.failLogin(oc, err, cancel)
		return nil, fmt.Errorf("reading PIN tries left: %w", err)
	}
	if st.Blocked {
		cancel(oob.ReasonStartFailed)
		return nil, cardreader.ErrPINBlocked
	}
	pin, err := req.Prompt(pctx, oc.request(PromptPIN, st.Retries))
	if err != nil {
		if err := expired(err); errors.Is(err, oob.ErrExpired) {
			return nil, err
		}
		if errors.Is(err, ErrCancelled) {
			cancel(oob.ReasonUserCancel)
		}
		return nil, err
	}
	defer pin.Wipe()
	if h := choice.get(); h != "" && h != oc.identity.HSAID {
		if login, err = s.loginEIDChosen(&oc, h); err != nil {
			cancel(oob.ReasonUserCancel)
			return nil, err
		}
	}
	// From the PIN on to the completion no person is waited for: the card
	// phase holds the lock (the TLS handshake signs with the card).
	s.mu.Lock()
	defer s.mu.Unlock()
	// pinFailed ends the login on a PIN the card refused: a wrong PIN
	// leaves the order pending (the user may try again), a blocked one
	// cancels it, a card gone or changed too (failLogin).
	pinFailed := func(err error) bool {
		if errors.Is(err, cardreader.ErrPINBlocked) {
			cancel(oob.ReasonStartFailed)
			return true
		}
		s.failLogin(oc, err, cancel)
		var wrong *cardreader.WrongPINError
		return errors.As(err, &wrong)
	}
	// The signer keeps its context for the signatures that follow (the
	// challenge, then TLS when the session is not resumed): bounded, with
	// no prompt in between.
	sctx, scancel := s.cardCtx(ctx)
	defer scancel()
	signer, err := s.loginSigner(ctx, sctx, oc, login, pin)
	if err != nil {
		pinFailed(err)
		return nil, err
	}
	sess, err := s.loginSession(oc, login, signer, req.Env, base, roots)
	if err != nil {
		return nil, err
	}
	sess.signer.set(signer)
	defer sess.signer.set(nil)

	// The challenge is the card's first signature, before any TLS
	// handshake: a wrong PIN surfaces here as tries left, not as a failed
	// handshake, and leaves the order pending.
	alg, sig, err := oob.SignChallenge(sess.signer, tx.ToBeSigned())
	if err != nil {
		if pinFailed(err) {
			return nil, err
		}
		return nil, fmt.Errorf("signing the challenge: %w", err)
	}
	var proof *oob.DeviceProof
	if device != nil {
		if proof, err = oob.SignDevice(device, tx.ToBeSigned()); err != nil {
			s.log.Warn("no device proof for this login", "err", err)
			proof = nil
		}
	}
	before := sess.client.Stats()
	// The completion goes over mutual TLS with the card's key: the client
	// the session holds, now that the signer exists.
	done, err := client.WithMTLS(sess.client.HTTP).CompleteWithDevice(ctx, tx, alg, sig, proof)
	if err != nil {
		s.failLogin(oc, err, cancel)
		return nil, fmt.Errorf("completing the login: %w", err)
	}
	after := sess.client.Stats()
	s.log.Info("login completed", "rp", tx.RelyingParty.Name, "card", oc.identity.CardNumber,
		"tlsResumed", after.Signatures == before.Signatures)
	return &LoginResult{
		RelyingParty: tx.RelyingParty.Name,
		HSAID:        oc.identity.HSAID,
		Redirect:     done.Redirect,
		TLSResumed:   after.Signatures == before.Signatures,
	}, nil
}

// loginCard selects the card and its login certificate (the HSA-ID
// authentication certificate).
func (s *Service) loginCard(ctx context.Context, sel Selector) (openCard, cardreader.CertInfo, error) {
	oc, err := s.selectCard(ctx, sel)
	if err != nil {
		return oc, cardreader.CertInfo{}, err
	}
	if oc.idErr != nil {
		return oc, cardreader.CertInfo{}, oc.idErr
	}
	login, ok := oc.identity.Login()
	if !ok {
		return oc, cardreader.CertInfo{}, ErrNoLoginCertificate
	}
	return oc, login, nil
}

// certSigner is a card that makes the signer of a key whose certificate
// the caller has already read from it (cardreader/piv, idprime), the PIN
// verified in each signature's own session.
type certSigner interface {
	SignerWithCert(ctx context.Context, certID string, cert *x509.Certificate, pin *cardreader.Secret) (crypto.Signer, error)
}

// loginSigner is the card's signer of the login key. A certSigner gets the
// certificate read with the card's identity (the card's ID, which Open
// bound: each signature's session checks it is still that card before its
// VERIFY), and the PIN is verified in the first signature's session, the
// challenge's: one VERIFY per login (two when the TLS session is not
// resumed), no certificate read again (issue 17). Any other card (PKCS#11)
// verifies the PIN first, so that a wrong PIN surfaces as tries left, then
// makes its signer.
func (s *Service) loginSigner(ctx, sctx context.Context, oc openCard, login cardreader.CertInfo, pin *cardreader.Secret) (crypto.Signer, error) {
	if cs, ok := oc.card.(certSigner); ok && login.Cert != nil {
		return cs.SignerWithCert(sctx, login.ID, login.Cert, pin)
	}
	if err := s.verifyPIN(ctx, oc, pin); err != nil {
		return nil, err
	}
	return oc.card.Signer(sctx, login.ID, pin)
}

// verifyPIN checks pin on the card before anything is signed, so a wrong
// PIN surfaces as tries left rather than as a failed handshake.
func (s *Service) verifyPIN(ctx context.Context, oc openCard, pin *cardreader.Secret) error {
	_, err := onCard(s, ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, oc.card.VerifyPIN(ctx, pin)
	})
	return err
}

// failLogin cancels the order when the card went away (the relying party
// should not wait three minutes for a card that is gone) and drops the
// card's TLS sessions.
func (s *Service) failLogin(oc openCard, err error, cancel func(string)) {
	if errors.Is(err, cardreader.ErrCardRemoved) || errors.Is(err, cardreader.ErrNoCard) || errors.Is(err, cardreader.ErrCardChanged) {
		s.CardRemoved(oc.card.Reader())
		cancel(oob.ReasonCardRemoved)
	}
}

// loginSession is the TLS state kept per card and environment for the life
// of the process, so that logins after the first resume the session and
// cost no card signature for TLS.
type loginSession struct {
	reader string
	client *mtls.Client // mutual TLS with the card's login key
	signer *opSigner
}

// loginSession returns the mutual-TLS client for the card's login key in
// this environment, made on first use with what cardSigner says of PSS.
func (s *Service) loginSession(oc openCard, login cardreader.CertInfo, cardSigner crypto.Signer, env environment.Environment, base *url.URL, roots *x509.CertPool) (*loginSession, error) {
	key := strings.Join([]string{oc.card.Backend(), oc.card.Reader(), login.SHA256, env.Name, base.String()}, "|")
	s.loginMu.Lock()
	defer s.loginMu.Unlock()
	if ls, ok := s.sessions[key]; ok {
		return ls, nil
	}
	signer := &opSigner{pub: login.Cert.PublicKey, pss: true}
	if p, ok := cardSigner.(cardreader.PSSCapable); ok {
		signer.pss = p.SupportsPSS()
	}
	client, err := mtls.NewClient(mtls.Options{
		Signer: signer,
		Chain:  []*x509.Certificate{login.Cert},
		Roots:  roots,
		// Named explicitly: an IP-literal URL sends no SNI, and the
		// certificate must still be checked against the address.
		ServerName: base.Hostname(),
		Now:        s.opts.Now,
		// Policy's proxy or HTTPS_PROXY (environment.ProxyFunc):
		// CONNECT, so TLS stays end to end and pinned.
		Proxy: env.Proxy,
	})
	if err != nil {
		return nil, err
	}
	ls := &loginSession{reader: oc.card.Reader(), client: client, signer: signer}
	if s.sessions == nil {
		s.sessions = map[string]*loginSession{}
	}
	s.sessions[key] = ls
	return ls, nil
}

// plainClient returns the server-authenticated client for an environment,
// pinned to its trust anchors, made on first use.
func (s *Service) plainClient(env environment.Environment, base *url.URL, roots *x509.CertPool) (*mtls.Client, error) {
	key := env.Name + "|" + base.String()
	s.loginMu.Lock()
	defer s.loginMu.Unlock()
	if c, ok := s.plain[key]; ok {
		return c, nil
	}
	c, err := mtls.NewServerAuthClient(mtls.Options{Roots: roots, ServerName: base.Hostname(), Now: s.opts.Now, Proxy: env.Proxy})
	if err != nil {
		return nil, err
	}
	if s.plain == nil {
		s.plain = map[string]*mtls.Client{}
	}
	s.plain[key] = c
	return c, nil
}

// opSigner is the login key as the long-lived TLS client sees it. It signs
// only while an operation has set the card's signer (which holds the PIN
// for that operation); outside one it refuses, so a PIN never outlives its
// operation in a cached client.
type opSigner struct {
	pub crypto.PublicKey
	pss bool

	mu  sync.Mutex
	cur crypto.Signer
}

func (o *opSigner) set(s crypto.Signer) {
	o.mu.Lock()
	o.cur = s
	o.mu.Unlock()
}

func (o *opSigner) Public() crypto.PublicKey { return o.pub }

// SupportsPSS is fixed when the session is made: mtls caps the TLS
// version of the client by it.
func (o *opSigner) SupportsPSS() bool { return o.pss }

func (o *opSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	o.mu.Lock()
	cur := o.cur
	o.mu.Unlock()
	if cur == nil {
		return nil, errNoOperation
	}
	return cur.Sign(r, digest, opts)
}

// TLSCheckRequest is a helpdesk check of mutual TLS with the card.
type TLSCheckRequest struct {
	URL    string
	Select Selector
	// Roots are the trust anchors for the server.
	Roots *x509.CertPool
	// MaxVersion caps TLS (tls.VersionTLS12) to test 1.2; zero allows 1.3.
	MaxVersion uint16
	Prompt     Prompt
	// HSAID picks the SITHS eID whose key authenticates (tls-check
	// --hsa-id). "" on a card with several eIDs: the one whose issuer the
	// server's CertificateRequest accepts when only one fits, else the
	// card's default.
	HSAID string
}

// TLSCheckReport says what happened.
type TLSCheckReport struct {
	URL           string        `json:"url"`
	Status        int           `json:"status"`
	Protocol      string        `json:"protocol"`
	CipherSuite   string        `json:"cipherSuite"`
	Resumed       bool          `json:"resumed"`
	ServerSubject string        `json:"serverSubject"`
	ServerIssuer  string        `json:"serverIssuer"`
	ClientSubject string        `json:"clientSubject"`
	Signatures    uint64        `json:"cardSignatures"`
	Elapsed       time.Duration `json:"elapsedNs"`
	Body          string        `json:"body,omitempty"`
	// HSAID and Organisation name the eID that authenticated.
	HSAID        string `json:"hsaId,omitempty"`
	Organisation string `json:"organisation,omitempty"`
}

// TLSCheck makes one GET over mutual TLS with the card's login key and
// reports the negotiated parameters. Errors are the typed ones of mtls
// (*mtls.UntrustedServerError and friends) and cardreader.
func (s *Service) TLSCheck(ctx context.Context, req TLSCheckRequest) (*TLSCheckReport, error) {
	if req.Roots == nil {
		return nil, fmt.Errorf("tls check: %w", environment.ErrNotConfigured)
	}
	u, err := url.Parse(req.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("tls check: %q is not an https URL", req.URL)
	}
	// An expired login certificate is still tried: helpdesk wants to see
	// what the server makes of it. The lock is not held over the prompt.
	// The session that opens the card reads the PIN's tries only (tctx).
	tctx := cardreader.WithTriesOf(ctx, loginTriesOf)
	s.mu.Lock()
	oc, login, err := s.loginCard(tctx, req.Select)
	if err == nil {
		// Several organisations' eIDs: the one asked for, else the only
		// one the server accepts, else the default (issue 15).
		login, err = s.tlsEID(ctx, &oc, req, u)
	}
	var st cardreader.PINStatus
	if err == nil {
		// The PIN's tries the session that opened the card read (no
		// APDU while fresh), else asked.
		st, err = pinTries(s, tctx, oc.card, pinOps{ref: cardreader.PINIdentification, status: oc.card.PINStatus})
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if st.Blocked {
		return nil, cardreader.ErrPINBlocked
	}
	pin, err := req.Prompt(ctx, oc.request(PromptPIN, st.Retries))
	if err != nil {
		return nil, err
	}
	defer pin.Wipe()
	s.mu.Lock()
	defer s.mu.Unlock()
	// The PIN is verified before anything is dialled, so that a wrong
	// one comes back as tries left, not as a failed handshake.
	if err := s.verifyPIN(ctx, oc, pin); err != nil {
		return nil, err
	}
	// The signer keeps its context for the signatures that follow (TLS
	// and the challenge): bounded, with no prompt in between. A card
	// that can takes the certificate read with its identity (the card's
	// ID, which Open bound: each signature's session checks it is still
	// that card before its VERIFY) instead of reading it again (issue 17).
	sctx, scancel := s.cardCtx(ctx)
	defer scancel()
	var signer crypto.Signer
	if cs, ok := oc.card.(certSigner); ok && login.Cert != nil {
		signer, err = cs.SignerWithCert(sctx, login.ID, login.Cert, pin)
	} else {
		signer, err = oc.card.Signer(sctx, login.ID, pin)
	}
	if err != nil {
		return nil, err
	}
	client, err := mtls.NewClient(mtls.Options{
		Signer:     signer,
		Chain:      []*x509.Certificate{login.Cert},
		Roots:      req.Roots,
		ServerName: u.Hostname(),
		MaxVersion: req.MaxVersion,
		Now:        s.opts.Now,
	})
	if err != nil {
		return nil, err
	}
	defer client.CloseIdleConnections()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, req.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("tls check: %w", err)
	}
	start := time.Now()
	resp, err := client.HTTP.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("tls check: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	rep := &TLSCheckReport{
		URL:           req.URL,
		Status:        resp.StatusCode,
		Elapsed:       time.Since(start),
		ClientSubject: login.Cert.Subject.String(),
		HSAID:         login.HSAID,
		Organisation:  login.Organisation,
		Signatures:    client.Stats().Signatures,
		Body:          strings.TrimSpace(string(body)),
	}
	if cs := resp.TLS; cs != nil {
		rep.Protocol = tls.VersionName(cs.Version)
		rep.CipherSuite = tls.CipherSuiteName(cs.CipherSuite)
		rep.Resumed = cs.DidResume
		if len(cs.PeerCertificates) > 0 {
			rep.ServerSubject = cs.PeerCertificates[0].Subject.String()
			rep.ServerIssuer = cs.PeerCertificates[0].Issuer.String()
		}
	}
	return rep, nil
}

// QRHandover is the current animated QR code of an order, for finishing it
// on the phone instead.
type QRHandover struct {
	Payload  string
	PNG      []byte
	ValidFor time.Duration
}

// QR fetches the order's current QR payload from the service (the
// qrStartSecret never leaves it) and renders it as a PNG of size pixels.
// Call it once a second while the code is shown; oob.ErrExpired ends it.
func (s *Service) QR(ctx context.Context, link string, env environment.Environment, size int) (*QRHandover, error) {
	key, err := parseLink(link)
	if err != nil {
		return nil, err
	}
	a, ok := key.(oob.AutoStart)
	if !ok {
		return nil, fmt.Errorf("%w: a QR code is made from an autostart link", ErrBadLink)
	}
	base, err := env.Service()
	if err != nil {
		return nil, err
	}
	roots, err := env.Roots()
	if err != nil {
		return nil, err
	}
	plain, err := s.plainClient(env, base, roots)
	if err != nil {
		return nil, err
	}
	client, err := oob.NewClient(base.String(), plain.HTTP, oob.RetryPolicy{})
	if err != nil {
		return nil, err
	}
	st, err := client.QR(ctx, a.Token)
	if err != nil {
		return nil, fmt.Errorf("fetching the QR code: %w", err)
	}
	png, err := oob.QRPNG(st.Payload, size)
	if err != nil {
		return nil, err
	}
	return &QRHandover{Payload: st.Payload, PNG: png, ValidFor: st.ValidFor}, nil
}

// deviceKey returns the installation's device key (Options.DeviceKey), or
// nil when there is none: a login without the device proof still works,
// and the reason is logged.
func (s *Service) deviceKey(ctx context.Context) *ecdsa.PrivateKey {
	if s.opts.DeviceKey == nil {
		return nil
	}
	k, err := s.opts.DeviceKey(ctx)
	if err != nil {
		s.log.Warn("no device key: the login goes without the device proof", "err", err)
		return nil
	}
	return k
}
