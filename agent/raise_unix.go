//go:build unix

package agent

import (
	"os"
	"syscall"
)

// raiseProcess asks a window process to raise and focus its window: the
// signal ui listens for (ui/raise_unix.go, the same signal). SIGWINCH is
// ignored by default, so a window still starting (not yet listening) is
// not killed by it; the windows run detached, with no terminal of their
// own that would send it.
func raiseProcess(p *os.Process) error { return p.Signal(syscall.SIGWINCH) }
