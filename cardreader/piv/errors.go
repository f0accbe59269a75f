package piv

import (
	"time"

	"github.com/sithseid/sithseid/cardreader/pcsc"
)

// Errors come typed from the layers below: PC/SC return codes as
// *cardreader.PCSCError (cardreader/pcsc), status words as *swError, which
// unwraps to *cardreader.CardError, and a refused PIN or PUK as
// *cardreader.WrongPINError / *cardreader.WrongPUKError (refErr). An answer
// without a status word is explained by probe (mapSessionErr).

// probe looks at the reader after an error that carries no PC/SC code or
// status word (for example an empty response when a card is pulled in the
// middle of an exchange), for up to probeWait: pcsc.Probe.
func probe(reader string) error { return pcsc.Probe(reader, probeWait) }

// probeWait bounds probe: well inside the 2 s in which a pulled card must
// give a typed error.
const probeWait = time.Second
