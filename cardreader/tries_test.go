package cardreader

import (
	"context"
	"errors"
	"testing"
)

// A partial read (WithTriesOf) marks the counts it did not read, so that
// none of them passes for a count (a zero PINStatus is not "blocked"), and
// Over keeps another read's counts for them.
func TestTriesOf(t *testing.T) {
	ctx := context.Background()
	if got := WantedTries(ctx); got != AllTries {
		t.Fatalf("WantedTries of a plain ctx = %b, want every count", got)
	}
	if got := WantedTries(WithTriesOf(ctx, TriesOfPUK)); got != TriesOfPUK {
		t.Fatalf("WantedTries(WithTriesOf(PUK)) = %b", got)
	}
	if !TriesWanted(WithTriesOf(ctx, TriesOfPIN)) || TriesWanted(WithoutTries(ctx)) {
		t.Fatal("TriesWanted")
	}

	puk := NotRead(TriesOfPUK)
	if !errors.Is(puk.PINErr, ErrTriesNotRead) || !errors.Is(puk.SignaturePINErr, ErrTriesNotRead) || puk.PUKErr != nil {
		t.Fatalf("NotRead(PUK) = %+v", puk)
	}
	puk.PUK = PINStatus{Retries: 2}
	if got := puk.Read(); got != TriesOfPUK {
		t.Fatalf("Read = %b, want the PUK's", got)
	}
	if got := (Tries{SignaturePINErr: ErrNoSignaturePIN}).Read(); got != AllTries {
		t.Fatalf("Read of a full read = %b: no signature PIN is a count read", got)
	}

	base := Tries{PIN: PINStatus{Retries: 1}, PUK: PINStatus{Retries: 3}, SignaturePINErr: ErrNoSignaturePIN}
	m := puk.Over(base)
	if m.PIN.Retries != 1 || m.PINErr != nil || m.PUK.Retries != 2 || m.PUKErr != nil || !errors.Is(m.SignaturePINErr, ErrNoSignaturePIN) {
		t.Fatalf("Over = %+v", m)
	}
	if base.PUK.Retries != 3 {
		t.Fatal("Over changed its base")
	}
	// A base that never read a count keeps it unread.
	if m := puk.Over(NotRead(TriesOfPIN)); !errors.Is(m.SignaturePINErr, ErrTriesNotRead) || m.PUK.Retries != 2 {
		t.Fatalf("Over a partial base = %+v", m)
	}
}
