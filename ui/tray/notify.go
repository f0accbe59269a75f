package tray

import (
	"context"
	"log/slog"
	"sync"

	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/localapi"
)

// Message is one desktop notification as the user reads it.
type Message struct {
	Summary, Body string
	// Urgent: the card cannot be used until the user acts (PIN blocked).
	Urgent bool
	// Group: a message replaces the previous one of its group still on
	// screen (card inserted, then removed: one bubble, not two).
	Group string
	// Act is what clicking the notification does: it opens the window
	// that fixes what it tells (the unblock window for a blocked PIN);
	// ActLabel is the button's text. A zero Act offers no action.
	Act      Action
	ActLabel string
}

// Phrase words an agent notification; ok is false for a kind it does not
// show. It carries the holder and card number, never a secret (the agent's
// notifications hold none).
func Phrase(n localapi.Notification, cat *l10n.Catalog) (Message, bool) {
	switch n.Kind {
	case localapi.NotifyCardInserted:
		return Message{Summary: cat.T("notify.card_inserted"), Body: cat.T("notify.reader", n.Reader), Group: "card"}, true
	case localapi.NotifyCardRemoved:
		return Message{Summary: cat.T("notify.card_removed"), Body: cat.T("notify.reader", n.Reader), Group: "card"}, true
	case localapi.NotifyPINBlocked:
		return Message{Summary: cat.T("notify.pin_blocked"), Body: cat.T("notify.pin_blocked_body", n.CardNumber), Urgent: true, Group: "pin",
			Act: Action{Kind: ActionPINUnblock}, ActLabel: cat.T("tray.menu.pin_unblock")}, true
	case localapi.NotifyCertificateExpiring:
		if n.Organisation != "" {
			// A card with several organisations' eIDs: whose expires.
			return Message{Summary: cat.T("notify.cert_expiring"), Body: cat.T("notify.cert_expiring_body_org", n.Organisation, n.HSAID, n.CardNumber, n.Days), Group: "cert",
				Act: Action{Kind: ActionStatus}, ActLabel: cat.T("notify.action.status")}, true
		}
		return Message{Summary: cat.T("notify.cert_expiring"), Body: cat.T("notify.cert_expiring_body", n.CardNumber, n.Days), Group: "cert",
			Act: Action{Kind: ActionStatus}, ActLabel: cat.T("notify.action.status")}, true
	case localapi.NotifyTooManyCertificates:
		return Message{Summary: cat.T("notify.too_many"), Body: cat.T("ui.warn.too_many", n.Days), Group: "certs",
			Act: Action{Kind: ActionCerts}, ActLabel: cat.T("tray.menu.certs")}, true
	case localapi.NotifyReserveCard:
		return Message{Summary: cat.T("notify.reserve"), Body: cat.T("ui.warn.reserve"), Group: "reserve",
			Act: Action{Kind: ActionStatus}, ActLabel: cat.T("notify.action.status")}, true
	case localapi.NotifyLoginRequested:
		return Message{Summary: cat.T("notify.login_requested"), Body: cat.T("notify.login_requested_body"), Group: "login"}, true
	}
	return Message{}, false
}

// Notifier raises desktop notifications: on Linux through
// org.freedesktop.Notifications on the session bus, elsewhere (no API in
// systray) only into the log. It never blocks its caller: messages go to a
// short queue that one goroutine delivers, and a message that finds the
// queue full is dropped. With no notification server it does nothing.
type Notifier struct {
	log   *slog.Logger
	queue chan Message

	mu       sync.Mutex
	onAction func(Action)
}

// OnAction sets what a click on a notification's action does (the
// agent opens the window, as for the tray's menu); nil ignores clicks.
func (n *Notifier) OnAction(f func(Action)) {
	n.mu.Lock()
	n.onAction = f
	n.mu.Unlock()
}

// act runs the OnAction callback for a clicked notification.
func (n *Notifier) act(a Action) {
	n.mu.Lock()
	f := n.onAction
	n.mu.Unlock()
	if f != nil && a.Kind != "" {
		f(a)
	}
}

// NewNotifier starts delivering until ctx ends.
func NewNotifier(ctx context.Context, log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{log: log, queue: make(chan Message, 8)}
	go n.deliver(ctx)
	return n
}

// Show queues m.
func (n *Notifier) Show(m Message) {
	select {
	case n.queue <- m:
	default:
		n.log.Info("desktop notification dropped: queue full", "summary", m.Summary)
	}
}

func (n *Notifier) deliver(ctx context.Context) {
	d := newDesktop(n.log)
	d.act = n.act
	defer d.close()
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-n.queue:
			d.send(ctx, m)
		}
	}
}
