package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/miekg/pkcs11"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/pcsc"
)

// PUKMode says whether the token's Security Officer PIN is the holder's PUK.
type PUKMode int

const (
	// PUKAuto decides per module: OpenSC's tokens have no usable SO login
	// for the cards this app meets (its PIV emulation answers C_Login(CKU_SO)
	// with CKR_GENERAL_ERROR because PIV cards refuse VERIFY of the PUK,
	// and its idprime driver defines no PUK object), so they report
	// ErrNoPUK; every other module (Thales SAC, SoftHSM) is taken to use
	// the SO PIN as the PUK.
	PUKAuto PUKMode = iota
	// PUKIsSOPIN: the SO PIN is the PUK (C_Login(CKU_SO) + C_InitPIN).
	PUKIsSOPIN
	// PUKNone: the token has no PUK the holder can use.
	PUKNone
)

// Options configure a Backend. The zero value loads the first default
// module that exists (DefaultModulePaths).
type Options struct {
	// ModulePath is the PKCS#11 module to load. Empty means the first of
	// DefaultModulePaths that exists and loads.
	ModulePath string
	// PUK says how PUKStatus and UnblockPIN treat the SO PIN.
	PUK PUKMode
}

// Backend serves the tokens of one PKCS#11 module. It loads and
// initialises the module on first use (once per process, shared with other
// Backends on the same path) and finalises it on Close. It holds no session
// while idle. Safe for concurrent use.
type Backend struct {
	opts Options

	mu     sync.Mutex
	mod    *module
	closed bool
}

var _ cardreader.Backend = (*Backend)(nil)

// New returns a Backend; it does not load the module yet.
func New(opts Options) *Backend { return &Backend{opts: opts} }

// Name is cardreader.BackendPKCS11.
func (b *Backend) Name() string { return cardreader.BackendPKCS11 }

// Load loads and initialises the module now, so that a missing module shows
// up at start rather than at the first card. Later calls are cheap.
func (b *Backend) Load() error {
	_, err := b.module()
	return err
}

// ModulePath is the path of the loaded module ("" before the first use).
func (b *Backend) ModulePath() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mod == nil {
		return ""
	}
	return b.mod.path
}

// ModuleInfo is C_GetInfo of the loaded module (zero before the first use).
func (b *Backend) ModuleInfo() pkcs11.Info {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mod == nil {
		return pkcs11.Info{}
	}
	return b.mod.info
}

func (b *Backend) module() (*module, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if b.mod != nil {
		return b.mod, nil
	}
	var (
		m   *module
		err error
	)
	if b.opts.ModulePath != "" {
		m, err = acquire(b.opts.ModulePath)
	} else {
		m, err = acquireFirst(defaultModulePaths())
	}
	if err != nil {
		return nil, err
	}
	b.mod = m
	return m, nil
}

// Close releases the module; the last Backend on a module calls
// C_Finalize. Cards and signers from this Backend must not be used after.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if b.mod == nil {
		return nil
	}
	m := b.mod
	b.mod = nil
	return m.release()
}

// slotList is C_GetSlotList(CK_TRUE), retried when the slot count grew
// between the module's two calls (CKR_BUFFER_TOO_SMALL; measured with
// OpenSC while a card is being inserted).
func (m *module) slotList() ([]uint, error) {
	for i := 0; ; i++ {
		slots, err := m.ctx.GetSlotList(true)
		if rv(err) == pkcs11.CKR_BUFFER_TOO_SMALL && i < 5 {
			continue
		}
		return slots, mapErr(err)
	}
}

