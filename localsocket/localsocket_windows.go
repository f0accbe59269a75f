//go:build windows

package localsocket

// The local API on Windows: a named pipe per user and session.
//
// UNTESTED: this file is compiled and vetted (GOOS=windows go vet ./localsocket)
// but has never run; the project's test machines are Linux. Before relying
// on it, run the agent package's tests on Windows.
//
// The pipe is \\.\pipe\sithseid-agent-<user SID>-<session id>. Its DACL
// (protected, no inheritance) grants access to the user's SID only; remote
// clients are rejected (PIPE_REJECT_REMOTE_CLIENTS); the first instance is
// created with FILE_FLAG_FIRST_PIPE_INSTANCE, so a second agent (or anyone
// who made the name first) fails to create it. Each connection's client
// process is checked to run as the same user in the same session, and the
// client checks the same of the server before it speaks.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Path is the local API's pipe for this user and session; the
// environment plays no part on Windows.
func Path(func(string) string) (string, error) {
	sid, err := currentSID()
	if err != nil {
		return "", err
	}
	var session uint32
	if err := windows.ProcessIdToSessionId(windows.GetCurrentProcessId(), &session); err != nil {
		return "", fmt.Errorf("session id: %w", err)
	}
	return `\\.\pipe\sithseid-agent-` + sid.String() + "-" + strconv.FormatUint(uint64(session), 10), nil
}

func currentSID() (*windows.SID, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("current user: %w", err)
	}
	return u.User.Sid, nil
}

// samePrincipal reports whether process pid runs as the current user in
// the current session.
func samePrincipal(pid uint32) (bool, error) {
	self, err := currentSID()
	if err != nil {
		return false, err
	}
	p, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return false, err
	}
	defer windows.CloseHandle(p)
	var tok windows.Token
	if err := windows.OpenProcessToken(p, windows.TOKEN_QUERY, &tok); err != nil {
		return false, err
	}
	defer tok.Close()
	u, err := tok.GetTokenUser()
	if err != nil {
		return false, err
	}
	var theirs, ours uint32
	if err := windows.ProcessIdToSessionId(pid, &theirs); err != nil {
		return false, err
	}
	if err := windows.ProcessIdToSessionId(windows.GetCurrentProcessId(), &ours); err != nil {
		return false, err
	}
	return u.User.Sid.Equals(self) && theirs == ours, nil
}

type pipeListener struct {
	name string
	sa   *windows.SecurityAttributes

	mu     sync.Mutex
	next   windows.Handle // the instance waiting for a client
	closed bool
}

func createPipe(name string, sa *windows.SecurityAttributes, first bool) (windows.Handle, error) {
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return windows.InvalidHandle, err
	}
	flags := uint32(windows.PIPE_ACCESS_DUPLEX | windows.FILE_FLAG_OVERLAPPED)
	if first {
		flags |= windows.FILE_FLAG_FIRST_PIPE_INSTANCE
	}
	mode := uint32(windows.PIPE_TYPE_BYTE | windows.PIPE_READMODE_BYTE | windows.PIPE_WAIT | windows.PIPE_REJECT_REMOTE_CLIENTS)
	return windows.CreateNamedPipe(n, flags, mode, windows.PIPE_UNLIMITED_INSTANCES, 64<<10, 64<<10, 0, sa)
}

// Listen creates the session's pipe. If it exists, a listener (or a
// squatter) holds it: inUse says which error to return, ErrInUse if it
// says nothing.
func Listen(addr string, inUse InUse) (net.Listener, error) {
	sid, err := currentSID()
	if err != nil {
		return nil, err
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;;GA;;;" + sid.String() + ")")
	if err != nil {
		return nil, fmt.Errorf("pipe security descriptor: %w", err)
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	h, err := createPipe(addr, sa, true)
	if err != nil {
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_PIPE_BUSY) {
			if err := inUse(addr); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%w (%s)", ErrInUse, addr)
		}
		return nil, fmt.Errorf("local API pipe: %w", err)
	}
	return &pipeListener{name: addr, sa: sa, next: h}, nil
}

func (l *pipeListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	_ = windows.CancelIoEx(l.next, nil)
	return windows.CloseHandle(l.next)
}

