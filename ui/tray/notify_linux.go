package tray

import (
	"context"
	"log/slog"
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
}

func newDesktop(log *slog.Logger) *desktop {
	return &desktop{log: log, replaces: map[string]uint32{}}
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
	var id uint32
	call := d.conn.Object(notificationsName, notificationsPath).CallWithContext(ctx,
		notificationsName+".Notify", 0,
		"SITHS eID", d.replaces[m.Group], "sithseid", m.Summary, m.Body, []string{}, hints, int32(-1))
	if err := call.Store(&id); err != nil {
		// No notification server in this session: nothing to show it in.
		d.once("desktop notification not shown", "err", err)
		return
	}
	if m.Group != "" {
		d.replaces[m.Group] = id
	}
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
