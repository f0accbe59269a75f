// Package dbustest runs a private D-Bus session bus for a test and plays
// the desktop's side on it: a panel's StatusNotifierWatcher and a
// notification server (Host), and a panel reading and clicking an item's
// menu over com.canonical.dbusmenu (Tray). The agent's tray tests use it
// (cli, internal/testkit/e2e); shipped code never imports it (internal/deptest).
package dbustest

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/png" // IconDiff decodes the intended icons
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// SessionBus runs a private D-Bus session bus (dbus-daemon with a config
// of its own: a socket in a temp directory, no activatable services) for
// the test and returns its address.
func SessionBus(t testing.TB) string {
	t.Helper()
	daemon := testenv.LookPath(t, "dbus-daemon")
	dir := t.TempDir()
	conf := filepath.Join(dir, "session.conf")
	err := os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
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
	var stderr lockedBuffer // "failed to set fd limit" as non-root, and the like
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

// Host plays the desktop's side on a session bus: the panel's
// StatusNotifierWatcher (it records which items register) and a
// notification server (it records what it is asked to show).
type Host struct {
	// Conn is the host's connection, for calls of the test's own.
	Conn *dbus.Conn

	mu      sync.Mutex
	items   []string // "sender service"
	notes   []Note
	changed chan struct{}
}

// Note is one notification as the server received it.
type Note struct {
	Summary, Body string
	Replaces      uint32
	Urgency       byte
	// ID is the id the server gave it; Actions its action keys and
	// labels, in pairs (spec 1.2).
	ID      uint32
	Actions []string
}

func Dial(t testing.TB, addr string) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connecting to the test's session bus: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func NewHost(t testing.TB, addr string) *Host {
	return &Host{Conn: Dial(t, addr), changed: make(chan struct{}, 1)}
}

func (h *Host) signal() {
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// ItemName is the bus name fyne.io/systray gives the item of process pid.
func ItemName(pid int) string { return fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", pid) }

// watcher is the exported org.kde.StatusNotifierWatcher object.
type watcher struct{ h *Host }

func (w watcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	w.h.mu.Lock()
	w.h.items = append(w.h.items, string(sender)+" "+service)
	w.h.mu.Unlock()
	w.h.signal()
	return nil
}

func (w watcher) RegisterStatusNotifierHost(string) *dbus.Error { return nil }

// notifications is the exported org.freedesktop.Notifications object.
type notifications struct{ h *Host }

func (n notifications) Notify(app string, replaces uint32, icon, summary, body string, actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	var urgency byte
	if v, ok := hints["urgency"]; ok {
		urgency, _ = v.Value().(byte)
	}
	n.h.mu.Lock()
	id := uint32(len(n.h.notes) + 1)
	n.h.notes = append(n.h.notes, Note{Summary: summary, Body: body, Replaces: replaces, Urgency: urgency, ID: id, Actions: actions})
	n.h.mu.Unlock()
	n.h.signal()
	return id, nil
}

func (n notifications) GetCapabilities() ([]string, *dbus.Error) {
	return []string{"body", "actions"}, nil
}

// Invoke is the user clicking the action key of the notification id: the
// server's ActionInvoked signal, then NotificationClosed (reason 2,
// dismissed), as a notification daemon sends them.
func (h *Host) Invoke(t testing.TB, id uint32, key string) {
	t.Helper()
	const name = "org.freedesktop.Notifications"
	if err := h.Conn.Emit("/org/freedesktop/Notifications", name+".ActionInvoked", id, key); err != nil {
		t.Fatalf("ActionInvoked: %v", err)
	}
	if err := h.Conn.Emit("/org/freedesktop/Notifications", name+".NotificationClosed", id, uint32(2)); err != nil {
		t.Fatalf("NotificationClosed: %v", err)
	}
}

func (n notifications) GetServerInformation() (string, string, string, string, *dbus.Error) {
	return "test", "sithseid", "1", "1.2", nil
}

// Items are the registrations the watcher received ("SENDER SERVICE").
func (h *Host) Items() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.items...)
}

// Notes are the notifications the server was asked to show, in order.
func (h *Host) Notes() []Note {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Note(nil), h.notes...)
}

// HasName reports whether name has an owner on the bus.
func (h *Host) HasName(t testing.TB, name string) bool {
	t.Helper()
	var has bool
	if err := h.Conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has); err != nil {
		t.Fatalf("NameHasOwner %s: %v", name, err)
	}
	return has
}

// ServeWatcher takes the watcher's name and exports it.
func (h *Host) ServeWatcher(t testing.TB) {
	t.Helper()
	if err := h.Conn.Export(watcher{h}, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher"); err != nil {
		t.Fatal(err)
	}
	h.own(t, "org.kde.StatusNotifierWatcher")
}

