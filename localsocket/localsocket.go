// Package localsocket is the local API's transport, per OS: a Unix domain
// socket in a directory only the user can enter, or a named pipe per user
// and session on Windows. Listen and Dial return net.Listener and net.Conn;
// every accepted connection's peer has been checked to be this user (the
// kernel's word: SO_PEERCRED, LOCAL_PEERCRED, the pipe client's token).
// What runs over the connection is the localapi package's business.
package localsocket

import (
	"errors"
	"fmt"
)

// ErrNotListening: nothing listens at the address (no socket, or a dead
// one; no pipe).
var ErrNotListening = errors.New("nothing listens at the local socket")

// ErrPeerRefused: a connection came from another user. Accept returns it
// wrapped (the connection already closed); the listener stays open.
var ErrPeerRefused = errors.New("local API connection from another user refused")

// ErrInUse: the address is taken by a live listener.
var ErrInUse = errors.New("local socket in use")

// InUse is asked, under the listener's lock, whether something live holds
// addr. It returns nil when nothing answers there (a stale socket, which
// Listen then replaces), or the error Listen should return.
type InUse func(addr string) error

// NotOwnerError: the socket, or the directory that holds it, belongs to
// another user (in a shared /tmp someone made it first, or a session was
// switched under the same path). Nothing there is trusted: Listen does not
// take it and Dial does not connect. Logging out and in again (a fresh
// runtime directory) or IT removing it helps; restarting SITHS eID does not.
type NotOwnerError struct {
	// Path is the socket or directory found.
	Path string
	// UID is its owner; Want is this process's user.
	UID, Want int
	// Err is what failed because of it (Dial's connect error), or nil.
	Err error
}

func (e *NotOwnerError) Error() string {
	s := fmt.Sprintf("local API %s belongs to uid %d, not to this user (uid %d)", e.Path, e.UID, e.Want)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *NotOwnerError) Unwrap() error { return e.Err }
