package rig

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ebfe/scard"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// helperEnv makes the test binary a PC/SC client that prints the readers of
// the pcscd in PCSCLITE_CSOCK_NAME, one "NAME\tpresent|empty" line each.
// A subprocess, because libpcsclite binds to one socket per process.
const helperEnv = "RIG_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "readers" {
		os.Exit(helperReaders())
	}
	os.Exit(Main(m))
}

func helperReaders() int {
	states, err := readerStates()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, s := range states {
		fmt.Println(s)
	}
	return 0
}

// readerStates lists the readers of the process's pcscd with their card
// presence: "NAME\tpresent" or "NAME\tempty".
func readerStates() ([]string, error) {
	ctx, err := scard.EstablishContext()
	if err != nil {
		return nil, fmt.Errorf("establish context: %w", err)
	}
	defer ctx.Release()
	names, err := ctx.ListReaders()
	if err != nil {
		return nil, fmt.Errorf("list readers: %w", err)
	}
	rs := make([]scard.ReaderState, len(names))
	for i, n := range names {
		rs[i] = scard.ReaderState{Reader: n, CurrentState: scard.StateUnaware}
	}
	if err := ctx.GetStatusChange(rs, 0); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	var out []string
	for _, r := range rs {
		st := "empty"
		if r.EventState&scard.StatePresent != 0 {
			st = "present"
		}
		out = append(out, r.Reader+"\t"+st)
	}
	return out, nil
}

// readersOf runs the helper against p.
func readersOf(t *testing.T, p *PCSCD) ([]string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(p.Env(), helperEnv+"=readers")
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return nil, fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return nil, err
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n"), nil
}

