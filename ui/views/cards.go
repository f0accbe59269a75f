package views

import (
	"fmt"
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/localapi"
)

// cards is the inserted cards as the agent reports them, the one the view
// works on, and a picker by card number shown when there are several.
type cards struct {
	f   *frame
	src StatusSource
	// list and cur are touched on the UI goroutine only.
	list   []app.CardStatus
	cur    string // card number of the active card
	picker *choice
	label  *widget.Label
	// changed runs on the UI goroutine after every load: the active card,
	// or why there is none.
	changed func(cs *app.CardStatus, err error)
	// loads counts finished loads (tests wait on it).
	loads int
	last  string // fingerprint of the agent state last loaded for
}

func newCards(f *frame, src StatusSource, changed func(*app.CardStatus, error)) *cards {
	c := &cards{f: f, src: src, changed: changed, cur: f.env.Card}
	c.picker = f.keys.newChoice(nil, func(number string) {
		if number == "" || number == c.cur {
			return
		}
		c.cur = number
		c.f.env.log().Info("card chosen", "card", number)
		c.notify()
	})
	c.picker.Hide()
	c.label = widget.NewLabelWithStyle(f.cat.T("ui.card"), fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
	c.label.Hide()
	return c
}

// active is the card the view works on, or nil.
func (c *cards) active() *app.CardStatus {
	for i := range c.list {
		if c.list[i].CardNumber == c.cur {
			return &c.list[i]
		}
	}
	return nil
}

// selector names the active card to the agent.
func (c *cards) selector() app.Selector {
	if len(c.list) > 1 || c.f.env.Card != "" {
		return app.Selector{CardNumber: c.cur}
	}
	return app.Selector{}
}

// load asks the agent for the cards, off the UI goroutine.
func (c *cards) load() {
	go func() {
		st, err := c.src.Status(c.f.ctx, app.StatusOptions{})
		c.f.later(func() { c.apply(st, err) })
	}()
}

func (c *cards) apply(st *app.Status, err error) {
	defer func() { c.loads++; c.f.fit() }()
	if err != nil {
		c.list = nil
		c.picker.Hide()
		c.label.Hide()
		c.changed(nil, err)
		return
	}
	c.list = slices.Clone(st.Cards)
	numbers := make([]string, len(c.list))
	for i, cs := range c.list {
		numbers[i] = cs.CardNumber
	}
	if !slices.Contains(numbers, c.cur) {
		c.cur = ""
		if len(numbers) > 0 && (c.f.env.Card == "" || len(numbers) > 1) {
			c.cur = numbers[0]
		}
	}
	c.picker.Options = numbers
	if len(numbers) > 1 {
		c.picker.SetSelected(c.cur)
		c.picker.Show()
		c.label.Show()
	} else {
		c.picker.Hide()
		c.label.Hide()
	}
	c.picker.Refresh()
	c.notify()
}

// notify tells the view which card is active now.
func (c *cards) notify() {
	if cs := c.active(); cs != nil {
		c.changed(cs, nil)
		return
	}
	c.changed(nil, c.missing())
}

// missing says why there is no active card.
func (c *cards) missing() error {
	if c.f.env.Card != "" && len(c.list) > 0 {
		return fmt.Errorf("card %s: %w", c.f.env.Card, cardreader.ErrNoCard)
	}
	return cardreader.ErrNoCard
}

// watch reloads the cards whenever the agent's view of readers and cards
// changes, until the window closes. Events arrive on the agent's
// connection; the reload runs on the UI goroutine via fyne.Do.
func (c *cards) watch() {
	go func() {
		events, err := c.src.Subscribe(c.f.ctx)
		if err != nil {
			c.f.env.log().Info("subscribing to the agent", "err", err)
			return
		}
		for ev := range events {
			if ev.State == nil || ev.State.Busy != "" {
				continue
			}
			fp := fingerprint(ev.State)
			c.f.later(func() {
				if fp == c.last {
					return
				}
				first := c.last == ""
				c.last = fp
				if !first {
					c.load()
				}
			})
		}
	}()
}

// fingerprint is what of a state the cards depend on (not its sequence
// number, busy flag or handoffs): a status call publishes a state too,
// which must not trigger another load.
func fingerprint(st *localapi.State) string {
	s := fmt.Sprintf("down=%v cards=%d", st.ServiceDown, st.Cards)
	for _, r := range st.Readers {
		s += fmt.Sprintf("|%s %v %s %v %v", r.Name, r.CardPresent, r.ATR, r.Unsupported, r.Busy)
	}
	if cs := st.Card; cs != nil {
		s += fmt.Sprintf("|card %s %s %d %v", cs.CardNumber, cs.Holder.HSAID, cs.PIN.Retries, cs.PIN.Blocked)
		if cs.PUK != nil {
			s += fmt.Sprintf(" puk %d %v", cs.PUK.Retries, cs.PUK.Blocked)
		}
		s += fmt.Sprintf(" w%d", len(cs.Warnings))
	}
	return s
}

// row is the card picker with its label, for a view's form; both are
// hidden while there is only one card.
func (c *cards) row() []fyne.CanvasObject {
	return []fyne.CanvasObject{c.label, c.picker}
}
