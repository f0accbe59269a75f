package pcsc

import (
	"errors"
	"testing"

	"github.com/ebfe/scard"

	"github.com/sithseid/sithseid/cardreader"
)

// SCardTransmit on Windows needs the send PCI of the active protocol.
// ebfe/scard derives it from the protocol Connect returned and panics for
// any other (scard_windows.go, scardTransmit), so Connect lets only T=0
// and T=1 through and refuses the rest with an error, never a panic at
// the first APDU.
func TestTransmitProtocol(t *testing.T) {
	for _, p := range []scard.Protocol{scard.ProtocolT0, scard.ProtocolT1} {
		if err := transmitProtocol(p); err != nil {
			t.Errorf("%#x: %v", uint32(p), err)
		}
	}
	for _, p := range []scard.Protocol{scard.ProtocolUndefined, scard.ProtocolAny, scard.Protocol(0x10000)} {
		if err := transmitProtocol(p); !errors.Is(err, cardreader.ErrCardUnresponsive) {
			t.Errorf("%#x: %v, want ErrCardUnresponsive", uint32(p), err)
		}
	}
}
