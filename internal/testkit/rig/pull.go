package rig

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ebfe/scard"
)

// PullEveryAPDU is the card-pull fault run over one operation. It runs op
// once untouched to count its APDUs (n), then for every k < n that want
// accepts (nil: all), pulls the card right after the k-th APDU, runs op
// again and hands the outcome to check; after each round it waits until
// PC/SC has seen the card go (a card back sooner is a removal pcscd never
// saw) and puts it back. A round that hangs for 10 s, or whose pull did
// not happen, fails t. The process must use this rig's pcscd (Require).
func (c *Card) PullEveryAPDU(t *testing.T, op func(context.Context) error, want func(k, n int) bool,
	check func(t *testing.T, k, n int, err error, took time.Duration)) {
	t.Helper()
	before := c.Server.Stats().APDUs
	if err := op(context.Background()); err != nil {
		t.Fatalf("without a pull: %v", err)
	}
	n := int(c.Server.Stats().APDUs - before)
	for k := 1; k < n; k++ {
		if want != nil && !want(k, n) {
			continue
		}
		st0 := c.Server.Stats()
		drops := st0.Drops
		c.Server.SetDropAfter(k)
		start := time.Now()
		errc := make(chan error, 1)
		go func() { errc <- op(context.Background()) }()
		var err error
		select {
		case err = <-errc:
		case <-time.After(10 * time.Second):
			t.Fatalf("pulled after APDU %d/%d: hung", k, n)
		}
		took := time.Since(start)
		c.Server.SetDropAfter(0)
		if st := c.Server.Stats(); st.Drops == drops {
			// What the round did instead: its outcome, and how many
			// APDUs reached the card (fewer than k: it stopped early).
			t.Fatalf("pull after APDU %d/%d did not happen: the round sent %d APDUs and ended with %v after %v (card present %v)",
				k, n, st.APDUs-st0.APDUs, err, took.Round(time.Millisecond), st.Present)
		}
		WaitAbsent(t, c.Reader)
		c.Reinsert(t)
		check(t, k, n, err, took)
	}
}

// WaitAbsent waits until PC/SC (this process's pcscd) reports reader
// empty, for up to 5 s.
func WaitAbsent(tb testing.TB, reader string) {
	tb.Helper()
	waitReaderState(tb, reader, scard.StateEmpty, "to be empty", "still shows a card")
}

// WaitPresent waits until PC/SC (this process's pcscd) reports a card in
// reader, for up to 5 s.
func WaitPresent(tb testing.TB, reader string) {
	tb.Helper()
	waitReaderState(tb, reader, scard.StatePresent, "to hold a card", "shows no card")
}

// waitReaderState waits, for up to 5 s, until PC/SC reports want in
// reader's event state: on the reader's events (SCardGetStatusChange),
// not by polling. waiting and failed complete the messages of a failure.
func waitReaderState(tb testing.TB, reader string, want scard.StateFlag, waiting, failed string) {
	tb.Helper()
	if err := readerState(reader, want, time.Now().Add(5*time.Second), waiting, failed); err != nil {
		tb.Fatal(err)
	}
}

// readerState waits until deadline for PC/SC (this process's pcscd) to
// report want in reader's event state, on the reader's events.
func readerState(reader string, want scard.StateFlag, deadline time.Time, waiting, failed string) error {
	sc, err := scard.EstablishContext()
	if err != nil {
		return err
	}
	defer sc.Release()
	rs := []scard.ReaderState{{Reader: reader, CurrentState: scard.StateUnaware}}
	for time.Now().Before(deadline) {
		if err := sc.GetStatusChange(rs, time.Until(deadline)); err != nil {
			return fmt.Errorf("waiting for %s %s: %w", reader, waiting, err)
		}
		if rs[0].EventState&want != 0 {
			return nil
		}
		// The high bits count events: feed the state back without CHANGED.
		rs[0].CurrentState = rs[0].EventState &^ scard.StateChanged
	}
	return fmt.Errorf("%s %s", reader, failed)
}
