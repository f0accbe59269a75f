// Package app holds the use cases of SITHS eID and their domain types: the
// Service with the card and login operations and their serialisation,
// status, PINs, certificates, logins and QR handovers. The roles above it
// (agent, cli, ui), the local API, configuration, logging and diagnostics
// are packages of their own (docs/architecture.md).
//
// Its API speaks the domain (cards, holders, orders), never Fyne or PC/SC
// types, so that the tray, the windows and the CLI are thin clients of it.
// It writes no sentences for people: it returns data, typed errors and
// warning codes, which the ui and the CLI put into Swedish or English.
package app

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/mtls"
)

// ReaderLister lists the PC/SC readers and whether a card is present. The
// agent answers from its monitor; the CLI asks PC/SC once.
type ReaderLister func(ctx context.Context) ([]cardreader.Reader, error)

// TokenLister lists cards that sit in no PC/SC reader (a PKCS#11 token such
// as SoftHSM). Optional.
type TokenLister func(ctx context.Context) ([]cardreader.Card, error)

// Options configures a Service. The zero value of every optional field
// works.
type Options struct {
	// Backends in their default order: IDPrime first (native SITHS
	// cards), then PIV, then PKCS#11 (a vendor module, the fallback).
	Backends []cardreader.Backend
	// Preference is one of cardreader.Preferences ("auto" or "" keeps
	// the order; "idprime", "piv" or "pkcs11" keeps only that backend).
	Preference string
	// Readers lists the readers. Required.
	Readers ReaderLister
	// Tokens lists reader-less PKCS#11 tokens; nil means none.
	Tokens TokenLister
	// Cache keeps identities of cards seen before; nil means a new cache.
	Cache *cardreader.IdentityCache
	// Log receives the full error chains; nil discards.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// CardTimeout bounds each call to a card (prompts excluded); zero means
	// DefaultCardTimeout. A PKCS#11 module can wedge for good when a card
	// is pulled mid-login: the operation must still end.
	CardTimeout time.Duration
	// ManagementKeyFile is a file holding a PIV management key in hex,
	// named by policy (pivManagementKeyFile) for organisations whose PIV
	// tokens share one: certificate removal uses it when the caller gives
	// no key. "" means none: the card's PIN-protected key, then the
	// default. Read at each removal, never cached or logged.
	ManagementKeyFile string
	// DeviceKey returns the installation's device key for the identity
	// service (DeviceKeyStore.DeviceKey: created on first use, kept in the
	// OS keyring or its 0600 fallback file); each login completion carries
	// a proof made with it (oob.DeviceProof). nil means no device proof.
	DeviceKey func(context.Context) (*ecdsa.PrivateKey, error)
	// EIDPreferences remembers the user's default SITHS eID per card
	// (issue 15); nil remembers nothing. DefaultOrganisation is policy's
	// defaultOrganisation ("SE" + ten digits): the default eID on cards
	// with several, when the user chose none.
	EIDPreferences      EIDPreferences
	DefaultOrganisation string
}

// DefaultCardTimeout is the longest one card call may take.
const DefaultCardTimeout = 30 * time.Second

// Service runs the card operations. One card phase runs at a time: the
// card and the PC/SC stack are single-user resources. A phase never spans
// a person's input: an operation takes the lock to select the card and
// read its tries, lets it go while the prompt is open, and takes it again
// for the step that presents the PIN, which the backend binds to the card
// selected (cardreader.ErrCardChanged for any other).
type Service struct {
	opts     Options
	backends []cardreader.Backend
	cache    *cardreader.IdentityCache
	log      *slog.Logger

	mu sync.Mutex // serialises card operations

	known atomic.Pointer[func() []cardreader.Reader] // UseKnownReaders

	loginMu  sync.Mutex
	sessions map[string]*loginSession // mutual TLS per card and environment
	plain    map[string]*mtls.Client  // server-authenticated TLS per environment
}

