package vcard

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMinRemoved is RunOptions.MinRemoved's default: one pcscd poll
// period (400 ms) with a margin.
const DefaultMinRemoved = 500 * time.Millisecond

// DefaultVPCD is vpcd's first reader ("Virtual PCD 00 00") on the system pcscd.
const DefaultVPCD = "127.0.0.1:35963"

// RunOptions configure a Server. The zero value works.
type RunOptions struct {
	// VPCD is the address vpcd listens on; "" = DefaultVPCD.
	VPCD string
	// Latency is added to every APDU, SignLatency to every private-key
	// operation on top, to emulate a real card's timing.
	Latency, SignLatency time.Duration
	// DropAfter pulls the card (closes the connection) right after the
	// DropAfter-th APDU from now; the card stays out until Insert. 0 = never.
	DropAfter int
	// MinRemoved is the shortest time the card stays out of the reader
	// after Remove or a drop; 0 = DefaultMinRemoved. pcscd polls vpcd for
	// presence (by asking for the ATR) every 400 ms: a card back sooner may
	// be a removal that pcscd and its clients never see.
	MinRemoved time.Duration
	// Trace gets one line per APDU: instruction, P1 P2, lengths, status
	// word and time. Never data: no PIN, PUK or key bytes.
	Trace io.Writer
}

// Stats are a Server's counters since it was created.
type Stats struct {
	APDUs      int64 `json:"apdus"`
	Signatures int64 `json:"signatures"` // private-key operations
	Verifies   int64 `json:"verifies"`   // VERIFY commands carrying a PIN
	Inserted   int64 `json:"inserted"`   // connections made to vpcd (card insertions)
	Removed    int64 `json:"removed"`    // connections ended (pulls, drops, vpcd gone)
	Drops      int64 `json:"drops"`      // pulls by the DropAfter fault (either mode)
	// Unanswered counts APDUs the card executed or swallowed without
	// answering: the DropBeforeAnswer fault, a mute card, a held APDU.
	Unanswered int64 `json:"unanswered"`
	PowerOns   int64 `json:"power_ons"`
	Resets     int64 `json:"resets"`
	Present    bool  `json:"present"` // connected to vpcd right now
	WantIn     bool  `json:"want_in"` // inserted (false after Remove or a drop)
}

// Server is a card in a vpcd reader. vpcd listens; the card connects to it
// (connect = card inserted, close = card removed). See FIELD-NOTES.md for
// the wire protocol: every message is a 2-byte big-endian length and a
// payload; a 1-byte payload is a control code.
type Server struct {
	card *Card
	opts RunOptions

	mu        sync.Mutex
	wantIn    bool
	conn      net.Conn
	dropAfter int // APDUs left until the drop fault fires; 0 = off
	dropMode  DropMode
	mute      bool          // APDUs get an empty answer, nothing is executed
	holdAt    int           // APDUs left until the hold fault fires; 0 = off
	held      chan struct{} // closed when the held APDU arrived
	observer  func(ins byte)
	wake      chan struct{}
	outSince  time.Time // when the card last left the reader
	traceMu   sync.Mutex

	powered atomic.Bool // powered up by vpcd since the card last entered the reader

	apdus, signatures, verifies, inserted, removed, drops, powerOns, resets, unanswered atomic.Int64
	present                                                                             atomic.Bool
}

// NewServer puts card in a reader; Run connects it.
func NewServer(card *Card, opts RunOptions) *Server {
	if opts.VPCD == "" {
		opts.VPCD = DefaultVPCD
	}
	if opts.MinRemoved <= 0 {
		opts.MinRemoved = DefaultMinRemoved
	}
	return &Server{card: card, opts: opts, wantIn: true, dropAfter: opts.DropAfter, wake: make(chan struct{}, 1)}
}

