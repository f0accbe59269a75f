// Package pcsc is the PC/SC binding shared by the backends that speak APDUs
// themselves (cardreader/idprime, and the APDU layer of cardreader/piv),
// over github.com/ebfe/scard: a connection to a card in shared mode inside
// a transaction, retried while another program holds the card; transmit
// with PC/SC return codes turned into cardreader's errors; release with or
// without a card reset; and Probe, which tells a pulled card from a mute one
// after an exchange that ended without a status word.
//
// Like cardreader it returns data and typed errors and never logs.
package pcsc

import (
	"context"
	"errors"
	"time"

	"github.com/ebfe/scard"

	"github.com/sithseid/sithseid/cardreader"
)

// busyPoll is how often a card held by another program is tried again.
const busyPoll = 50 * time.Millisecond

// Conn is one connection to a card, inside a PC/SC transaction. It is not
// safe for concurrent use: a card processes one APDU at a time, and the
// backends serialise their operations per reader.
type Conn struct {
	sc   *scard.Context
	card *scard.Card
	// ATR is the card's ATR as PC/SC reports it; nil if it would not say.
	ATR []byte
	// Events is the reader's event counter once the transaction began
	// (the high 16 bits of SCardGetStatusChange's dwEventState, which
	// pcsc-lite and WinSCard bump at every insertion and removal);
	// EventsOK is false when PC/SC would not say. See Binding.
	Events   uint32
	EventsOK bool
}

// Connect connects to reader in shared mode and begins a transaction. A
// card that another program holds (SCARD_E_SHARING_VIOLATION) is tried
// again every 50 ms until busy has passed, then ErrCardBusy. No APDU is
// sent.
func Connect(ctx context.Context, reader string, busy time.Duration) (*Conn, error) {
	sc, err := scard.EstablishContext()
	if err != nil {
		return nil, Err(err)
	}
	deadline := time.Now().Add(busy)
	for {
		card, err := sc.Connect(reader, scard.ShareShared, scard.ProtocolAny)
		if err == nil {
			if err = card.BeginTransaction(); err == nil {
				c := &Conn{sc: sc, card: card}
				if st, err := card.Status(); err == nil {
					c.ATR = st.Atr
				}
				c.Events, c.EventsOK = readerEvents(sc, reader)
				return c, nil
			}
			_ = card.Disconnect(scard.LeaveCard)
		}
		if !errors.Is(Err(err), cardreader.ErrCardBusy) || time.Now().After(deadline) {
			_ = sc.Release()
			return nil, Err(err)
		}
		select {
		case <-ctx.Done():
			_ = sc.Release()
			return nil, ctx.Err()
		case <-time.After(busyPoll):
		}
	}
}

// Transmit sends one command APDU and returns the whole response (data
// and status word), or the PC/SC error as a *cardreader.PCSCError.
func (c *Conn) Transmit(apdu []byte) ([]byte, error) {
	resp, err := c.card.Transmit(apdu)
	return resp, Err(err)
}

// Close ends the transaction and the connection. reset resets the card,
// which clears every verified PIN for every program (ISO/IEC 7816-4: the
// security status is lost on reset); use it after an operation that
// presented a PIN or a key.
func (c *Conn) Close(reset bool) {
	disp := scard.LeaveCard
	if reset {
		disp = scard.ResetCard
	}
	_ = c.card.EndTransaction(disp)
	_ = c.card.Disconnect(disp)
	_ = c.sc.Release()
}

// Err turns an ebfe/scard error into a *cardreader.PCSCError that keeps
// the code and unwraps to its sentinel; other errors (and nil) pass
// through.
func Err(err error) error {
	var se scard.Error
	if errors.As(err, &se) {
		return cardreader.FromPCSC(uint32(se))
	}
	return err
}

// Probe looks at reader after an exchange that ended with neither a PC/SC
// code nor a status word (vpcd's answer when a card is pulled in the middle
// of an exchange): ErrNoService, ErrNoReader, ErrCardRemoved or
// ErrCardUnresponsive for what it finds, or nil when the card is still
// there. pcscd notices a removal up to 400 ms late, so a card still shown
// present is watched for up to wait.
func Probe(reader string, wait time.Duration) error {
	sc, err := scard.EstablishContext()
	if err != nil {
		return Err(err)
	}
	defer sc.Release()
	rs := []scard.ReaderState{{Reader: reader, CurrentState: scard.StateUnaware}}
	deadline := time.Now().Add(wait)
	for {
		left := time.Until(deadline)
		if rs[0].CurrentState == scard.StateUnaware {
			left = 0
		}
		err := sc.GetStatusChange(rs, max(left, 0))
		if err != nil && !errors.Is(err, scard.ErrTimeout) {
			return Err(err)
		}
		switch ev := rs[0].EventState; {
		case ev&(scard.StateUnknown|scard.StateUnavailable) != 0:
			return cardreader.ErrNoReader
		case ev&scard.StateEmpty != 0:
			return cardreader.ErrCardRemoved
		case ev&scard.StateMute != 0:
			return cardreader.ErrCardUnresponsive
		}
		if time.Now().After(deadline) {
			return nil
		}
		// Feed the state back without CHANGED (the high bits count
		// events), or the next call returns at once (FIELD-NOTES).
		rs[0].CurrentState = rs[0].EventState &^ scard.StateChanged
	}
}
