// Package agent is the resident role, one per user session: the Agent
// (card state, PC/SC monitor, login handoffs, notifications) serving the
// local API, the windows it opens, the tray, and agent.Run, the entry point
// of "sithseid agent". It owns every card operation of the session.
package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/localapi"
)

// DefaultExpiryWarningDays are the days before a certificate's end at which
// the agent warns, unless the configuration says otherwise.
var DefaultExpiryWarningDays = []int{30, 14, 7}

// MaxHandoffs bounds the queue of login requests handed over by the URL
// handler; a request that finds it full is refused (ErrHandoffRateLimited),
// so a flood never pushes out a request the user is about to approve.
const MaxHandoffs = 8

// HandoffLifetime is how long a queued handoff is kept: an order lives
// about three minutes at the identity service.
const HandoffLifetime = 5 * time.Minute

// AgentOptions configures an Agent. Service is required; the zero value of
// every other field works.
type Options struct {
	// Service runs the card operations.
	Service *app.Service
	// Environment is where logins go.
	Environment environment.Environment
	// Notify receives notifications; nil drops them (subscribers still get
	// them). It is called from the agent's goroutines, one at a time.
	Notify func(localapi.Notification)
	// ExpiryWarningDays: warn when a certificate has at most this many days
	// left (once per threshold and certificate); nil means
	// DefaultExpiryWarningDays.
	ExpiryWarningDays []int
	// Address is the local API's socket path (Windows: pipe name); ""
	// means localapi.Address(os.Getenv).
	Address string
	// Monitor options for the PC/SC monitor.
	Monitor cardreader.MonitorOptions
	// Version is reported by ping.
	Version string
	// Log receives what the agent does (never a frame or a secret); nil
	// discards.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Diagnostics writes the diagnostics archive to path (the local API's
	// diag, for the About window); nil refuses it.
	Diagnostics func(ctx context.Context, path string) error
	// HandoffBurst and HandoffInterval rate-limit the login requests
	// handed over by the URL handler (a token bucket): at most
	// HandoffBurst at once, then one per HandoffInterval; the excess is
	// refused with localapi.ErrHandoffRateLimited, a log line, and once
	// per flood a loginRefused notification. Zero: DefaultHandoffBurst,
	// DefaultHandoffInterval.
	HandoffBurst    int
	HandoffInterval time.Duration
}

// Agent is the resident per-session process's core: it owns a Service and a
// PC/SC monitor, keeps the published state, serves the local API and
// raises notifications. While nothing happens it blocks in PC/SC and in
// Accept: no timers, no polling.
type Agent struct {
	opts    Options
	svc     *app.Service
	log     *slog.Logger
	started time.Time

	mu       sync.Mutex
	state    localapi.State
	subs     map[*subscriber]struct{}
	handoffs []pendingHandoff
	rate     *handoffRate // of queueHandoff
	// inflight are handoffs a login has taken and is running: their QR
	// code can still be shown ("use the mobile app instead").
	inflight map[string]pendingHandoff
	busy     []string // methods running, oldest first
	// warned remembers expiry thresholds and blocked PINs already told.
	warned map[string]bool
	// gen counts what can change a card's status: monitor events and
	// operations begun or ended. known is the last status read from the
	// cards, valid while gen is still knownGen (status.go).
	gen      uint64
	known    *app.StatusRead
	knownGen uint64
	// outcomes are PIN operations' and logins' outcomes left by their
	// handlers for their end (begin), by method.
	outcomes map[string]app.PINOutcome

	notifyMu sync.Mutex

	envMu sync.RWMutex // guards opts.Environment (SetEnvironment)

	refresh chan struct{}
	ln      net.Listener
	monitor *cardreader.Monitor
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	done    chan struct{}
	closeMu sync.Once
}

type pendingHandoff struct {
	localapi.PendingHandoff
	link string
}

