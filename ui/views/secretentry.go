package views

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/sithseid/sithseid/cardreader"
)

// secretEntry is the entry of a PIN or PUK. Unlike widget.Entry, which
// keeps its text in Go strings (copied on every keystroke, and never
// wiped), it keeps what is typed in one byte buffer of fixed capacity that
// it owns: Take moves the bytes into a cardreader.Secret and Wipe zeroes
// them. No string ever holds a typed character: the field shows one
// bullet per character, and the revealed digits are drawn from constant
// one-character strings.
//
// It takes the keyboard focus (Tab, a click), types printable ASCII (only
// digits when digits is set), deletes with Backspace, submits with Enter
// and passes Escape to the view. There is no paste and no selection: a
// clipboard or a selection would be a string again.
type secretEntry struct {
	widget.DisableableWidget

	// placeHolder is shown while the entry is empty.
	placeHolder string
	// max is the most bytes it takes; more are refused (rejectedLong).
	max int
	// digits refuses anything but 0–9 (rejectedNotDigit).
	digits bool
	// onChanged follows every change of the content, or a refused key.
	onChanged func()
	// onSubmitted runs on Enter.
	onSubmitted func()
	// onEscape runs on Escape.
	onEscape func()

	buf      []byte // what is typed, cap(buf) == max, never grown
	focused  bool
	revealed bool
	// rejected is why the last key refused was refused; it stays until
	// the user deletes (Backspace) or the entry is emptied, since what the
	// entry holds is not what was typed.
	rejected rejection
}

type rejection int

const (
	rejectedNone     rejection = iota
	rejectedNotDigit           // a key that is not a digit, in a digits entry
	rejectedLong               // a key past max
)

var (
	_ fyne.Focusable     = (*secretEntry)(nil)
	_ fyne.Tappable      = (*secretEntry)(nil)
	_ fyne.Disableable   = (*secretEntry)(nil)
	_ desktop.Cursorable = (*secretEntry)(nil)
)

// newSecret is a secret entry of at most max bytes.
func newSecret(placeholder string, max int, digits bool) *secretEntry {
	if max <= 0 {
		max = 64
	}
	e := &secretEntry{placeHolder: placeholder, max: max, digits: digits, buf: make([]byte, 0, max)}
	e.ExtendBaseWidget(e)
	return e
}

// Len is the number of bytes typed.
func (e *secretEntry) Len() int { return len(e.buf) }

// Rejected says why a key was refused since the entry was last emptied
// or edited with Backspace.
func (e *secretEntry) Rejected() rejection { return e.rejected }

// peek is the typed bytes in place, for checks that make no copy: never
// keep, wipe or log them.
func (e *secretEntry) peek() *cardreader.Secret { return cardreader.NewSecret(e.buf) }

// Take moves what is typed into a Secret (the caller wipes it) and
// empties the entry.
func (e *secretEntry) Take() *cardreader.Secret {
	s := cardreader.NewSecret(e.buf)
	e.buf = make([]byte, 0, e.max)
	e.rejected = rejectedNone
	e.changed()
	return s
}

// Wipe zeroes what is typed and empties the entry.
func (e *secretEntry) Wipe() {
	clear(e.buf[:cap(e.buf)])
	e.buf = e.buf[:0]
	e.rejected = rejectedNone
	e.changed()
}

func (e *secretEntry) changed() {
	e.Refresh()
	if e.onChanged != nil {
		e.onChanged()
	}
}

func (e *secretEntry) FocusGained() {
	e.focused = true
	e.Refresh()
}

func (e *secretEntry) FocusLost() {
	e.focused = false
	e.Refresh()
}

// TypedRune types one character; a refused one changes nothing but
// Rejected.
func (e *secretEntry) TypedRune(r rune) {
	if e.Disabled() {
		return
	}
	switch {
	case r < 0x20 || r > 0x7e, e.digits && (r < '0' || r > '9'):
		e.rejected = rejectedNotDigit
	case len(e.buf) >= e.max:
		e.rejected = rejectedLong
	default:
		e.buf = append(e.buf, byte(r)) // within cap: never reallocated
	}
	e.changed()
}

func (e *secretEntry) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEscape:
		if e.onEscape != nil {
			e.onEscape()
		}
	case fyne.KeyReturn, fyne.KeyEnter:
		if e.onSubmitted != nil {
			e.onSubmitted()
		}
	case fyne.KeyBackspace:
		if e.Disabled() {
			return
		}
		if n := len(e.buf); n > 0 {
			e.buf[n-1] = 0
			e.buf = e.buf[:n-1]
		}
		e.rejected = rejectedNone
		e.changed()
	}
}

