package tray

import (
	"bufio"
	"context"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/testkit/dbustest"
	"github.com/sithseid/sithseid/internal/testkit/wait"
)

// The tray says nothing on standard error: the icon and tooltip are set
// once the tray is ready (set before, Windows printed "unable to set
// icon/tooltip: tray not ready yet"), and what fyne.io/systray writes
// through the log package while the tray runs goes to the tray's logger
// (on Windows, "unable to addOrUpdateMenuItem: Success." once per item on
// every start), at debug level for such harmless lines.
//
// systray runs once per process (its state is global: a second Run in one
// process panics on the first one's closed connection), so the tray runs
// in a child, this test binary again (TestTrayQuietChild), whose real
// standard error is what is checked; go test -count=N runs a child each
// time.
func TestTrayQuietOnStderr(t *testing.T) {
	bus := dbustest.SessionBus(t)
	host := dbustest.NewHost(t, bus)
	host.ServeWatcher(t)

	cmd := exec.Command(os.Args[0], "-test.run=^TestTrayQuietChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+bus, "SITHSEID_TRAY_QUIET_CHILD=1")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr logBuf
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	ended := false
	t.Cleanup(func() {
		if ended {
			return
		}
		in.Close()
		if _, ok := wait.TryRecv(exited, 10*time.Second); !ok {
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	host.WaitFor(t, "the child's item to register with the watcher", func() bool { return len(host.Items()) > 0 })
	tc := dbustest.NewTray(t, bus, cmd.Process.Pid)
	want := Build(View{}, l10n.MustLoad(l10n.Swedish))
	tc.Until(t, "the menu", func(m dbustest.MenuItem) bool { _, ok := m.Find(want.Quit.Label); return ok })
	// Both were set before the first menu item was added.
	if tip := tc.Tooltip(t); tip != want.Tooltip {
		t.Errorf("tooltip %q, want %q", tip, want.Tooltip)
	}
	if !tc.IconIs(t, IconData(want.Icon)) {
		t.Errorf("icon is not %s", want.Icon)
	}

	// The child prints, through the log package, what systray's Windows
	// code prints on every start, and then ends its tray.
	if _, err := in.Write([]byte("say\n")); err != nil {
		t.Fatal(err)
	}
	in.Close()
	err = wait.Recv(t, exited, 20*time.Second, "the tray child to end")
	ended = true
	if err != nil {
		t.Fatalf("the tray child: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if s := stderr.String(); s != "" {
		t.Errorf("standard error while the tray runs:\n%s", s)
	}
	got := stdout.String()
	for _, w := range []string{
		`level=DEBUG msg="tray library" said="systray error: unable to addOrUpdateMenuItem: Success."`,
		`level=DEBUG msg="tray library" said="systray error: unable to set tooltip: tray not ready yet"`,
		`level=WARN msg="tray library" said="systray error: failed to emit new icon signal: broken pipe"`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("tray log lacks %s:\n%s", w, got)
		}
	}
}

// TestTrayQuietChild is the tray of TestTrayQuietOnStderr, logging to
// standard output at debug level; the log package's output is standard
// error, as in the agent. On "say" on its standard input it logs
// systray's Windows lines through the log package; at the input's end it
// stops the tray and checks that the log package's output was given back.
func TestTrayQuietChild(t *testing.T) {
	if os.Getenv("SITHSEID_TRAY_QUIET_CHILD") != "1" {
		t.Skip("run by TestTrayQuietOnStderr")
	}
	log.SetOutput(os.Stderr)
	tr := New(Options{Catalog: l10n.MustLoad(l10n.Swedish), Log: slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "say" {
			log.Printf("systray error: unable to addOrUpdateMenuItem: %s\n", "Success.")
			log.Printf("systray error: unable to set tooltip: %s\n", "tray not ready yet")
			log.Printf("systray error: failed to emit new icon signal: %s\n", "broken pipe")
		}
	}
	cancel()
	if err := wait.Recv(t, done, 10*time.Second, "Run to return after the end"); err != nil {
		t.Fatal(err)
	}
	if log.Writer() != os.Stderr {
		t.Error("the log package's output was not given back")
	}
}
