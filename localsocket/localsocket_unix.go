//go:build unix

package localsocket

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Path is the local API's socket for this user, the environment read
// through getenv: $XDG_RUNTIME_DIR/sithseid/agent.sock, else
// os.TempDir()/sithseid-$UID/agent.sock.
func Path(getenv func(string) string) (string, error) {
	if d := getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "sithseid", "agent.sock"), nil
	}
	return filepath.Join(os.TempDir(), "sithseid-"+strconv.Itoa(os.Getuid()), "agent.sock"), nil
}

// socketDir makes (or checks) the socket's directory: a real directory the
// user owns with no access for anyone else. In a shared /tmp another user
// could have made it first; then nothing is trusted there.
func socketDir(addr string) error {
	dir := filepath.Dir(addr)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("local API directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("local API directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("local API directory %s is not a directory", dir)
	case ok && int(st.Uid) != os.Getuid():
		return &NotOwnerError{Path: dir, UID: int(st.Uid), Want: os.Getuid()}
	case fi.Mode().Perm()&0o077 != 0:
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("local API directory: %w", err)
		}
	}
	return nil
}

// Listen takes addr. A lock file beside the socket serialises two
// listeners starting at once; the socket itself is the lock that lasts: a
// live listener answers on it. When something is at addr, inUse decides:
// nil means stale (it is replaced), an error is returned as is.
func Listen(addr string, inUse InUse) (net.Listener, error) {
	if err := socketDir(addr); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(filepath.Dir(addr), "agent.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("local API lock: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return nil, fmt.Errorf("local API lock: %w", err)
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)

	if _, err := os.Lstat(addr); err == nil {
		if err := inUse(addr); err != nil {
			return nil, err
		}
		if err := os.Remove(addr); err != nil {
			return nil, fmt.Errorf("removing the stale socket: %w", err)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("local API: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	// The directory already keeps others out; the mode says it again.
	if err := os.Chmod(addr, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("local API: %w", err)
	}
	return &unixListener{ln}, nil
}

type unixListener struct{ *net.UnixListener }

// Accept checks every peer's uid: the socket's mode is a first fence, the
// kernel's word on who connected is the second.
func (l *unixListener) Accept() (net.Conn, error) {
	c, err := l.AcceptUnix()
	if err != nil {
		return nil, err
	}
	raw, err := c.SyscallConn()
	if err != nil {
		c.Close()
		return nil, err
	}
	var uid, pid int
	var cerr error
	if err := raw.Control(func(fd uintptr) { uid, pid, cerr = peerCred(int(fd)) }); err != nil {
		cerr = err
	}
	if cerr != nil {
		c.Close()
		return nil, fmt.Errorf("%w: peer credentials: %v", ErrPeerRefused, cerr)
	}
	if uid != os.Getuid() {
		c.Close()
		return nil, fmt.Errorf("%w: uid %d (pid %d)", ErrPeerRefused, uid, pid)
	}
	return c, nil
}

// Dial connects to addr; a missing or dead socket is ErrNotListening.
// A failure where the socket or its directory is another user's is
// *NotOwnerError (wrapping the connect error): starting SITHS eID again
// would not help, so it must not read as "not running". A connection that
// succeeds is left to the agent's own peer check (Accept).
func Dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", addr)
	if err != nil {
		for _, p := range []string{filepath.Dir(addr), addr} {
			if no := foreignOwner(p); no != nil {
				no.Err = err
				return nil, no
			}
		}
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%w: %w", ErrNotListening, err)
		}
		return nil, fmt.Errorf("connecting to the local socket: %w", err)
	}
	return c, nil
}

// foreignOwner returns *NotOwnerError when path exists and belongs to
// another user, else nil (a missing path is left to the caller).
func foreignOwner(path string) *NotOwnerError {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return &NotOwnerError{Path: path, UID: int(st.Uid), Want: os.Getuid()}
	}
	return nil
}
