package cardreader

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/rig"
)

func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }

// fakeCard is a minimal vpcd client: it answers the ATR requests pcscd makes
// and counts the APDUs it receives (the monitor must send none).
type fakeCard struct {
	conn  net.Conn
	apdus atomic.Int64
}

var fakeATR = []byte{0x3B, 0x88, 0x80, 0x01, 0x53, 0x49, 0x54, 0x48, 0x53, 0x65, 0x49, 0x44, 0x1E}

func insertFake(t *testing.T, addr string) *fakeCard {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("fake card dial %s: %v", addr, err)
	}
	c := &fakeCard{conn: conn}
	go c.serve()
	t.Cleanup(c.remove)
	return c
}

func (c *fakeCard) serve() {
	var hdr [2]byte
	for {
		if _, err := io.ReadFull(c.conn, hdr[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(hdr[:]))
		if _, err := io.ReadFull(c.conn, msg); err != nil {
			return
		}
		var reply []byte
		switch {
		case len(msg) == 1 && msg[0] == 0x04:
			reply = fakeATR
		case len(msg) == 1:
			continue
		default:
			c.apdus.Add(1)
			reply = []byte{0x6D, 0x00}
		}
		out := binary.BigEndian.AppendUint16(nil, uint16(len(reply)))
		if _, err := c.conn.Write(append(out, reply...)); err != nil {
			return
		}
	}
}

func (c *fakeCard) remove() { c.conn.Close() }

// next waits for the next event.
func next(t *testing.T, m *Monitor, within time.Duration) Event {
	t.Helper()
	select {
	case e, ok := <-m.Events():
		if !ok {
			t.Fatal("events closed")
		}
		return e
	case <-time.After(within):
		t.Fatalf("no event within %v", within)
	}
	return Event{}
}

// waitFor reads events until one of kind k for reader (any reader if "").
func waitFor(t *testing.T, m *Monitor, k EventKind, reader string, within time.Duration) Event {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("no %v for %q within %v", k, reader, within)
		}
		e := next(t, m, left)
		if e.Kind == k && (reader == "" || e.Reader.Name == reader) {
			return e
		}
	}
}

func startMonitor(t *testing.T) (*Monitor, *rig.PCSCD) {
	t.Helper()
	p := rig.Require(t)
	m := NewMonitor(context.Background(), MonitorOptions{MinBackoff: 50 * time.Millisecond, MaxBackoff: 400 * time.Millisecond})
	t.Cleanup(func() { m.Close() })
	for i := 0; i < rig.Readers; i++ {
		waitFor(t, m, ReaderAdded, p.Reader(i), 5*time.Second)
	}
	// Cards of an earlier test may still be leaving (pcscd notices a
	// removal 70–400 ms late): wait until the readers are empty and quiet.
	deadline := time.Now().Add(5 * time.Second)
	for {
		quiet := true
		select {
		case <-m.Events():
			quiet = false
		case <-time.After(700 * time.Millisecond):
		}
		empty := true
		for _, r := range m.Readers() {
			empty = empty && !r.CardPresent
		}
		if quiet && empty {
			return m, p
		}
		if time.Now().After(deadline) {
			t.Fatalf("readers did not settle: %+v", m.Readers())
		}
	}
}

func TestMonitorCardInsertRemove(t *testing.T) {
	m, p := startMonitor(t)
	if got := m.Readers(); len(got) != 2 || got[0].Name != p.Reader(0) || got[0].CardPresent {
		t.Fatalf("Readers() = %+v", got)
	}
	card := insertFake(t, p.VPCDAddr(0))
	e := waitFor(t, m, CardInserted, "", 3*time.Second)
	if e.Reader.Name != p.Reader(0) || !e.Reader.CardPresent || !bytes.Equal(e.Reader.ATR, fakeATR) {
		t.Errorf("insert event %+v", e)
	}
	if r := m.Readers()[0]; !r.CardPresent || !bytes.Equal(r.ATR, fakeATR) {
		t.Errorf("Readers()[0] after insert = %+v", r)
	}
	card.remove()
	e = waitFor(t, m, CardRemoved, p.Reader(0), 3*time.Second)
	if e.Reader.CardPresent || e.Reader.ATR != nil {
		t.Errorf("remove event %+v", e)
	}
	if r := m.Readers()[0]; r.CardPresent || r.ATR != nil {
		t.Errorf("Readers()[0] after remove = %+v", r)
	}
	if n := card.apdus.Load(); n != 0 {
		t.Errorf("monitor sent %d APDUs", n)
	}
	// A second card in the other reader, then back in the first.
	c1 := insertFake(t, p.VPCDAddr(1))
	waitFor(t, m, CardInserted, p.Reader(1), 3*time.Second)
	c0 := insertFake(t, p.VPCDAddr(0))
	waitFor(t, m, CardInserted, p.Reader(0), 3*time.Second)
	if rs := m.Readers(); !rs[0].CardPresent || !rs[1].CardPresent {
		t.Errorf("two cards: %+v", rs)
	}
	if c0.apdus.Load()+c1.apdus.Load() != 0 {
		t.Error("monitor sent APDUs")
	}
}