// ServeNotifications takes the notification server's name.
func (h *Host) ServeNotifications(t testing.TB) {
	t.Helper()
	if err := h.Conn.Export(notifications{h}, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	h.own(t, "org.freedesktop.Notifications")
}

func (h *Host) own(t testing.TB, name string) {
	t.Helper()
	r, err := h.Conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning %s: %v (reply %d)", name, err, r)
	}
}

// WaitFor waits up to 15 s for ok, checked whenever the host was called.
func (h *Host) WaitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		if ok() {
			return
		}
		select {
		case <-h.changed:
		case <-deadline:
			t.Fatalf("waited 15 s for %s", what)
		}
	}
}

// Notification waits for a notification whose summary is summary and returns
// it; from is the index to search from.
func (h *Host) Notification(t testing.TB, summary string, from int) (Note, int) {
	t.Helper()
	var got Note
	idx := -1
	h.WaitFor(t, fmt.Sprintf("a notification %q", summary), func() bool {
		notes := h.Notes()
		for i := from; i < len(notes); i++ {
			if notes[i].Summary == summary {
				got, idx = notes[i], i
				return true
			}
		}
		return false
	})
	return got, idx + 1
}

// MenuItem is one com.canonical.dbusmenu layout node.
type MenuItem struct {
	ID       int32
	Props    map[string]dbus.Variant
	Children []MenuItem
}

func (m MenuItem) Label() string {
	s, _ := m.Props["label"].Value().(string)
	return s
}

func (m MenuItem) prop(name string, def bool) bool {
	v, ok := m.Props[name]
	if !ok {
		return def
	}
	b, _ := v.Value().(bool)
	return b
}

func (m MenuItem) Enabled() bool { return m.prop("enabled", true) }
func (m MenuItem) Visible() bool { return m.prop("visible", true) }

func (m MenuItem) Checked() bool {
	v, ok := m.Props["toggle-state"]
	if !ok {
		return false
	}
	n, _ := v.Value().(int32)
	return n == 1
}

// Find returns the visible item labelled label, depth first.
func (m MenuItem) Find(label string) (MenuItem, bool) {
	for _, c := range m.Children {
		if c.Visible() && c.Label() == label {
			return c, true
		}
		if f, ok := c.Find(label); ok {
			return f, true
		}
	}
	return MenuItem{}, false
}

// Labels lists the visible top-level labels (separators skipped).
func (m MenuItem) Labels() []string {
	var out []string
	for _, c := range m.Children {
		if t, _ := c.Props["type"].Value().(string); t == "separator" || !c.Visible() {
			continue
		}
		out = append(out, c.Label())
	}
	return out
}

// parseLayout turns GetLayout's (ia{sv}av) as godbus decodes it into a
// MenuItem.
func parseLayout(v any) (MenuItem, error) {
	f, ok := v.([]any)
	if !ok || len(f) != 3 {
		return MenuItem{}, fmt.Errorf("layout node %T %v", v, v)
	}
	id, ok1 := f[0].(int32)
	props, ok2 := f[1].(map[string]dbus.Variant)
	kids, ok3 := f[2].([]dbus.Variant)
	if !ok1 || !ok2 || !ok3 {
		return MenuItem{}, fmt.Errorf("layout node fields %T %T %T", f[0], f[1], f[2])
	}
	m := MenuItem{ID: id, Props: props}
	for _, k := range kids {
		c, err := parseLayout(k.Value())
		if err != nil {
			return m, err
		}
		m.Children = append(m.Children, c)
	}
	return m, nil
}

// Tray reads and clicks an agent's tray over D-Bus, as a panel
// does.
type Tray struct {
	conn    *dbus.Conn
	name    string // org.kde.StatusNotifierItem-PID-1
	menu    dbus.ObjectPath
	signals chan *dbus.Signal
}

func NewTray(t testing.TB, addr string, pid int) *Tray {
	t.Helper()
	c := &Tray{conn: Dial(t, addr), name: ItemName(pid), signals: make(chan *dbus.Signal, 64)}
	var has bool
	if err := c.conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, c.name).Store(&has); err != nil || !has {
		t.Fatalf("%s not on the bus (%v)", c.name, err)
	}
	// The item takes its bus name before it exports its object: until
	// then the Properties interface is missing. Wait for the object.
	var v dbus.Variant
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		v, err = c.conn.Object(c.name, "/StatusNotifierItem").GetProperty("org.kde.StatusNotifierItem.Menu")
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("reading the item's Menu property: %v", err)
	}
	c.menu, _ = v.Value().(dbus.ObjectPath)
	if c.menu == "" {
		t.Fatalf("Menu property %v", v)
	}
	if err := c.conn.AddMatchSignal(dbus.WithMatchSender(c.name)); err != nil {
		t.Fatal(err)
	}
	c.conn.Signal(c.signals)
	return c
}

