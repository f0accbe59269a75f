//go:build windows

// Command winehelper is the Windows lane's test helper, never shipped:
// scripts/wine-lane cross-builds it, and internal/testkit/winelane runs it
// under Wine.
//
//	winehelper raise UIEXE
//
// opens the about window of UIEXE, the window program sithseid-ui.exe
// ("UIEXE about"), through the agent's own
// window launcher (agent.ViewLauncher, as a tray click does), covers it
// with the settings window, then opens the about view again: the about
// window must come to the foreground (GetForegroundWindow). Then the same
// with the about window minimised: it must be restored and in front.
// Exit 0 when both hold, 1 with the reason otherwise.
//
//	winehelper VIEW…
//
// is a window program that cannot start (as the agent's
// SITHSEID_UI_COMMAND, run as sithseid-ui.exe is, with the view first):
// a panic's message on standard error, exit 2, as GLFW's without a display.
//
//	winehelper click
//
// clicks the agent's tray icon (left): the message the shell sends the
// icon's window (fyne.io/systray's SystrayClass, its callback message
// WM_USER+1 with WM_LBUTTONUP), once that window exists.
//
//	winehelper alert TITLE
//
// waits for a message box titled TITLE, prints its texts and closes it.
//
//	winehelper flood STOPFILE
//
// floods the running agent's local API from one process: it opens
// connections to the session's pipe (localapi.Dial, as the CLI does) and
// pings on each until the agent refuses one (or 4 ×
// localapi.DefaultMaxConnsPerPeer are open), prints "accepted N" and
// "refused: ERROR" (with "tooManyConnections" when the error is
// localapi.ErrTooManyConnections), then "holding" and keeps the accepted
// connections open until STOPFILE exists (at most 3 minutes).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/ui/viewname"
)

var (
	user32                  = windows.NewLazySystemDLL("user32.dll")
	procSetForegroundWindow = user32.NewProc("SetForegroundWindow")
	procShowWindow          = user32.NewProc("ShowWindow")
	procIsIconic            = user32.NewProc("IsIconic")
	procPostMessage         = user32.NewProc("PostMessageW")
	procGetWindowText       = user32.NewProc("GetWindowTextW")
	procSendMessageTimeout  = user32.NewProc("SendMessageTimeoutW")
)

const (
	swMinimize = 6
	wmClose    = 0x0010
)

func main() {
	var err error
	switch {
	case len(os.Args) == 3 && os.Args[1] == "raise":
		err = raise(os.Args[2])
	case len(os.Args) > 1 && slices.Contains(viewname.All, os.Args[1]):
		fmt.Fprintln(os.Stderr, "panic: PlatformError: Failed to create helper window (winehelper: a window that cannot start)")
		os.Exit(2)
	case len(os.Args) == 2 && os.Args[1] == "click":
		err = click()
	case len(os.Args) == 3 && os.Args[1] == "alert":
		err = alert(os.Args[2])
	case len(os.Args) == 3 && os.Args[1] == "flood":
		err = flood(os.Args[2])
	default:
		fmt.Fprintln(os.Stderr, "usage: winehelper raise UIEXE | VIEW… | click | alert TITLE | flood STOPFILE")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "winehelper:", err)
		os.Exit(1)
	}
	fmt.Println("done")
}

// click posts the tray icon's left click to its window.
func click() error {
	var h windows.HWND
	if !until(90*time.Second, func() bool {
		h = findWindow("SystrayClass", "")
		return h != 0
	}) {
		return errors.New("no tray icon window (SystrayClass) within 90 s")
	}
	const wmSystrayMessage, wmLButtonUp = 0x0400 + 1, 0x0202
	if r, _, err := procPostMessage.Call(uintptr(h), wmSystrayMessage, 0, wmLButtonUp); r == 0 {
		return fmt.Errorf("PostMessage: %v", err)
	}
	fmt.Printf("clicked the tray icon of pid %d\n", pid(h))
	return nil
}

// alert prints the texts of the message box titled title and closes it.
func alert(title string) error {
	var h windows.HWND
	if !until(60*time.Second, func() bool {
		h = findWindow("#32770", title)
		return h != 0
	}) {
		return fmt.Errorf("no message box %q within 60 s", title)
	}
	children = nil
	windows.EnumChildWindows(h, childCallback, nil)
	fmt.Printf("message box %q of pid %d:\n", title, pid(h))
	for _, c := range children {
		if t := text(c); t != "" {
			fmt.Println(t)
		}
	}
	procPostMessage.Call(uintptr(h), wmClose, 0, 0)
	return nil
}

