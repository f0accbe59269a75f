package rig

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ebfe/scard"

	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/internal/testkit/wait"
)

// Card is a virtual SITHS card running in one of a PCSCD's readers.
type Card struct {
	// Dir is the card's state directory (a test's temporary directory
	// unless ProvisionOptions.Dir said otherwise).
	Dir string
	// Reader is the PC/SC name of the reader the card sits in; Index is
	// that reader's number (0 or 1).
	Reader string
	Index  int
	// Server runs the card: Remove and Insert pull and push it, Stats
	// counts APDUs, signatures and insertions, SetDropAfter arms a pull.
	Server *vcard.Server
	// State is the card itself, for its counters (PINRetries, Signatures)
	// without going through PC/SC.
	State *vcard.Card
	// PIN and PUK are the codes the card was provisioned with: public test
	// values (vcard.DefaultPIN, vcard.DefaultPUK unless set), never real
	// ones.
	PIN, PUK string

	cancel   context.CancelFunc
	done     chan struct{}
	runErr   error
	stopErr  error
	stopOnce sync.Once
	emptied  func() // tells the PCSCD when this card left its reader for good
	own      bool   // its pcscd is this process's (Main's): waitSeen can ask it
}

// InsertCard provisions a virtual card and runs it in reader (0 or 1) until
// tb ends. Zero fields of prov take defaults: a fresh temporary directory,
// vcard.DefaultPIN, vcard.DefaultPUK, and the test PKI's default card (a
// normal RSA card). run.VPCD is set to the reader's address. InsertCard
// returns once pcscd has powered the card up, so PC/SC clients see it.
func (p *PCSCD) InsertCard(tb testing.TB, reader int, prov vcard.ProvisionOptions, run vcard.RunOptions) *Card {
	tb.Helper()
	checkReader(reader)
	if prov.Dir == "" {
		prov.Dir = tb.TempDir()
	}
	if prov.PIN == "" {
		prov.PIN = vcard.DefaultPIN
	}
	if prov.PUK == "" {
		prov.PUK = vcard.DefaultPUK
	}
	if err := vcard.Provision(prov); err != nil {
		tb.Fatalf("provisioning a card in %s: %v", prov.Dir, err)
	}
	return p.RunCard(tb, reader, prov.Dir, prov.PIN, prov.PUK, run)
}

// RunCard runs the card already provisioned in dir in reader until tb
// ends, like InsertCard without provisioning. pin and puk are only recorded
// in the returned Card.
func (p *PCSCD) RunCard(tb testing.TB, reader int, dir, pin, puk string, run vcard.RunOptions) *Card {
	tb.Helper()
	checkReader(reader)
	state, err := vcard.Load(dir)
	if err != nil {
		tb.Fatalf("loading the card in %s: %v", dir, err)
	}
	run.VPCD = p.VPCDAddr(reader)
	minRemoved := run.MinRemoved
	if minRemoved <= 0 {
		minRemoved = vcard.DefaultMinRemoved
	}
	p.waitEmptied(reader, minRemoved)
	ctx, cancel := context.WithCancel(context.Background())
	c := &Card{
		Dir: dir, Reader: p.Reader(reader), Index: reader,
		Server: vcard.NewServer(state, run), State: state,
		PIN: pin, PUK: puk,
		cancel: cancel, done: make(chan struct{}),
		emptied: func() { p.markEmptied(reader) },
	}
	go func() {
		defer close(c.done)
		c.runErr = c.Server.Run(ctx)
	}()
	tb.Cleanup(func() {
		if err := c.Stop(); err != nil {
			tb.Errorf("card in %s: %v", c.Reader, err)
		}
	})
	if err := c.waitPoweredSince(0, 10*time.Second); err != nil {
		tb.Fatalf("card in %s: %v", c.Reader, err)
	}
	c.own = p == current
	if err := c.waitSeen(10 * time.Second); err != nil {
		tb.Fatalf("card in %s: %v", c.Reader, err)
	}
	return c
}

// Stop takes the card out for good and ends its server. Safe to call
// twice; it runs at the end of the test anyway.
func (c *Card) Stop() error {
	c.stopOnce.Do(func() {
		c.cancel()
		if _, ok := wait.TryRecv(c.done, 10*time.Second); !ok {
			c.stopErr = errors.New("card server still running 10 s after Stop")
			return
		}
		c.emptied()
		c.stopErr = c.runErr
	})
	return c.stopErr
}

// Pull takes the card out of the reader (Server.Remove) and waits until the
// card has seen its connection end. pcscd reports the removal to clients
// 70–400 ms later.
func (c *Card) Pull(tb testing.TB) {
	tb.Helper()
	c.Server.Remove()
	deadline := time.Now().Add(5 * time.Second)
	for c.Server.Stats().Present {
		if time.Now().After(deadline) {
			tb.Fatalf("card in %s still connected 5 s after Remove", c.Reader)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Reinsert puts the card back (Server.Insert, also after a DropAfter pull)
// and waits until pcscd has powered it up again.
func (c *Card) Reinsert(tb testing.TB) {
	tb.Helper()
	before := c.Server.Stats().PowerOns
	c.Server.Insert()
	if err := c.waitPoweredSince(before, 10*time.Second); err != nil {
		tb.Fatalf("card in %s: %v", c.Reader, err)
	}
	if err := c.waitSeen(10 * time.Second); err != nil {
		tb.Fatalf("card in %s: %v", c.Reader, err)
	}
}

// waitSeen waits until PC/SC reports the card present in its reader, when
// the card's pcscd is this process's own (Main's: libpcsclite reaches no
// other). pcscd powers a card up a moment before it publishes the reader's
// new state, and an SCardConnect in between fails SCARD_E_NO_SMARTCARD:
// seen on a loaded machine (piv BenchmarkInsertion beside make test).
func (c *Card) waitSeen(timeout time.Duration) error {
	if !c.own {
		return nil
	}
	return readerState(c.Reader, scard.StatePresent, time.Now().Add(timeout), "to hold a card", "shows no card")
}

// waitPoweredSince waits until pcscd has powered the card up more often than
// before: vpcd reports a connected card as present and pcscd powers it up to
// read its ATR; from then on PC/SC clients find it.
func (c *Card) waitPoweredSince(before int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		st := c.Server.Stats()
		if st.Present && st.PowerOns > before {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("card server ended: %v", c.runErr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not powered up by pcscd within %v (stats %+v)", timeout, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
