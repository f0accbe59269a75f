package localapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sithseid/sithseid/app"
)

// ErrHandoffNotFound: a login named a handoff that is not (or no longer)
// queued.
var ErrHandoffNotFound = errors.New("login request not found (expired or already taken)")

// ErrHandoffRateLimited: the agent refused a login request because too
// many came in a short time (docs/protocol.md §8.1: a page that opens
// links in a loop).
var ErrHandoffRateLimited = errors.New("too many login requests in a short time")

// NotificationKind says what a notification is about.
type NotificationKind string

// Notification kinds.
const (
	NotifyCardInserted        NotificationKind = "cardInserted"
	NotifyCardRemoved         NotificationKind = "cardRemoved"
	NotifyPINBlocked          NotificationKind = "pinBlocked"
	NotifyCertificateExpiring NotificationKind = "certificateExpiring"
	NotifyLoginRequested      NotificationKind = "loginRequested"
	// NotifyTooManyCertificates: the card holds more than six
	// certificates (Days is their number); NotifyReserveCard: it is a
	// reserve card. Each is raised once while the card is so (issue 17).
	NotifyTooManyCertificates NotificationKind = "tooManyCertificates"
	NotifyReserveCard         NotificationKind = "reserveCard"
	// NotifyLoginRefused: login requests were refused for coming too
	// fast; raised once per burst.
	NotifyLoginRefused NotificationKind = "loginRefused"
)

// Notification is something the agent tells the user about (the tray shows
// it as a desktop notification). It carries data, never sentences.
type Notification struct {
	Kind       NotificationKind `json:"kind"`
	Reader     string           `json:"reader,omitempty"`
	CardNumber string           `json:"cardNumber,omitempty"`
	Holder     string           `json:"holder,omitempty"`
	HSAID      string           `json:"hsaId,omitempty"`
	// CertID and Days: the certificate expiring and the days it has left.
	CertID string `json:"certId,omitempty"`
	Days   int    `json:"days,omitempty"`
	// Organisation is the organisation whose SITHS eID the certificate
	// belongs to, on a card with several organisations' eIDs (issue 15).
	Organisation string `json:"organisation,omitempty"`
	// Handoff is the id of the queued login request.
	Handoff string    `json:"handoff,omitempty"`
	At      time.Time `json:"at"`
}

// CardSummary is the active card as the agent publishes it: who it says
// the holder is and what needs attention. Personal numbers are masked.
type CardSummary struct {
	Reader     string            `json:"reader"`
	Backend    string            `json:"backend"`
	CardNumber string            `json:"cardNumber"`
	Holder     app.HolderStatus  `json:"holder"`
	NotAfter   *time.Time        `json:"notAfter,omitempty"`
	PIN        app.SecretStatus  `json:"pin"`
	PUK        *app.SecretStatus `json:"puk"`
	Warnings   []app.Warning     `json:"warnings"`
	Error      string            `json:"error,omitempty"`
	// EIDs are the card's SITHS eIDs (app.CardStatus.EIDs): the tray
	// lists them on a card with several.
	EIDs []app.EIDStatus `json:"eids,omitempty"`
	// Environment is the environment the card belongs to, told by its
	// issuing CA (CardEnvironmentOf): the windows and the tray warn when
	// it is not the app's. Absent when unknown (and from older agents).
	Environment CardEnvironment `json:"environment,omitempty"`
}

// CardEnvironment is the environment a card belongs to: "PROD" for a card
// from Inera's production CAs, "TEST" for one from its test CAs, "" when
// it is not known.
type CardEnvironment string

// The card environments a state event can carry.
const (
	CardEnvProd CardEnvironment = "PROD"
	CardEnvTest CardEnvironment = "TEST"
)

// CardEnvironmentOf is the environment of a card whose certificates are
// issued by issuer: Inera's test CAs carry the word TEST in their name
// ("SITHS e-id Person HSA-id 3 CA v1 TEST", internal/testkit/testpki), the
// production CAs do not. "" when the issuer is unknown.
func CardEnvironmentOf(issuer string) CardEnvironment {
	if strings.TrimSpace(issuer) == "" {
		return ""
	}
	for _, w := range strings.FieldsFunc(issuer, func(r rune) bool {
		return r == ' ' || r == ',' || r == '=' || r == '-' || r == '_'
	}) {
		if w == "TEST" {
			return CardEnvTest
		}
	}
	return CardEnvProd
}

// Mismatches says whether a card of environment e is the wrong one for the
// app's environment appEnv: PROD ("" too) wants production cards, every
// other environment (TEST, QA, DEMO) test cards. An unknown card
// environment never mismatches.
func (e CardEnvironment) Mismatches(appEnv string) bool {
	switch e {
	case CardEnvProd, CardEnvTest:
	default:
		return false
	}
	if a := strings.TrimSpace(appEnv); a == "" || strings.EqualFold(a, "PROD") {
		return e != CardEnvProd
	}
	return e == CardEnvProd
}

// UnmarshalJSON takes a JSON string (or null). "PROD" and "TEST", exactly
// so, are kept; any other string is one this version does not know and
// reads as unknown (""), so a newer agent's value can never raise a
// warning here nor make the state unreadable. Anything but a string or
// null is refused.
func (e *CardEnvironment) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("card environment: %w", err)
	}
	*e = ""
	if s != nil {
		switch v := CardEnvironment(*s); v {
		case CardEnvProd, CardEnvTest:
			*e = v
		}
	}
	return nil
}

// PendingHandoff is a queued login request.
type PendingHandoff struct {
	ID       string    `json:"id"`
	Received time.Time `json:"received"`
}

// OperationError is the last failed operation, for the tray's menu.
type OperationError struct {
	Method string     `json:"method"`
	Error  *WireError `json:"error"`
	At     time.Time  `json:"at"`
}

// AgentState is what the agent publishes to its subscribers on every
// change.
type State struct {
	// Seq grows with every change.
	Seq     uint64             `json:"seq"`
	Readers []app.ReaderStatus `json:"readers"`
	// Card is the active card: the only one present, else the first.
	Card *CardSummary `json:"card,omitempty"`
	// Cards counts the cards the agent could read.
	Cards int `json:"cards"`
	// Busy names the operation running ("" when idle).
	Busy      string           `json:"busy,omitempty"`
	LastError *OperationError  `json:"lastError,omitempty"`
	Handoffs  []PendingHandoff `json:"handoffs"`
	// ServiceDown is set while the smart card service is unreachable.
	ServiceDown bool `json:"serviceDown,omitempty"`
}

// AgentEvent is one frame of a subscription: a new state or a
// notification.
type Event struct {
	State        *State        `json:"state,omitempty"`
	Notification *Notification `json:"notification,omitempty"`
}
