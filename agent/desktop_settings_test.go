package agent

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/testkit/dbustest"
	"github.com/sithseid/sithseid/internal/testkit/wait"
	"github.com/sithseid/sithseid/startup"
)

// A language chosen in Inställningar reaches the tray at once, not after
// a restart (issue 17): the agent's tray menu, read over D-Bus as a panel
// reads it, is Swedish; the user's preferences are saved with English
// (as the settings window saves them); the same menu turns English. The
// environment saved there is the tray's at once as well.
func TestSettingsLanguageReachesTrayAtOnce(t *testing.T) {
	bus := dbustest.SessionBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus)
	host := dbustest.NewHost(t, bus)
	host.ServeWatcher(t)
	home := t.TempDir()
	// No system policy: the user may switch the environment.
	defer startup.SetPolicyForTest(filepath.Join(home, "no-policy.json"), filepath.Join(home, "no-policy.d"))()
	vars := map[string]string{"HOME": home, "LANG": "sv_SE.UTF-8", "DBUS_SESSION_BUS_ADDRESS": bus}
	getenv := func(k string) string { return vars[k] }
	s := startup.Start(startup.Env{Getenv: getenv, Log: slog.New(slog.DiscardHandler)})
	defer s.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := newAgentDesktop(ctx, s, s.Catalog(""), environment.Environment{Name: environment.DEMO}, cancel)
	d.watching = make(chan struct{})
	go d.followSettings(ctx)
	done := make(chan error, 1)
	go func() { done <- d.tray.Run(ctx) }()
	host.WaitFor(t, "the tray to register", func() bool { return len(host.Items()) > 0 })
	tc := dbustest.NewTray(t, bus, os.Getpid())
	has := func(label string) func(dbustest.MenuItem) bool {
		return func(m dbustest.MenuItem) bool { _, ok := m.Find(label); return ok }
	}
	tc.Until(t, "the Swedish menu", has("Avsluta"))
	wait.Recv(t, d.watching, 10*time.Second, "the settings watched")

	o := startup.ConfigOptions(getenv)
	o.LenientUser = true
	cfg, err := config.Load(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.SetUser(config.KeyLanguage, "en"); err != nil {
		t.Fatal(err)
	}
	tc.Until(t, "the English menu", has("Quit"))

	// The environment chosen there too: the tray's switch names it.
	// applySettings writes canSwitch under d.mu.
	d.mu.Lock()
	canSwitch := d.canSwitch
	d.mu.Unlock()
	if !canSwitch {
		t.Fatal("the environment switch is locked without a policy")
	}
	if err := cfg.SetUser(config.KeyEnvironment, environment.TEST); err != nil {
		t.Fatal(err)
	}
	tc.Until(t, "the tray in TEST", has("Environment: TEST"))
	cancel()
	wait.Recv(t, done, 10*time.Second, "the tray to stop")
}
