package cardreader

import "errors"

// PC/SC return codes this package gives meaning to. Values from pcsclite's
// pcsclite.h and Microsoft's winerror.h (identical on every platform).
const (
	pcscECancelled          = 0x80100002
	pcscEUnknownReader      = 0x80100009
	pcscETimeout            = 0x8010000A
	pcscESharingViolation   = 0x8010000B
	pcscENoSmartcard        = 0x8010000C
	pcscENotReady           = 0x80100010
	pcscFCommError          = 0x80100013
	pcscENotTransacted      = 0x80100016
	pcscEReaderUnavailable  = 0x80100017
	pcscENoService          = 0x8010001D
	pcscEServiceStopped     = 0x8010001E
	pcscENoReadersAvailable = 0x8010002E
	pcscECommDataLost       = 0x8010002F
	pcscEServerTooBusy      = 0x80100031
	pcscWUnsupportedCard    = 0x80100065
	pcscWUnresponsiveCard   = 0x80100066
	pcscWUnpoweredCard      = 0x80100067
	pcscWResetCard          = 0x80100068
	pcscWRemovedCard        = 0x80100069
	pcscEInvalidHandle      = 0x80100003
	pcscWSecurityViolation  = 0x8010006A
)

var pcscNames = map[uint32]string{
	pcscECancelled:          "SCARD_E_CANCELLED",
	pcscEInvalidHandle:      "SCARD_E_INVALID_HANDLE",
	pcscEUnknownReader:      "SCARD_E_UNKNOWN_READER",
	pcscETimeout:            "SCARD_E_TIMEOUT",
	pcscESharingViolation:   "SCARD_E_SHARING_VIOLATION",
	pcscENoSmartcard:        "SCARD_E_NO_SMARTCARD",
	pcscENotReady:           "SCARD_E_NOT_READY",
	pcscFCommError:          "SCARD_F_COMM_ERROR",
	pcscENotTransacted:      "SCARD_E_NOT_TRANSACTED",
	pcscEReaderUnavailable:  "SCARD_E_READER_UNAVAILABLE",
	pcscENoService:          "SCARD_E_NO_SERVICE",
	pcscEServiceStopped:     "SCARD_E_SERVICE_STOPPED",
	pcscENoReadersAvailable: "SCARD_E_NO_READERS_AVAILABLE",
	pcscECommDataLost:       "SCARD_E_COMM_DATA_LOST",
	pcscEServerTooBusy:      "SCARD_E_SERVER_TOO_BUSY",
	pcscWUnsupportedCard:    "SCARD_W_UNSUPPORTED_CARD",
	pcscWUnresponsiveCard:   "SCARD_W_UNRESPONSIVE_CARD",
	pcscWUnpoweredCard:      "SCARD_W_UNPOWERED_CARD",
	pcscWResetCard:          "SCARD_W_RESET_CARD",
	pcscWRemovedCard:        "SCARD_W_REMOVED_CARD",
	pcscWSecurityViolation:  "SCARD_W_SECURITY_VIOLATION",
}

// pcscSentinels maps a code to what it means for the user.
//
//   - The card went away: SCARD_W_REMOVED_CARD, SCARD_E_NO_SMARTCARD, and a
//     card reset under us (SCARD_W_RESET_CARD: our state on it is gone, and
//     on vpcd a reset is what a re-insert looks like). SCARD_E_NOT_TRANSACTED
//     and SCARD_E_COMM_DATA_LOST are what pcsclite returns when the card is
//     pulled in the middle of an exchange.
//   - The reader went away: SCARD_E_UNKNOWN_READER, SCARD_E_READER_UNAVAILABLE,
//     SCARD_E_NO_READERS_AVAILABLE.
//   - The service went away: SCARD_E_NO_SERVICE, SCARD_E_SERVICE_STOPPED and
//     SCARD_F_COMM_ERROR (pcscd died; the context is dead for good) and
//     SCARD_E_INVALID_HANDLE (a handle from a context that died with it),
//     and SCARD_W_SECURITY_VIOLATION (libpcsclite's answer to a call pcscd
//     died during).
var pcscSentinels = map[uint32]error{
	pcscWRemovedCard:        ErrCardRemoved,
	pcscENoSmartcard:        ErrCardRemoved,
	pcscWResetCard:          ErrCardRemoved,
	pcscENotTransacted:      ErrCardRemoved,
	pcscECommDataLost:       ErrCardRemoved,
	pcscEUnknownReader:      ErrNoReader,
	pcscEReaderUnavailable:  ErrNoReader,
	pcscENoReadersAvailable: ErrNoReader,
	pcscENoService:          ErrNoService,
	pcscEServiceStopped:     ErrNoService,
	pcscFCommError:          ErrNoService,
	pcscEInvalidHandle:      ErrNoService,
	// libpcsclite 1.9.9 answers SCardConnect and SCardTransmit with
	// SCARD_W_SECURITY_VIOLATION when pcscd dies during the call (seen in
	// app's TestFaultPCSCDKilledMidOperation about one kill in three); the
	// user must read "the smart card service is not available", not a code.
	pcscWSecurityViolation: ErrNoService,
	pcscESharingViolation:  ErrCardBusy,
	pcscEServerTooBusy:     ErrCardBusy,
	pcscWUnresponsiveCard:  ErrCardUnresponsive,
	pcscWUnpoweredCard:     ErrCardUnresponsive,
	pcscWUnsupportedCard:   ErrUnsupportedCard,
}

// FromPCSC turns a PC/SC return code into an error: nil for
// SCARD_S_SUCCESS, else a *PCSCError that unwraps to its sentinel.
func FromPCSC(code uint32) error {
	if code == 0 {
		return nil
	}
	return &PCSCError{Code: code}
}

// ServiceDead reports whether err means the PC/SC context can no longer be
// used and must be released and established again (pcscd restarted, or the
// Windows smart card service stopped with its last reader).
func ServiceDead(err error) bool {
	var pe *PCSCError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case pcscFCommError, pcscENoService, pcscEServiceStopped, pcscEInvalidHandle:
		return true
	}
	return false
}
