package cardreader

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultIdentityCacheSize is the number of cards an IdentityCache keeps
// when asked for zero: more cards than a shared workstation sees in a shift.
const DefaultIdentityCacheSize = 32

// IdentityCache keeps the identities of cards seen before, keyed by backend
// and Card.ID, so a card put back in the reader costs its ID (a handful of
// APDUs) instead of reading every certificate. It is bounded (least
// recently used entries go first) and lives in memory only: personal
// numbers are never written to disk.
//
// Changes made through this program (RemoveCertificate) invalidate the
// entry. A card changed by another program while out of the reader keeps
// its ID and is served stale until invalidated: callers that must be sure
// (certificate removal, export) call Refresh.
//
// Safe for concurrent use.
type IdentityCache struct {
	mu      sync.Mutex
	max     int
	lru     *list.List // of *cacheEntry, most recent first
	entries map[string]*list.Element
}

type cacheEntry struct {
	key      string
	identity Identity
}

// NewIdentityCache returns a cache for up to size cards
// (DefaultIdentityCacheSize when size <= 0).
func NewIdentityCache(size int) *IdentityCache {
	if size <= 0 {
		size = DefaultIdentityCacheSize
	}
	return &IdentityCache{max: size, lru: list.New(), entries: map[string]*list.Element{}}
}

// CacheKey is the key for a card of backend with ID id.
func CacheKey(backend, id string) string { return backend + ":" + id }

// Get returns the cached identity for key.
func (c *IdentityCache) Get(key string) (Identity, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return Identity{}, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*cacheEntry).identity, true
}

// Put stores id under key, evicting the least recently used card when full.
func (c *IdentityCache) Put(key string, id Identity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		e.Value.(*cacheEntry).identity = id
		c.lru.MoveToFront(e)
		return
	}
	c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, identity: id})
	for c.lru.Len() > c.max {
		last := c.lru.Back()
		c.lru.Remove(last)
		delete(c.entries, last.Value.(*cacheEntry).key)
	}
}

// Invalidate forgets key. Backends call it after they change a card.
func (c *IdentityCache) Invalidate(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.lru.Remove(e)
		delete(c.entries, key)
	}
}

