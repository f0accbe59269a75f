package agent

import (
	"context"

	"github.com/sithseid/sithseid/app"
)

// readStatus reads the cards (app.Service.ReadStatus) and keeps what it
// read as what the agent knows, valid until the next card event or
// operation (gen), then returns the status of it for opts.
func (a *Agent) readStatus(ctx context.Context, opts app.StatusOptions) (*app.Status, error) {
	a.mu.Lock()
	gen := a.gen
	a.mu.Unlock()
	r, err := a.svc.ReadStatus(ctx)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	if a.gen == gen { // nothing changed while the cards were read
		a.known, a.knownGen = r, gen
	}
	a.mu.Unlock()
	return a.svc.StatusFrom(r, opts)
}

// status answers a status request. While no card was inserted or removed
// and no operation ran since the agent last read the cards (on the
// insertion, after the last operation), the answer comes from what it
// read then, with the clock of now: no APDU. Otherwise it reads the cards
// (fresh). PIN tries another program spent in the meantime are not seen;
// every PIN prompt reads them from the card first.
func (a *Agent) status(ctx context.Context, opts app.StatusOptions) (st *app.Status, fresh bool, err error) {
	a.mu.Lock()
	r, ok := a.known, a.known != nil && a.knownGen == a.gen
	a.mu.Unlock()
	if ok {
		st, err = a.svc.StatusFrom(r, opts)
		return st, false, err
	}
	st, err = a.readStatus(ctx, opts)
	return st, true, err
}