// NewAgent checks opts and returns an Agent; Start runs it.
func New(opts Options) (*Agent, error) {
	if opts.Service == nil {
		return nil, errors.New("app: AgentOptions.Service is required")
	}
	if opts.ExpiryWarningDays == nil {
		opts.ExpiryWarningDays = DefaultExpiryWarningDays
	}
	a := &Agent{
		opts:     opts,
		svc:      opts.Service,
		log:      opts.Log,
		subs:     map[*subscriber]struct{}{},
		inflight: map[string]pendingHandoff{},
		rate:     newHandoffRate(opts.HandoffBurst, opts.HandoffInterval),
		warned:   map[string]bool{},
		refresh:  make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.state.Readers = []app.ReaderStatus{}
	a.state.Handoffs = []localapi.PendingHandoff{}
	return a, nil
}

func (a *Agent) now() time.Time {
	if a.opts.Now != nil {
		return a.opts.Now()
	}
	return time.Now()
}

// Start takes the session's local API address and starts the monitor and
// the server. If another agent answers there it returns ErrAgentRunning; a
// stale socket left by a dead agent is removed. The agent runs until ctx
// is done or Close is called.
func (a *Agent) Start(ctx context.Context) error {
	addr := a.opts.Address
	if addr == "" {
		var err error
		if addr, err = localapi.Address(os.Getenv); err != nil {
			return err
		}
	}
	ln, err := localapi.Listen(ctx, addr)
	if err != nil {
		return err
	}
	a.ln = ln
	a.started = a.now()
	ctx, a.cancel = context.WithCancel(ctx)
	a.monitor = cardreader.NewMonitor(ctx, a.opts.Monitor)
	// Each operation takes the readers from the monitor instead of
	// listing them through PC/SC (app.Service.UseKnownReaders; issue 17).
	a.svc.UseKnownReaders(a.monitor.Readers)
	a.wg.Add(3)
	go a.watch(ctx)
	go a.refresher(ctx)
	go a.serve(ctx)
	go func() {
		<-ctx.Done()
		_ = a.Close()
	}()
	a.log.Info("agent started", "address", addr, "pid", os.Getpid())
	return nil
}

// Done is closed when the agent has stopped.
func (a *Agent) Done() <-chan struct{} { return a.done }

// Close stops the agent: the socket is removed, connections end, running
// operations are cancelled, the monitor releases PC/SC.
func (a *Agent) Close() error {
	a.closeMu.Do(func() {
		if a.cancel != nil {
			a.cancel()
		}
		if a.ln != nil {
			_ = a.ln.Close()
		}
		if a.monitor != nil {
			_ = a.monitor.Close()
			a.svc.UseKnownReaders(nil) // its view ends here
		}
		a.wg.Wait()
		a.log.Info("agent stopped")
		close(a.done)
	})
	<-a.done
	return nil
}

// State returns the published state now.
func (a *Agent) State() localapi.State {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.snapshotLocked()
}

func (a *Agent) snapshotLocked() localapi.State {
	st := a.state
	st.Readers = slices.Clone(st.Readers)
	st.Handoffs = slices.Clone(st.Handoffs)
	if st.Card != nil {
		c := *st.Card
		c.Warnings = slices.Clone(c.Warnings)
		st.Card = &c
	}
	return st
}

// publishLocked bumps the state's sequence and sends it to subscribers.
func (a *Agent) publishLocked() {
	a.state.Seq++
	st := a.snapshotLocked()
	for s := range a.subs {
		s.send(localapi.Event{State: &st})
	}
}

// notify raises n to the injected Notify and to subscribers.
func (a *Agent) notify(n localapi.Notification) {
	n.At = a.now()
	a.mu.Lock()
	for s := range a.subs {
		nn := n
		s.send(localapi.Event{Notification: &nn})
	}
	a.mu.Unlock()
	a.log.Info("notification", "kind", n.Kind, "reader", n.Reader, "card", n.CardNumber, "cert", n.CertID, "days", n.Days)
	if a.opts.Notify != nil {
		a.notifyMu.Lock()
		defer a.notifyMu.Unlock()
		a.opts.Notify(n)
	}
}

// watch follows the monitor: readers into the state, card removal drops
// TLS sessions, insertion reads the identity (in the refresher).
func (a *Agent) watch(ctx context.Context) {
	defer a.wg.Done()
	for ev := range a.monitor.Events() {
		a.mu.Lock()
		a.gen++ // a card or reader came or went: read the cards again
		a.state.ServiceDown = ev.Kind == cardreader.ServiceLost || (a.state.ServiceDown && ev.Kind != cardreader.ServiceBack)
		a.state.Readers = a.readersLocked()
		if ev.Kind == cardreader.CardRemoved && a.state.Card != nil && a.state.Card.Reader == ev.Reader.Name {
			a.state.Card = nil
			a.state.Cards = max(0, a.state.Cards-1)
		}
		a.publishLocked()
		a.mu.Unlock()
		switch ev.Kind {
		case cardreader.CardInserted:
			a.notify(localapi.Notification{Kind: localapi.NotifyCardInserted, Reader: ev.Reader.Name})
			a.kick()
		case cardreader.CardRemoved, cardreader.ReaderRemoved:
			a.svc.CardRemoved(ev.Reader.Name)
			if ev.Kind == cardreader.CardRemoved {
				a.notify(localapi.Notification{Kind: localapi.NotifyCardRemoved, Reader: ev.Reader.Name})
			}
			a.kick()
		case cardreader.ServiceLost:
			a.log.Info("smart card service lost", "err", ev.Err)
		}
	}
}

// readersLocked is the monitor's view of the readers in the Status form.
func (a *Agent) readersLocked() []app.ReaderStatus {
	prev := map[string]app.ReaderStatus{}
	for _, r := range a.state.Readers {
		prev[r.Name] = r
	}
	var out []app.ReaderStatus
	for _, r := range a.monitor.Readers() {
		rs := app.ReaderStatus{Name: r.Name, CardPresent: r.CardPresent}
		if r.CardPresent {
			rs.ATR = hex.EncodeToString(r.ATR)
			if p, ok := prev[r.Name]; ok && p.CardPresent {
				rs.Unsupported, rs.Busy = p.Unsupported, p.Busy
			}
		}
		out = append(out, rs)
	}
	if out == nil {
		out = []app.ReaderStatus{}
	}
	return out
}

// kick asks the refresher to read the cards again (coalesced).
func (a *Agent) kick() {
	select {
	case a.refresh <- struct{}{}:
	default:
	}
}

// refresher reads the cards' identities after insertions and operations,
// off the monitor's goroutine: a card operation waiting for a PIN holds the
// Service, and the monitor must not wait for it.
func (a *Agent) refresher(ctx context.Context) {
	defer a.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.refresh:
		}
		st, err := a.readStatus(ctx, app.StatusOptions{})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			a.log.Info("reading the cards", "err", err)
			continue
		}
		a.apply(st)
	}
}