// Len is the number of cards cached.
func (c *IdentityCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Identity returns card's identity: from the cache when its ID is known,
// else read from its certificates and cached.
func (c *IdentityCache) Identity(ctx context.Context, card Card, now time.Time) (Identity, error) {
	cardID, err := card.ID(ctx)
	if err != nil {
		return Identity{}, fmt.Errorf("reading card ID: %w", err)
	}
	key := CacheKey(card.Backend(), cardID)
	if id, ok := c.Get(key); ok {
		return id, nil
	}
	return c.refresh(ctx, card, cardID, now)
}

// Refresh reads card's certificates again and replaces its cache entry.
func (c *IdentityCache) Refresh(ctx context.Context, card Card, now time.Time) (Identity, error) {
	cardID, err := card.ID(ctx)
	if err != nil {
		return Identity{}, fmt.Errorf("reading card ID: %w", err)
	}
	return c.refresh(ctx, card, cardID, now)
}

// refresh reads the certificates of the card whose ID is cardID (read in
// an earlier session) and caches its identity under that ID. The
// certificates must be that card's: another card put in the reader
// between the two reads would otherwise have its certificates cached
// under the first card's ID, and shown for it until invalidated. A
// CertificatesOfReader checks it in the session that reads them (free
// while no card was inserted or removed); any other card's ID is read
// again after its certificates. Another card is ErrCardChanged and
// nothing is cached.
func (c *IdentityCache) refresh(ctx context.Context, card Card, cardID string, now time.Time) (Identity, error) {
	var certs []Certificate
	var err error
	if b, ok := card.(CertificatesOfReader); ok {
		certs, err = b.CertificatesOf(ctx, cardID)
	} else {
		certs, err = card.Certificates(ctx)
		if err == nil {
			var again string
			if again, err = card.ID(ctx); err == nil && again != cardID {
				err = fmt.Errorf("card %s is in the reader instead of %s: %w", again, cardID, ErrCardChanged)
			}
		}
	}
	if err != nil {
		return Identity{}, fmt.Errorf("reading certificates: %w", err)
	}
	id, err := IdentityFromCertificates(certs, now)
	if err != nil {
		return Identity{}, err
	}
	c.Put(CacheKey(card.Backend(), cardID), id)
	return id, nil
}

// CertificatesOfReader is implemented by cards that read their
// certificates bound to an ID read before (IDPrime, PIV, PKCS#11): in the
// session that reads them, the card is checked to be the card whose ID is
// id, at no APDU while no card was inserted in or removed from the reader
// since (pcsc.CheckID); another card returns an error wrapping
// ErrCardChanged. The identity cache uses it, so that certificates are
// cached under their own card's ID only.
type CertificatesOfReader interface {
	Card
	CertificatesOf(ctx context.Context, id string) ([]Certificate, error)
}

// Tries are the tries left of a card's PINs and PUK, read together. Each
// has its own error: ErrNoSignaturePIN and ErrNoPUK say the card has no
// such code; ErrTriesNotRead says its count was not read (a caller asked
// for others only: WithTriesOf), so nothing may show it as a count.
type Tries struct {
	PIN, SignaturePIN, PUK          PINStatus
	PINErr, SignaturePINErr, PUKErr error
}

// ErrTriesNotRead is the error of a count in Tries that was not read: a
// read asked for other counts only (WithTriesOf). Its PINStatus is zero
// and means nothing (not "blocked").
var ErrTriesNotRead = errors.New("tries not read")

// TriesOf is a set of the counts in Tries.
type TriesOf uint8

const (
	TriesOfPIN          TriesOf = 1 << iota // the identification PIN's
	TriesOfSignaturePIN                     // the signature PIN's
	TriesOfPUK                              // the PUK's
	AllTries            = TriesOfPIN | TriesOfSignaturePIN | TriesOfPUK
)

// NotRead is Tries with every count outside read marked ErrTriesNotRead,
// for a reader to fill the counts in read.
func NotRead(read TriesOf) Tries {
	var t Tries
	for _, c := range t.counts() {
		if read&c.of == 0 {
			*c.err = ErrTriesNotRead
		}
	}
	return t
}

// Read is the set of t's counts that were read: a count, or what the card
// said of it (blocked, no such code, a refusal), anything but
// ErrTriesNotRead.
func (t Tries) Read() TriesOf {
	var read TriesOf
	for _, c := range t.counts() {
		if !errors.Is(*c.err, ErrTriesNotRead) {
			read |= c.of
		}
	}
	return read
}

// Over is t's counts that were read, and base's for the others: what a
// partial read (WithTriesOf) tells of a card whose every count base held.
func (t Tries) Over(base Tries) Tries {
	m := base
	from, to := t.counts(), m.counts()
	for i, c := range from {
		if !errors.Is(*c.err, ErrTriesNotRead) {
			*to[i].st, *to[i].err = *c.st, *c.err
		}
	}
	return m
}

type triesCount struct {
	of  TriesOf
	st  *PINStatus
	err *error
}

// counts points at t's counts, in a fixed order.
func (t *Tries) counts() [3]triesCount {
	return [3]triesCount{
		{TriesOfPIN, &t.PIN, &t.PINErr},
		{TriesOfSignaturePIN, &t.SignaturePIN, &t.SignaturePINErr},
		{TriesOfPUK, &t.PUK, &t.PUKErr},
	}
}

// TriesReader is implemented by cards that read every PIN's and the PUK's
// tries in one card session (IDPrime, PIV) instead of a session each; the
// read spends no try. A card that has just been opened may answer from
// what it read in the session that opened it (a few seconds ago, at most
// once): a status after an insertion then costs the card no second
// session. PINStatus and PUKStatus always ask the card.
//
// Tries reads the counts WantedTries(ctx) names (every count unless ctx
// was marked by WithTriesOf) and marks the others ErrTriesNotRead; the
// opening session's read answers only when it holds all of them.
type TriesReader interface {
	Card
	Tries(ctx context.Context) (Tries, error)
}

type withoutTriesKey struct{}

// WithoutTries marks ctx for a caller that will not ask an opened card for
// its tries (it lists the certificates only: "sithseid certs"): a backend
// whose Open reads the tries in its session for a status to come
// (TriesReader) does not read them.
func WithoutTries(ctx context.Context) context.Context {
	return context.WithValue(ctx, withoutTriesKey{}, true)
}

// TriesWanted reports whether ctx was not marked by WithoutTries.
func TriesWanted(ctx context.Context) bool {
	v, _ := ctx.Value(withoutTriesKey{}).(bool)
	return !v
}

type triesOfKey struct{}

// WithTriesOf marks ctx for a caller that will ask an opened card for the
// counts which only (a PIN change shows the PIN's tries before its prompt,
// an unblock the PUK's; issue 17): a backend whose Open reads the tries
// in its session (TriesReader) reads those only, one APDU each fewer, and
// its Tries reads and answers those. which is not empty.
func WithTriesOf(ctx context.Context, which TriesOf) context.Context {
	return context.WithValue(ctx, triesOfKey{}, which)
}

// WantedTries is the set of counts ctx wants read: those WithTriesOf
// named, else every count.
func WantedTries(ctx context.Context) TriesOf {
	if v, ok := ctx.Value(triesOfKey{}).(TriesOf); ok && v != 0 {
		return v & AllTries
	}
	return AllTries
}