// Open returns the token in reader. With OpenSC (and SAC) a slot's
// description is the PC/SC reader name, space-padded or cut to the 64
// bytes of CK_SLOT_INFO.slotDescription. When a reader has several slots
// (OpenSC makes one per PIN, e.g. the IDPrime 940's user PIN and signature
// PIN), the first is the card: it carries the user PIN.
//
// A missing module is reported as an error wrapping both
// cardreader.ErrUnsupportedCard and ErrNoModule, so backend selection moves
// on while a diagnostic can still say what is missing.
func (b *Backend) Open(ctx context.Context, reader cardreader.Reader) (cardreader.Card, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := b.module()
	if err != nil {
		return nil, fmt.Errorf("opening %q: %w: %w", reader.Name, cardreader.ErrUnsupportedCard, err)
	}
	if reader.Name == "" {
		return nil, fmt.Errorf("opening a reader with no name: %w", cardreader.ErrUnsupportedCard)
	}
	if err := m.begin(); err != nil {
		return nil, err
	}
	return bounded(ctx, func() (cardreader.Card, error) {
		defer m.end()
		return b.open(ctx, m, reader)
	})
}

func (b *Backend) open(ctx context.Context, m *module, reader cardreader.Reader) (cardreader.Card, error) {
	slots, err := m.slotList()
	if err != nil {
		return nil, fmt.Errorf("opening %q: listing slots: %w", reader.Name, err)
	}
	for _, s := range slots {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		si, err := m.ctx.GetSlotInfo(s)
		if err != nil || !slotMatches(si.SlotDescription, reader.Name) {
			continue
		}
		c, err := b.newCard(m, s, si, reader.Name)
		if err != nil {
			return nil, fmt.Errorf("opening %q: %w", reader.Name, err)
		}
		return c, nil
	}
	// No token where the caller saw a card: OpenSC shows a token even for a
	// card it cannot read (uninitialised), so this is a card pulled while
	// the module was looking, or one it has not noticed yet. PC/SC tells
	// which, once pcscd (which polls every 400 ms) has caught up.
	if reader.CardPresent {
		if perr := pcsc.Probe(reader.Name, probeWait); errors.Is(perr, cardreader.ErrCardRemoved) {
			return nil, fmt.Errorf("opening %q: no PKCS#11 token in this reader: %w", reader.Name, perr)
		}
	}
	return nil, fmt.Errorf("opening %q: no PKCS#11 token in this reader: %w", reader.Name, cardreader.ErrUnsupportedCard)
}

// slotMatches compares a slot description with a PC/SC reader name. The
// description is at most 64 bytes (PKCS#11 v2.40 §3.2 CK_SLOT_INFO), so a
// longer reader name matches on its first 64 bytes.
func slotMatches(desc, reader string) bool {
	desc = strings.TrimRight(desc, " \x00")
	if desc == reader {
		return true
	}
	return len(desc) >= 63 && strings.HasPrefix(reader, desc)
}

// Cards returns every slot that holds a token, in slot order. A slot that
// is not a removable reader (SoftHSM) has Reader() == "".
func (b *Backend) Cards(ctx context.Context) ([]*Card, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := b.module()
	if err != nil {
		return nil, err
	}
	if err := m.begin(); err != nil {
		return nil, err
	}
	return bounded(ctx, func() ([]*Card, error) {
		defer m.end()
		return b.cards(ctx, m)
	})
}

func (b *Backend) cards(ctx context.Context, m *module) ([]*Card, error) {
	slots, err := m.slotList()
	if err != nil {
		return nil, fmt.Errorf("listing slots: %w", err)
	}
	var cards []*Card
	for _, s := range slots {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		si, err := m.ctx.GetSlotInfo(s)
		if err != nil {
			continue // the slot went away between the two calls
		}
		reader := ""
		if si.Flags&pkcs11.CKF_REMOVABLE_DEVICE != 0 {
			reader = strings.TrimRight(si.SlotDescription, " \x00")
		}
		c, err := b.newCard(m, s, si, reader)
		if err != nil {
			continue // token removed meanwhile
		}
		cards = append(cards, c)
	}
	return cards, nil
}

func (b *Backend) newCard(m *module, slot uint, si pkcs11.SlotInfo, reader string) (*Card, error) {
	ti, err := m.ctx.GetTokenInfo(slot)
	if err != nil {
		return nil, mapErr(err)
	}
	return &Card{
		mod:    m,
		puk:    b.opts.PUK,
		slot:   slot,
		reader: reader,
		token:  tokenOf(ti),
	}, nil
}
