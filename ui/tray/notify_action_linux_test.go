package tray

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/testkit/dbustest"
	"github.com/sithseid/sithseid/internal/testkit/wait"
	"github.com/sithseid/sithseid/localapi"
)

// A notification a person can act on (issue 17): a blocked PIN's offers
// "Lås upp med PUK-kod" and an expiring certificate's "Visa kortets
// status", and clicking either (the server's ActionInvoked) asks for the
// window that fixes it, as the tray's menu entry does; a card inserted
// offers nothing.
func TestNotifierActionOpensWindow(t *testing.T) {
	bus := dbustest.SessionBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus)
	host := dbustest.NewHost(t, bus)
	host.ServeNotifications(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := NewNotifier(ctx, nil)
	acts := make(chan Action, 4)
	n.OnAction(func(a Action) { acts <- a })
	cat := l10n.MustLoad(l10n.Swedish)

	show := func(ln localapi.Notification) dbustest.Note {
		t.Helper()
		m, ok := Phrase(ln, cat)
		if !ok {
			t.Fatalf("no phrase for %s", ln.Kind)
		}
		from := len(host.Notes())
		n.Show(m)
		note, _ := host.Notification(t, m.Summary, from)
		return note
	}
	inserted := show(localapi.Notification{Kind: localapi.NotifyCardInserted, Reader: "R0"})
	if len(inserted.Actions) != 0 {
		t.Errorf("card inserted offers actions %q", inserted.Actions)
	}
	blocked := show(localapi.Notification{Kind: localapi.NotifyPINBlocked, CardNumber: "1"})
	if len(blocked.Actions) != 2 || blocked.Actions[0] != "default" || blocked.Actions[1] != "Lås upp med PUK-kod" {
		t.Fatalf("PIN blocked: actions %q, want [default, Lås upp med PUK-kod]", blocked.Actions)
	}
	expiring := show(localapi.Notification{Kind: localapi.NotifyCertificateExpiring, CardNumber: "1", CertID: "9a", Days: 9})
	if len(expiring.Actions) != 2 || expiring.Actions[1] != "Visa kortets status" {
		t.Fatalf("certificate expiring: actions %q", expiring.Actions)
	}

	// A click on the notification without an action does nothing; the
	// next click's action is the first to arrive.
	host.Invoke(t, inserted.ID, "default")
	host.Invoke(t, blocked.ID, "default")
	if a := wait.Recv(t, acts, 10*time.Second, "the blocked PIN's action"); a.Kind != ActionPINUnblock {
		t.Fatalf("clicking the blocked PIN's notification: %+v, want %s", a, ActionPINUnblock)
	}
	host.Invoke(t, expiring.ID, "default")
	if a := wait.Recv(t, acts, 10*time.Second, "the expiring certificate's action"); a.Kind != ActionStatus {
		t.Fatalf("clicking the expiring certificate's notification: %+v, want %s", a, ActionStatus)
	}
}

// The two card conditions told once per card (issue 17) have actions too:
// more than six certificates opens the certificates window, a reserve
// card the status window.
func TestPhraseCardConditionsHaveActions(t *testing.T) {
	for _, lang := range []l10n.Lang{l10n.Swedish, l10n.English} {
		cat := l10n.MustLoad(lang)
		many, ok := Phrase(localapi.Notification{Kind: localapi.NotifyTooManyCertificates, CardNumber: "1", Days: 8}, cat)
		if !ok || many.Act.Kind != ActionCerts || many.ActLabel != cat.T("tray.menu.certs") || !strings.Contains(many.Body, "8") {
			t.Errorf("%s: too many certificates: %+v", lang, many)
		}
		reserve, ok := Phrase(localapi.Notification{Kind: localapi.NotifyReserveCard, CardNumber: "1"}, cat)
		if !ok || reserve.Act.Kind != ActionStatus || reserve.Summary == "" || reserve.Body == "" {
			t.Errorf("%s: reserve card: %+v", lang, reserve)
		}
	}
}
