package app

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/sithseid/sithseid/cardreader"
)

// ExpiryWarning is how far ahead a certificate's end is reported, unless
// the configuration says otherwise.
const ExpiryWarning = 30 * 24 * time.Hour

// Status is what "sithseid status" shows: readers and the cards in them.
// Its JSON form is a documented interface for scripts (docs/admin.md).
type Status struct {
	Readers []ReaderStatus `json:"readers"`
	Cards   []CardStatus   `json:"cards"`
}

// ReaderStatus is one PC/SC reader.
type ReaderStatus struct {
	Name        string `json:"name"`
	CardPresent bool   `json:"cardPresent"`
	ATR         string `json:"atr,omitempty"`
	// Unsupported is set when a card is present that no backend serves.
	Unsupported bool `json:"unsupported,omitempty"`
	// Busy is set when another program holds the card exclusively.
	Busy bool `json:"busy,omitempty"`
}

// CardStatus is one card with its SITHS identity.
type CardStatus struct {
	Reader     string       `json:"reader"`
	Backend    string       `json:"backend"`
	CardNumber string       `json:"cardNumber"`
	Holder     HolderStatus `json:"holder"`
	Issuer     string       `json:"issuer,omitempty"`
	LoA        int          `json:"loa,omitempty"`
	Reserve    bool         `json:"reserve,omitempty"`
	NotBefore  *time.Time   `json:"notBefore,omitempty"`
	NotAfter   *time.Time   `json:"notAfter,omitempty"`
	// PIN is the identification PIN ("legitimeringskod"), the one login
	// and mutual TLS use.
	PIN SecretStatus `json:"pin"`
	// SignaturePIN is the signing keys' own PIN ("underskriftskod"), nil
	// when the card has none (SITHS cards from 2024 have one PIN only).
	SignaturePIN *SecretStatus `json:"signaturePin,omitempty"`
	// PUK is nil when the card has no PUK the holder can use (cards from
	// the 2024 portal get theirs from an ID administrator).
	PUK *SecretStatus `json:"puk"`
	// RemovalUnsupported: certificates on this card cannot be removed
	// through this backend (the native IDPrime backend); say so before
	// anyone types a PIN for it.
	RemovalUnsupported bool `json:"removalUnsupported,omitempty"`
	// EIDs are the card's SITHS eIDs, one per organisation's HSA-ID;
	// Holder.HSAID is the default one's.
	EIDs         []EIDStatus  `json:"eids"`
	Certificates []CertStatus `json:"certificates"`
	Warnings     []Warning    `json:"warnings"`
	// Error is set when the card was found but could not be read fully;
	// the fields above hold what could be read.
	Error string `json:"error,omitempty"`

	err error
}

// Err is the error behind CardStatus.Error, for errors.Is/As.
func (c *CardStatus) Err() error { return c.err }

// SetErr sets the error behind CardStatus.Error, for a status that crossed
// the local API (where only the message travels).
func (c *CardStatus) SetErr(err error) { c.err = err }

// HolderStatus is the card holder.
type HolderStatus struct {
	Name      string `json:"name"`
	GivenName string `json:"givenName,omitempty"`
	Surname   string `json:"surname,omitempty"`
	HSAID     string `json:"hsaId"`
	// PersonalNumber is masked ("19900101-XXXX") unless asked for.
	PersonalNumber string `json:"personalNumber,omitempty"`
}

// EIDStatus is one SITHS eID on a card: an organisation's HSA-ID and its
// certificate pair.
type EIDStatus struct {
	Organisation string `json:"organisation"`
	// OrganisationNumber is "SE" and the ten-digit organisation number.
	OrganisationNumber string `json:"organisationNumber"`
	HSAID              string `json:"hsaId"`
	// Default: the eID a login or mutual TLS uses unless told otherwise.
	Default bool `json:"default"`
	// AuthCertID and SignCertID are the ids (certificates[].id) of its
	// authentication and signing certificates, "" when missing; CertIDs
	// all of its certificates.
	AuthCertID string     `json:"authCertId,omitempty"`
	SignCertID string     `json:"signCertId,omitempty"`
	CertIDs    []string   `json:"certIds"`
	LoA        int        `json:"loa,omitempty"`
	NotBefore  *time.Time `json:"notBefore,omitempty"`
	NotAfter   *time.Time `json:"notAfter,omitempty"`
	Expired    bool       `json:"expired"`
}

