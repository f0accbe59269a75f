package views

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// keys are a view's Escape and Enter actions. Fyne hands every key to the
// focused widget, so the widgets below pass these two on.
type keys struct {
	escape func() // cancel or close
	enter  func() // the default action; nil for none
	// secrets are the view's secret entries, wiped when it stops.
	secrets []*secretEntry
}

func (k *keys) onEscape() {
	if k.escape != nil {
		k.escape()
	}
}

func (k *keys) onEnter() {
	if k.enter != nil {
		k.enter()
	}
}

// entry is a single-line entry: Enter runs the default action, Escape
// cancels.
type entry struct {
	widget.Entry
	k *keys
}

func (k *keys) newEntry(placeholder string) *entry {
	e := &entry{k: k}
	e.ExtendBaseWidget(e)
	e.PlaceHolder = placeholder
	e.OnSubmitted = func(string) { k.onEnter() }
	return e
}

// newSecretEntry is the entry of a PIN or PUK of at most max digits: it
// shows dots and keeps the digits in a buffer it wipes (secretentry.go).
// Enter runs the default action, Escape cancels.
func (k *keys) newSecretEntry(placeholder string, max int) *secretEntry {
	e := newSecret(placeholder, max, true)
	e.onSubmitted = k.onEnter
	e.onEscape = k.onEscape
	k.secrets = append(k.secrets, e)
	return e
}

// wipeSecrets wipes every secret entry of the view (the window closes).
func (k *keys) wipeSecrets() {
	for _, e := range k.secrets {
		e.Wipe()
	}
}

func (e *entry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape {
		e.k.onEscape()
		return
	}
	// A wrapped (multi-line) entry shows a long value whole; Enter still
	// runs the default action instead of breaking the line.
	if e.MultiLine && (ev.Name == fyne.KeyReturn || ev.Name == fyne.KeyEnter) {
		e.k.onEnter()
		return
	}
	e.Entry.TypedKey(ev)
}

// button runs its action on Enter as on Space; Escape cancels.
type button struct {
	widget.Button
	k *keys
}

func (k *keys) newButton(label string, tapped func()) *button {
	b := &button{k: k}
	b.Text = label
	b.OnTapped = tapped
	b.ExtendBaseWidget(b)
	return b
}

func (b *button) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEscape:
		b.k.onEscape()
	case fyne.KeyReturn, fyne.KeyEnter:
		if !b.Disabled() && b.OnTapped != nil {
			b.OnTapped()
		}
	default:
		b.Button.TypedKey(ev)
	}
}

// choice is a drop-down: Escape cancels, Enter runs the default action.
type choice struct {
	widget.Select
	k *keys
}

func (k *keys) newChoice(options []string, changed func(string)) *choice {
	s := &choice{k: k}
	s.Options = options
	s.OnChanged = changed
	s.PlaceHolder = " "
	s.ExtendBaseWidget(s)
	return s
}

func (s *choice) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEscape:
		s.k.onEscape()
	case fyne.KeyReturn, fyne.KeyEnter:
		s.k.onEnter()
	default:
		s.Select.TypedKey(ev)
	}
}

// check is a check box: Escape cancels, Enter runs the default action.
type check struct {
	widget.Check
	k *keys
}

func (k *keys) newCheck(label string, changed func(bool)) *check {
	c := &check{k: k}
	c.Text = label
	c.OnChanged = changed
	c.ExtendBaseWidget(c)
	return c
}

func (c *check) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEscape:
		c.k.onEscape()
	case fyne.KeyReturn, fyne.KeyEnter:
		c.k.onEnter()
	default:
		c.Check.TypedKey(ev)
	}
}

// list is a list whose rows are chosen with the arrow keys and Space;
// Escape cancels, Enter runs the default action.
type list struct {
	widget.List
	k *keys
}

func (k *keys) newList(length func() int, create func() fyne.CanvasObject, update func(widget.ListItemID, fyne.CanvasObject)) *list {
	l := &list{k: k}
	l.Length, l.CreateItem, l.UpdateItem = length, create, update
	l.ExtendBaseWidget(l)
	return l
}

func (l *list) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEscape:
		l.k.onEscape()
	case fyne.KeyReturn, fyne.KeyEnter:
		l.k.onEnter()
	default:
		l.List.TypedKey(ev)
	}
}