// TestMonitorIdle: with a card present and nothing happening the monitor
// blocks in SCardGetStatusChange: no APDU and (almost) no CPU.
func TestMonitorIdle(t *testing.T) {
	m, p := startMonitor(t)
	card := insertFake(t, p.VPCDAddr(0))
	waitFor(t, m, CardInserted, p.Reader(0), 3*time.Second)
	idle := 3 * time.Second
	if !testing.Short() {
		idle = 10 * time.Second
	}
	before := cpuTime(t)
	select {
	case e := <-m.Events():
		t.Fatalf("event while idle: %+v", e)
	case <-time.After(idle):
	}
	used := cpuTime(t) - before
	if n := card.apdus.Load(); n != 0 {
		t.Errorf("%d APDUs while idle", n)
	}
	// The whole test process: a polling monitor would burn far more.
	if used > idle/100 {
		t.Errorf("process used %v CPU in %v idle", used, idle)
	}
	t.Logf("idle %v: %d APDUs, %v CPU", idle, card.apdus.Load(), used)
}

func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestMonitorServiceRestart: pcscd killed and restarted while the monitor
// runs; events resume without restarting the monitor.
func TestMonitorServiceRestart(t *testing.T) {
	m, p := startMonitor(t)
	insertFake(t, p.VPCDAddr(0))
	waitFor(t, m, CardInserted, p.Reader(0), 3*time.Second)

	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	e := waitFor(t, m, ServiceLost, "", 5*time.Second)
	if !errors.Is(e.Err, ErrNoService) {
		t.Errorf("ServiceLost.Err = %v, want ErrNoService", e.Err)
	}
	waitFor(t, m, ReaderRemoved, "", 2*time.Second)
	time.Sleep(300 * time.Millisecond) // a few failed reconnects
	if rs := m.Readers(); len(rs) != 0 {
		t.Errorf("readers while the service is down: %+v", rs)
	}
	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, m, ServiceBack, "", 5*time.Second)
	// ServiceBack comes first, then the readers.
	if e := next(t, m, 3*time.Second); e.Kind != ReaderAdded {
		t.Errorf("after ServiceBack: %+v", e)
	}
	// The killed pcscd dropped the card's connection: insert a new one.
	card := insertFake(t, p.VPCDAddr(0))
	waitFor(t, m, CardInserted, p.Reader(0), 5*time.Second)
	card.remove()
	waitFor(t, m, CardRemoved, p.Reader(0), 5*time.Second)
}

func TestMonitorClose(t *testing.T) {
	m, _ := startMonitor(t)
	start := time.Now()
	done := make(chan struct{})
	go func() { m.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close blocked")
	}
	t.Logf("Close took %v", time.Since(start))
	for range m.Events() {
	}
	m.Close() // twice is fine
}

func TestMonitorContextCancel(t *testing.T) {
	rig.Require(t)
	ctx, cancel := context.WithCancel(context.Background())
	m := NewMonitor(ctx, MonitorOptions{})
	waitFor(t, m, ReaderAdded, "", 5*time.Second)
	cancel()
	deadline := time.After(2 * time.Second)
	for {
		select {
		case _, ok := <-m.Events():
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("events not closed after cancel")
		}
	}
}

// TestListReadersAgreesWithMonitor: the one-shot ListReaders (CLI without an
// agent) sees what the monitor sees, and sends no APDU.
func TestListReadersAgreesWithMonitor(t *testing.T) {
	m, p := startMonitor(t)
	card := insertFake(t, p.VPCDAddr(1))
	waitFor(t, m, CardInserted, p.Reader(1), 3*time.Second)
	got, err := ListReaders(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := m.Readers()
	if len(got) != 2 || len(want) != 2 {
		t.Fatalf("ListReaders %+v, monitor %+v", got, want)
	}
	for i := range got {
		if got[i].Name != want[i].Name || got[i].CardPresent != want[i].CardPresent || !bytes.Equal(got[i].ATR, want[i].ATR) {
			t.Errorf("reader %d: ListReaders %+v, monitor %+v", i, got[i], want[i])
		}
	}
	if !got[1].CardPresent || got[0].CardPresent {
		t.Errorf("card presence: %+v", got)
	}
	if n := card.apdus.Load(); n != 0 {
		t.Errorf("%d APDUs", n)
	}
}