// NewService checks opts and returns a Service.
func NewService(opts Options) (*Service, error) {
	if opts.Readers == nil {
		return nil, errors.New("app: Options.Readers is required")
	}
	backends, err := cardreader.OrderBackends(opts.Preference, opts.Backends)
	if err != nil {
		return nil, err
	}
	s := &Service{opts: opts, backends: backends, cache: opts.Cache, log: opts.Log}
	if s.cache == nil {
		s.cache = cardreader.NewIdentityCache(cardreader.DefaultIdentityCacheSize)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// cardCtx is ctx bounded by the card timeout, for one call to a card.
func (s *Service) cardCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	d := s.opts.CardTimeout
	if d <= 0 {
		d = DefaultCardTimeout
	}
	return context.WithTimeout(ctx, d)
}

// locked runs f holding the service lock, which serialises card phases.
// No caller holds it while a person reads, approves or types: a prompt
// left open must not stop status, the tray or another operation.
func (s *Service) locked(f func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f()
}

// onCard runs f with a bounded context.
func onCard[T any](s *Service, ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	cctx, cancel := s.cardCtx(ctx)
	defer cancel()
	return f(cctx)
}

func (s *Service) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

// Selector picks the card an operation acts on: by the number printed on
// it, by its exact reader name, or (empty) the only card present.
type Selector = cardreader.Selector

// openCard is a card found by discovery with its identity.
type openCard struct {
	card     cardreader.Card
	identity cardreader.Identity
	idErr    error // why the identity could not be read; identity is zero then
}

// UseKnownReaders makes discovery take the readers from known, a PC/SC
// monitor's view kept current by its events (the agent's), instead of
// listing them through PC/SC for every operation (a context, the list, the
// readers' states and the release: four requests to the service, ~0.4 ms
// and up to ~2 ms on a loaded machine, before the card's first APDU; issue
// 17). The readers are still listed through PC/SC whenever the view shows
// no card (a card put in a moment ago that the monitor has not reported
// yet, a reader that just came, the service gone: the listing has the
// truth and the error), and again when a card of the view turns out gone
// or another is there (taken out, or swapped, a moment ago). nil goes back
// to listing every time. Set it before the first operation.
func (s *Service) UseKnownReaders(known func() []cardreader.Reader) {
	if known == nil {
		s.known.Store(nil)
		return
	}
	s.known.Store(&known)
}

// knownReaders is the monitor's view when it shows a card, else nil.
func (s *Service) knownReaders() []cardreader.Reader {
	f := s.known.Load()
	if f == nil {
		return nil
	}
	readers := (*f)()
	for _, r := range readers {
		if r.CardPresent {
			return readers
		}
	}
	return nil
}

// discover opens every card present (in readers and reader-less tokens) and
// reads identities through the cache. Cards no backend serves are reported
// in skipped, not as errors.
func (s *Service) discover(ctx context.Context) (readers []cardreader.Reader, cards []openCard, skipped map[string]error, err error) {
	if known := s.knownReaders(); known != nil {
		readers, cards, skipped, err = s.discoverIn(ctx, known)
		if err != nil || !stale(skipped) {
			return readers, cards, skipped, err
		}
		// A card the view has is gone or another: the view is behind a
		// change the monitor is about to report. PC/SC has the truth.
		s.log.Debug("known readers behind the service: listing them", "skipped", len(skipped))
	}
	readers, err = s.opts.Readers(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("listing readers: %w", err)
	}
	return s.discoverIn(ctx, readers)
}

// stale reports whether a card was skipped because it is not (or no
// longer, or not the same) in its reader.
func stale(skipped map[string]error) bool {
	for _, err := range skipped {
		if errors.Is(err, cardreader.ErrCardRemoved) || errors.Is(err, cardreader.ErrNoCard) ||
			errors.Is(err, cardreader.ErrNoReader) || errors.Is(err, cardreader.ErrCardChanged) {
			return true
		}
	}
	return false
}

// discoverIn is discover over readers.
func (s *Service) discoverIn(ctx context.Context, readers []cardreader.Reader) ([]cardreader.Reader, []openCard, map[string]error, error) {
	var cards []openCard
	skipped := map[string]error{}
	for _, r := range readers {
		if !r.CardPresent {
			continue
		}
		c, err := onCard(s, ctx, func(ctx context.Context) (cardreader.Card, error) {
			return cardreader.Open(ctx, r, s.backends...)
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, nil, ctx.Err()
			}
			s.log.Info("card not opened", "reader", r.Name, "err", err)
			skipped[r.Name] = err
			continue
		}
		cards = append(cards, s.withIdentity(ctx, c))
	}
	if s.opts.Tokens != nil && s.wants(cardreader.BackendPKCS11) {
		tokens, err := s.opts.Tokens(ctx)
		if err != nil {
			s.log.Info("listing reader-less tokens", "err", err)
		}
		for _, c := range tokens {
			if c.Reader() != "" {
				continue // already seen through its reader
			}
			cards = append(cards, s.withIdentity(ctx, c))
		}
	}
	return readers, cards, skipped, nil
}

func (s *Service) wants(backend string) bool {
	for _, b := range s.backends {
		if b.Name() == backend {
			return true
		}
	}
	return false
}

func (s *Service) withIdentity(ctx context.Context, c cardreader.Card) openCard {
	id, err := onCard(s, ctx, func(ctx context.Context) (cardreader.Identity, error) {
		return s.cache.Identity(ctx, c, s.now())
	})
	if err != nil {
		s.log.Info("reading identity", "reader", c.Reader(), "backend", c.Backend(), "err", err)
	}
	s.applyDefaultEID(&id) // several organisations' eIDs: the chosen default (eid.go)
	return openCard{card: c, identity: id, idErr: err}
}

// selectCard discovers and returns the card sel names.
func (s *Service) selectCard(ctx context.Context, sel Selector) (openCard, error) {
	readers, cards, skipped, err := s.discover(ctx)
	if err != nil {
		return openCard{}, err
	}
	if len(readers) == 0 && len(cards) == 0 {
		return openCard{}, cardreader.ErrNoReader
	}
	cands := make([]cardreader.Candidate, len(cards))
	for i, c := range cards {
		cands[i] = cardreader.Candidate{Reader: c.card.Reader(), CardNumber: c.identity.CardNumber}
	}
	cand, err := sel.Select(cands)
	if err != nil {
		// A reader with a card no backend serves explains "no card" better.
		if errors.Is(err, cardreader.ErrNoCard) && sel.CardNumber == "" {
			for r, e := range skipped {
				gone := errors.Is(e, cardreader.ErrCardRemoved) || errors.Is(e, cardreader.ErrNoCard)
				if !gone && (sel.Reader == "" || sel.Reader == r) {
					return openCard{}, e
				}
			}
		}
		return openCard{}, err
	}
	for i := range cands {
		if cands[i] == cand {
			return cards[i], nil
		}
	}
	return openCard{}, cardreader.ErrNoCard // unreachable: cand came from cands
}

// CardRemoved is called (by the agent's monitor) when the card in reader
// goes: cached TLS sessions made with its key are dropped.
func (s *Service) CardRemoved(reader string) {
	s.loginMu.Lock()
	defer s.loginMu.Unlock()
	for k, ls := range s.sessions {
		if ls.reader == reader {
			ls.client.ForgetSessions()
			ls.client.CloseIdleConnections()
			delete(s.sessions, k)
		}
	}
}