// Accept waits for a client on the waiting instance, makes the next
// instance, and checks the client's user and session.
func (l *pipeListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, os.ErrClosed
	}
	h := l.next
	l.mu.Unlock()
	ev, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return nil, err
	}
	defer windows.CloseHandle(ev)
	ov := &windows.Overlapped{HEvent: ev}
	err = windows.ConnectNamedPipe(h, ov)
	switch {
	case err == nil, errors.Is(err, windows.ERROR_PIPE_CONNECTED):
	case errors.Is(err, windows.ERROR_IO_PENDING):
		var n uint32
		err = windows.GetOverlappedResult(h, ov, &n, true)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, os.ErrClosed
	}
	if err != nil && !errors.Is(err, windows.ERROR_PIPE_CONNECTED) {
		return nil, fmt.Errorf("waiting for a client: %w", err)
	}
	next, err := createPipe(l.name, l.sa, false)
	if err != nil {
		_ = windows.DisconnectNamedPipe(h)
		return nil, fmt.Errorf("local API pipe: %w", err)
	}
	l.next = next
	var pid uint32
	if err := windows.GetNamedPipeClientProcessId(h, &pid); err != nil {
		windows.CloseHandle(h)
		return nil, fmt.Errorf("%w: client process: %v", ErrPeerRefused, err)
	}
	if ok, err := samePrincipal(pid); !ok {
		_ = windows.DisconnectNamedPipe(h)
		windows.CloseHandle(h)
		return nil, fmt.Errorf("%w: pid %d (%v)", ErrPeerRefused, pid, err)
	}
	// Go 1.25 and later run I/O on overlapped handles through the
	// completion port behind os.File.
	return &pipeConn{File: os.NewFile(uintptr(h), l.name), addr: pipeAddr(l.name), peer: int(pid)}, nil
}

// Dial opens the session's pipe and checks that its server runs as this
// user in this session; no pipe is ErrNotListening.
func Dial(ctx context.Context, addr string) (net.Conn, error) {
	n, err := windows.UTF16PtrFromString(addr)
	if err != nil {
		return nil, err
	}
	for {
		h, err := windows.CreateFile(n, windows.GENERIC_READ|windows.GENERIC_WRITE, 0, nil, windows.OPEN_EXISTING,
			windows.FILE_FLAG_OVERLAPPED|windows.SECURITY_SQOS_PRESENT|windows.SECURITY_IDENTIFICATION, 0)
		switch {
		case err == nil:
			var pid uint32
			if err := windows.GetNamedPipeServerProcessId(h, &pid); err != nil {
				windows.CloseHandle(h)
				return nil, fmt.Errorf("agent process: %w", err)
			}
			if ok, err := samePrincipal(pid); !ok {
				windows.CloseHandle(h)
				return nil, fmt.Errorf("the pipe %s is served by another user (pid %d, %v)", addr, pid, err)
			}
			return &pipeConn{File: os.NewFile(uintptr(h), addr), addr: pipeAddr(addr)}, nil
		case errors.Is(err, windows.ERROR_FILE_NOT_FOUND):
			return nil, fmt.Errorf("%w: %w", ErrNotListening, err)
		case errors.Is(err, windows.ERROR_PIPE_BUSY):
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		default:
			return nil, fmt.Errorf("connecting to the agent: %w", err)
		}
	}
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr(l.name) }

// pipeAddr is a pipe's name as a net.Addr.
type pipeAddr string

func (a pipeAddr) Network() string { return "pipe" }
func (a pipeAddr) String() string  { return string(a) }

// pipeConn is a pipe instance as a net.Conn: the file does the I/O and
// the deadlines (overlapped handles go through the runtime's poller).
type pipeConn struct {
	*os.File
	addr pipeAddr
	peer int // the client's process on the server's side; 0 on the client's
}

// PeerPID is the client process of a connection the listener accepted
// (GetNamedPipeClientProcessId), what the local API's fair shares count
// calls and connections by (localapi/fairness.go); 0 on a dialled one.
func (c *pipeConn) PeerPID() int { return c.peer }

func (c *pipeConn) LocalAddr() net.Addr  { return c.addr }
func (c *pipeConn) RemoteAddr() net.Addr { return c.addr }
