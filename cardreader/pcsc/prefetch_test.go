package pcsc

import (
	"errors"
	"testing"

	"github.com/sithseid/sithseid/cardreader"
)

// What the opening session read answers once each (the ID, the
// certificates, the tries), and not at all after a card event in the reader or without a
// way to read the reader's event counter.
func TestPrefetch(t *testing.T) {
	count := uint32(7)
	events := func(reader string) (uint32, bool) { return count, reader == "r" }
	tries := &cardreader.Tries{PIN: cardreader.PINStatus{Retries: 3}}

	var f Prefetch
	if _, ok := f.TakeID("r", events); ok {
		t.Fatal("an empty Prefetch answered the ID")
	}
	f.Store(7, "cardid:01", tries)
	if _, ok := f.TakeID("r", nil); ok {
		t.Error("answered without a way to read the event counter")
	}
	if _, ok := f.TakeID("other", events); ok {
		t.Error("answered for a reader PC/SC does not know")
	}
	if id, ok := f.TakeID("r", events); !ok || id != "cardid:01" {
		t.Fatalf("TakeID = %q, %v", id, ok)
	}
	if _, ok := f.TakeID("r", events); ok {
		t.Error("the ID answered twice")
	}
	if got, ok := f.TakeTries("r", events); !ok || got.PIN.Retries != 3 {
		t.Fatalf("TakeTries = %+v, %v", got, ok)
	}
	if _, ok := f.TakeTries("r", events); ok {
		t.Error("the tries answered twice")
	}
	if _, ok := f.TakeCertificates("r", events); ok {
		t.Error("answered certificates Store was not given")
	}

	// Certificates read in the opening session: once, and "none" is an
	// answer too.
	certs := []cardreader.Certificate{{ID: "kxc00"}}
	f.StoreWithCertificates(7, "cardid:01", tries, &certs)
	if got, ok := f.TakeCertificates("r", events); !ok || len(got) != 1 || got[0].ID != "kxc00" {
		t.Fatalf("TakeCertificates = %+v, %v", got, ok)
	}
	if _, ok := f.TakeCertificates("r", events); ok {
		t.Error("the certificates answered twice")
	}
	if _, ok := f.TakeID("r", events); !ok {
		t.Error("taking the certificates took the ID")
	}
	none := []cardreader.Certificate{}
	f.StoreWithCertificates(7, "cardid:01", tries, &none)
	if got, ok := f.TakeCertificates("r", events); !ok || len(got) != 0 {
		t.Fatalf("no certificates read: TakeCertificates = %+v, %v", got, ok)
	}

	f.StoreWithCertificates(7, "cardid:01", tries, &certs)
	count = 9 // a card pulled and put back, or another card
	if _, ok := f.TakeCertificates("r", events); ok {
		t.Error("the certificates answered after a card event")
	}
	if _, ok := f.TakeID("r", events); ok {
		t.Error("the ID answered after a card event")
	}
	if _, ok := f.TakeTries("r", events); ok {
		t.Error("the tries answered after a card event")
	}
}

// TakeCertificatesOf answers only for the ID the opening session read, and
// CheckID lets a read go on only on the card whose ID is asked: free on
// the bound card with no insertion or removal since, else the ID is read.
func TestCertificatesOfTheID(t *testing.T) {
	events := func(string) (uint32, bool) { return 7, true }
	certs := []cardreader.Certificate{{ID: "9a"}}
	var f Prefetch
	f.StoreWithCertificates(7, "cardid:01", nil, &certs)
	if _, ok := f.TakeCertificatesOf("r", events, "cardid:02"); ok {
		t.Error("another card's ID got the certificates the opening session read")
	}
	if got, ok := f.TakeCertificatesOf("r", events, "cardid:01"); !ok || len(got) != 1 {
		t.Fatalf("TakeCertificatesOf = %v, %v", got, ok)
	}
	if _, ok := f.TakeCertificatesOf("r", events, "cardid:01"); ok {
		t.Error("the certificates answered twice")
	}

	st := &State{ATR: []byte{1}, Events: 7, EventsOK: true}
	var b Binding
	b.Record(st)
	b.SetID(st, "cardid:01")
	reads := 0
	readAs := func(id string) func() (string, error) {
		return func() (string, error) { reads++; return id, nil }
	}
	if err := CheckID(&b, st, "cardid:01", readAs("cardid:01")); err != nil || reads != 0 {
		t.Errorf("bound card, no event: %v after %d ID reads, want nil and none", err, reads)
	}
	moved := &State{ATR: []byte{1}, Events: 9, EventsOK: true}
	if err := CheckID(&b, moved, "cardid:01", readAs("cardid:02")); !errors.Is(err, cardreader.ErrCardChanged) || reads != 1 {
		t.Errorf("another card after an event: %v after %d ID reads, want ErrCardChanged after one", err, reads)
	}
	reads = 0
	if err := CheckID(&b, st, "cardid:03", readAs("cardid:01")); !errors.Is(err, cardreader.ErrCardChanged) || reads != 1 {
		t.Errorf("an ID the card is not bound to: %v after %d ID reads, want ErrCardChanged after one", err, reads)
	}
	if err := CheckID(&b, st, "cardid:03", readAs("cardid:03")); err != nil {
		t.Errorf("an ID the card is not bound to, read back: %v", err)
	}
}

// Tries the opening session read in part (cardreader.WithTriesOf: a PIN
// change reads the PIN's only) answer a caller that wants those, never
// one that wants every count (a status): it would show a count not read.
func TestPrefetchPartialTries(t *testing.T) {
	events := func(string) (uint32, bool) { return 7, true }
	pin := cardreader.NotRead(cardreader.TriesOfPIN)
	pin.PIN = cardreader.PINStatus{Retries: 3}
	var f Prefetch
	f.Store(7, "cardid:01", &pin)
	if got, ok := f.TakeTries("r", events); ok {
		t.Fatalf("tries of the PIN only answered a caller that wants every count: %+v", got)
	}
	if _, ok := f.TakeTriesOf("r", events, cardreader.TriesOfPUK); ok {
		t.Fatal("tries of the PIN only answered a caller that wants the PUK's")
	}
	got, ok := f.TakeTriesOf("r", events, cardreader.TriesOfPIN)
	if !ok || got.PIN.Retries != 3 || got.Read() != cardreader.TriesOfPIN || !errors.Is(got.PUKErr, cardreader.ErrTriesNotRead) {
		t.Fatalf("TakeTriesOf(PIN) = %+v, %v", got, ok)
	}
	if _, ok := f.TakeTriesOf("r", events, cardreader.TriesOfPIN); ok {
		t.Error("the tries answered twice")
	}
	all := cardreader.Tries{PIN: cardreader.PINStatus{Retries: 3}, SignaturePINErr: cardreader.ErrNoSignaturePIN}
	f.Store(7, "cardid:01", &all)
	if _, ok := f.TakeTriesOf("r", events, cardreader.TriesOfPUK); !ok {
		t.Error("tries of every count did not answer a caller that wants the PUK's")
	}
}