// apply publishes a fresh Status and raises what it warrants.
func (a *Agent) apply(st *app.Status) {
	var notes []localapi.Notification
	a.mu.Lock()
	unsupported := map[string]app.ReaderStatus{}
	for _, r := range st.Readers {
		unsupported[r.Name] = r
	}
	for i, r := range a.state.Readers {
		if u, ok := unsupported[r.Name]; ok && r.CardPresent {
			a.state.Readers[i].Unsupported, a.state.Readers[i].Busy = u.Unsupported, u.Busy
		}
	}
	a.state.Cards = len(st.Cards)
	a.state.Card = nil
	if len(st.Cards) > 0 {
		cs := st.Cards[0]
		a.state.Card = &localapi.CardSummary{
			Reader: cs.Reader, Backend: cs.Backend, CardNumber: cs.CardNumber, Holder: cs.Holder,
			NotAfter: cs.NotAfter, PIN: cs.PIN, PUK: cs.PUK, Warnings: cs.Warnings, Error: cs.Error,
			EIDs: cs.EIDs,
			// From the issuer the identity read already names: no APDU.
			Environment: localapi.CardEnvironmentOf(cs.Issuer),
		}
	}
	now := a.now()
	for _, cs := range st.Cards {
		base := localapi.Notification{Reader: cs.Reader, CardNumber: cs.CardNumber, Holder: cs.Holder.Name, HSAID: cs.Holder.HSAID}
		key := "pin|" + cs.CardNumber
		if cs.PIN.Blocked && !a.warned[key] {
			n := base
			n.Kind = localapi.NotifyPINBlocked
			notes = append(notes, n)
		}
		a.warned[key] = cs.PIN.Blocked
		// More than six certificates, a reserve card: once while the card
		// is so (a re-insertion does not repeat it; the condition gone and
		// back does).
		for _, c := range []struct {
			code string
			kind localapi.NotificationKind
		}{{app.WarnTooManyCertificates, localapi.NotifyTooManyCertificates}, {app.WarnReserveCard, localapi.NotifyReserveCard}} {
			key := string(c.kind) + "|" + cs.CardNumber
			i := slices.IndexFunc(cs.Warnings, func(w app.Warning) bool { return w.Code == c.code })
			if i >= 0 && !a.warned[key] {
				n := base
				n.Kind, n.Days = c.kind, cs.Warnings[i].Days
				notes = append(notes, n)
			}
			a.warned[key] = i >= 0
		}
		for _, c := range cs.Certificates {
			if c.Expired {
				continue
			}
			left := app.DaysLeft(now, c.NotAfter)
			th, ok := expiryThreshold(a.opts.ExpiryWarningDays, left)
			if !ok {
				continue
			}
			key := fmt.Sprintf("exp|%s|%s|%d", cs.CardNumber, c.SHA256, th)
			if a.warned[key] {
				continue
			}
			a.warned[key] = true
			n := base
			n.Kind, n.CertID, n.Days = localapi.NotifyCertificateExpiring, c.ID, left
			if e, ok := cs.EIDOf(c.ID); ok && len(cs.EIDs) > 1 {
				n.Organisation, n.HSAID = e.Organisation, e.HSAID // whose eID (issue 15)
			}
			notes = append(notes, n)
		}
	}
	a.publishLocked()
	a.mu.Unlock()
	for _, n := range notes {
		a.notify(n)
	}
}

