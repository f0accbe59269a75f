// Package localsocket is the local API's transport, per OS: a Unix domain
// socket in a directory only the user can enter, or a named pipe per user
// and session on Windows. Listen and Dial return net.Listener and net.Conn;
// every accepted connection's peer has been checked to be this user (the
// kernel's word: SO_PEERCRED, LOCAL_PEERCRED, the pipe client's token).
// What runs over the connection is the localapi package's business.
package localsocket

import "errors"

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
