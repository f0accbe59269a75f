package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/mtls"
)

// eidStatuses lists id's eIDs for a CardStatus.
func eidStatuses(id cardreader.Identity, now time.Time) []EIDStatus {
	out := []EIDStatus{}
	for _, e := range id.EIDs {
		es := EIDStatus{
			Organisation:       e.Organisation,
			OrganisationNumber: e.OrganisationNumber,
			HSAID:              e.HSAID,
			Default:            e.Default,
			AuthCertID:         e.Auth,
			SignCertID:         e.Sign,
			CertIDs:            append([]string{}, e.CertIDs...),
			LoA:                e.LoA,
			Expired:            e.Expired(now),
		}
		if !e.NotAfter.IsZero() {
			nb, na := e.NotBefore, e.NotAfter
			es.NotBefore, es.NotAfter = &nb, &na
		}
		out = append(out, es)
	}
	return out
}

// withEID names in w the organisation and HSA-ID of the eID w's
// certificate belongs to, so that an expiry warning says whose eID expires.
func withEID(id cardreader.Identity, w Warning) Warning {
	if e, ok := id.EIDOf(w.CertID); ok {
		w.Organisation, w.HSAID = e.Organisation, e.HSAID
	}
	return w
}

// ErrNoSuchEID: the card has no usable SITHS eID with the HSA-ID asked for
// (a login's --hsa-id, a choice in the approval window, a removal by eID).
var ErrNoSuchEID = errors.New("the card has no SITHS eID with that HSA-ID")

// EIDChoice is one eID a login can use, as the approval window lists it.
type EIDChoice struct {
	Organisation       string    `json:"organisation"`
	OrganisationNumber string    `json:"organisationNumber"`
	HSAID              string    `json:"hsaId"`
	NotAfter           time.Time `json:"notAfter"`
	Default            bool      `json:"default"`
}

// EIDPreferences remembers the user's default eID per card (keyed by the
// card number). config.EIDPreferences is the file-backed one.
type EIDPreferences interface {
	DefaultEID(cardNumber string) (hsaID string)
	SetDefaultEID(cardNumber, hsaID string) error
}

// loginEIDs lists the eIDs of id a login can use at now: those with an
// authentication certificate valid now.
func loginEIDs(id cardreader.Identity, now time.Time) []EIDChoice {
	var out []EIDChoice
	for _, e := range id.EIDs {
		c, ok := id.Certificate(e.Auth)
		if !ok || c.Expired(now) || now.Before(c.NotBefore) {
			continue
		}
		out = append(out, EIDChoice{Organisation: e.Organisation, OrganisationNumber: e.OrganisationNumber,
			HSAID: e.HSAID, NotAfter: c.NotAfter, Default: e.Default})
	}
	return out
}

// chooseEID makes the eID hsaID the one oc logs in with and returns its
// authentication certificate; "" keeps the default. ErrNoSuchEID when the
// card has no such eID with an authentication certificate.
func (oc *openCard) chooseEID(hsaID string) (cardreader.CertInfo, error) {
	if hsaID != "" && !oc.identity.SetDefault(hsaID) {
		return cardreader.CertInfo{}, fmt.Errorf("%w: %s", ErrNoSuchEID, hsaID)
	}
	login, ok := oc.identity.Login()
	if !ok {
		return cardreader.CertInfo{}, ErrNoLoginCertificate
	}
	return login, nil
}

// applyDefaultEID makes id's default eID the user's choice for this card
// (Options.EIDPreferences), else the first valid eID of the organisation
// policy names (Options.DefaultOrganisation), else leaves the rule of
// cardreader.IdentityFromCertificates (the valid HSA-ID authentication
// certificate that expires last). A remembered eID no longer on the card,
// or expired, is ignored.
func (s *Service) applyDefaultEID(id *cardreader.Identity) {
	if len(id.EIDs) < 2 {
		return
	}
	now := s.now()
	usable := loginEIDs(*id, now)
	has := func(hsaID string) bool {
		for _, e := range usable {
			if e.HSAID == hsaID {
				return true
			}
		}
		return false
	}
	if p := s.opts.EIDPreferences; p != nil && id.CardNumber != "" {
		if h := p.DefaultEID(id.CardNumber); h != "" && has(h) {
			id.SetDefault(h)
			return
		}
	}
	if org := s.opts.DefaultOrganisation; org != "" {
		for _, e := range usable {
			if e.OrganisationNumber == org {
				id.SetDefault(e.HSAID)
				return
			}
		}
	}
}

// SetDefaultEID remembers hsaID as the default eID of the card sel names
// (the user's choice; Options.EIDPreferences). ErrNoSuchEID when the card
// has no such eID.
func (s *Service) SetDefaultEID(ctx context.Context, sel Selector, hsaID string) error {
	s.mu.Lock()
	oc, err := s.selectCard(ctx, sel)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if _, ok := oc.identity.EID(hsaID); !ok {
		return fmt.Errorf("%w: %s", ErrNoSuchEID, hsaID)
	}
	if s.opts.EIDPreferences == nil {
		return errors.New("no place to remember the default eID")
	}
	return s.opts.EIDPreferences.SetDefaultEID(oc.identity.CardNumber, hsaID)
}

