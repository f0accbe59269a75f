package app_test

// Issue 14 item 2's last gap: the identity cache reads a card's ID, then
// its certificates. Another card put in the reader between the two reads
// must not have its certificates cached (and shown) under the first
// card's ID; the same card pulled and put back between them is cached as
// usual.

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// betweenReads is a card whose ID, the first time it is read, runs at
// afterwards: the point between the identity cache's two reads.
type betweenReads struct {
	cardreader.Card
	once  sync.Once
	at    func()
	first string // the ID read first
}

func (c *betweenReads) ID(ctx context.Context) (string, error) {
	id, err := c.Card.ID(ctx)
	c.once.Do(func() {
		c.first = id
		c.at()
	})
	return id, err
}

// CertificatesOf is the wrapped card's, when it has one (every backend).
func (c *betweenReads) CertificatesOf(ctx context.Context, id string) ([]cardreader.Certificate, error) {
	if b, ok := c.Card.(cardreader.CertificatesOfReader); ok {
		return b.CertificatesOf(ctx, id)
	}
	return c.Card.Certificates(ctx)
}

// identityBetweenReads opens card A through k's backends (sharing one
// identity cache, as the product does) and reads its identity through
// that cache, running at between the ID and the certificates. used
// spends what the backend's opening session read first (the certificates
// of a card not cached), so that the certificates are read in a session
// of their own, as for a card whose prefetch expired.
func identityBetweenReads(t *testing.T, k cardkind.Kind, r *swapRig, used bool, at func(*testing.T)) (*cardreader.IdentityCache, string, cardreader.Identity, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cache := cardreader.NewIdentityCache(4)
	backends, err := cardreader.OrderBackends(k.Preference, k.Backends(cache))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range backends {
		if c, ok := b.(interface{ Close() error }); ok {
			t.Cleanup(func() { _ = c.Close() })
		}
	}
	c, err := cardreader.Open(ctx, cardreader.Reader{Name: r.a.Reader, CardPresent: true}, backends...)
	if err != nil {
		t.Fatal(err)
	}
	if used {
		if _, err := c.Certificates(ctx); err != nil {
			t.Fatal(err)
		}
	}
	card := &betweenReads{Card: c, at: func() { at(t) }}
	id, err := cache.Identity(ctx, card, time.Now())
	if card.first == "" {
		t.Fatalf("card A's ID was not read: %v", err)
	}
	return cache, cardreader.CacheKey(c.Backend(), card.first), id, err
}

// TestIdentityCacheCardSwappedBetweenReads: card A's ID is read, card B
// takes its place, then the certificates are read: ErrCardChanged, and
// nothing (above all not B's holder) is cached under A's ID. Both with
// the certificates the opening session read (a cold insertion) and with
// a read of their own (a card whose prefetch expired; always so through
// OpenSC).
func TestIdentityCacheCardSwappedBetweenReads(t *testing.T) {
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		for _, used := range []bool{false, true} {
			name := map[bool]string{false: "cold", true: "prefetch-used"}[used]
			t.Run(name, func(t *testing.T) {
				r := newSwapRig(t, k)
				cache, keyA, id, err := identityBetweenReads(t, k, r, used, r.swap)
				if got, ok := cache.Get(keyA); ok {
					t.Errorf("cached under card A's ID: %s (%s), want nothing", got.HSAID, got.CardNumber)
				}
				if id.HSAID == otherSpec.HSAID {
					t.Errorf("card B's holder returned for card A")
				}
				if !errors.Is(err, cardreader.ErrCardChanged) {
					t.Fatalf("got %+v, %v, want ErrCardChanged", id.HSAID, err)
				}
			})
		}
	})
}

// TestIdentityCacheCardReinsertedBetweenReads: the same card pulled and
// put back between the two reads is read and cached as usual.
func TestIdentityCacheCardReinsertedBetweenReads(t *testing.T) {
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		for _, used := range []bool{false, true} {
			name := map[bool]string{false: "cold", true: "prefetch-used"}[used]
			t.Run(name, func(t *testing.T) {
				r := newSwapRig(t, k)
				cache, keyA, id, err := identityBetweenReads(t, k, r, used, r.reinsert)
				if err != nil {
					t.Fatal(err)
				}
				if id.HSAID != testpki.DefaultHSAID {
					t.Errorf("identity %s, want %s", id.HSAID, testpki.DefaultHSAID)
				}
				if got, ok := cache.Get(keyA); !ok || got.HSAID != testpki.DefaultHSAID {
					t.Errorf("cache under card A's ID: %s %v, want %s", got.HSAID, ok, testpki.DefaultHSAID)
				}
			})
		}
	})
}
