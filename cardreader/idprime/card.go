package idprime

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/pcsc"
)

// Card is one IDPrime card. Every method opens the card (shared access in
// one PC/SC transaction), selects the applet, does one operation and
// releases the card; after an operation that presented a PIN or the PUK the
// card is reset on release, which clears the verified PIN (the applet has
// no logout APDU). Operations are serialised with a mutex per reader,
// shared by every Card the same Backend opened there.
type Card struct {
	reader string
	opts   Options
	mu     *sync.Mutex
	// connect opens a session: PC/SC, or a script in unit tests.
	connect func(ctx context.Context) (*session, error)
	// probe looks at the reader after a response without a status word;
	// nil (unit tests) takes such a response for a removal.
	probe func(reader string) error
	// events reads the reader's event counter (pcsc.ReaderEvents); nil
	// (unit tests with scripted sessions) binds nothing.
	events func(reader string) (uint32, bool)
	// bind is the card this Card was opened on (its ATR and the reader's
	// event counter at Open, its ID when first read): a PIN or PUK goes
	// to no other card (doPIN).
	bind pcsc.Binding
	// pre is what the session that opened the card read besides the
	// SELECT (its ID and tries, prefetch.go); facts are the Backend's
	// cardFacts by card ID (nil in unit tests: nothing prefetched).
	pre   pcsc.Prefetch
	facts *sync.Map
	// signaturePIN: the session that opened this Card (bound: bind) read
	// the signature PIN's tries, so the card has one; an unblock of it
	// then need not ask again before the PUK goes to the card (pin.go).
	signaturePIN atomic.Bool
	// seen is the Backend's record of the card each reader held when its
	// ID was last read (prefetch.go); nil in unit tests.
	seen *pcsc.SeenCards
}

var (
	_ cardreader.Card             = (*Card)(nil)
	_ cardreader.SignaturePINCard = (*Card)(nil)
)

// Backend is cardreader.BackendIDPrime.
func (c *Card) Backend() string { return cardreader.BackendIDPrime }

// Reader is the PC/SC reader the card is in.
func (c *Card) Reader() string { return c.reader }

// do runs f in one session with the applet selected: connect, SELECT, f,
// release (with a reset when f presented a PIN).
func (c *Card) do(ctx context.Context, f func(s *session) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	s, err := c.connect(ctx)
	if err != nil {
		return err
	}
	err = s.selectApplet()
	if err == nil {
		err = f(s)
	}
	s.end()
	if err != nil {
		return c.mapErr(err)
	}
	return nil
}