// Card is the card this server holds.
func (s *Server) Card() *Card { return s.card }

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	want := s.wantIn
	s.mu.Unlock()
	return Stats{
		APDUs: s.apdus.Load(), Signatures: s.signatures.Load(), Verifies: s.verifies.Load(),
		Inserted: s.inserted.Load(), Removed: s.removed.Load(), Drops: s.drops.Load(), Unanswered: s.unanswered.Load(),
		PowerOns: s.powerOns.Load(), Resets: s.resets.Load(), Present: s.present.Load(), WantIn: want,
	}
}

// WaitReady waits until the card is in the reader and pcscd has powered
// it up since it entered, i.e. until pcscd knows this card. Clients that
// open the card sooner may reach the card pcscd still thinks is there.
func (s *Server) WaitReady(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if s.present.Load() && s.powered.Load() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// SetDropAfter re-arms the drop fault: the card is pulled right after the
// n-th APDU from now, once it has answered it (DropAfterAnswer). 0
// disarms it.
func (s *Server) SetDropAfter(n int) { s.SetDrop(n, DropAfterAnswer) }

// DropMode says when the drop fault pulls the card at its APDU.
type DropMode int

const (
	// DropAfterAnswer: the card executes the APDU, answers it, then
	// leaves the reader. The client has the answer.
	DropAfterAnswer DropMode = iota
	// DropBeforeAnswer: the card executes the APDU (a PIN changed, a
	// try spent, an object deleted) and leaves the reader without
	// answering: the command took effect but its answer is lost.
	DropBeforeAnswer
)

func (m DropMode) String() string {
	if m == DropBeforeAnswer {
		return "drop-before-answer"
	}
	return "drop-after-answer"
}

// SetDrop re-arms the drop fault in mode m: the card leaves the reader at
// the n-th APDU from now. 0 disarms it.
func (s *Server) SetDrop(n int, m DropMode) {
	s.mu.Lock()
	s.dropAfter, s.dropMode = n, m
	s.mu.Unlock()
}

// SetMute makes the card stop answering (on) or answer again (off). A
// mute card stays in the reader and answers the reader's power and ATR
// requests, but every APDU gets a one-byte reply (no status word) and is
// not executed: what a card that stopped responding looks like to a
// client (a response too short to hold a status word).
func (s *Server) SetMute(on bool) {
	s.mu.Lock()
	s.mute = on
	s.mu.Unlock()
}

// HoldAt arms the hold fault: the n-th APDU from now is read and then
// neither executed nor answered; the card waits until the reader closes
// the connection (pcscd stopped) and then counts as pulled. The returned
// channel is closed when the held APDU has arrived, so a test knows the
// client is in the middle of an exchange. n must be at least 1.
func (s *Server) HoldAt(n int) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdAt = n
	s.held = make(chan struct{})
	return s.held
}

// Observe calls f with the instruction byte of every APDU the card gets,
// before it executes it (nil stops). Tests use it to find the APDU that
// changes the card.
func (s *Server) Observe(f func(ins byte)) {
	s.mu.Lock()
	s.observer = f
	s.mu.Unlock()
}

// Remove pulls the card out of the reader (closes the connection). It stays
// out until Insert.
func (s *Server) Remove() {
	s.mu.Lock()
	s.wantIn = false
	conn := s.conn
	s.powered.Store(false)
	s.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
}

// Insert puts the card back (Run reconnects at once).
func (s *Server) Insert() {
	s.mu.Lock()
	s.wantIn = true
	s.mu.Unlock()
	s.poke()
}

