package tray

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/testkit/dbustest"
	"github.com/sithseid/sithseid/localapi"
)

// stateViews is a view for each icon.
func stateViews() map[Icon]View {
	reader := []app.ReaderStatus{{Name: "Virtual PCD 00 00", CardPresent: true}}
	card := func(c localapi.CardSummary) *localapi.CardSummary { return &c }
	return map[Icon]View{
		IconReady:       {State: localapi.State{Readers: reader, Card: card(localapi.CardSummary{})}},
		IconBusy:        {State: localapi.State{Readers: reader, Busy: "pin"}},
		IconExpiring:    {State: localapi.State{Readers: reader, Card: card(localapi.CardSummary{Warnings: []app.Warning{{Code: app.WarnCertificateExpiring, Days: 9}}})}},
		IconPINBlocked:  {State: localapi.State{Readers: reader, Card: card(localapi.CardSummary{PIN: app.SecretStatus{Blocked: true}})}},
		IconNoCard:      {State: localapi.State{Readers: []app.ReaderStatus{{Name: "Virtual PCD 00 00"}}}},
		IconNoReader:    {State: localapi.State{}},
		IconServiceDown: {State: localapi.State{ServiceDown: true}},
	}
}

// What a panel draws is what the StatusNotifierItem exports over D-Bus:
// its IconPixmap, straight ARGB32. For every state the exported pixmap is
// the intended icon (the embedded PNG, drawn by the generator) within
// dbustest.IconTolerance per channel, partly transparent pixels included
// (fyne.io/systray's own conversion of an 8-bit PNG got every one of
// them wrong). systray runs once per process: the tray runs in a child,
// this test binary again, told on its standard input which state to show.
func TestTrayIconPixmapEveryState(t *testing.T) {
	bus := dbustest.SessionBus(t)
	host := dbustest.NewHost(t, bus)
	host.ServeWatcher(t)

	cmd := exec.Command(os.Args[0], "-test.run=^TestTrayPixmapChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+bus, "SITHSEID_TRAY_PIXMAP_CHILD=1")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("the tray child did not end within 10 s of its input:\n%s", out.String())
		}
	})

	host.WaitFor(t, "the child's item to register with the watcher", func() bool { return len(host.Items()) > 0 })
	tc := dbustest.NewTray(t, bus, cmd.Process.Pid)
	cat := l10n.MustLoad(l10n.Swedish)
	views := stateViews()
	// The tray starts with the zero view's icon (no reader): wait for it,
	// so that each change below is the state just asked for.
	zero := Build(View{}, cat).Icon
	_, _, prev := tc.UntilPixmap(t, "the first icon", func(w, h int, data []byte) bool {
		d, _ := dbustest.IconDiff(w, h, data, IconData(zero))
		return d <= 255 // sized and set
	})
	for _, icon := range Icons {
		if got := Build(views[icon], cat).Icon; got != icon {
			t.Fatalf("the view for %s shows %s", icon, got)
		}
		if _, err := fmt.Fprintln(in, icon); err != nil {
			t.Fatal(err)
		}
		// Changed, and settled: read again, the same. godbus's properties
		// store a new value into the old one's memory (dbus.Store), so a
		// read racing systray's SetIcon can return rows of both icons.
		w, h, data := tc.UntilPixmap(t, "the icon to change to "+string(icon), func(_, _ int, data []byte) bool {
			if bytes.Equal(data, prev) {
				return false
			}
			_, _, again := tc.Pixmap(t)
			return bytes.Equal(data, again)
		})
		prev = data
		if d, where := dbustest.IconDiff(w, h, data, IconData(icon)); d > dbustest.IconTolerance {
			t.Errorf("%s: exported IconPixmap differs from the intended icon by %d at %s", icon, d, where)
		}
	}
}

// TestTrayPixmapChild is the tray of TestTrayIconPixmapEveryState: it
// shows the state named on each line of its standard input.
func TestTrayPixmapChild(t *testing.T) {
	if os.Getenv("SITHSEID_TRAY_PIXMAP_CHILD") != "1" {
		t.Skip("run by TestTrayIconPixmapEveryState")
	}
	tr := New(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	views := stateViews()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		tr.Show(views[Icon(sc.Text())])
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10 s of the end")
	}
}