// SecretStatus is a PIN's or PUK's tries left. Retries is -1 when the card
// does not say.
type SecretStatus struct {
	Retries int  `json:"retries"`
	Blocked bool `json:"blocked"`
}

// CertStatus is one certificate on a card.
type CertStatus struct {
	ID        string    `json:"id"`
	Label     string    `json:"label,omitempty"`
	Kind      string    `json:"kind"`  // "hsa" or "personal" (or "other")
	Usage     string    `json:"usage"` // "auth" or "sign"
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	Login     bool      `json:"login"`
	Expired   bool      `json:"expired"`
	LoA       int       `json:"loa,omitempty"`
	SHA256    string    `json:"sha256"`
}

// Warning codes in CardStatus.Warnings. The ui and the CLI phrase them.
const (
	WarnPINBlocked = "pinBlocked"
	// WarnPINBlockedNoPUK: the PIN is blocked and the card has no PUK the
	// holder can use (cards from the 2024 portal): an ID administrator
	// unblocks it.
	WarnPINBlockedNoPUK = "pinBlockedNoPUK"
	WarnPUKBlocked      = "pukBlocked"
	// WarnSignaturePINBlocked: the signature PIN is blocked; login still
	// works (it uses the identification PIN), signing does not.
	WarnSignaturePINBlocked = "signaturePinBlocked"
	WarnCertificateExpired  = "certificateExpired"
	WarnCertificateExpiring = "certificateExpiring"
	WarnTooManyCertificates = "tooManyCertificates"
	WarnReserveCard         = "reserveCard"
	WarnNoLoginCertificate  = "noLoginCertificate"
)

// Warning is something the holder should act on.
type Warning struct {
	Code   string `json:"code"`
	CertID string `json:"certId,omitempty"`
	// Organisation and HSAID name the eID the certificate belongs to
	// (certificate warnings on HSA-ID certificates).
	Organisation string `json:"organisation,omitempty"`
	HSAID        string `json:"hsaId,omitempty"`
	// Days left (expiring) or since (expired).
	Days int `json:"days,omitempty"`
}

// StatusOptions tunes Status.
type StatusOptions struct {
	Select Selector
	// ShowPersonalNumber shows personal numbers unmasked.
	ShowPersonalNumber bool
	// ExpiryWarning overrides ExpiryWarning.
	ExpiryWarning time.Duration
	// WithoutTries: the caller shows the cards' identities and
	// certificates only ("sithseid certs"), so no tries are read (not even
	// in the session that opens a card): PIN is Retries -1, SignaturePIN
	// and PUK nil, and there are no PIN or PUK warnings.
	WithoutTries bool
}

// Status reports every reader and the cards in them (or only the card
// opts.Select names). It spends no PIN try.
func (s *Service) Status(ctx context.Context, opts StatusOptions) (*Status, error) {
	if opts.WithoutTries {
		r, err := s.readStatus(cardreader.WithoutTries(ctx), false)
		if err != nil {
			return nil, err
		}
		return s.StatusFrom(r, opts)
	}
	r, err := s.ReadStatus(ctx)
	if err != nil {
		return nil, err
	}
	return s.StatusFrom(r, opts)
}

// StatusRead is what a status reads from the cards: the readers, each
// card's identity and the tries of its PINs and PUK. StatusFrom turns it
// into a Status for any StatusOptions, with the clock of that moment
// (days left, expiry warnings), so that a caller who knows no card changed
// since (the agent: no card event, no operation) answers a status without
// asking the cards again. Tries another program spent meanwhile (a
// browser through its own middleware) are not seen: the agent reads the
// tries again before every PIN prompt.
type StatusRead struct {
	readers []cardreader.Reader
	skipped map[string]error
	cards   []readCard
}

type readCard struct {
	openCard
	tries cardreader.Tries
}

// ReadStatus reads what Status shows from the readers and cards. It
// spends no PIN try.
func (s *Service) ReadStatus(ctx context.Context) (*StatusRead, error) {
	return s.readStatus(ctx, true)
}

// readStatus is ReadStatus, reading the tries only when withTries.
func (s *Service) readStatus(ctx context.Context, withTries bool) (*StatusRead, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	readers, cards, skipped, err := s.discover(ctx)
	if err != nil {
		return nil, err
	}
	r := &StatusRead{readers: readers, skipped: skipped}
	for _, oc := range cards {
		rc := readCard{openCard: oc}
		if withTries {
			rc.tries = s.tries(ctx, oc.card)
		}
		r.cards = append(r.cards, rc)
	}
	return r, nil
}

