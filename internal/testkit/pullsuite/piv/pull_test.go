// Package piv runs the card-pull suite (internal/testkit/pullsuite) on
// PIV (the product's PIV backend), in a test binary
// of its own: its own pcscd, run by go test alongside the other kinds.
package piv

import (
	"os"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/pullsuite"
	"github.com/sithseid/sithseid/internal/testkit/rig"
)

func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }

func TestFaultCardPulledEveryAPDU(t *testing.T) {
	pullsuite.Run(t, cardkind.PIV, pullsuite.CardPulledEveryAPDU)
}

func TestFaultRemoveExpiredPulledEveryAPDU(t *testing.T) {
	pullsuite.Run(t, cardkind.PIV, pullsuite.RemoveExpiredPulledEveryAPDU)
}
