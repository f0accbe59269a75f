package tray

import (
	"context"
	"log"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/testkit/dbustest"
)

// The tray says nothing on standard error: the icon and tooltip are set
// once the tray is ready (set before, Windows printed "unable to set
// icon/tooltip: tray not ready yet"), and what fyne.io/systray writes
// through the log package while the tray runs goes to the tray's logger
// (on Windows, "unable to addOrUpdateMenuItem: Success." once per item on
// every start), at debug level for such harmless lines.
func TestTrayQuietOnStderr(t *testing.T) {
	bus := dbustest.SessionBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus)
	host := dbustest.NewHost(t, bus)
	host.ServeWatcher(t)

	// The log package's output stands for standard error.
	var stderr, trayLog logBuf
	was, flags := log.Writer(), log.Flags()
	log.SetOutput(&stderr)
	t.Cleanup(func() { log.SetOutput(was); log.SetFlags(flags) })

	cat := l10n.MustLoad(l10n.Swedish)
	tr := New(Options{Catalog: cat, Log: slog.New(slog.NewTextHandler(&trayLog, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()

	host.WaitFor(t, "the item to register with the watcher", func() bool { return len(host.Items()) > 0 })
	tc := dbustest.NewTray(t, bus, os.Getpid())
	want := Build(View{}, cat)
	tc.Until(t, "the menu", func(m dbustest.MenuItem) bool { _, ok := m.Find(want.Quit.Label); return ok })
	if tip := tc.Tooltip(t); tip != want.Tooltip {
		t.Errorf("tooltip %q, want %q", tip, want.Tooltip)
	}
	if !tc.IconIs(t, IconData(want.Icon)) {
		t.Errorf("icon is not %s", want.Icon)
	}

	// What systray's Windows code prints on every start, here through the
	// same log package.
	log.Printf("systray error: unable to addOrUpdateMenuItem: %s\n", "Success.")
	log.Printf("systray error: unable to set tooltip: %s\n", "tray not ready yet")
	log.Printf("systray error: failed to emit new icon signal: %s\n", "broken pipe")

	if s := stderr.String(); s != "" {
		t.Errorf("standard error while the tray runs:\n%s", s)
	}
	got := trayLog.String()
	for _, w := range []string{
		`level=DEBUG msg="tray library" said="systray error: unable to addOrUpdateMenuItem: Success."`,
		`level=DEBUG msg="tray library" said="systray error: unable to set tooltip: tray not ready yet"`,
		`level=WARN msg="tray library" said="systray error: failed to emit new icon signal: broken pipe"`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("tray log lacks %s:\n%s", w, got)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10 s of the end")
	}
	if log.Writer() != &stderr {
		t.Error("the log package's output was not given back")
	}
}