// flood opens connections to the agent from this one process until one is
// refused, and holds the accepted ones until stop exists.
func flood(stop string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var open []*localapi.Client
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	var refused error
	for len(open) < 4*localapi.DefaultMaxConnsPerPeer {
		c, err := localapi.Dial(ctx)
		if err != nil {
			return fmt.Errorf("dial %d: %w", len(open)+1, err)
		}
		// A connection over the bound is answered and closed at once; a
		// ping on it says so (the agent's reason).
		pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
		_, err = c.Ping(pctx)
		pcancel()
		if err != nil {
			c.Close()
			refused = err
			break
		}
		open = append(open, c)
	}
	fmt.Printf("accepted %d\n", len(open))
	if refused == nil {
		fmt.Println("refused: none")
	} else if errors.Is(refused, localapi.ErrTooManyConnections) {
		fmt.Printf("refused: tooManyConnections: %v\n", refused)
	} else {
		fmt.Printf("refused: %v\n", refused)
	}
	fmt.Println("holding")
	if !until(3*time.Minute, func() bool { _, err := os.Stat(stop); return err == nil }) {
		return fmt.Errorf("no %s within 3 minutes", stop)
	}
	// The held connections are still the agent's: one more ping on each.
	for i, c := range open {
		if _, err := c.Ping(ctx); err != nil {
			return fmt.Errorf("held connection %d: %w", i+1, err)
		}
	}
	fmt.Printf("the %d held connections still answer\n", len(open))
	return nil
}

// findWindow is a top-level window of the class (and the title, unless
// ""), or 0.
func findWindow(class, title string) windows.HWND {
	for h := range windowsOf(class) {
		if title == "" || text(h) == title {
			return h
		}
	}
	return 0
}

var children []windows.HWND

var childCallback = syscall.NewCallback(func(h windows.HWND, _ uintptr) uintptr {
	children = append(children, h)
	return 1
})

func raise(exe string) error {
	raised := make(chan slog.Record, 4)
	log := slog.New(raiseWatch{slog.NewTextHandler(os.Stderr, nil), raised})
	l := agent.NewViewLauncher(agent.LauncherOptions{Executable: exe, Log: log})
	var opened []windows.HWND
	defer func() {
		for _, h := range opened {
			procPostMessage.Call(uintptr(h), wmClose, 0, 0)
		}
		until(30*time.Second, func() bool { return !l.Running(viewname.About) && !l.Running(viewname.Settings) })
	}()
	open := func(view string) (windows.HWND, error) {
		before := glfwWindows()
		if err := l.Open(view); err != nil {
			return 0, fmt.Errorf("opening %s: %w", view, err)
		}
		var h windows.HWND
		if !until(90*time.Second, func() bool {
			for w := range glfwWindows() {
				if !before[w] && windows.IsWindowVisible(w) {
					h = w
					return true
				}
			}
			return false
		}) {
			return 0, fmt.Errorf("no %s window within 90 s", view)
		}
		opened = append(opened, h)
		fmt.Printf("%s window %#x %q pid %d\n", view, h, text(h), pid(h))
		return h, nil
	}
	about, err := open(viewname.About)
	if err != nil {
		return err
	}
	settings, err := open(viewname.Settings)
	if err != nil {
		return err
	}
	cover := func() error {
		// A new window takes the foreground; a minimised one gives it to
		// no other window under Wine. Asked again while it has not: a
		// window whose thread handles its activation late may take the
		// foreground back.
		if !until(20*time.Second, func() bool {
			if windows.GetForegroundWindow() != settings {
				procSetForegroundWindow.Call(uintptr(settings))
			}
			return windows.GetForegroundWindow() == settings
		}) {
			return fmt.Errorf("the settings window does not take the foreground (it is %#x)", windows.GetForegroundWindow())
		}
		// The foreground is the server's at once; each window's thread
		// handles its activation or deactivation after, when it gets to
		// it (slow on a loaded machine). A message sent to both, answered,
		// comes after those: the covering is done before the raise, not
		// behind it.
		for _, h := range []windows.HWND{settings, about} {
			if err := settle(h); err != nil {
				return err
			}
		}
		if fg := windows.GetForegroundWindow(); fg != settings {
			return fmt.Errorf("the settings window lost the foreground to %#x %q while settling", fg, text(fg))
		}
		return nil
	}
	again := func(what string) error {
		if err := l.Open(viewname.About); !errors.Is(err, agent.ErrViewOpen) {
			return fmt.Errorf("opening the open about view again: %v, want ErrViewOpen", err)
		}
		// The launcher raises apart (it retries until the window stays
		// in front): its log says when it is done.
		select {
		case r := <-raised:
			if r.Level != slog.LevelInfo {
				return fmt.Errorf("%s: the launcher could not raise the about window: %s", what, r.Message)
			}
		case <-time.After(60 * time.Second):
			return fmt.Errorf("%s: the launcher did not say within 60 s that it raised the about window", what)
		}
		if !until(20*time.Second, func() bool {
			r, _, _ := procIsIconic.Call(uintptr(about))
			return r == 0 && windows.GetForegroundWindow() == about
		}) {
			fg := windows.GetForegroundWindow()
			return fmt.Errorf("%s: the about window %#x (pid %d) was not raised: the foreground is %#x %q (pid %d)", what, about, pid(about), fg, text(fg), pid(fg))
		}
		fmt.Printf("%s: the about window is in front\n", what)
		return nil
	}

	// Covered by another window with the focus.
	if err := cover(); err != nil {
		return err
	}
	if err := again("covered"); err != nil {
		return err
	}
	// Minimised.
	procShowWindow.Call(uintptr(about), swMinimize)
	if !until(20*time.Second, func() bool { r, _, _ := procIsIconic.Call(uintptr(about)); return r != 0 }) {
		return errors.New("the about window does not minimise")
	}
	if err := cover(); err != nil {
		return err
	}
	return again("minimised")
}