// expiryThreshold is the smallest configured day count that left is within.
// A certificate seen with 10 days left is warned for the 14-day threshold;
// seen again at 6 days, for the 7-day one.
func expiryThreshold(days []int, left int) (int, bool) {
	best, ok := 0, false
	for _, d := range days {
		if d > 0 && left <= d && (!ok || d < best) {
			best, ok = d, true
		}
	}
	return best, ok
}

// begin marks an operation running; the returned func ends it and records
// its error. An operation that left its outcome (outcomes: a PIN change,
// an unblock or a login, whose result says the tries) ends with the agent's state
// taking it, no card read, when the state was current as it began and
// nothing else began, ended or came or went meanwhile; any other ends with
// the cards read again (the refresher).
func (a *Agent) begin(method string) func(error) {
	a.mu.Lock()
	g0 := a.gen
	a.gen++ // the operation may change tries or certificates
	a.busy = append(a.busy, method)
	a.state.Busy = a.busy[0]
	a.publishLocked()
	a.mu.Unlock()
	return func(err error) {
		a.mu.Lock()
		a.gen++
		if i := slices.Index(a.busy, method); i >= 0 {
			a.busy = slices.Delete(a.busy, i, i+1)
		}
		a.state.Busy = ""
		if len(a.busy) > 0 {
			a.state.Busy = a.busy[0]
		}
		if err != nil {
			a.state.LastError = &localapi.OperationError{Method: method, Error: localapi.ToWire(err), At: a.now()}
		}
		var settled *app.Status // the state the outcome leaves, no APDU
		if o, ok := a.outcomes[method]; ok {
			delete(a.outcomes, method)
			// a.gen-2 == g0: only this operation's begin and end since.
			if current := a.knownGen == g0 || a.knownGen == g0+1; a.gen == g0+2 && current {
				if r, ok := a.known.WithPINOutcome(o); ok {
					if st, err := a.svc.StatusFrom(r, app.StatusOptions{}); err == nil {
						settled, a.known, a.knownGen = st, r, a.gen
					}
				}
			}
		}
		if settled != nil {
			// Published once, with the new tries (apply): the old ones
			// are not shown with the operation over.
			a.mu.Unlock()
			a.apply(settled)
			return
		}
		a.publishLocked()
		a.mu.Unlock()
		a.kick() // tries left and certificates may have changed
	}
}

// leaveOutcome hands a PIN operation's outcome to its end (begin): called
// by the handler of method, which runs before it ends.
func (a *Agent) leaveOutcome(method string, o app.PINOutcome) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.outcomes == nil {
		a.outcomes = map[string]app.PINOutcome{}
	}
	a.outcomes[method] = o
}