func (s *Server) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run keeps the card in the reader until ctx ends: it connects to vpcd,
// serves it, and reconnects with backoff when vpcd goes away (pcscd
// restarted). It returns nil when ctx ends.
func (s *Server) Run(ctx context.Context) error {
	const minBackoff, maxBackoff = 20 * time.Millisecond, time.Second
	backoff := minBackoff
	var d net.Dialer
	for {
		if ctx.Err() != nil {
			return nil
		}
		s.mu.Lock()
		want := s.wantIn
		s.mu.Unlock()
		if !want {
			select {
			case <-ctx.Done():
				return nil
			case <-s.wake:
			}
			continue
		}
		s.mu.Lock()
		wait := s.opts.MinRemoved - time.Since(s.outSince)
		s.mu.Unlock()
		if wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
		conn, err := d.DialContext(ctx, "tcp", s.opts.VPCD)
		if err != nil {
			select {
			case <-ctx.Done():
				return nil
			case <-s.wake:
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		s.mu.Lock()
		if !s.wantIn { // removed while dialing
			s.mu.Unlock()
			conn.Close()
			continue
		}
		s.conn = conn
		s.mu.Unlock()
		s.powered.Store(false)
		s.inserted.Add(1)
		s.present.Store(true)
		// A card that enters the reader starts from power-on state, even if
		// pcscd has not yet powered it (it may never have seen it leave).
		s.card.Reset()
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		start := time.Now()
		err = s.serve(conn)
		stop()
		conn.Close()
		s.mu.Lock()
		s.conn = nil
		s.outSince = time.Now()
		s.mu.Unlock()
		s.present.Store(false)
		s.removed.Add(1)
		s.card.PowerOff() // a pulled card loses power
		// A connection that vpcd closed soon after it was made means vpcd
		// is going away (pcscd stopping): back off. One that lived is
		// reconnected at once.
		if errors.Is(err, errVPCDClosed) && time.Since(start) < time.Second {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, maxBackoff)
		} else {
			backoff = minBackoff
		}
	}
}

var errVPCDClosed = errors.New("vcard: vpcd closed the connection")

// serve answers vpcd until the connection ends.
func (s *Server) serve(conn net.Conn) error {
	tc, _ := conn.(*net.TCPConn)
	var hdr [2]byte
	buf := make([]byte, 0, 70000)
	for {
		if tc != nil {
			quickAck(tc)
		}
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			return readErr(err)
		}
		n := int(binary.BigEndian.Uint16(hdr[:]))
		msg := make([]byte, n)
		if _, err := io.ReadFull(conn, msg); err != nil {
			return readErr(err)
		}
		var reply []byte
		switch {
		case n == 0:
			continue
		case n == 1:
			switch msg[0] {
			case 0x00: // power off
				s.card.PowerOff()
				continue
			case 0x01: // power on
				s.powerOns.Add(1)
				s.powered.Store(true)
				s.card.Reset()
				continue
			case 0x02: // reset
				s.resets.Add(1)
				s.card.Reset()
				continue
			case 0x04: // get ATR
				reply = s.card.ATR()
			default:
				continue
			}
		default:
			if s.observe(msg); s.holdDue() {
				clear(msg)
				return s.hold(conn)
			}
			if s.isMute() {
				clear(msg)
				s.unanswered.Add(1)
				// One byte: no status word. (An empty reply is not
				// one: vpcd keeps waiting for the answer.)
				reply = []byte{0x00}
				break
			}
			reply = s.apdu(msg)
			clear(msg) // it may have carried a PIN or PUK
		}
		// Count the APDU against the drop fault, and record a drop, before
		// answering it: once the client has the answer it may re-arm the
		// fault, or look at the stats and find the card still in.
		drop, mode := false, DropAfterAnswer
		if n > 1 {
			drop, mode = s.dropDue()
		}
		if drop && mode == DropBeforeAnswer {
			// Executed, and gone before the answer left the card.
			s.unanswered.Add(1)
			return nil
		}
		buf = buf[:0]
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(reply)))
		buf = append(buf, reply...)
		// One Write per reply: with vpcd's two-send framing and Nagle, a
		// split reply stalls on delayed ACK (FIELD-NOTES "Latency gotcha").
		if _, err := conn.Write(buf); err != nil {
			return err
		}
		if drop {
			return nil
		}
	}
}

func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errVPCDClosed
	}
	return err
}

