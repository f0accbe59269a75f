package tray

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// The Desktop Notifications Specification 1.2
// (https://specifications.freedesktop.org/notification-spec/1.2/).
const (
	notificationsName = "org.freedesktop.Notifications"
	notificationsPath = "/org/freedesktop/Notifications"
	notifyTimeout     = 3 * time.Second
)

// desktop holds a private session bus connection (not systray's shared
// one), opened at the first message and again after it broke.
type desktop struct {
	log      *slog.Logger
	conn     *dbus.Conn
	replaces map[string]uint32 // group → id of the last notification shown
	warned   bool
	// act runs a clicked notification's action (Notifier.act); acts maps
	// the ids of the notifications shown with an action to it.
	act  func(Action)
	mu   sync.Mutex
	acts map[uint32]Action
}

func newDesktop(log *slog.Logger) *desktop {
	return &desktop{log: log, replaces: map[string]uint32{}, acts: map[uint32]Action{}}
}

// actionKey is the key of a notification's one action: "default" is also
// what a click on the bubble itself invokes (spec 1.2, "Actions").
const actionKey = "default"

// listen delivers the server's ActionInvoked and NotificationClosed
// signals on conn: a click runs the action of that notification, once.
func (d *desktop) listen(conn *dbus.Conn) {
	if err := conn.AddMatchSignal(dbus.WithMatchInterface(notificationsName), dbus.WithMatchObjectPath(notificationsPath)); err != nil {
		d.log.Info("notification actions unavailable", "err", err)
		return
	}
	ch := make(chan *dbus.Signal, 16)
	conn.Signal(ch)
	go func() {
		for sig := range ch {
			if len(sig.Body) == 0 {
				continue
			}
			id, ok := sig.Body[0].(uint32)
			if !ok {
				continue
			}
			d.mu.Lock()
			a, known := d.acts[id]
			delete(d.acts, id)
			d.mu.Unlock()
			if sig.Name == notificationsName+".ActionInvoked" && known && d.act != nil {
				d.log.Info("notification action", "action", a.Kind)
				d.act(a)
			}
		}
	}()
}

func (d *desktop) close() {
	if d.conn != nil {
		_ = d.conn.Close()
	}
}

func (d *desktop) send(ctx context.Context, m Message) {
	if d.conn == nil || !d.conn.Connected() {
		addr := sessionBusAddress()
		if addr == "" {
			d.once("no desktop notifications: no D-Bus session bus")
			return
		}
		conn, err := dbus.Connect(addr)
		if err != nil {
			d.once("no desktop notifications: the session bus does not answer", "err", err)
			return
		}
		d.conn = conn
		d.listen(conn)
	}
	urgency := byte(1)
	if m.Urgent {
		urgency = 2
	}
	hints := map[string]dbus.Variant{
		"urgency":  dbus.MakeVariant(urgency),
		"category": dbus.MakeVariant("device"),
	}
	ctx, cancel := context.WithTimeout(ctx, notifyTimeout)
	defer cancel()
	actions := []string{}
	if m.Act.Kind != "" {
		actions = []string{actionKey, m.ActLabel}
	}
	var id uint32
	call := d.conn.Object(notificationsName, notificationsPath).CallWithContext(ctx,
		notificationsName+".Notify", 0,
		"SITHS eID", d.replaces[m.Group], "sithseid", m.Summary, m.Body, actions, hints, int32(-1))
	if err := call.Store(&id); err != nil {
		// No notification server in this session: nothing to show it in.
		d.once("desktop notification not shown", "err", err)
		return
	}
	if m.Group != "" {
		d.replaces[m.Group] = id
	}
	d.mu.Lock()
	if m.Act.Kind != "" {
		d.acts[id] = m.Act
	} else {
		delete(d.acts, id) // a replaced notification's action is gone
	}
	d.mu.Unlock()
}

// once logs the first failure in full, later ones at debug level.
func (d *desktop) once(msg string, args ...any) {
	if d.warned {
		d.log.Debug(msg, args...)
		return
	}
	d.warned = true
	d.log.Info(msg, args...)
}