// ID is the card's ID (cardID): the chip's identity from its CPLC, or the
// cardid file of a card that gives none. Two APDUs (SELECT applet, GET
// DATA 9F7F); four on a card without a CPLC serial; none when the session
// that opened the card read it a moment ago (prefetch).
func (c *Card) ID(ctx context.Context) (string, error) {
	if id, ok := c.pre.TakeID(c.reader, c.events); ok {
		return id, nil
	}
	var id string
	err := c.do(ctx, func(s *session) error {
		var err error
		id, err = s.cardID()
		if err == nil {
			c.bind.SetID(c.state(s), id)
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("reading card ID: %w", err)
	}
	return id, nil
}

// cardID is "cplc:" and the chip's identity in the card's CPLC
// (GlobalPlatform card production life cycle data, GET DATA 9F7F, one
// APDU): IC fabricator, IC type, IC serial number and IC batch identifier,
// 10 bytes in lower-case hex. The fabricator numbers its chips per type
// and batch, so these bytes name one chip for its life; OpenSC sends the
// same GET DATA with the applet selected (idprime_init). A card that
// refuses it, answers something else or leaves the IC serial number zero
// gives "cardid:" and the 16 bytes of file 0201 instead (SELECT and READ:
// the value OpenSC reports as the card's serial, idprime_get_serial). The
// ID is only compared with IDs this backend read (the identity cache, the
// card-changed check of Binding, SeenCards), all in memory; no status
// shows it.
func (s *session) cardID() (string, error) {
	cplc, err := s.command([]byte{0x00, insGetData, 0x9F, 0x7F, cplcLen}, true)
	if err != nil && refusalOK(err) != nil {
		return "", err // the card left or stopped answering
	}
	if id, ok := cplcID(cplc); err == nil && ok {
		return id, nil
	}
	return s.cardIDFile()
}

// cplcLen is the CPLC with its tag and length: 9F 7F 2A and 42 bytes.
const cplcLen = 45

// cplcID is the ID in a CPLC answer (cardID); false when it has no IC
// serial number.
func cplcID(b []byte) (string, bool) {
	if len(b) != cplcLen || b[0] != 0x9F || b[1] != 0x7F || b[2] != cplcLen-3 {
		return "", false
	}
	d := b[3:]
	serial := d[12:16] // IC serial number; d[0:2] fabricator, d[2:4] IC type, d[16:18] batch
	if allZero(serial) {
		return "", false
	}
	id := append(append(append([]byte(nil), d[0:4]...), serial...), d[16:18]...)
	return "cplc:" + hex.EncodeToString(id), true
}

// cardIDFile is "cardid:" and the 16 bytes of file 0201 in lower-case hex.
func (s *session) cardIDFile() (string, error) {
	b, err := s.readFile(fidCardID, 64)
	if err != nil {
		return "", err
	}
	if allZero(b) {
		return "", errors.New("empty card ID")
	}
	return "cardid:" + hex.EncodeToString(b), nil
}

// state is what PC/SC says of the card s reaches (its ATR and the
// reader's event counter, read inside s's transaction); nil without
// PC/SC.
func (c *Card) state(s *session) *pcsc.State {
	if c.events == nil {
		return nil
	}
	n, ok := c.events(c.reader)
	return &pcsc.State{ATR: s.atr, Events: n, EventsOK: ok}
}

// doPIN is do for an operation that presents a PIN or the PUK: before f,
// in the same transaction, it checks that the card is the one this Card
// was opened on (pcsc.Binding: free when no card was inserted or removed
// since, else the card's ID is read and compared). Another card returns
// cardreader.ErrCardChanged and sees no PIN.
func (c *Card) doPIN(ctx context.Context, f func(s *session) error) error {
	return c.do(ctx, func(s *session) error {
		if err := c.bind.Check(c.state(s), s.cardID); err != nil {
			return err
		}
		return f(s)
	})
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// maxIndexSize is the largest index file: 255 records.
const maxIndexSize = 1 + 255*indexRecordLen

// index reads the 0101 index file, once per operation.
func (s *session) index() ([]indexEntry, error) {
	b, err := s.readFile(fidIndex, maxIndexSize)
	if err != nil {
		return nil, err
	}
	return parseIndex(b)
}

// Certificates reads every certificate file the index lists (kxcNN and
// kscNN in mscp), raw or compressed, in index order. Certificate.ID is the
// file's name ("kxc00"): the minidriver's name for the certificate of
// container 00's key-exchange key ("ksc" for a signature key), stable for
// as long as the container holds its key, and the same name Thales' own
// middleware uses; file identifiers are the card's allocation and may
// change when a certificate is rewritten. An empty file (a removed
// certificate) is skipped. Cost: SELECT applet, SELECT and READ of the
// index, then per certificate a SELECT and one READ per 256 bytes; none
// when the session that opened the card read them a moment ago (a card
// whose identity was not cached, prefetch.go).
func (c *Card) Certificates(ctx context.Context) ([]cardreader.Certificate, error) {
	if certs, ok := c.pre.TakeCertificates(c.reader, c.events); ok {
		return certs, nil
	}
	var out []cardreader.Certificate
	err := c.do(ctx, func(s *session) error {
		var err error
		out, err = s.certificates(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading certificates: %w", err)
	}
	return out, nil
}

// certificates reads the index and every certificate file it lists in s
// (Certificates).
func (s *session) certificates(ctx context.Context) ([]cardreader.Certificate, error) {
	entries, err := s.index()
	if err != nil {
		return nil, err
	}
	var out []cardreader.Certificate
	for _, f := range certFiles(entries) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, err := s.readFile(f.FID, maxCertificateSize)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		if len(b) == 0 {
			continue
		}
		cert, err := parseCertificate(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		out = append(out, cardreader.Certificate{ID: f.Name, Label: certLabel(f), Cert: cert})
	}
	return out, nil
}

// certLabel names a certificate file for people and logs.
func certLabel(f certFile) string {
	kind := "key exchange"
	if f.Name[:3] == "ksc" {
		kind = "signature"
	}
	return fmt.Sprintf("Container %02d %s certificate", f.Container, kind)
}

// RemoveCertificate is not supported: no public source says how the
// IDPrime applet deletes a file or a key (OpenSC's driver cannot either).
// Thales SAC's PKCS#11 module can; the returned error wraps
// cardreader.ErrRemovalUnsupported. No APDU is sent.
func (c *Card) RemoveCertificate(ctx context.Context, certID string, auth cardreader.RemoveAuth) error {
	return fmt.Errorf("removing certificate %s: %w", certID, cardreader.ErrRemovalUnsupported)
}

// RemovalSupported is false: RemoveCertificate always fails (see there),
// so callers can say so before they ask the holder for a PIN.
func (c *Card) RemovalSupported() bool { return false }
