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
	"fmt"
	"runtime"
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
	// reader is the reader's name, for probing it after a command that
	// got no answer.
	reader string
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
			if err = transmitProtocol(card.ActiveProtocol()); err != nil {
				_ = card.Disconnect(scard.LeaveCard)
				_ = sc.Release()
				return nil, err
			}
			if err = card.BeginTransaction(); err == nil {
				c := &Conn{sc: sc, card: card, reader: reader}
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

// transmitProtocol checks the protocol SCardConnect chose before any
// APDU is sent. WinSCard's SCardTransmit needs pioSendPci to be the PCI
// of the active protocol (SCARD_PCI_T0 or SCARD_PCI_T1; the documentation
// of SCardTransmit); NULL or a mismatch fails there, unlike pcsc-lite,
// which tolerates it. github.com/ebfe/scard gets this right: Connect keeps
// the active protocol dwActiveProtocol returned, and Transmit passes the
// address of winscard.dll's g_rgSCardT0Pci or g_rgSCardT1Pci for it
// (scard_windows.go, scardTransmit; scard_unix.go fills an
// SCARD_IO_REQUEST with the same protocol). For any other protocol
// (raw, or none when a driver reports no protocol) that code panics, so
// the connection is refused here, with an error, instead. piv-go, which
// passes NULL for the send PCI, sends no APDU of this product (it only
// names the PIV slots).
func transmitProtocol(p scard.Protocol) error {
	if p == scard.ProtocolT0 || p == scard.ProtocolT1 {
		return nil
	}
	return fmt.Errorf("the reader connected the card with protocol %#x, neither T=0 nor T=1: %w", uint32(p), cardreader.ErrCardUnresponsive)
}

// Transmit sends one command APDU and returns the whole response (data
// and status word), or the PC/SC error as a *cardreader.PCSCError.
//
// A command that may change the card (changesCard) and that the reader
// took without an answer coming back returns an error wrapping
// cardreader.ErrNoAnswer and what the reader shows afterwards
// (ErrCardRemoved, or ErrCardUnresponsive for a card still there): the
// caller cannot know whether it took effect. "Took" is a response without
// a status word (vpcd's answer when the card left after reading the
// command) or a code the driver returns for an exchange it started
// (noAnswerCodes); PC/SC's own "the card is gone" (SCARD_W_REMOVED_CARD,
// SCARD_E_NO_SMARTCARD) comes before anything is sent.
func (c *Conn) Transmit(apdu []byte) ([]byte, error) {
	resp, err := c.card.Transmit(apdu)
	if !changesCard(apdu) {
		return resp, Err(err)
	}
	var se scard.Error
	switch {
	case err == nil && len(resp) < 2:
		perr := Probe(c.reader, probeWait)
		if perr == nil {
			perr = cardreader.ErrCardUnresponsive
		}
		return nil, fmt.Errorf("%d-byte response: %w: %w", len(resp), cardreader.ErrNoAnswer, perr)
	case errors.As(err, &se) && noAnswerCodes[uint32(se)]:
		return nil, fmt.Errorf("%w: %w", cardreader.ErrNoAnswer, Err(err))
	}
	return resp, Err(err)
}

// probeWait bounds the look at the reader after a command that got no
// answer (pcscd notices a removal up to 400 ms late).
const probeWait = time.Second

// noAnswerCodes are the PC/SC codes pcsc-lite returns for an exchange the
// driver had started when it failed: SCARD_E_NOT_TRANSACTED and
// SCARD_E_COMM_DATA_LOST (the card left in the middle of it),
// SCARD_W_UNRESPONSIVE_CARD, and SCARD_F_COMM_ERROR and
// SCARD_W_SECURITY_VIOLATION (pcscd died during the call). The command
// may have reached the card.
var noAnswerCodes = map[uint32]bool{
	0x80100016: true, // SCARD_E_NOT_TRANSACTED
	0x8010002F: true, // SCARD_E_COMM_DATA_LOST
	0x80100066: true, // SCARD_W_UNRESPONSIVE_CARD
	0x80100013: true, // SCARD_F_COMM_ERROR
	0x8010006A: true, // SCARD_W_SECURITY_VIOLATION
}

// changesCard reports whether apdu is a command that may change what the
// card holds (ISO/IEC 7816-4 and 7816-8 instructions, and the PIV
// vendor ones the backends send): its outcome matters when the answer is
// lost. VERIFY is not one of them: a lost answer to it costs at most the
// try the caller already counts.
func changesCard(apdu []byte) bool {
	if len(apdu) < 2 {
		return false
	}
	switch apdu[1] {
	case 0x24, // CHANGE REFERENCE DATA
		0x2C,       // RESET RETRY COUNTER
		0xDA, 0xDB, // PUT DATA
		0xD0, 0xD6, 0x0E, // WRITE, UPDATE, ERASE BINARY
		0xE0, 0xE4, // CREATE, DELETE FILE
		0x46, 0x47, // GENERATE ASYMMETRIC KEY PAIR
		0xFE, 0xFF, 0xFB: // PIV vendor: IMPORT KEY, SET MANAGEMENT KEY, RESET
		return true
	}
	return false
}

// Close ends the transaction and the connection. reset resets the card,
// which clears every verified PIN for every program (ISO/IEC 7816-4: the
// security status is lost on reset); use it after an operation that
// presented a PIN or a key.
//
// pcsc-lite resets the card as the transaction ends (SCardEndTransaction
// with SCARD_RESET_CARD), before any other program's transaction can
// begin, so the disconnection leaves the card as it is: resetting it again
// there cost every operation with a PIN a second reset of the card (the
// virtual card counted two), on a real card a second ATR. When the end of
// the transaction failed, and on Windows and macOS (PC/SC services of their
// own, not seen by the tests here), the disconnection resets it.
func (c *Conn) Close(reset bool) {
	disp := scard.LeaveCard
	if reset {
		disp = scard.ResetCard
	}
	if err := c.card.EndTransaction(disp); err == nil && resetAtEndTransaction {
		disp = scard.LeaveCard
	}
	_ = c.card.Disconnect(disp)
	_ = c.sc.Release()
}

// resetAtEndTransaction: the PC/SC service resets the card when a
// transaction ends with SCARD_RESET_CARD (pcsc-lite: SCardEndTransaction
// powers the card through IFD_RESET).
var resetAtEndTransaction = runtime.GOOS != "windows" && runtime.GOOS != "darwin"

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
