package cardreader

import (
	"context"
	"fmt"
	"slices"

	"github.com/ebfe/scard"
)

// ListReaders asks PC/SC once for the readers and whether each holds a card,
// for callers that run no Monitor (the CLI without an agent). It sends no
// APDUs and does not wait for changes.
func ListReaders(ctx context.Context) ([]Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sc, err := scard.EstablishContext()
	if err != nil {
		return nil, fmt.Errorf("connecting to the smart card service: %w", lostErr(err))
	}
	defer sc.Release()
	names, err := listReaders(sc)
	if err != nil {
		return nil, fmt.Errorf("listing readers: %w", pcscErr(err))
	}
	if len(names) == 0 {
		return []Reader{}, nil
	}
	states := make([]scard.ReaderState, len(names))
	for i, n := range names {
		states[i] = scard.ReaderState{Reader: n, CurrentState: scard.StateUnaware}
	}
	// A zero timeout returns the current state of every reader at once.
	if err := sc.GetStatusChange(states, 0); err != nil && err != scard.ErrTimeout {
		return nil, fmt.Errorf("reading reader states: %w", pcscErr(err))
	}
	out := make([]Reader, 0, len(names))
	for _, st := range states {
		r := Reader{Name: st.Reader}
		if st.EventState&scard.StatePresent != 0 && st.EventState&scard.StateEmpty == 0 {
			r.CardPresent = true
			r.ATR = slices.Clone(st.Atr)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Reader) int { return compareStrings(a.Name, b.Name) })
	return out, nil
}
