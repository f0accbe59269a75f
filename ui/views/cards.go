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
// works on, and a picker shown when there are several: by card number, or
// by reader for a card whose number is unknown (never taken for "no card
// chosen").
type cards struct {
	f   *frame
	src StatusSource
	// list, keys and cur are touched on the UI goroutine only.
	list   []app.CardStatus
	keys   []string // localapi.CardKey of each card in list, as the picker offers them
	cur    string   // localapi.CardKey of the active card
	picker *choice
	label  *widget.Label
	// changed runs on the UI goroutine after every load: the active card,
	// or why there is none.
	changed func(cs *app.CardStatus, err error)
	// loads counts finished loads (tests wait on it).
	loads int
	last  string // fingerprint of the agent state last loaded for
	// status is the agent's last answer (the header reads its readers).
	status *app.Status
}

func newCards(f *frame, src StatusSource, changed func(*app.CardStatus, error)) *cards {
	c := &cards{f: f, src: src, changed: changed, cur: f.env.Card}
	c.picker = f.keys.newChoice(nil, func(label string) {
		i := slices.Index(c.picker.Options, label)
		if i < 0 || i >= len(c.keys) || c.keys[i] == c.cur {
			return
		}
		c.cur = c.keys[i]
		c.f.env.log().Info("card chosen", "card", c.cur)
		c.notify()
	})
	c.picker.Hide()
	c.label = widget.NewLabelWithStyle(f.cat.T("ui.card"), fyne.TextAlignTrailing, fyne.TextStyle{Bold: true})
	c.label.Hide()
	return c
}

// cardLabel is how the picker shows a card: its number, else its reader.
func cardLabel(cs app.CardStatus) string {
	if cs.CardNumber != "" {
		return cs.CardNumber
	}
	return cs.Reader
}

// active is the card the view works on, or nil.
func (c *cards) active() *app.CardStatus {
	if c.cur == "" {
		return nil
	}
	for i := range c.list {
		if localapi.CardKey(c.list[i].CardNumber, c.list[i].Reader) == c.cur {
			return &c.list[i]
		}
	}
	return nil
}

// selector names the active card to the agent: by number, or by reader
// when the card has none.
func (c *cards) selector() app.Selector {
	if len(c.list) > 1 || c.f.env.Card != "" {
		return localapi.KeySelector(c.cur)
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
	c.status = st
	if err != nil {
		c.list = nil
		c.picker.Hide()
		c.label.Hide()
		c.f.head.set(nil, nil, err)
		c.changed(nil, err)
		return
	}
	c.list = slices.Clone(st.Cards)
	c.keys = make([]string, len(c.list))
	labels := make([]string, len(c.list))
	for i, cs := range c.list {
		c.keys[i] = localapi.CardKey(cs.CardNumber, cs.Reader)
		labels[i] = cardLabel(cs)
	}
	if !slices.Contains(c.keys, c.cur) {
		c.cur = ""
		if len(c.keys) > 0 && (c.f.env.Card == "" || len(c.keys) > 1) {
			c.cur = c.keys[0]
		}
	}
	c.picker.Options = labels
	if len(labels) > 1 {
		c.picker.SetSelected(labels[slices.Index(c.keys, c.cur)])
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
		c.f.head.set(c.status, cs, nil)
		c.changed(cs, nil)
		return
	}
	c.f.head.set(c.status, nil, c.missing())
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

// certOfWarning names the certificate a warning is about, as the
// certificate window lists it (" (HSA-ID · legitimering)", and its ID when
// the card has several alike), so two warnings of the same kind say which
// certificate each is; "" for a warning about no certificate.
func certOfWarning(c interface{ T(string, ...any) string }, cs *app.CardStatus, w app.Warning) string {
	if w.CertID == "" {
		return ""
	}
	alike := map[string]int{}
	name := ""
	for _, cert := range cs.Certificates {
		n := kindName(c, cert.Kind) + " · " + usageName(c, cert.Usage)
		alike[n]++
		if cert.ID == w.CertID {
			name = n
		}
	}
	if name == "" {
		return " (" + w.CertID + ")"
	}
	if alike[name] > 1 {
		name += " · " + w.CertID
	}
	return " (" + name + ")"
}