// StatusFrom is the Status of what r read, for opts, now. No APDU.
func (s *Service) StatusFrom(r *StatusRead, opts StatusOptions) (*Status, error) {
	readers, skipped, cards := r.readers, r.skipped, r.cards
	st := &Status{Readers: []ReaderStatus{}, Cards: []CardStatus{}}
	for _, r := range readers {
		rs := ReaderStatus{Name: r.Name, CardPresent: r.CardPresent}
		if err, ok := skipped[r.Name]; ok {
			switch {
			case errors.Is(err, cardreader.ErrCardRemoved), errors.Is(err, cardreader.ErrNoCard):
				rs.CardPresent = false // gone between the listing and the open
			case errors.Is(err, cardreader.ErrCardBusy):
				rs.Busy = true
			default:
				rs.Unsupported = true
			}
		}
		if rs.CardPresent && len(r.ATR) > 0 {
			rs.ATR = hex.EncodeToString(r.ATR)
		}
		st.Readers = append(st.Readers, rs)
	}
	if opts.Select != (Selector{}) {
		cands := make([]cardreader.Candidate, len(cards))
		for i, c := range cards {
			cands[i] = cardreader.Candidate{Reader: c.card.Reader(), CardNumber: c.identity.CardNumber}
		}
		cand, err := opts.Select.Select(cands)
		if err != nil {
			return nil, err
		}
		for i := range cands {
			if cands[i] == cand {
				cards = []readCard{cards[i]}
				break
			}
		}
	}
	for _, rc := range cards {
		st.Cards = append(st.Cards, s.cardStatus(rc.openCard, rc.tries, opts))
	}
	return st, nil
}

func (s *Service) cardStatus(oc openCard, t cardreader.Tries, opts StatusOptions) CardStatus {
	now := s.now()
	id := oc.identity
	cs := CardStatus{
		Reader:       oc.card.Reader(),
		Backend:      oc.card.Backend(),
		CardNumber:   id.CardNumber,
		Issuer:       id.Issuer,
		LoA:          id.LoA,
		Reserve:      id.Reserve,
		Holder:       holderStatus(id, opts.ShowPersonalNumber),
		EIDs:         eidStatuses(id, now),
		Certificates: []CertStatus{},
		Warnings:     []Warning{},
		// What the card says of itself: no APDU.
		RemovalUnsupported: !cardreader.RemovalSupported(oc.card),
		PIN:                SecretStatus{Retries: -1},
	}
	if !id.NotAfter.IsZero() {
		nb, na := id.NotBefore, id.NotAfter
		cs.NotBefore, cs.NotAfter = &nb, &na
	}
	fail := func(err error) {
		if cs.err == nil {
			cs.err, cs.Error = err, err.Error()
		}
	}
	if oc.idErr != nil {
		fail(oc.idErr)
	}
	for _, c := range id.Certificates {
		cs.Certificates = append(cs.Certificates, certStatus(c, now, opts.ShowPersonalNumber))
	}
	if opts.WithoutTries {
		cs.Warnings = append(cs.Warnings, identityWarnings(id, now, opts.ExpiryWarning)...)
		return cs
	}
	pinBlocked := false
	if t.PINErr != nil {
		fail(t.PINErr)
	} else {
		cs.PIN = SecretStatus{Retries: t.PIN.Retries, Blocked: t.PIN.Blocked}
		pinBlocked = t.PIN.Blocked
	}
	sigBlocked := false
	switch err := t.SignaturePINErr; {
	case errors.Is(err, cardreader.ErrNoSignaturePIN):
	case err != nil:
		fail(err)
	default:
		cs.SignaturePIN = &SecretStatus{Retries: t.SignaturePIN.Retries, Blocked: t.SignaturePIN.Blocked}
		sigBlocked = t.SignaturePIN.Blocked
	}
	noPUK := false
	switch err := t.PUKErr; {
	case errors.Is(err, cardreader.ErrNoPUK):
		noPUK = true
	case err != nil:
		fail(err)
	default:
		cs.PUK = &SecretStatus{Retries: t.PUK.Retries, Blocked: t.PUK.Blocked}
	}
	// A blocked PIN on a card without a PUK the holder can use is a call
	// to the ID administrator, not a PUK to type.
	switch {
	case pinBlocked && noPUK:
		cs.Warnings = append(cs.Warnings, Warning{Code: WarnPINBlockedNoPUK})
	case pinBlocked:
		cs.Warnings = append(cs.Warnings, Warning{Code: WarnPINBlocked})
	}
	if sigBlocked {
		cs.Warnings = append(cs.Warnings, Warning{Code: WarnSignaturePINBlocked})
	}
	if cs.PUK != nil && cs.PUK.Blocked {
		cs.Warnings = append(cs.Warnings, Warning{Code: WarnPUKBlocked})
	}
	cs.Warnings = append(cs.Warnings, identityWarnings(id, now, opts.ExpiryWarning)...)
	return cs
}

