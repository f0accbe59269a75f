package cardreader

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// stubBackend answers Open with a fixed card or error.
type stubBackend struct {
	name  string
	card  Card
	err   error
	calls int
}

func (b *stubBackend) Name() string { return b.name }
func (b *stubBackend) Open(ctx context.Context, r Reader) (Card, error) {
	b.calls++
	return b.card, b.err
}

// stubCard serves certificates from memory and counts reads.
type stubCard struct {
	backend, id string
	certs       []Certificate
	reads       int
}

func (c *stubCard) Backend() string                                    { return c.backend }
func (c *stubCard) Reader() string                                     { return "stub" }
func (c *stubCard) ID(context.Context) (string, error)                 { return c.id, nil }
func (c *stubCard) PINStatus(context.Context) (PINStatus, error)       { return PINStatus{Retries: 3}, nil }
func (c *stubCard) PUKStatus(context.Context) (PINStatus, error)       { return PINStatus{}, ErrNoPUK }
func (c *stubCard) VerifyPIN(context.Context, *Secret) error           { return nil }
func (c *stubCard) ChangePIN(context.Context, *Secret, *Secret) error  { return nil }
func (c *stubCard) UnblockPIN(context.Context, *Secret, *Secret) error { return nil }
func (c *stubCard) Signer(context.Context, string, *Secret) (crypto.Signer, error) {
	return nil, errors.New("stub")
}
func (c *stubCard) RemoveCertificate(context.Context, string, RemoveAuth) error { return nil }
func (c *stubCard) Certificates(context.Context) ([]Certificate, error) {
	c.reads++
	return c.certs, nil
}

func TestOpenTriesBackendsInOrder(t *testing.T) {
	ctx := context.Background()
	card := &stubCard{backend: BackendPKCS11}
	unsupported := fmt.Errorf("no PIV applet: %w", ErrUnsupportedCard)

	pivB := &stubBackend{name: BackendPIV, err: unsupported}
	p11 := &stubBackend{name: BackendPKCS11, card: card}
	got, err := Open(ctx, Reader{Name: "r"}, pivB, p11)
	if err != nil || got != card || pivB.calls != 1 || p11.calls != 1 {
		t.Fatalf("fallback to PKCS#11: %v %v", got, err)
	}

	// A removed card ends the search: the next backend would fail too.
	pivB = &stubBackend{name: BackendPIV, err: fmt.Errorf("x: %w", ErrCardRemoved)}
	p11 = &stubBackend{name: BackendPKCS11, card: card}
	if _, err := Open(ctx, Reader{Name: "r"}, pivB, p11); !errors.Is(err, ErrCardRemoved) || p11.calls != 0 {
		t.Errorf("removed: %v, PKCS#11 tried %d times", err, p11.calls)
	}

	// Nobody serves it: ErrUnsupportedCard, with both reasons.
	pivB = &stubBackend{name: BackendPIV, err: unsupported}
	p11 = &stubBackend{name: BackendPKCS11, err: fmt.Errorf("no token: %w", ErrUnsupportedCard)}
	if _, err := Open(ctx, Reader{Name: "r"}, pivB, p11); !errors.Is(err, ErrUnsupportedCard) {
		t.Errorf("unsupported: %v", err)
	}
	// A busy card under PIV may still be served by PKCS#11 (shared access).
	pivB = &stubBackend{name: BackendPIV, err: fmt.Errorf("x: %w", ErrCardBusy)}
	p11 = &stubBackend{name: BackendPKCS11, card: card}
	if got, err := Open(ctx, Reader{Name: "r"}, pivB, p11); err != nil || got != card {
		t.Errorf("busy under PIV: %v", err)
	}
	if _, err := Open(ctx, Reader{Name: "r"}); !errors.Is(err, ErrUnsupportedCard) {
		t.Errorf("no backends: %v", err)
	}
}

func TestOrderBackends(t *testing.T) {
	pivB, p11 := &stubBackend{name: BackendPIV}, &stubBackend{name: BackendPKCS11}
	all := []Backend{pivB, p11}
	for pref, want := range map[string][]Backend{
		"": all, "auto": all, "piv": {pivB}, "pkcs11": {p11},
	} {
		got, err := OrderBackends(pref, all)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q: %v %v", pref, got, err)
		}
	}
	if _, err := OrderBackends("yubikey", all); !errors.Is(err, ErrUnknownPreference) {
		t.Errorf("unknown preference: %v", err)
	}
	if _, err := OrderBackends("pkcs11", []Backend{pivB}); !errors.Is(err, ErrUnsupportedCard) {
		t.Errorf("missing backend: %v", err)
	}
}

