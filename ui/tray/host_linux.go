package tray

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"fyne.io/systray"
	"github.com/godbus/dbus/v5"
)

// The StatusNotifierItem protocol's host side
// (https://www.freedesktop.org/wiki/Specifications/StatusNotifierItem/).
const watcherName = "org.kde.StatusNotifierWatcher"

// A left click (Activate) opens the status window; the menu is on the
// right button, as panels expect of an item that is not ItemIsMenu.
const openStatusOnTap = true

// prepare names the item (the title becomes its Id on the bus) and gives
// it its first icon and tooltip before systray.Run. fyne.io/systray
// v1.12.2 exports the item on the bus while the ready callback runs, so
// an icon set only in ready can be lost for good (seen in 7 of 40 starts:
// the panel kept the empty icon); set here as well, it is in place when
// the item appears.
func prepare(icon []byte, tooltip string) {
	systray.SetTitle("SITHS eID")
	systray.SetIcon(icon)
	systray.SetTooltip(tooltip)
}

// sessionBusAddress is where the session bus is, without starting one:
// DBUS_SESSION_BUS_ADDRESS, else the systemd user bus socket. godbus
// would otherwise run dbus-launch, which starts a bus nobody else uses.
func sessionBusAddress() string {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return a
	}
	p := filepath.Join("/run/user", strconv.Itoa(os.Getuid()), "bus")
	if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
		return "unix:path=" + p
	}
	return ""
}

// waitForHost returns nil once the session bus answers and a
// StatusNotifierWatcher owns its name. With no watcher it logs why there
// is no icon and waits for the name's owner to change (a signal: nothing
// runs meanwhile) or ctx to end.
func waitForHost(ctx context.Context, log *slog.Logger) error {
	addr := sessionBusAddress()
	if addr == "" {
		return fmt.Errorf("%w: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)", ErrNoHost)
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		os.Setenv("DBUS_SESSION_BUS_ADDRESS", addr) // what systray's connection will use
	}
	// The shared connection: systray's nativeStart takes this same one, so
	// it exists when systray closes it on the way out.
	conn, err := dbus.SessionBus()
	if err != nil {
		return fmt.Errorf("%w: the D-Bus session bus does not answer: %v", ErrNoHost, err)
	}
	opts := []dbus.MatchOption{
		dbus.WithMatchSender("org.freedesktop.DBus"),
		dbus.WithMatchInterface("org.freedesktop.DBus"),
		dbus.WithMatchMember("NameOwnerChanged"),
		dbus.WithMatchArg(0, watcherName),
	}
	if err := conn.AddMatchSignal(opts...); err != nil {
		return fmt.Errorf("%w: watching for a tray host: %v", ErrNoHost, err)
	}
	defer conn.RemoveMatchSignal(opts...)
	signals := make(chan *dbus.Signal, 8)
	conn.Signal(signals)
	defer conn.RemoveSignal(signals)
	var has bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, watcherName).Store(&has); err != nil {
		return fmt.Errorf("%w: asking the session bus for a tray host: %v", ErrNoHost, err)
	}
	if has {
		return nil
	}
	log.Info("no tray icon yet: no StatusNotifierWatcher on the session bus (GNOME shows tray icons only with the AppIndicator extension); waiting for one, the agent works meanwhile")
	for {
		select {
		case <-ctx.Done():
			return nil
		case sig, ok := <-signals:
			if !ok || sig == nil {
				return fmt.Errorf("%w: the session bus went away", ErrNoHost)
			}
			if sig.Name != "org.freedesktop.DBus.NameOwnerChanged" || len(sig.Body) < 3 {
				continue
			}
			if name, _ := sig.Body[0].(string); name != watcherName {
				continue
			}
			if owner, _ := sig.Body[2].(string); owner != "" {
				log.Info("a StatusNotifierWatcher appeared: showing the tray icon")
				return nil
			}
		}
	}
}

// trayIconData is icon i in the form systray exports correctly as the
// StatusNotifierItem's IconPixmap (see sniPNG).
func trayIconData(i Icon) []byte { return sniIconData(i) }