// Tapped focuses the entry.
func (e *secretEntry) Tapped(*fyne.PointEvent) {
	if e.Disabled() {
		return
	}
	if c := fyne.CurrentApp().Driver().CanvasForObject(e); c != nil {
		c.Focus(e)
	}
}

func (e *secretEntry) Cursor() desktop.Cursor { return desktop.TextCursor }

// Disable also hides the digits again.
func (e *secretEntry) Disable() {
	e.revealed = false
	e.DisableableWidget.Disable()
}

// toggleReveal shows or hides the digits.
func (e *secretEntry) toggleReveal() {
	if e.Disabled() {
		return
	}
	e.revealed = !e.revealed
	e.Refresh()
	if c := fyne.CurrentApp().Driver().CanvasForObject(e); c != nil {
		c.Focus(e)
	}
}

// glyphs are the strings the entry draws: constants of one character, so
// no string ever holds two typed characters (or one that is not here).
var glyphs = [...]string{
	"0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
}

const bullet = "•"

func glyph(b byte) string {
	if b >= '0' && b <= '9' {
		return glyphs[b-'0']
	}
	return bullet // revealed only for digits
}

func (e *secretEntry) CreateRenderer() fyne.WidgetRenderer {
	r := &secretRenderer{
		e:           e,
		box:         canvas.NewRectangle(color.Transparent),
		border:      canvas.NewRectangle(color.Transparent),
		placeholder: canvas.NewText(e.placeHolder, color.Transparent),
		cursor:      canvas.NewRectangle(color.Transparent),
		reveal:      newRevealer(e),
	}
	r.cells = make([]*canvas.Text, e.max)
	r.objects = []fyne.CanvasObject{r.box, r.border, r.placeholder}
	for i := range r.cells {
		r.cells[i] = canvas.NewText(bullet, color.Transparent)
		r.objects = append(r.objects, r.cells[i])
	}
	r.objects = append(r.objects, r.cursor, r.reveal)
	r.Refresh()
	return r
}

type secretRenderer struct {
	e           *secretEntry
	box, border *canvas.Rectangle
	placeholder *canvas.Text
	cells       []*canvas.Text
	cursor      *canvas.Rectangle
	reveal      *revealer
	objects     []fyne.CanvasObject
}

func (r *secretRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *secretRenderer) Destroy()                     {}

// cell is the width of one character: a digit or a bullet.
func (r *secretRenderer) cell() fyne.Size {
	th := r.e.Theme()
	ts := th.Size(theme.SizeNameText)
	d := fyne.MeasureText("0", ts, fyne.TextStyle{})
	if b := fyne.MeasureText(bullet, ts, fyne.TextStyle{}); b.Width > d.Width {
		d.Width = b.Width
	}
	return d
}

func (r *secretRenderer) MinSize() fyne.Size {
	th := r.e.Theme()
	inner := th.Size(theme.SizeNameInnerPadding)
	c := r.cell()
	w := c.Width * float32(min(r.e.max, cardreader.MaxPINLength))
	if p := fyne.MeasureText(r.e.placeHolder, th.Size(theme.SizeNameText), fyne.TextStyle{}).Width; p > w {
		w = p
	}
	w += 2*inner + r.reveal.MinSize().Width
	// As high as Fyne's Entry, which the other fields are.
	return fyne.NewSize(w, c.Height+2*inner)
}

func (r *secretRenderer) Layout(size fyne.Size) {
	th := r.e.Theme()
	inner := th.Size(theme.SizeNameInnerPadding)
	b := th.Size(theme.SizeNameInputBorder)
	r.box.Resize(size.Subtract(fyne.NewSquareSize(2 * b)))
	r.box.Move(fyne.NewSquareOffsetPos(b))
	sw := r.border.StrokeWidth
	r.border.Resize(fyne.NewSize(size.Width-sw-.5, size.Height-sw-.5))
	r.border.Move(fyne.NewSquareOffsetPos(sw / 2))
	rw := r.reveal.MinSize().Width
	r.reveal.Resize(fyne.NewSize(rw, size.Height-2*b))
	r.reveal.Move(fyne.NewPos(size.Width-rw-b, b))
	c := r.cell()
	y := (size.Height - c.Height) / 2
	r.placeholder.Move(fyne.NewPos(inner, y))
	r.placeholder.Resize(fyne.NewSize(size.Width-2*inner-rw, c.Height))
	for i, t := range r.cells {
		t.Move(fyne.NewPos(inner+float32(i)*c.Width, y))
		t.Resize(c)
	}
	cw := th.Size(theme.SizeNameInputBorder) * 2
	r.cursor.Resize(fyne.NewSize(cw, c.Height))
	// In the gap before the next character (and before the
	// placeholder's first letter).
	r.cursor.Move(fyne.NewPos(inner+float32(len(r.e.buf))*c.Width-cw, y))
}