// queueHandoff validates and queues a login request from the URL handler.
// Any web page can open a sithseid: link, so requests are rate-limited
// (Options.HandoffBurst) and the queue is bounded (MaxHandoffs); the
// excess is refused, never stacked (docs/protocol.md §8.1). Each queued
// request raises loginRequested, whose approval window the desktop opens
// behind any already open (QueueApprovalWindow).
func (a *Agent) queueHandoff(link string) (localapi.HandoffReceipt, error) {
	if err := app.CheckLink(link); err != nil {
		return localapi.HandoffReceipt{}, err
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	h := pendingHandoff{PendingHandoff: localapi.PendingHandoff{ID: hex.EncodeToString(b[:]), Received: a.now()}, link: link}
	a.mu.Lock()
	a.expireHandoffsLocked()
	ok, first := a.rate.take(h.Received)
	if ok && len(a.handoffs) >= MaxHandoffs {
		ok, first = false, !a.rate.refused
		a.rate.refused = true
	}
	if !ok {
		queued := len(a.handoffs)
		a.mu.Unlock()
		a.log.Warn("login request refused: too many in a short time", "queued", queued,
			"burst", a.rate.burst, "interval", a.rate.interval)
		if first {
			a.notify(localapi.Notification{Kind: localapi.NotifyLoginRefused})
		}
		return localapi.HandoffReceipt{}, localapi.ErrHandoffRateLimited
	}
	a.handoffs = append(a.handoffs, h)
	a.syncHandoffsLocked()
	n := len(a.handoffs)
	a.publishLocked()
	a.mu.Unlock()
	a.notify(localapi.Notification{Kind: localapi.NotifyLoginRequested, Handoff: h.ID})
	return localapi.HandoffReceipt{ID: h.ID, Queued: n}, nil
}

// takeHandoff removes and returns the queued link id names.
func (a *Agent) takeHandoff(id string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expireHandoffsLocked()
	for i, h := range a.handoffs {
		if h.ID == id {
			a.handoffs = slices.Delete(a.handoffs, i, i+1)
			a.inflight[id] = h
			a.syncHandoffsLocked()
			a.publishLocked()
			return h.link, nil
		}
	}
	return "", localapi.ErrHandoffNotFound
}

// settleHandoff ends a login that took handoff id. A wrong PIN leaves the
// order pending at the service, and so does a login its caller abandoned
// (the window switched to the QR code for the phone, or closed) without
// declining: then the request goes back in the queue, for its QR code and
// for another try by the user (never an automatic one). Any other outcome
// ends it.
func (a *Agent) settleHandoff(id string, err error) {
	var wrong *cardreader.WrongPINError
	a.mu.Lock()
	defer a.mu.Unlock()
	h, ok := a.inflight[id]
	if !ok {
		return
	}
	delete(a.inflight, id)
	pending := (errors.As(err, &wrong) && wrong.Retries > 0) || (errors.Is(err, context.Canceled) && !errors.Is(err, app.ErrCancelled))
	if pending && a.now().Sub(h.Received) <= HandoffLifetime {
		a.handoffs = append(a.handoffs, h)
		a.syncHandoffsLocked()
		a.publishLocked()
	}
}

// peekHandoff returns the queued link id names, leaving it queued (the QR
// code of an order the user may still approve here).
func (a *Agent) peekHandoff(id string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expireHandoffsLocked()
	for _, h := range a.handoffs {
		if h.ID == id {
			return h.link, nil
		}
	}
	if h, ok := a.inflight[id]; ok {
		return h.link, nil
	}
	return "", localapi.ErrHandoffNotFound
}

// expireHandoffsLocked drops handoffs past their lifetime; it runs when the
// queue is touched, so no timer runs while idle.
func (a *Agent) expireHandoffsLocked() {
	now := a.now()
	a.handoffs = slices.DeleteFunc(a.handoffs, func(h pendingHandoff) bool {
		return now.Sub(h.Received) > HandoffLifetime
	})
}

func (a *Agent) syncHandoffsLocked() {
	a.state.Handoffs = make([]localapi.PendingHandoff, len(a.handoffs))
	for i, h := range a.handoffs {
		a.state.Handoffs[i] = h.PendingHandoff
	}
}

// HasHandoff reports whether the login request id is still queued (not
// taken by a login, not expired).
func (a *Agent) HasHandoff(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expireHandoffsLocked()
	return slices.ContainsFunc(a.handoffs, func(h pendingHandoff) bool { return h.ID == id })
}

// Handoffs returns the queued login requests, oldest first.
func (a *Agent) Handoffs() []localapi.PendingHandoff {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expireHandoffsLocked()
	a.syncHandoffsLocked()
	out := slices.Clone(a.state.Handoffs)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Received.Before(out[j].Received) })
	return out
}
