package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/miekg/pkcs11"
)

// DefaultModulePaths lists the module paths tried, in order, when
// Options.ModulePath is empty: Thales SafeNet Authentication Client first,
// then OpenSC. Absolute paths that do not exist are skipped; bare names
// (Windows) are left to the loader's search path.
func DefaultModulePaths() []string { return defaultModulePaths() }

// A module is one loaded and initialised PKCS#11 library.
//
// PKCS#11 state is per process, not per caller: C_Initialize may be called
// once per process (a second call returns CKR_CRYPTOKI_ALREADY_INITIALIZED)
// and dlopen of the same path yields the same library. So loaded modules
// live in a process-wide, reference-counted registry; each Backend holds
// one reference and the last Close calls C_Finalize.
type module struct {
	path string
	ctx  *pkcs11.Ctx
	info pkcs11.Info
	refs int
	// ownsInit: our C_Initialize succeeded, so C_Finalize is ours to call.
	// False when someone else in the process had initialised the library.
	ownsInit bool

	slotsMu sync.Mutex
	slots   map[uint]chan struct{}

	// calls counts the module calls in progress, abandoned ones included
	// (see Card.do); idle is closed when the count falls to zero.
	callsMu sync.Mutex
	calls   int
	idle    chan struct{}
	// closing: release has begun finalising; no new call may start.
	closing bool
	// wrong counts the wrong user PINs seen per "slot/serial" since the
	// last good one (see pinStatusFromFlags).
	wrong map[string]int
}

// misses adds delta to the wrong-PIN count of the token serial in slot
// (delta < 0 resets it) and returns the count.
func (m *module) misses(slot uint, serial string, delta int) int {
	m.slotsMu.Lock()
	defer m.slotsMu.Unlock()
	if m.wrong == nil {
		m.wrong = map[string]int{}
	}
	k := fmt.Sprintf("%d/%s", slot, serial)
	switch {
	case delta < 0:
		delete(m.wrong, k)
	case delta > 0:
		m.wrong[k] += delta
	}
	return m.wrong[k]
}

var registry struct {
	mu     sync.Mutex
	loaded map[string]*module
	// libs keeps every dlopen'ed library for the life of the process:
	// unloading a module that started threads (or registered atexit
	// handlers, as some OpenSSL-based modules do) can crash the process, so
	// Close finalises but never dlcloses.
	libs map[string]*pkcs11.Ctx
}

// acquire loads and initialises the module at path, or takes another
// reference to it.
func acquire(path string) (*module, error) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if m := registry.loaded[path]; m != nil {
		m.refs++
		return m, nil
	}
	if filepath.IsAbs(path) {
		if _, err := os.Stat(path); err != nil {
			return nil, &ModuleError{Path: path, Err: ErrNoModule}
		}
	}
	if registry.libs == nil {
		registry.libs = map[string]*pkcs11.Ctx{}
		registry.loaded = map[string]*module{}
	}
	p := registry.libs[path]
	if p == nil {
		p = pkcs11.New(path)
		if p == nil {
			err := ErrModuleLoad
			if !filepath.IsAbs(path) {
				// A bare name the loader could not find is most
				// likely not installed.
				err = ErrNoModule
			}
			return nil, &ModuleError{Path: path, Err: err}
		}
		registry.libs[path] = p
	}
	m := &module{path: path, ctx: p, refs: 1, slots: map[uint]chan struct{}{}}
	switch err := p.Initialize(); {
	case err == nil:
		m.ownsInit = true
	case rv(err) == pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED:
	default:
		return nil, &ModuleError{Path: path, Err: err}
	}
	info, err := p.GetInfo()
	if err != nil {
		if m.ownsInit {
			_ = p.Finalize()
		}
		return nil, &ModuleError{Path: path, Err: err}
	}
	m.info = info
	registry.loaded[path] = m
	return m, nil
}

// acquireFirst loads the first candidate that exists and loads.
func acquireFirst(candidates []string) (*module, error) {
	var errs []error
	for _, c := range candidates {
		m, err := acquire(c)
		if err == nil {
			return m, nil
		}
		var me *ModuleError
		if errors.As(err, &me) && errors.Is(me.Err, ErrNoModule) {
			continue
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		// Something was installed but broken: say so rather than
		// "not found".
		return nil, errs[0]
	}
	return nil, &ModuleError{Path: strings.Join(candidates, ", "), Err: ErrNoModule}
}

// release drops one reference; the last one calls C_Finalize.
func (m *module) release() error {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	m.refs--
	if m.refs > 0 {
		return nil
	}
	delete(registry.loaded, m.path)
	if !m.ownsInit {
		return nil
	}
	// C_Finalize under a call still running in another thread is undefined
	// (OpenSC crashes in C_GetSlotList): wait for the calls in progress,
	// abandoned ones included, and leave a module that stays busy
	// initialised rather than pull it from under them.
	select {
	case <-m.closeCalls():
	case <-time.After(finalizeTimeout):
		return fmt.Errorf("pkcs11 module %s: still busy after %v: left initialised", m.path, finalizeTimeout)
	}
	done := make(chan error, 1)
	go func() { done <- m.ctx.Finalize() }()
	select {
	case err := <-done:
		return err
	case <-time.After(finalizeTimeout):
		return fmt.Errorf("pkcs11 module %s: C_Finalize did not return within %v", m.path, finalizeTimeout)
	}
}

// finalizeTimeout bounds Close when the module is stuck in a call.
const finalizeTimeout = 5 * time.Second

// begin and end bracket every stretch of module calls, so that release
// never finalises the module under one.
func (m *module) begin() error {
	m.callsMu.Lock()
	defer m.callsMu.Unlock()
	if m.closing {
		return ErrClosed
	}
	if m.calls == 0 {
		m.idle = make(chan struct{})
	}
	m.calls++
	return nil
}

func (m *module) end() {
	m.callsMu.Lock()
	defer m.callsMu.Unlock()
	m.calls--
	if m.calls == 0 {
		close(m.idle)
	}
}

// closeCalls refuses new calls from now on and returns a channel that is
// closed once no module call is in progress.
func (m *module) closeCalls() <-chan struct{} {
	m.callsMu.Lock()
	defer m.callsMu.Unlock()
	m.closing = true
	if m.calls == 0 {
		done := make(chan struct{})
		close(done)
		return done
	}
	return m.idle
}

// isOpenSC reports whether the module is OpenSC's (C_GetInfo
// manufacturerID "OpenSC Project").
func (m *module) isOpenSC() bool {
	return strings.HasPrefix(m.info.ManufacturerID, "OpenSC")
}

// lockSlot serialises access to one slot across every Card and Signer of
// the process: two concurrent operations on one card interleave APDUs and
// fail (a sign between another sign's login and C_Sign, or 6982 on PIV).
// Waiting respects ctx.
func (m *module) lockSlot(ctx context.Context, slot uint) (unlock func(), err error) {
	m.slotsMu.Lock()
	ch := m.slots[slot]
	if ch == nil {
		ch = make(chan struct{}, 1)
		m.slots[slot] = ch
	}
	m.slotsMu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
