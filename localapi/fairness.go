package localapi

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Fair shares of the local API under a flood. A client of the user's own
// (a buggy or hostile program in the session) must not hold the calls the
// others need: the windows, the tray's, `sithseid status`, the browser's
// hand-off of a login. So the calls in flight are bounded per connection,
// per peer process and on the whole server, and the connections per peer
// process; what is over a bound is refused at once (a reply, never a
// queue), and the read loop never waits for room.
//
// A peer is the process at the other end of the connection as the kernel
// reports it (SO_PEERCRED on Linux, LOCAL_PEERPID on macOS, or the
// connection's own PeerPID method). Where the process is not known, the
// connection is its own peer.

// Default bounds per peer process: far above what one of the product's
// clients has open (a window process: one connection, two subscriptions
// and a call or two; the CLI and the hand-off: one connection, one call),
// and a quarter of DefaultMaxCalls, so that it takes four flooding
// processes at once to fill the server.
const (
	DefaultMaxCallsPerPeer = DefaultMaxCalls / 4
	DefaultMaxConnsPerPeer = 32
)

// ErrTooManyConnections: the peer process has as many connections open to
// the agent as it takes from one process (Server.MaxConnsPerPeer); the
// connection was closed at once.
var ErrTooManyConnections = errors.New("too many local API connections from one process")

// peerPIDer is a connection that knows its peer's process id (0: not
// known).
type peerPIDer interface{ PeerPID() int }

// peerOf is the process at the other end of rwc, 0 when not known.
func peerOf(rwc io.ReadWriteCloser) int {
	if p, ok := rwc.(peerPIDer); ok {
		return p.PeerPID()
	}
	return kernelPeerPID(rwc)
}

// peer is what one peer process holds of the server, under Server.mu.
type peer struct {
	pid   int // 0: the process is not known; the peer is one connection
	conns int
	calls int
	// refused counts the calls (and connections) refused in the burst
	// going on, last when the latest was; the first is logged, the rest
	// when the burst ends: the peer's last connection closes, or a call of
	// its is taken burstQuiet after its latest refusal.
	refused int
	last    time.Time
}

// burstQuiet is how long a peer goes without a refusal before its burst
// counts as over.
const burstQuiet = 5 * time.Second

func (s *Server) maxPerPeer() int {
	if s.MaxCallsPerPeer <= 0 {
		return DefaultMaxCallsPerPeer
	}
	return s.MaxCallsPerPeer
}

func (s *Server) maxConnsPerPeer() int {
	if s.MaxConnsPerPeer <= 0 {
		return DefaultMaxConnsPerPeer
	}
	return s.MaxConnsPerPeer
}

func (s *Server) maxCalls() int {
	if s.MaxCalls <= 0 {
		return DefaultMaxCalls
	}
	return s.MaxCalls
}

// clock is the time for the bursts' ends (Server.now in tests).
func (s *Server) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// join counts a new connection from the process pid, or refuses it: the
// error is the connection's refusal.
func (s *Server) join(pid int) (*peer, error) {
	if pid == 0 {
		return &peer{}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peers == nil {
		s.peers = map[int]*peer{}
	}
	p := s.peers[pid]
	if p == nil {
		p = &peer{pid: pid}
		s.peers[pid] = p
	}
	if p.conns >= s.maxConnsPerPeer() {
		err := fmt.Errorf("%w (pid %d has %d open)", ErrTooManyConnections, pid, p.conns)
		s.refusedLocked(p, err)
		return nil, err
	}
	p.conns++
	return p, nil
}

// leave uncounts a connection of p.
func (s *Server) leave(p *peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.pid != 0 {
		p.conns--
	}
	if p.conns > 0 {
		return
	}
	s.burstEndedLocked(p)
	if p.pid != 0 && s.peers[p.pid] == p {
		delete(s.peers, p.pid)
	}
}

// acquire takes room for one more call of p, whose connection has
// onConn calls in flight, or says which bound refuses it.
func (s *Server) acquire(p *peer, onConn int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	switch {
	case onConn >= s.maxPerConn():
		err = fmt.Errorf("%w (%d on this connection)", ErrTooManyCalls, onConn)
	case p.pid != 0 && p.calls >= s.maxPerPeer():
		err = fmt.Errorf("%w (%d from pid %d)", ErrTooManyCalls, p.calls, p.pid)
	case s.calls >= s.maxCalls():
		err = fmt.Errorf("%w (%d in the agent)", ErrTooManyCalls, s.calls)
	}
	if err != nil {
		s.refusedLocked(p, err)
		return err
	}
	if p.refused > 0 && s.clock().Sub(p.last) >= burstQuiet {
		s.burstEndedLocked(p)
	}
	p.calls++
	s.calls++
	return nil
}

// release gives back the room of one call of p.
func (s *Server) release(p *peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.calls--
	s.calls--
}

// refusedLocked counts a refusal of p's; the first of a burst is logged.
func (s *Server) refusedLocked(p *peer, err error) {
	p.refused++
	p.last = s.clock()
	if p.refused == 1 {
		s.log().Warn("local API flood: refusing a client's calls over its bound until it makes room (logged once per burst)",
			"pid", p.pid, "err", err, "maxCallsPerConn", s.maxPerConn(), "maxCallsPerPeer", s.maxPerPeer(),
			"maxConnsPerPeer", s.maxConnsPerPeer(), "maxCalls", s.maxCalls())
	}
}

// burstEndedLocked ends p's burst of refusals, if any, with one line.
func (s *Server) burstEndedLocked(p *peer) {
	if p.refused == 0 {
		return
	}
	s.log().Info("local API flood over", "pid", p.pid, "refused", p.refused)
	p.refused = 0
}