func (r *secretRenderer) Refresh() {
	e := r.e
	th := e.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	b := th.Size(theme.SizeNameInputBorder)
	ts := th.Size(theme.SizeNameText)
	r.box.FillColor = th.Color(theme.ColorNameInputBackground, v)
	r.box.CornerRadius = th.Size(theme.SizeNameInputRadius)
	r.border.CornerRadius = r.box.CornerRadius
	r.border.StrokeWidth = b
	fg := th.Color(theme.ColorNameForeground, v)
	switch {
	case e.Disabled():
		r.border.StrokeColor = th.Color(theme.ColorNameDisabled, v)
		fg = th.Color(theme.ColorNameDisabled, v)
	case e.focused:
		// The focus ring: the primary colour, twice the border's width
		// (UX guide §5: a focus that shows without colour too).
		r.border.StrokeColor = th.Color(theme.ColorNamePrimary, v)
		r.border.StrokeWidth = 2 * b
	default:
		r.border.StrokeColor = th.Color(theme.ColorNameInputBorder, v)
	}
	r.placeholder.Text = e.placeHolder
	r.placeholder.TextSize = ts
	r.placeholder.Color = th.Color(theme.ColorNamePlaceHolder, v)
	if len(e.buf) == 0 {
		r.placeholder.Show()
	} else {
		r.placeholder.Hide()
	}
	for i, t := range r.cells {
		t.TextSize = ts
		t.Color = fg
		if i >= len(e.buf) {
			t.Hide()
			t.Text = bullet
			continue
		}
		if e.revealed {
			t.Text = glyph(e.buf[i])
		} else {
			t.Text = bullet
		}
		t.Show()
	}
	r.cursor.FillColor = th.Color(theme.ColorNamePrimary, v)
	if e.focused && !e.Disabled() {
		r.cursor.Show()
	} else {
		r.cursor.Hide()
	}
	r.Layout(e.Size())
	r.reveal.Refresh()
	canvas.Refresh(e)
}

// revealer is the eye at the end of the entry that shows or hides the
// digits, as on Fyne's password entry.
type revealer struct {
	widget.BaseWidget
	e    *secretEntry
	icon *canvas.Image
}

var _ fyne.Tappable = (*revealer)(nil)

func newRevealer(e *secretEntry) *revealer {
	r := &revealer{e: e, icon: canvas.NewImageFromResource(theme.VisibilityOffIcon())}
	r.ExtendBaseWidget(r)
	return r
}

func (r *revealer) Tapped(*fyne.PointEvent) { r.e.toggleReveal() }

func (r *revealer) Cursor() desktop.Cursor { return desktop.DefaultCursor }

func (r *revealer) CreateRenderer() fyne.WidgetRenderer { return &revealerRenderer{r: r} }

type revealerRenderer struct{ r *revealer }

func (rr *revealerRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{rr.r.icon} }
func (rr *revealerRenderer) Destroy()                     {}

func (rr *revealerRenderer) MinSize() fyne.Size {
	th := rr.r.e.Theme()
	return fyne.NewSquareSize(th.Size(theme.SizeNameInlineIcon) + 2*th.Size(theme.SizeNameInnerPadding))
}

func (rr *revealerRenderer) Layout(size fyne.Size) {
	is := rr.r.e.Theme().Size(theme.SizeNameInlineIcon)
	rr.r.icon.Resize(fyne.NewSquareSize(is))
	rr.r.icon.Move(fyne.NewPos((size.Width-is)/2, (size.Height-is)/2))
}

func (rr *revealerRenderer) Refresh() {
	th := rr.r.e.Theme()
	res := th.Icon(theme.IconNameVisibilityOff)
	if rr.r.e.revealed {
		res = th.Icon(theme.IconNameVisibility)
	}
	if rr.r.e.Disabled() {
		res = theme.NewDisabledResource(res)
	}
	rr.r.icon.Resource = res
	rr.r.icon.Refresh()
}