// tries reads the tries of c's PINs and PUK from the card already open
// (no second discovery): in one card session where the card can
// (cardreader.TriesReader, which may answer from the session that opened
// it a moment ago), else a session each. A card without a signature PIN
// gives ErrNoSignaturePIN for it.
func (s *Service) tries(ctx context.Context, c cardreader.Card) cardreader.Tries {
	if tr, ok := c.(cardreader.TriesReader); ok {
		t, err := onCard(s, ctx, tr.Tries)
		if err != nil {
			t = cardreader.Tries{PINErr: err, SignaturePINErr: err, PUKErr: err}
		}
		return t
	}
	var t cardreader.Tries
	t.PIN, t.PINErr = onCard(s, ctx, c.PINStatus)
	t.SignaturePINErr = cardreader.ErrNoSignaturePIN
	if sc, ok := c.(cardreader.SignaturePINCard); ok {
		t.SignaturePIN, t.SignaturePINErr = onCard(s, ctx, sc.SignaturePINStatus)
	}
	t.PUK, t.PUKErr = onCard(s, ctx, c.PUKStatus)
	return t
}

// identityWarnings lists what the holder should act on in id.
func identityWarnings(id cardreader.Identity, now time.Time, ahead time.Duration) []Warning {
	if ahead <= 0 {
		ahead = ExpiryWarning
	}
	var ws []Warning
	if len(id.Certificates) > 0 {
		if _, ok := id.Login(); !ok {
			ws = append(ws, Warning{Code: WarnNoLoginCertificate})
		}
	}
	for _, c := range id.Expired(now) {
		ws = append(ws, withEID(id, Warning{Code: WarnCertificateExpired, CertID: c.ID, Days: int(now.Sub(c.NotAfter).Hours() / 24)}))
	}
	for _, c := range id.ExpiringWithin(now, ahead) {
		ws = append(ws, withEID(id, Warning{Code: WarnCertificateExpiring, CertID: c.ID, Days: DaysLeft(now, c.NotAfter)}))
	}
	if id.TooManyCertificates() {
		ws = append(ws, Warning{Code: WarnTooManyCertificates, Days: len(id.Certificates)})
	}
	if id.Reserve {
		ws = append(ws, Warning{Code: WarnReserveCard})
	}
	return ws
}

// DaysLeft rounds up, so a certificate ending in 30 hours has "2 days" left
// and one ending later today has 1.
func DaysLeft(now, end time.Time) int {
	d := end.Sub(now)
	if d <= 0 {
		return 0
	}
	return int((d + 24*time.Hour - 1) / (24 * time.Hour))
}

func holderStatus(id cardreader.Identity, showPN bool) HolderStatus {
	h := HolderStatus{
		Name:      id.Holder.Name,
		GivenName: id.Holder.GivenName,
		Surname:   id.Holder.Surname,
		HSAID:     id.HSAID,
	}
	if id.PersonalNumber != "" {
		h.PersonalNumber = id.PersonalNumber.Masked()
		if showPN {
			h.PersonalNumber = id.PersonalNumber.Digits()
		}
	}
	return h
}

func certStatus(c cardreader.CertInfo, now time.Time, showPN bool) CertStatus {
	subject := c.Cert.Subject.String()
	if pn := c.PersonalNumber; pn != "" && !showPN {
		// The subject's serialNumber is the personal number: mask it as
		// everywhere else.
		subject = strings.ReplaceAll(subject, pn.Digits(), pn.Masked())
	}
	return CertStatus{
		ID:        c.ID,
		Label:     c.Label,
		Kind:      string(c.Kind),
		Usage:     string(c.Usage),
		Subject:   subject,
		Issuer:    c.Cert.Issuer.String(),
		Serial:    c.Cert.SerialNumber.Text(16),
		NotBefore: c.NotBefore,
		NotAfter:  c.NotAfter,
		Login:     c.Login,
		Expired:   c.Expired(now),
		LoA:       c.LoA,
		SHA256:    c.SHA256,
	}
}
