package pcsc

import (
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
