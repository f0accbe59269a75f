package piv

import (
	"errors"
	"fmt"
	"time"

	piv "github.com/sithseid/sithseid/cardreader/piv/internal/pivgo"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/pcsc"
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
// middle of an exchange), for up to probeWait: pcsc.Probe.
func probe(reader string) error { return pcsc.Probe(reader, probeWait) }

// probeWait bounds probe: well inside the 2 s in which a pulled card must
// give a typed error.
const probeWait = time.Second
