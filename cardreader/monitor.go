package cardreader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ebfe/scard"
)

// EventKind is what a monitor event reports.
type EventKind int

// Monitor events.
const (
	ReaderAdded EventKind = iota + 1
	ReaderRemoved
	CardInserted // Event.Reader.ATR is the card's ATR
	CardRemoved
	// ServiceLost: the smart card service (pcscd, Windows SCardSvr) went
	// away. Every reader is reported removed after it. Event.Err says why.
	ServiceLost
	// ServiceBack: the service is reachable again; ReaderAdded and
	// CardInserted events for what it shows follow.
	ServiceBack
)

var eventKindNames = map[EventKind]string{
	ReaderAdded: "reader added", ReaderRemoved: "reader removed",
	CardInserted: "card inserted", CardRemoved: "card removed",
	ServiceLost: "service lost", ServiceBack: "service back",
}

func (k EventKind) String() string {
	if s, ok := eventKindNames[k]; ok {
		return s
	}
	return "unknown event"
}

// Event is one change the monitor saw.
type Event struct {
	Kind   EventKind
	Reader Reader // the reader's state after the event (zero for Service*)
	Err    error  // why the service was lost (ServiceLost only)
}

// MonitorOptions tune a Monitor. The zero value works.
type MonitorOptions struct {
	// MinBackoff and MaxBackoff bound the wait between attempts to reach
	// the service again after it went away. Defaults 100 ms and 5 s.
	MinBackoff, MaxBackoff time.Duration
	// Buffer is the size of the Events channel (default 64). The monitor
	// waits for a reader of the channel when it is full.
	Buffer int
}

// Monitor watches readers and cards with SCardGetStatusChange. It blocks in
// the PC/SC service while nothing changes: no polling (except on macOS, which
// has no reader-arrival notification) and never an APDU.
//
// The first events describe what is there when the monitor starts
// (ReaderAdded, then CardInserted for each card present).
type Monitor struct {
	opts   MonitorOptions
	events chan Event
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	readers map[string]Reader
	sc      *scard.Context // the context in use, for SCardCancel
}

// NewMonitor starts a monitor that runs until ctx is done or Close is
// called. It does not fail when the service is down: it reports ServiceLost
// and keeps trying.
func NewMonitor(ctx context.Context, opts MonitorOptions) *Monitor {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(5*time.Second, opts.MinBackoff)
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 64
	}
	ctx, cancel := context.WithCancel(ctx)
	m := &Monitor{
		opts:    opts,
		events:  make(chan Event, opts.Buffer),
		cancel:  cancel,
		done:    make(chan struct{}),
		readers: map[string]Reader{},
	}
	go m.run(ctx)
	go m.cancelOnDone(ctx)
	return m
}

// Events delivers the monitor's events. It is closed when the monitor stops.
func (m *Monitor) Events() <-chan Event { return m.events }

// Readers returns the readers the monitor knows now, sorted by name.
func (m *Monitor) Readers() []Reader {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Reader, 0, len(m.readers))
	for _, r := range m.readers {
		r.ATR = bytes.Clone(r.ATR)
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Reader) int { return compareStrings(a.Name, b.Name) })
	return out
}

// Close stops the monitor and waits until it has released its PC/SC
// context. Events is closed afterwards. Safe to call more than once.
func (m *Monitor) Close() error {
	m.cancel()
	<-m.done
	return nil
}

// cancelOnDone interrupts a blocking SCardGetStatusChange when ctx ends.
// SCardCancel is retried because the monitor may be between two waits when
// the first one lands.
func (m *Monitor) cancelOnDone(ctx context.Context) {
	<-ctx.Done()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		m.mu.Lock()
		if m.sc != nil {
			_ = m.sc.Cancel()
		}
		m.mu.Unlock()
		select {
		case <-m.done:
			return
		case <-t.C:
		}
	}
}

type serviceState int

const (
	serviceUnknown serviceState = iota
	serviceUp
	serviceDown
)

