package cli_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// sessionBus runs a private D-Bus session bus (dbus-daemon with a config
// of its own: a socket in a temp directory, no activatable services) for
// the test and returns its address.
func sessionBus(t testing.TB) string {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("dbus-daemon missing: scripts/setup installs dbus")
		}
		t.Skip("no dbus-daemon")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "session.conf")
	err = os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=`+filepath.Join(dir, "bus")+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--config-file="+conf, "--nofork", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuf // "failed to set fd limit" as non-root, and the like
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() && stderr.String() != "" {
			t.Logf("dbus-daemon:\n%s", stderr.String())
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	return strings.TrimSpace(line)
}

// trayHost plays the desktop's side on a session bus: the panel's
// StatusNotifierWatcher (it records which items register) and a
// notification server (it records what it is asked to show).
type trayHost struct {
	conn *dbus.Conn

	mu      sync.Mutex
	items   []string // "sender service"
	notes   []hostNote
	changed chan struct{}
}

type hostNote struct {
	Summary, Body string
	Replaces      uint32
	Urgency       byte
}

func dialBus(t testing.TB, addr string) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connecting to the test's session bus: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func newTrayHost(t testing.TB, addr string) *trayHost {
	return &trayHost{conn: dialBus(t, addr), changed: make(chan struct{}, 1)}
}

func (h *trayHost) signal() {
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// watcher is the exported org.kde.StatusNotifierWatcher object.
type watcher struct{ h *trayHost }

func (w watcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	w.h.mu.Lock()
	w.h.items = append(w.h.items, string(sender)+" "+service)
	w.h.mu.Unlock()
	w.h.signal()
	return nil
}

func (w watcher) RegisterStatusNotifierHost(string) *dbus.Error { return nil }

// notifications is the exported org.freedesktop.Notifications object.
type notifications struct{ h *trayHost }

func (n notifications) Notify(app string, replaces uint32, icon, summary, body string, actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	var urgency byte
	if v, ok := hints["urgency"]; ok {
		urgency, _ = v.Value().(byte)
	}
	n.h.mu.Lock()
	n.h.notes = append(n.h.notes, hostNote{Summary: summary, Body: body, Replaces: replaces, Urgency: urgency})
	id := uint32(len(n.h.notes))
	n.h.mu.Unlock()
	n.h.signal()
	return id, nil
}

func (n notifications) GetCapabilities() ([]string, *dbus.Error) { return []string{"body"}, nil }

func (n notifications) GetServerInformation() (string, string, string, string, *dbus.Error) {
	return "test", "sithseid", "1", "1.2", nil
}

// serveWatcher takes the watcher's name and exports it.
func (h *trayHost) serveWatcher(t testing.TB) {
	t.Helper()
	if err := h.conn.Export(watcher{h}, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher"); err != nil {
		t.Fatal(err)
	}
	h.own(t, "org.kde.StatusNotifierWatcher")
}

// serveNotifications takes the notification server's name.
func (h *trayHost) serveNotifications(t testing.TB) {
	t.Helper()
	if err := h.conn.Export(notifications{h}, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	h.own(t, "org.freedesktop.Notifications")
}

func (h *trayHost) own(t testing.TB, name string) {
	t.Helper()
	r, err := h.conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning %s: %v (reply %d)", name, err, r)
	}
}

// waitFor waits up to 15 s for ok, checked whenever the host was called.
func (h *trayHost) waitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		h.mu.Lock()
		done := ok()
		h.mu.Unlock()
		if done {
			return
		}
		select {
		case <-h.changed:
		case <-deadline:
			t.Fatalf("waited 15 s for %s", what)
		}
	}
}

// noteWith waits for a notification whose summary is summary and returns
// it; from is the index to search from.
func (h *trayHost) noteWith(t testing.TB, summary string, from int) (hostNote, int) {
	t.Helper()
	var got hostNote
	idx := -1
	h.waitFor(t, fmt.Sprintf("a notification %q", summary), func() bool {
		for i := from; i < len(h.notes); i++ {
			if h.notes[i].Summary == summary {
				got, idx = h.notes[i], i
				return true
			}
		}
		return false
	})
	return got, idx + 1
}

// menuItem is one com.canonical.dbusmenu layout node.
type menuItem struct {
	ID       int32
	Props    map[string]dbus.Variant
	Children []menuItem
}

func (m menuItem) label() string {
	s, _ := m.Props["label"].Value().(string)
	return s
}

func (m menuItem) prop(name string, def bool) bool {
	v, ok := m.Props[name]
	if !ok {
		return def
	}
	b, _ := v.Value().(bool)
	return b
}

func (m menuItem) enabled() bool { return m.prop("enabled", true) }
func (m menuItem) visible() bool { return m.prop("visible", true) }

func (m menuItem) checked() bool {
	v, ok := m.Props["toggle-state"]
	if !ok {
		return false
	}
	n, _ := v.Value().(int32)
	return n == 1
}

// find returns the visible item labelled label, depth first.
func (m menuItem) find(label string) (menuItem, bool) {
	for _, c := range m.Children {
		if c.visible() && c.label() == label {
			return c, true
		}
		if f, ok := c.find(label); ok {
			return f, true
		}
	}
	return menuItem{}, false
}

// labels lists the visible top-level labels (separators skipped).
func (m menuItem) labels() []string {
	var out []string
	for _, c := range m.Children {
		if t, _ := c.Props["type"].Value().(string); t == "separator" || !c.visible() {
			continue
		}
		out = append(out, c.label())
	}
	return out
}

// parseLayout turns GetLayout's (ia{sv}av) as godbus decodes it into a
// menuItem.
func parseLayout(v any) (menuItem, error) {
	f, ok := v.([]any)
	if !ok || len(f) != 3 {
		return menuItem{}, fmt.Errorf("layout node %T %v", v, v)
	}
	id, ok1 := f[0].(int32)
	props, ok2 := f[1].(map[string]dbus.Variant)
	kids, ok3 := f[2].([]dbus.Variant)
	if !ok1 || !ok2 || !ok3 {
		return menuItem{}, fmt.Errorf("layout node fields %T %T %T", f[0], f[1], f[2])
	}
	m := menuItem{ID: id, Props: props}
	for _, k := range kids {
		c, err := parseLayout(k.Value())
		if err != nil {
			return m, err
		}
		m.Children = append(m.Children, c)
	}
	return m, nil
}