func TestSelector(t *testing.T) {
	cands := []Candidate{
		{Reader: "Alcor Micro AU9540 00 00", CardID: "guid:aa", CardNumber: "9752269001"},
		{Reader: "Alcor Micro AU9540 01 00", CardID: "serial:42", CardNumber: "9752269002"},
	}
	for _, tc := range []struct {
		s    Selector
		want string
		err  error
	}{
		{Selector{CardNumber: "9752269002"}, "serial:42", nil},
		{Selector{CardID: "guid:aa"}, "guid:aa", nil},
		{Selector{Reader: "Alcor Micro AU9540 01 00"}, "serial:42", nil},
		{Selector{Reader: "Alcor"}, "", ErrNoCard}, // never a substring
		{Selector{CardNumber: "975226900"}, "", ErrNoCard},
		{Selector{}, "", ErrAmbiguousCard},
		{Selector{CardNumber: "9752269001", CardID: "serial:42"}, "", ErrNoCard},
	} {
		got, err := tc.s.Select(cands)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%+v: %v, want %v", tc.s, err, tc.err)
			}
			continue
		}
		if err != nil || got.CardID != tc.want {
			t.Errorf("%+v: %+v %v", tc.s, got, err)
		}
	}
	if got, err := (Selector{}).Select(cands[:1]); err != nil || got.CardID != "guid:aa" {
		t.Errorf("one card, no criteria: %+v %v", got, err)
	}
}

func TestIdentityCache(t *testing.T) {
	ctx := context.Background()
	p := newPKI(t)
	tc, err := p.IssueCard(testpki.CardSpec{})
	if err != nil {
		t.Fatal(err)
	}
	card := &stubCard{backend: BackendPIV, id: "guid:01", certs: cardCerts(tc)}
	cache := NewIdentityCache(2)
	for range 3 {
		id, err := cache.Identity(ctx, card, testNow)
		if err != nil || id.HSAID != testpki.DefaultHSAID {
			t.Fatalf("identity %+v %v", id, err)
		}
	}
	if card.reads != 1 {
		t.Errorf("certificates read %d times, want 1", card.reads)
	}
	// Same ID under another backend: another card.
	other := &stubCard{backend: BackendPKCS11, id: "guid:01", certs: cardCerts(tc)}
	cache.Identity(ctx, other, testNow)
	if other.reads != 1 {
		t.Error("backends share cache entries")
	}
	cache.Invalidate(CacheKey(BackendPIV, "guid:01"))
	cache.Identity(ctx, card, testNow)
	if card.reads != 2 {
		t.Errorf("after Invalidate: %d reads", card.reads)
	}
	// Bounded: a third card evicts the least recently used.
	third := &stubCard{backend: BackendPIV, id: "guid:03", certs: cardCerts(tc)}
	cache.Identity(ctx, third, testNow)
	if cache.Len() != 2 {
		t.Errorf("Len %d, want 2", cache.Len())
	}
	if _, ok := cache.Get(CacheKey(BackendPKCS11, "guid:01")); ok {
		t.Error("the least recently used card was kept")
	}
	if _, err := cache.Refresh(ctx, card, testNow); err != nil || card.reads != 3 {
		t.Errorf("Refresh: %v, %d reads", err, card.reads)
	}
	empty := &stubCard{backend: BackendPIV, id: "guid:04"}
	if _, err := cache.Identity(ctx, empty, testNow); !errors.Is(err, ErrNoCertificates) {
		t.Errorf("card without certificates: %v", err)
	}
}

type noRemovalCard struct{ stubCard }

func (noRemovalCard) RemovalSupported() bool { return false }

func TestRemovalSupported(t *testing.T) {
	if !RemovalSupported(&stubCard{}) {
		t.Error("a card that says nothing cannot remove")
	}
	if RemovalSupported(&noRemovalCard{}) {
		t.Error("a card that says it cannot remove can")
	}
}
