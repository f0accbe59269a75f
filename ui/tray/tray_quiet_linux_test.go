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
	"github.com/sithseid/sithseid/internal/testkit/testenv"
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
	// Only the other library's line, logged after the tray stopped.
	if s := stderr.String(); strings.Contains(s, "systray") || strings.Count(s, "\n") != 1 ||
		!strings.Contains(s, "another library: the log package's output is given back") {
		t.Errorf("standard error of the tray's process:\n%s", s)
	}
	got := stdout.String()
	for _, w := range []string{
		`level=DEBUG msg="tray library" said="systray error: unable to addOrUpdateMenuItem: Success."`,
		`level=DEBUG msg="tray library" said="systray error: unable to set tooltip: tray not ready yet"`,
		`level=WARN msg="tray library" said="systray error: failed to emit new icon signal: broken pipe"`,
		`msg="tray library, after the tray stopped" said="`,
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
// stops the tray and logs a line of systray's and one of another library's
// through the log package: the first must stay off standard error, the
// second must reach it.
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
	// After the tray: systray's goroutines may still log on the way out
	// (seen under -race: "failed to update menu version: dbus: connection
	// closed by user"), which stays off standard error; another
	// library's line goes there again.
	log.Printf("systray error: failed to update menu version: %s", "dbus: connection closed by user")
	log.Printf("another library: %s", "the log package's output is given back")
}

// The icon and tooltip are on the item when it appears, at every start.
// fyne.io/systray v1.12.2 exports the item while its ready callback runs;
// set only there, the first icon and tooltip were lost now and then (seen
// in one start in six in a loop, and in TestTrayQuietOnStderr under load:
// the panel kept an empty icon until the state next changed). Each start
// is a child process (systray runs once per process). On the old code 60
// starts failed in one run in four on a loaded machine; 0 in 24 runs now.
func TestTrayIconRightAtEveryStart(t *testing.T) {
	testenv.Short(t, "60 tray starts")
	bus := dbustest.SessionBus(t)
	host := dbustest.NewHost(t, bus)
	host.ServeWatcher(t)
	want := Build(View{}, l10n.MustLoad(l10n.Swedish))
	for i := 0; i < 60; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTrayQuietChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+bus, "SITHSEID_TRAY_QUIET_CHILD=1")
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var out logBuf
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		pid := cmd.Process.Pid
		host.WaitFor(t, "the child's item to register with the watcher", func() bool { return len(host.Items()) > i })
		tc := dbustest.NewTray(t, bus, pid)
		tc.Until(t, "the menu", func(m dbustest.MenuItem) bool { _, ok := m.Find(want.Quit.Label); return ok })
		iconOK := tc.IconIs(t, IconData(want.Icon))
		tip := tc.Tooltip(t)
		in.Close()
		if err := wait.Recv(t, exited, 20*time.Second, "the tray child to end"); err != nil {
			t.Fatalf("start %d: the tray child: %v\n%s", i+1, err, out.String())
		}
		if !iconOK || tip != want.Tooltip {
			t.Fatalf("start %d: icon right %v, tooltip %q (want %q)", i+1, iconOK, tip, want.Tooltip)
		}
	}
}
