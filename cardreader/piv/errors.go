package piv

import (
	"errors"
	"fmt"
	"time"

	"github.com/ebfe/scard"
	piv "github.com/sithseid/sithseid/cardreader/piv/internal/pivgo"

	"github.com/sithseid/sithseid/cardreader"
)

// secretKind says which secret an operation presented, to turn piv-go's
// AuthErr into the right typed error.
type secretKind int

const (
	noSecret secretKind = iota
	pinSecret
	pukSecret
)

// mapErr turns an error from piv-go into the cardreader errors:
//
//   - piv.AuthErr (63Cx, 6983) → *WrongPINError / *WrongPUKError with the
//     tries left (zero tries left matches ErrPINBlocked / ErrPUKBlocked);
//   - a PC/SC return code → *cardreader.PCSCError (ErrCardRemoved,
//     ErrNoReader, ErrNoService, ErrCardBusy, …);
//   - a status word → *cardreader.CardError.
//
// Upstream piv-go keeps PC/SC codes in an unexported type; our patched copy
// exports PCSCCode (internal/pivgo/README.md). Errors without a code or a
// status word make probe ask PC/SC what happened to the reader.
func mapErr(err error, kind secretKind, reader string) error {
	if err == nil {
		return nil
	}
	var ae piv.AuthErr
	if errors.As(err, &ae) {
		switch kind {
		case pinSecret:
			return &cardreader.WrongPINError{Retries: ae.Retries}
		case pukSecret:
			return &cardreader.WrongPUKError{Retries: ae.Retries}
		}
	}
	if code, ok := piv.PCSCCode(err); ok {
		return fmt.Errorf("%v: %w", err, cardreader.FromPCSC(code))
	}
	var st interface{ Status() uint16 }
	if errors.As(err, &st) {
		return fmt.Errorf("%v: %w", err, &cardreader.CardError{SW: st.Status()})
	}
	if perr := probe(reader); perr != nil {
		return fmt.Errorf("%v: %w", err, perr)
	}
	return err
}

// probe looks at the reader after an error that carries no PC/SC code or
// status word (for example an empty response when a card is pulled in the
// middle of an exchange): is the service there, the reader, the card?
// pcscd notices a removal up to 400 ms late, so a card still shown present
// is watched for up to probeWait; nil means it is still there.
func probe(reader string) error {
	sc, err := scard.EstablishContext()
	if err != nil {
		return scardErr(err)
	}
	defer sc.Release()
	rs := []scard.ReaderState{{Reader: reader, CurrentState: scard.StateUnaware}}
	deadline := time.Now().Add(probeWait)
	for {
		wait := time.Until(deadline)
		if rs[0].CurrentState == scard.StateUnaware {
			wait = 0
		}
		err := sc.GetStatusChange(rs, max(wait, 0))
		if err != nil && !errors.Is(err, scard.ErrTimeout) {
			return scardErr(err)
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
			return nil // still there: the error was not the card leaving
		}
		rs[0].CurrentState = rs[0].EventState &^ scard.StateChanged
	}
}

// probeWait bounds probe: well inside the 2 s in which a pulled card must
// give a typed error.
const probeWait = time.Second