// waitReaders polls p until its reader list equals want (cards take
// 70–400 ms to show up after a connect).
func waitReaders(t *testing.T, p *PCSCD, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := readersOf(t, p)
		if err == nil && slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("readers of %s: got %q (err %v), want %q", p.Socket(), got, err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fakeCard is the smallest vpcd client: it answers the ATR and refuses
// every APDU. Enough to make a reader show a card.
type fakeCard struct {
	conn net.Conn
	done chan error
}

var fakeATR = []byte{0x3B, 0x80, 0x80, 0x01, 0x01}

func insertFake(t *testing.T, addr string) *fakeCard {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("fake card dial %s: %v", addr, err)
	}
	c := &fakeCard{conn: conn, done: make(chan error, 1)}
	go func() { c.done <- c.serve() }()
	t.Cleanup(c.remove)
	return c
}

func (c *fakeCard) serve() error {
	var hdr [2]byte
	for {
		if _, err := io.ReadFull(c.conn, hdr[:]); err != nil {
			return err
		}
		msg := make([]byte, binary.BigEndian.Uint16(hdr[:]))
		if _, err := io.ReadFull(c.conn, msg); err != nil {
			return err
		}
		var reply []byte
		switch {
		case len(msg) == 1 && msg[0] == 0x04: // get ATR
			reply = fakeATR
		case len(msg) == 1: // power off/on, reset: no reply
			continue
		default:
			reply = []byte{0x6D, 0x00} // INS not supported
		}
		out := binary.BigEndian.AppendUint16(nil, uint16(len(reply)))
		if _, err := c.conn.Write(append(out, reply...)); err != nil {
			return err
		}
	}
}

func (c *fakeCard) remove() { c.conn.Close() }

func TestTwoPCSCDsAreIsolated(t *testing.T) {
	a, b := New(t), New(t)
	if a.Socket() == b.Socket() {
		t.Fatalf("same socket %s", a.Socket())
	}
	for i := range Readers {
		for j := range Readers {
			if a.VPCDPort(i) == b.VPCDPort(j) {
				t.Fatalf("shared vpcd port %d", a.VPCDPort(i))
			}
		}
	}
	r0, r1 := a.Reader(0), a.Reader(1)
	if r0 != "Virtual PCD 00 00" || r1 != "Virtual PCD 00 01" {
		t.Fatalf("reader names %q %q", r0, r1)
	}
	waitReaders(t, a, r0+"\tempty", r1+"\tempty")
	waitReaders(t, b, r0+"\tempty", r1+"\tempty")

	insertFake(t, a.VPCDAddr(0))
	insertFake(t, b.VPCDAddr(1))
	waitReaders(t, a, r0+"\tpresent", r1+"\tempty")
	waitReaders(t, b, r0+"\tempty", r1+"\tpresent")
}

func TestKillAndRestart(t *testing.T) {
	p := New(t)
	ports := []int{p.VPCDPort(0), p.VPCDPort(1)}
	pid := p.PID()
	if pid == 0 {
		t.Fatal("PID() = 0 for a running pcscd")
	}
	card := insertFake(t, p.VPCDAddr(0))
	waitReaders(t, p, p.Reader(0)+"\tpresent", p.Reader(1)+"\tempty")

	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if p.PID() != 0 {
		t.Fatal("PID() != 0 after Kill")
	}
	select {
	case <-card.done: // vpcd's end went away with pcscd
	case <-time.After(5 * time.Second):
		t.Fatal("card connection still open after pcscd was killed")
	}
	if got, err := readersOf(t, p); err == nil {
		t.Fatalf("readers after Kill: %q, want an error", got)
	}

	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	if p.PID() == 0 || p.PID() == pid {
		t.Fatalf("PID after Restart = %d (was %d)", p.PID(), pid)
	}
	if got := []int{p.VPCDPort(0), p.VPCDPort(1)}; !slices.Equal(got, ports) {
		t.Fatalf("ports after Restart %v, want %v", got, ports)
	}
	waitReaders(t, p, p.Reader(0)+"\tempty", p.Reader(1)+"\tempty")
	insertFake(t, p.VPCDAddr(0))
	waitReaders(t, p, p.Reader(0)+"\tpresent", p.Reader(1)+"\tempty")

	// A graceful stop and a restart of a stopped pcscd work too.
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	waitReaders(t, p, p.Reader(0)+"\tempty", p.Reader(1)+"\tempty")
}

// TestInProcess uses the pcscd Main started, through libpcsclite in this
// very process.
func TestInProcess(t *testing.T) {
	p := Require(t)
	if got := os.Getenv(EnvSocket); got != p.Socket() {
		t.Fatalf("%s = %q, want %q", EnvSocket, got, p.Socket())
	}
	insertFake(t, p.VPCDAddr(1))
	deadline := time.Now().Add(5 * time.Second)
	want := []string{p.Reader(0) + "\tempty", p.Reader(1) + "\tpresent"}
	for {
		got, err := readerStates()
		if err == nil && slices.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("in-process readers: %q (err %v), want %q", got, err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestCloseRemovesEverything(t *testing.T) {
	p, err := StartPCSCD()
	if err != nil {
		testenv.Missing(t, "%v", err)
	}
	pid, dir := p.PID(), p.Dir()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("dir %s still there: %v", dir, err)
	}
	if pcscdCmdline(pid) != "" {
		t.Fatalf("pcscd %d still runs", pid)
	}
	if err := p.Restart(); err == nil {
		t.Fatal("Restart after Close succeeded")
	}
}

// TestPIDFile checks that a private pcscd leaves /run/pcscd/pcscd.pid
// naming the system pcscd when one runs, and absent when none does.
func TestPIDFile(t *testing.T) {
	if _, err := os.Stat(systemPIDFile); err != nil && !os.IsNotExist(err) {
		testenv.Missing(t, "%v", err)
	}
	if f, err := os.OpenFile(systemPIDFile+".probe", os.O_CREATE|os.O_WRONLY, 0o644); err != nil {
		testenv.Missing(t, "cannot write next to %s: %v", systemPIDFile, err)
	} else {
		f.Close()
		os.Remove(systemPIDFile + ".probe")
	}
	check := func(when string) {
		t.Helper()
		// Other test binaries' rigs may be mid-start: give them a moment.
		deadline := time.Now().Add(5 * time.Second)
		for {
			sys := findSystemPCSCD()
			got := parsePID(readPIDFile())
			if got == sys {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: pid file names %d, system pcscd is %d", when, got, sys)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	p := New(t)
	check("after start")
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	check("after kill")
	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	check("after restart")
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	check("after close")
}

// TestPortTaken starts a pcscd whose vpcd port someone else holds: start
// fails fast, and StartPCSCD moves on to another pair.
func TestPortTaken(t *testing.T) {
	if err := Available(); err != nil {
		testenv.Missing(t, "%v", err)
	}
	port, lock, err := reservePortPair()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", port+1))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir, err := os.MkdirTemp(socketTempDir(), "sithseid-rig-")
	if err != nil {
		t.Fatal(err)
	}
	p := &PCSCD{dir: dir, port: port, lock: lock}
	defer p.Close()
	if err := p.writeConf(); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	err = p.start()
	if err == nil {
		t.Fatal("pcscd started although its second vpcd port is taken")
	}
	if d := time.Since(began); d > startTimeout/2 {
		t.Errorf("start took %v to notice the taken port", d)
	}
	t.Logf("%v", err)
}