// dropDue counts an APDU against the drop fault. When the fault fires it
// records the drop at once (the card is out and unpowered), before the
// last answer goes out, and says in which mode.
func (s *Server) dropDue() (bool, DropMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropAfter <= 0 {
		return false, 0
	}
	s.dropAfter--
	if s.dropAfter != 0 {
		return false, 0
	}
	s.wantIn = false
	s.powered.Store(false)
	s.drops.Add(1)
	return true, s.dropMode
}

func (s *Server) isMute() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mute
}

func (s *Server) observe(capdu []byte) {
	s.mu.Lock()
	f := s.observer
	s.mu.Unlock()
	if f != nil && len(capdu) >= 2 {
		f(capdu[1])
	}
}

// holdDue counts an APDU against the hold fault and says whether this is
// the APDU to hold (it then signals the waiter).
func (s *Server) holdDue() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holdAt <= 0 {
		return false
	}
	s.holdAt--
	if s.holdAt != 0 {
		return false
	}
	close(s.held)
	return true
}

// hold keeps a held APDU unanswered until vpcd closes the connection
// (pcscd stopped, or Remove), reading and discarding anything vpcd sends
// meanwhile (its presence polls go unanswered too).
func (s *Server) hold(conn net.Conn) error {
	s.unanswered.Add(1)
	_, err := io.Copy(io.Discard, conn)
	if err == nil {
		err = errVPCDClosed
	}
	return readErr(err)
}

func (s *Server) apdu(capdu []byte) []byte {
	start := time.Now()
	if s.opts.Latency > 0 {
		time.Sleep(s.opts.Latency)
	}
	resp, kind := s.card.transmit(capdu)
	s.apdus.Add(1)
	switch kind {
	case opSign:
		s.signatures.Add(1)
		if s.opts.SignLatency > 0 {
			time.Sleep(s.opts.SignLatency)
		}
	case opVerify:
		s.verifies.Add(1)
	}
	if s.opts.Trace != nil {
		s.trace(capdu, resp, time.Since(start))
	}
	return resp
}

// trace writes one line: never the command or response data.
func (s *Server) trace(capdu, resp []byte, d time.Duration) {
	var ins, p1, p2 byte
	if len(capdu) >= 4 {
		ins, p1, p2 = capdu[1], capdu[2], capdu[3]
	}
	code := 0
	if len(resp) >= 2 {
		code = int(resp[len(resp)-2])<<8 | int(resp[len(resp)-1])
	}
	line := fmt.Sprintf("%s ins=%02X p1p2=%02X%02X %s capdu=%d rdata=%d sw=%04X us=%d\n",
		time.Now().UTC().Format("15:04:05.000000"), ins, p1, p2, insName(ins), len(capdu), len(resp)-2, code, d.Microseconds())
	s.traceMu.Lock()
	_, _ = io.WriteString(s.opts.Trace, line)
	s.traceMu.Unlock()
}

func insName(ins byte) string {
	switch ins {
	case 0xA4:
		return "SELECT"
	case 0xCB:
		return "GET_DATA"
	case 0xDB:
		return "PUT_DATA"
	case 0x20:
		return "VERIFY"
	case 0x24:
		return "CHANGE_REFERENCE"
	case 0x2C:
		return "RESET_RETRY"
	case 0x87:
		return "GENERAL_AUTHENTICATE"
	case 0x47:
		return "GENERATE"
	case 0xC0:
		return "GET_RESPONSE"
	case 0xFD:
		return "GET_VERSION"
	case 0xF8:
		return "GET_SERIAL"
	case 0xF7:
		return "GET_METADATA"
	case 0xFF:
		return "SET_MGMT_KEY"
	case 0xFE:
		return "IMPORT_KEY"
	case 0xFB:
		return "RESET"
	case 0xFA:
		return "SET_RETRIES"
	case 0xB0:
		return "READ_BINARY"
	case 0xCA:
		return "GET_DATA_CA"
	case 0x22:
		return "MSE"
	case 0x2A:
		return "PSO"
	}
	return "OTHER"
}