// raiseWatch is the launcher's log, which also passes the records of its
// raises' ends ("window raised", "raising a window" with the error) to
// done.
type raiseWatch struct {
	slog.Handler
	done chan<- slog.Record
}

func (w raiseWatch) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "window raised" || r.Message == "raising a window" {
		select {
		case w.done <- r.Clone():
		default:
		}
	}
	return w.Handler.Handle(ctx, r)
}

// settle returns once h's thread has handled what was sent to it before:
// a WM_NULL sent to it is answered (within 30 s).
func settle(h windows.HWND) error {
	const wmNull, smtoAbortIfHung = 0x0000, 0x0002
	var res uintptr
	if r, _, err := procSendMessageTimeout.Call(uintptr(h), wmNull, 0, 0, smtoAbortIfHung, 30000, uintptr(unsafe.Pointer(&res))); r == 0 {
		return fmt.Errorf("window %#x %q does not answer within 30 s: %v", h, text(h), err)
	}
	return nil
}

// glfwWindows are the visible or hidden top-level windows of GLFW's class
// (not its helper window), of every process.
func glfwWindows() map[windows.HWND]bool {
	ws := windowsOf("GLFW30")
	for h := range ws {
		if text(h) == "GLFW message window" {
			delete(ws, h)
		}
	}
	return ws
}

// windowsOf are the top-level windows of the class, of every process.
func windowsOf(class string) map[windows.HWND]bool {
	found, wantClass = map[windows.HWND]bool{}, class
	_ = windows.EnumWindows(enumCallback, nil)
	return found
}

var (
	found     map[windows.HWND]bool
	wantClass string
)

var enumCallback = syscall.NewCallback(func(h windows.HWND, _ uintptr) uintptr {
	buf := make([]uint16, 64)
	if n, err := windows.GetClassName(h, &buf[0], int32(len(buf))); err == nil && windows.UTF16ToString(buf[:n]) == wantClass {
		found[h] = true
	}
	return 1
})

func text(h windows.HWND) string {
	buf := make([]uint16, 256)
	n, _, _ := procGetWindowText.Call(uintptr(h), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
	return windows.UTF16ToString(buf[:n])
}

func pid(h windows.HWND) uint32 {
	var p uint32
	_, _ = windows.GetWindowThreadProcessId(h, &p)
	return p
}

// until polls ok every 100 ms until it holds or d has passed.
func until(d time.Duration, ok func() bool) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(100 * time.Millisecond) {
		if ok() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}