func (c *Tray) Layout(t testing.TB) MenuItem {
	t.Helper()
	call := c.conn.Object(c.name, c.menu).Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{})
	if call.Err != nil || len(call.Body) != 2 {
		t.Fatalf("GetLayout: %v %v", call.Err, call.Body)
	}
	m, err := parseLayout(call.Body[1])
	if err != nil {
		t.Fatalf("GetLayout: %v", err)
	}
	return m
}

// Until fetches the layout until ok accepts it, after each signal the
// item sends (a layout or property change), for up to 15 s.
func (c *Tray) Until(t testing.TB, what string, ok func(MenuItem) bool) MenuItem {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		m := c.Layout(t)
		if ok(m) {
			return m
		}
		select {
		case <-c.signals:
		case <-deadline:
			t.Fatalf("waited 15 s for %s; top-level labels %q", what, m.Labels())
		}
	}
}

func (c *Tray) Click(t testing.TB, m MenuItem, label string) {
	t.Helper()
	it, ok := m.Find(label)
	if !ok {
		t.Fatalf("no item %q in %q", label, m.Labels())
	}
	call := c.conn.Object(c.name, c.menu).Call("com.canonical.dbusmenu.Event", 0, it.ID, "clicked", dbus.MakeVariant(int32(0)), uint32(0))
	if call.Err != nil {
		t.Fatalf("clicking %q: %v", label, call.Err)
	}
}

func (c *Tray) Prop(t testing.TB, name string) dbus.Variant {
	t.Helper()
	v, err := c.conn.Object(c.name, "/StatusNotifierItem").GetProperty("org.kde.StatusNotifierItem." + name)
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return v
}

// Tooltip is the ToolTip property's title.
func (c *Tray) Tooltip(t testing.TB) string {
	t.Helper()
	f, ok := c.Prop(t, "ToolTip").Value().([]any)
	if !ok || len(f) != 4 {
		t.Fatalf("ToolTip %v", c.Prop(t, "ToolTip"))
	}
	s, _ := f[2].(string)
	return s
}

// IconIs reports whether IconPixmap (straight ARGB32, network byte
// order: what panels draw) is the PNG image pngData as intended, within
// IconTolerance per channel (colours of fully transparent pixels aside).
func (c *Tray) IconIs(t testing.TB, pngData []byte) bool {
	t.Helper()
	w, h, data := c.Pixmap(t)
	d, _ := IconDiff(w, h, data, pngData)
	return d <= IconTolerance
}

// IconTolerance is the largest difference per 8-bit channel IconIs allows
// between the exported pixmap and the intended image (rounding).
const IconTolerance = 1

// Pixmap is the IconPixmap property's only image: its size and ARGB32
// data.
func (c *Tray) Pixmap(t testing.TB) (w, h int, data []byte) {
	t.Helper()
	px, ok := c.Prop(t, "IconPixmap").Value().([][]any)
	if !ok || len(px) != 1 || len(px[0]) != 3 {
		t.Fatalf("IconPixmap %v", c.Prop(t, "IconPixmap"))
	}
	w32, _ := px[0][0].(int32)
	h32, _ := px[0][1].(int32)
	data, _ = px[0][2].([]byte)
	return int(w32), int(h32), data
}

// UntilPixmap waits up to 15 s, woken by the item's signals (NewIcon),
// until ok accepts the exported IconPixmap, and returns it.
func (c *Tray) UntilPixmap(t testing.TB, what string, ok func(w, h int, data []byte) bool) (w, h int, data []byte) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		if w, h, data = c.Pixmap(t); ok(w, h, data) {
			return w, h, data
		}
		select {
		case <-c.signals:
		case <-deadline:
			t.Fatalf("waited 15 s for %s", what)
		}
	}
}

// IconDiff compares an exported w×h straight ARGB32 pixmap with the
// intended PNG image: the largest difference of any channel at any pixel
// (colours count only where the intended pixel is not fully transparent)
// and where it is. A size mismatch is 256.
func IconDiff(w, h int, data, pngData []byte) (int, string) {
	img, _, err := image.Decode(bytes.NewReader(pngData))
	if err != nil {
		return 256, err.Error()
	}
	b := img.Bounds()
	if w != b.Dx() || h != b.Dy() || len(data) != w*h*4 {
		return 256, fmt.Sprintf("exported %dx%d (%d bytes), intended %dx%d", w, h, len(data), b.Dx(), b.Dy())
	}
	worst, where := 0, ""
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			got := data[(y*w+x)*4:][:4]
			want := []uint8{c.A, c.R, c.G, c.B}
			n := 4
			if c.A == 0 {
				n = 1
			}
			for k := 0; k < n; k++ {
				d := int(got[k]) - int(want[k])
				if d < 0 {
					d = -d
				}
				if d > worst {
					worst = d
					where = fmt.Sprintf("pixel (%d,%d): exported ARGB %v, intended %v", x, y, got, want)
				}
			}
		}
	}
	return worst, where
}

// lockedBuffer is a writer read while another goroutine writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
