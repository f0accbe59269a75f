package piv_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/piv"
)

// The agent's loop: watch readers, open each inserted card with the first
// backend that serves it, and show its identity from the cache.
func Example() {
	ctx := context.Background()
	cache := cardreader.NewIdentityCache(0)
	backends, _ := cardreader.OrderBackends("auto", []cardreader.Backend{
		piv.New(piv.Options{Cache: cache}),
		// pkcs11.New(...) next: the real SITHS cards.
	})
	m := cardreader.NewMonitor(ctx, cardreader.MonitorOptions{})
	defer m.Close()
	for ev := range m.Events() {
		if ev.Kind != cardreader.CardInserted {
			continue
		}
		card, err := cardreader.Open(ctx, ev.Reader, backends...)
		if err != nil {
			continue // not a card we serve, or gone again
		}
		id, err := cache.Identity(ctx, card, time.Now())
		if err != nil {
			continue
		}
		st, err := card.PINStatus(ctx)
		if errors.Is(err, cardreader.ErrCardRemoved) {
			continue
		}
		// PersonalNumber prints masked: 19900101-XXXX.
		fmt.Println(id.Holder.Name, id.HSAID, id.PersonalNumber, st.Retries)
	}
}