func (m *Monitor) run(ctx context.Context) {
	defer close(m.done)
	defer close(m.events)
	state := serviceUnknown
	backoff := m.opts.MinBackoff
	for ctx.Err() == nil {
		sc, err := scard.EstablishContext()
		if err == nil {
			m.mu.Lock()
			m.sc = sc
			m.mu.Unlock()
			err = m.watch(ctx, sc, &state, &backoff)
			m.mu.Lock()
			m.sc = nil
			m.mu.Unlock()
			_ = sc.Release()
			if ctx.Err() != nil {
				return
			}
		}
		if state != serviceDown {
			state = serviceDown
			if !m.emit(ctx, Event{Kind: ServiceLost, Err: lostErr(err)}) {
				return
			}
			if !m.dropAll(ctx) {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, m.opts.MaxBackoff)
	}
}

// watch follows readers and cards on sc until the context is unusable or
// ctx is done. It returns the error that ended it.
func (m *Monitor) watch(ctx context.Context, sc *scard.Context, state *serviceState, backoff *time.Duration) error {
	// known holds the last state of every reader, fed back as CurrentState
	// with the CHANGED bit cleared: the high 16 bits are an event counter,
	// and Windows returns at once, forever, if they are not fed back.
	known := map[string]scard.StateFlag{}
	var pnp scard.StateFlag
	relist := true
	var names []string
	first := true
	transient := 0
	for ctx.Err() == nil {
		if relist {
			var err error
			names, err = listReaders(sc)
			if err != nil {
				return err
			}
			if first {
				// The service answered: announce it before any reader event.
				if *state == serviceDown && !m.emit(ctx, Event{Kind: ServiceBack}) {
					return ctx.Err()
				}
				*state = serviceUp
				*backoff = m.opts.MinBackoff
				first = false
			}
			if !m.syncReaders(ctx, names, known) {
				return ctx.Err()
			}
			relist = false
		}
		rs := make([]scard.ReaderState, 0, len(names)+1)
		for _, n := range names {
			rs = append(rs, scard.ReaderState{Reader: n, CurrentState: known[n]})
		}
		if pnpSupported {
			rs = append(rs, scard.ReaderState{Reader: pnpNotification, CurrentState: pnp})
		}
		if len(rs) == 0 {
			// macOS with no reader: wait, then list again.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(relistInterval):
			}
			relist = true
			continue
		}
		err := sc.GetStatusChange(rs, waitTimeout)
		switch {
		case err == nil:
		case errors.Is(err, scard.ErrTimeout):
			relist = !pnpSupported
			continue
		case errors.Is(err, scard.ErrCancelled):
			return ctx.Err()
		case errors.Is(err, scard.ErrUnknownReader), errors.Is(err, scard.ErrReaderUnavailable):
			relist = true // a reader went away between list and wait
			continue
		default:
			// Anything else (pcscd 1.9.9 answers SCARD_W_SECURITY_VIOLATION
			// when it dies under a wait with a card present): list the
			// readers again, which fails at once if the service is gone.
			if transient++; transient > 3 || ServiceDead(pcscErr(err)) {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(m.opts.MinBackoff):
			}
			relist = true
			continue
		}
		transient = 0
		for _, r := range rs {
			ev := r.EventState &^ scard.StateChanged
			if r.Reader == pnpNotification {
				if r.EventState&scard.StateChanged != 0 {
					relist = true
				}
				pnp = ev
				continue
			}
			known[r.Reader] = ev
			if ev&(scard.StateUnknown|scard.StateUnavailable) != 0 {
				relist = true
				continue
			}
			if !m.updateCard(ctx, r.Reader, ev, r.Atr) {
				return ctx.Err()
			}
		}
	}
	return ctx.Err()
}

func listReaders(sc *scard.Context) ([]string, error) {
	names, err := sc.ListReaders()
	if errors.Is(err, scard.ErrNoReadersAvailable) {
		return nil, nil
	}
	return names, err
}

// syncReaders reports added and removed readers after a new list.
func (m *Monitor) syncReaders(ctx context.Context, names []string, known map[string]scard.StateFlag) bool {
	m.mu.Lock()
	var gone []Reader
	for n, r := range m.readers {
		if !slices.Contains(names, n) {
			gone = append(gone, r)
			delete(m.readers, n)
			delete(known, n)
		}
	}
	var added []Reader
	for _, n := range names {
		if _, ok := m.readers[n]; !ok {
			r := Reader{Name: n}
			m.readers[n] = r
			known[n] = scard.StateUnaware
			added = append(added, r)
		}
	}
	m.mu.Unlock()
	for _, r := range gone {
		if r.CardPresent && !m.emit(ctx, Event{Kind: CardRemoved, Reader: Reader{Name: r.Name}}) {
			return false
		}
		if !m.emit(ctx, Event{Kind: ReaderRemoved, Reader: Reader{Name: r.Name}}) {
			return false
		}
	}
	for _, r := range added {
		if !m.emit(ctx, Event{Kind: ReaderAdded, Reader: r}) {
			return false
		}
	}
	return true
}

// updateCard reports a card arriving or leaving reader name.
func (m *Monitor) updateCard(ctx context.Context, name string, ev scard.StateFlag, atr []byte) bool {
	present := ev&scard.StatePresent != 0
	m.mu.Lock()
	r, ok := m.readers[name]
	if !ok {
		m.mu.Unlock()
		return true
	}
	var events []Event
	switch {
	case present && (!r.CardPresent || !bytes.Equal(r.ATR, atr)):
		if r.CardPresent { // another card, same reader, between two waits
			events = append(events, Event{Kind: CardRemoved, Reader: Reader{Name: name}})
		}
		r = Reader{Name: name, CardPresent: true, ATR: bytes.Clone(atr)}
		events = append(events, Event{Kind: CardInserted, Reader: Reader{Name: name, CardPresent: true, ATR: bytes.Clone(atr)}})
	case !present && r.CardPresent:
		// After a removal the EMPTY state still carries the old ATR: drop it.
		r = Reader{Name: name}
		events = append(events, Event{Kind: CardRemoved, Reader: r})
	}
	m.readers[name] = r
	m.mu.Unlock()
	for _, e := range events {
		if !m.emit(ctx, e) {
			return false
		}
	}
	return true
}

// dropAll reports every card and reader gone, after the service was lost.
func (m *Monitor) dropAll(ctx context.Context) bool {
	return m.syncReaders(ctx, nil, map[string]scard.StateFlag{})
}

func (m *Monitor) emit(ctx context.Context, e Event) bool {
	select {
	case m.events <- e:
		return true
	case <-ctx.Done():
		return false
	}
}

// pcscErr turns a scard error into a *PCSCError that keeps the code.
func pcscErr(err error) error {
	var se scard.Error
	if errors.As(err, &se) {
		return FromPCSC(uint32(se))
	}
	return err
}

// lostErr is the Err of a ServiceLost event: always ErrNoService, with the
// PC/SC code that showed it.
func lostErr(err error) error {
	err = pcscErr(err)
	if err == nil || errors.Is(err, ErrNoService) {
		if err == nil {
			return ErrNoService
		}
		return err
	}
	return fmt.Errorf("%w: %w", ErrNoService, err)
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
