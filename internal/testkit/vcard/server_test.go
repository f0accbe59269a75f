package vcard

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// fakeVPCD is the vpcd side of the wire protocol: it listens, and each
// accepted connection is a card insertion.
type fakeVPCD struct {
	l     net.Listener
	conns chan net.Conn
}

func newFakeVPCD(t *testing.T) *fakeVPCD {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	v := &fakeVPCD{l: l, conns: make(chan net.Conn, 4)}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			v.conns <- c
		}
	}()
	t.Cleanup(func() { l.Close() })
	return v
}

func (v *fakeVPCD) accept(t *testing.T) net.Conn {
	t.Helper()
	select {
	case c := <-v.conns:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("the card never connected")
	}
	return nil
}

func send(t *testing.T, c net.Conn, msg []byte) {
	t.Helper()
	// Like vpcd 3.3: length and payload in two writes.
	if _, err := c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(msg)))); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
}

func recv(t *testing.T, c net.Conn) ([]byte, error) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	_, err := io.ReadFull(c, b)
	return b, err
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServerWireProtocol(t *testing.T) {
	v := newFakeVPCD(t)
	card := newCard(t, testpki.RSA2048, "")
	var trace syncBuffer
	srv := NewServer(card, RunOptions{VPCD: v.l.Addr().String(), Trace: &trace, MinRemoved: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return")
		}
	}()

	c := v.accept(t)
	send(t, c, []byte{0x04}) // get ATR
	atr, err := recv(t, c)
	if err != nil || !bytes.Equal(atr, card.ATR()) || atr[0] != 0x3B {
		t.Fatalf("ATR %x %v", atr, err)
	}
	var x byte
	for _, b := range atr[1:] {
		x ^= b
	}
	if x != 0 {
		t.Fatalf("ATR checksum wrong: %x", atr)
	}
	send(t, c, []byte{0x01}) // power on: no reply
	send(t, c, h("00A4040005A000000308"))
	r, err := recv(t, c)
	if err != nil || !bytes.HasSuffix(r, h("9000")) {
		t.Fatalf("SELECT: %x %v", r, err)
	}
	send(t, c, append(h("0020008008"), padRef(DefaultPIN)...))
	r, _ = recv(t, c)
	if !bytes.Equal(r, h("9000")) {
		t.Fatalf("VERIFY: %x", r)
	}
	// Power off forgets the PIN; power on again.
	send(t, c, []byte{0x00})
	send(t, c, []byte{0x01})
	send(t, c, h("00200080"))
	r, _ = recv(t, c)
	if !bytes.Equal(r, h("63C3")) {
		t.Fatalf("after power cycle: %x", r)
	}
	if st := srv.Stats(); st.APDUs != 3 || st.Verifies != 1 || st.PowerOns != 2 || st.Inserted != 1 || !st.Present {
		t.Fatalf("stats %+v", st)
	}
	if tr := trace.String(); !strings.Contains(tr, "VERIFY") || strings.Contains(tr, "313233343536") || strings.Count(tr, "\n") != 3 {
		t.Fatalf("trace:\n%s", tr)
	}

	// Remove: vpcd sees the connection close; Insert: a new one.
	srv.Remove()
	if _, err := recv(t, c); err == nil {
		t.Fatal("connection still open after Remove")
	}
	srv.Insert()
	c = v.accept(t)
	send(t, c, h("00200080"))
	r, _ = recv(t, c)
	if !bytes.Equal(r, h("63C3")) {
		t.Fatalf("after reinsertion: %x", r)
	}

	// The drop fault: answer 2 more APDUs, then close.
	srv.SetDropAfter(2)
	for i := range 2 {
		send(t, c, h("00FD000000"))
		if r, err := recv(t, c); err != nil || len(r) != 5 {
			t.Fatalf("APDU %d before the drop: %x %v", i, r, err)
		}
	}
	if _, err := recv(t, c); err == nil {
		t.Fatal("connection open after the drop")
	}
	select {
	case c := <-v.conns:
		c.Close()
		t.Fatal("a dropped card came back by itself")
	case <-time.After(200 * time.Millisecond):
	}
	if st := srv.Stats(); st.Drops != 1 || st.WantIn || st.Removed != 2 {
		t.Fatalf("stats after drop %+v", st)
	}
	srv.Insert()
	c = v.accept(t)
	// vpcd going away: the card reconnects when it comes back.
	c.Close()
	c = v.accept(t)
	send(t, c, h("00F8000000"))
	if r, err := recv(t, c); err != nil || len(r) != 6 {
		t.Fatalf("after vpcd closed: %x %v", r, err)
	}
}

// TestServerBacksOff: with nobody listening, Run retries without spinning
// and ends with its context.
func TestServerBacksOff(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	srv := NewServer(newCard(t, testpki.RSA2048, ""), RunOptions{VPCD: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := srv.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second || d > 3*time.Second {
		t.Fatalf("Run returned after %v", d)
	}
	if st := srv.Stats(); st.Inserted != 0 || st.Present {
		t.Fatalf("stats %+v", st)
	}
}

func TestServerLatencyAndReady(t *testing.T) {
	v := newFakeVPCD(t)
	card := newCard(t, testpki.P256, "")
	srv := NewServer(card, RunOptions{VPCD: v.l.Addr().String(), Latency: 30 * time.Millisecond, SignLatency: 60 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Run(ctx)
	c := v.accept(t)
	short, scancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer scancel()
	if err := srv.WaitReady(short); err == nil {
		t.Fatal("ready before vpcd powered the card")
	}
	send(t, c, []byte{0x01})
	if err := srv.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	time1 := func(capdu []byte) time.Duration {
		start := time.Now()
		send(t, c, capdu)
		if _, err := recv(t, c); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	if d := time1(h("00FD000000")); d < 30*time.Millisecond || d > time.Second {
		t.Fatalf("APDU took %v with 30 ms latency", d)
	}
	time1(append(h("0020008008"), padRef(DefaultPIN)...))
	digest := make([]byte, 32)
	if d := time1(apdu(0, 0x87, algECCP256, 0x9A, tlv(0x7C, append([]byte{0x82, 0}, tlv(0x81, digest)...)))); d < 90*time.Millisecond {
		t.Fatalf("signature took %v with 30+60 ms latency", d)
	}
	if st := srv.Stats(); st.Signatures != 1 {
		t.Fatalf("stats %+v", st)
	}
	srv.Remove()
	if err := srv.WaitReady(short); err == nil {
		t.Fatal("ready after Remove")
	}
}
