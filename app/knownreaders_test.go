package app_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// TestKnownReaders (issue 17): with a monitor's view of the readers
// (UseKnownReaders, the agent's), an operation lists no readers through
// PC/SC while the view shows a card; it lists them when the view shows
// none (a card the monitor has not reported yet), and when a card of the
// view is not there (a reader gone, a card pulled a moment ago), so the
// operation sees what listing would have shown.
func TestKnownReaders(t *testing.T) {
	ctx := context.Background()
	k := cardkind.PIV
	waitEmpty(t, rig.Require(t).Reader(0))
	card := k.Insert(t, 0, testpki.CardSpec{}, vcard.RunOptions{})
	listed, err := cardreader.ListReaders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var inReader *cardreader.Reader
	for i := range listed {
		if listed[i].Name == card.Reader && listed[i].CardPresent {
			inReader = &listed[i]
		}
	}
	if inReader == nil {
		t.Fatalf("PC/SC shows no card in %s: %+v", card.Reader, listed)
	}

	opts := k.Options(cardreader.NewIdentityCache(8))
	var lists atomic.Int32
	opts.Readers = func(ctx context.Context) ([]cardreader.Reader, error) {
		lists.Add(1)
		return cardreader.ListReaders(ctx)
	}
	svc, err := app.NewService(opts)
	if err != nil {
		t.Fatal(err)
	}
	var view atomic.Pointer[[]cardreader.Reader]
	svc.UseKnownReaders(func() []cardreader.Reader { return *view.Load() })

	status := func(what string, wantLists int32, wantCard bool) {
		t.Helper()
		st, err := svc.Status(ctx, app.StatusOptions{})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		found := false
		for _, c := range st.Cards {
			found = found || c.Reader == card.Reader
		}
		if found != wantCard || len(st.Cards) > 1 {
			t.Errorf("%s: cards %+v, want the card in %s: %v", what, st.Cards, card.Reader, wantCard)
		}
		if n := lists.Load(); n != wantLists {
			t.Errorf("%s: readers listed through PC/SC %d times in all, want %d", what, n, wantLists)
		}
	}

	view.Store(&listed)
	status("the view shows the card", 0, true)
	status("again", 0, true)

	noCard := []cardreader.Reader{{Name: card.Reader}}
	view.Store(&noCard)
	status("the view shows no card yet", 1, true)

	gone := []cardreader.Reader{{Name: "Gone Reader 00 00", CardPresent: true, ATR: inReader.ATR}}
	view.Store(&gone)
	status("the view's reader is gone", 2, true)

	card.Pull(t)
	agoneView := listed
	view.Store(&agoneView)
	status("the view's card was pulled", 3, false)

	svc.UseKnownReaders(nil)
	status("no view", 4, false)
}
