package e2e_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/dbustest"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// The tray opens the real window: the product's agent (the real binary)
// shows its tray on a private session bus to a fake panel; "Byt PIN-kod",
// clicked over com.canonical.dbusmenu as a panel does, makes the agent
// start "sithseid ui pin", whose window appears under Xvfb with that
// title; a second click while it is open opens no second one; Avsluta
// stops the agent. On every kind of card: the holder in the menu is read
// through the kind's backend, the one the session's environment names.
func TestTrayOpensWindow(t *testing.T) {
	need(t, "xdotool")
	d := startXvfb(t)
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		testTrayOpensWindow(t, d, k)
	})
}

func testTrayOpensWindow(t *testing.T, d *display, k cardkind.Kind) {
	rigCard(t, k)
	s := newSession(t, d, identityService(t), k)
	bus := dbustest.SessionBus(t)
	s.env = append(s.env, "DBUS_SESSION_BUS_ADDRESS="+bus) // the last entry wins
	host := dbustest.NewHost(t, bus)
	host.ServeWatcher(t)
	host.ServeNotifications(t)

	agent := s.cmd(context.Background(), "agent", "--foreground")
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- agent.Wait() }()
	pid := agent.Process.Pid
	host.WaitFor(t, "the agent's tray item", func() bool { return host.HasName(t, dbustest.ItemName(pid)) })
	tc := dbustest.NewTray(t, bus, pid)
	holder := testpki.DefaultGivenName + " " + testpki.DefaultSurname
	m := tc.Until(t, "the holder in the menu", func(m dbustest.MenuItem) bool {
		it, ok := m.Find("Byt PIN-kod")
		_, name := m.Find(holder)
		return ok && it.Enabled() && name
	})

	tc.Click(t, m, "Byt PIN-kod")
	const pinWindow = "^Byt PIN-kod .*SITHS eID$" // see loginWindow
	w := s.waitWindow(pinWindow, 60*time.Second)
	s.screenshotRendered(w, filepath.Join(shotDir(t), k.Name+"-tray-pin.png"))
	if got := s.agentBackend(); got != k.Backend {
		t.Errorf("the agent reads the %s card through %q, want %q", k.Name, got, k.Backend)
	}

	// Clicks are handled in order: once the certificates window is up, the
	// second PIN click has been dealt with, and it opened nothing.
	tc.Click(t, m, "Byt PIN-kod")
	tc.Click(t, m, "Certifikat")
	s.waitWindow("^Certifikat .*SITHS eID$", 60*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := s.xdotool(ctx, nil, "search", "--onlyvisible", "--name", pinWindow)
	if err != nil || len(strings.Fields(out)) != 1 {
		t.Fatalf("PIN windows after a second click: %q (%v)", out, err)
	}

	tc.Click(t, m, "Avsluta")
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("agent exit after Avsluta: %v\n%s", err, s.logTail())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the agent did not stop within 15 s of Avsluta\n%s", s.logTail())
	}
}