// loginEIDChosen switches a login to the eID the user picked in the
// approval window and remembers it as the card's default.
func (s *Service) loginEIDChosen(oc *openCard, hsaID string) (cardreader.CertInfo, error) {
	login, err := oc.chooseEID(hsaID)
	if err != nil {
		return login, err
	}
	if login.Expired(s.now()) {
		return login, ErrLoginCertificateExpired
	}
	if p := s.opts.EIDPreferences; p != nil && oc.identity.CardNumber != "" {
		if err := p.SetDefaultEID(oc.identity.CardNumber, hsaID); err != nil {
			s.log.Info("remembering the default eID", "err", err)
		}
	}
	return login, nil
}

// tlsEID picks the eID whose key a mutual-TLS check authenticates with:
// req.HSAID when given; else, on a card with several usable eIDs, the only
// one whose issuer the server's CertificateRequest accepts (a probe
// handshake that sends no certificate and signs nothing); else the
// default. It returns that eID's authentication certificate.
func (s *Service) tlsEID(ctx context.Context, oc *openCard, req TLSCheckRequest, u *url.URL) (cardreader.CertInfo, error) {
	if req.HSAID != "" {
		return oc.chooseEID(req.HSAID)
	}
	usable := loginEIDs(oc.identity, s.now())
	if len(usable) < 2 {
		return oc.chooseEID("")
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	cr, err := mtls.ProbeCertificateRequest(ctx, mtls.Options{Roots: req.Roots, ServerName: u.Hostname(),
		MaxVersion: req.MaxVersion, Now: s.opts.Now}, net.JoinHostPort(u.Hostname(), port))
	if err != nil || !cr.Requested {
		s.log.Info("probing the server's certificate request", "err", err)
		return oc.chooseEID("")
	}
	var fits []string
	for _, e := range usable {
		if c, ok := oc.identity.EID(e.HSAID); ok {
			if ci, ok := oc.identity.Certificate(c.Auth); ok && cr.Accepts(ci.Cert) {
				fits = append(fits, e.HSAID)
			}
		}
	}
	if len(fits) == 1 {
		return oc.chooseEID(fits[0])
	}
	return oc.chooseEID("")
}

// eidChoice is the eID picked in a login's approval window; the window
// may change it until the PIN is given (LoginApproval.Choose).
type eidChoice struct {
	mu    sync.Mutex
	hsaID string
}

func (c *eidChoice) set(hsaID string) {
	c.mu.Lock()
	c.hsaID = hsaID
	c.mu.Unlock()
}

func (c *eidChoice) get() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hsaID
}

// ErrConfirmEIDRemoval: removing an eID needs a confirmation that named
// its organisation and HSA-ID to the user (RemoveOptions.ConfirmLogin:
// `cert remove --eid … --yes`, or the certificates window's dialog).
var ErrConfirmEIDRemoval = errors.New("removing an eID needs a confirmation naming its organisation and HSA-ID")

// RemoveEID removes one organisation's SITHS eID from the selected card:
// its certificates (the pair, and any renewal left behind), and with them
// their keys where the backend removes keys. The other eIDs stay. The
// caller must have shown the confirmation (EIDRemovalNotice) and set
// opts.ConfirmLogin; the native IDPrime backend refuses before any PIN
// (cardreader.ErrRemovalUnsupported).
func (s *Service) RemoveEID(ctx context.Context, sel Selector, hsaID string, opts RemoveOptions, prompt Prompt) ([]string, error) {
	return s.removeCertificates(ctx, sel, func(id cardreader.Identity) ([]string, error) {
		e, ok := id.EID(hsaID)
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrNoSuchEID, hsaID)
		}
		if !opts.ConfirmLogin {
			return nil, ErrConfirmEIDRemoval
		}
		return append([]string(nil), e.CertIDs...), nil
	}, opts, prompt)
}

// EIDRemovalNotice is what a confirmation of removing an eID says: which
// organisation and HSA-ID, and what it means when the eID is the card's
// default (logins use another eID afterwards, or none) or its only valid
// LoA3 eID (the card then has no eID for services that demand LoA3).
type EIDRemovalNotice struct {
	EID EIDStatus
	// Default: the eID is the card's default; NextDefault is the eID
	// that takes over ("" when none is left).
	Default     bool
	NextDefault string
	// OnlyLoA3: the only valid LoA3 eID on the card.
	OnlyLoA3 bool
}

// EIDRemoval returns the notice for removing eID hsaID from the card c.
func EIDRemoval(c CardStatus, hsaID string) (EIDRemovalNotice, bool) {
	var n EIDRemovalNotice
	found, loa3 := false, 0
	for _, e := range c.EIDs {
		if e.HSAID == hsaID {
			n.EID, found = e, true
		}
		if e.LoA >= 3 && !e.Expired {
			loa3++
		}
	}
	if !found {
		return n, false
	}
	n.Default = n.EID.Default
	if n.Default {
		for _, e := range c.EIDs {
			if e.HSAID != hsaID && !e.Expired && e.AuthCertID != "" {
				n.NextDefault = e.HSAID
				break
			}
		}
	}
	n.OnlyLoA3 = n.EID.LoA >= 3 && !n.EID.Expired && loa3 == 1
	return n, true
}

// EIDOf returns the eID certificate certID belongs to.
func (c CardStatus) EIDOf(certID string) (EIDStatus, bool) {
	for _, e := range c.EIDs {
		for _, id := range e.CertIDs {
			if id == certID {
				return e, true
			}
		}
	}
	return EIDStatus{}, false
}
