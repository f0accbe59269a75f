package views

import (
	"bytes"
	"strings"
	"testing"
	"unsafe"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/l10n"
)

// onCanvas puts secret entries (and an Entry, for comparison) on a test
// window.
func onCanvas(t *testing.T, objs ...fyne.CanvasObject) fyne.Window {
	t.Helper()
	test.NewTempApp(t)
	w := test.NewWindow(container.NewVBox(objs...))
	w.Resize(fyne.NewSize(400, 300))
	t.Cleanup(w.Close)
	return w
}

func zero(b []byte) bool {
	for _, c := range b[:cap(b)] {
		if c != 0 {
			return false
		}
	}
	return true
}

// The typed digits live in one buffer of fixed capacity, never
// reallocated (a reallocation would leave a copy behind); Backspace,
// Wipe and Take leave nothing of them in it.
func TestSecretEntryKeepsOneBufferAndWipesIt(t *testing.T) {
	e := newSecret("", cardreader.MaxPINLength, true)
	onCanvas(t, e)
	buf := e.buf[:cap(e.buf)]
	test.Type(e, "73914682")
	if !bytes.Equal(buf[:8], []byte("73914682")) || &e.buf[0] != &buf[0] || cap(e.buf) != cardreader.MaxPINLength {
		t.Fatalf("the digits are not in the entry's one buffer (cap %d)", cap(e.buf))
	}
	key(e, fyne.KeyBackspace)
	if e.Len() != 7 || buf[7] != 0 {
		t.Fatalf("Backspace: %d bytes, the deleted one is %q", e.Len(), buf[7])
	}
	e.Wipe()
	if e.Len() != 0 || !zero(buf) {
		t.Fatalf("Wipe left %d bytes, buffer %q", e.Len(), buf)
	}
	test.Type(e, "58261937")
	s := e.Take()
	if string(s.Bytes()) != "58261937" || e.Len() != 0 {
		t.Fatalf("Take: %d bytes in the secret, %d left", s.Len(), e.Len())
	}
	if &e.buf[:1][0] == &buf[0] {
		t.Fatal("Take kept the buffer it handed over")
	}
	s.Wipe()
	if !zero(buf) {
		t.Fatalf("the secret's Wipe left %q in the entry's old buffer", buf)
	}
}

// Only digits, at most max of them; a refused key is remembered until
// the user deletes, so the view can say why the field holds less than
// was typed.
func TestSecretEntryFiltersAndLimits(t *testing.T) {
	e := newSecret("", cardreader.PUKLength, true)
	changes := 0
	e.onChanged = func() { changes++ }
	onCanvas(t, e)
	test.Type(e, "12a4")
	if string(e.buf) != "124" || e.Rejected() != rejectedNotDigit || changes != 4 {
		t.Fatalf("typed 12a4: %q, rejected %v, %d changes", e.buf, e.Rejected(), changes)
	}
	key(e, fyne.KeyBackspace)
	if e.Rejected() != rejectedNone {
		t.Fatal("Backspace did not clear the refusal")
	}
	e.Wipe()
	test.Type(e, "123456789")
	if string(e.buf) != "12345678" || e.Rejected() != rejectedLong {
		t.Fatalf("typed 9 digits into 8: %q, rejected %v", e.buf, e.Rejected())
	}
	e.Wipe()
	e.Disable()
	test.Type(e, "12")
	key(e, fyne.KeyBackspace)
	if e.Len() != 0 {
		t.Fatal("a disabled entry took keys")
	}
}

// Enter submits, Escape goes to the view, Tab is left to the window (the
// entry is no fyne.Tabbable), a click focuses, and the focus shows as a
// thicker border in the primary colour and a cursor.
func TestSecretEntryKeysFocusAndLook(t *testing.T) {
	a := newSecret("6–8 siffror", cardreader.MaxPINLength, true)
	b := newSecret("", cardreader.MaxPINLength, true)
	ref := widget.NewPasswordEntry()
	w := onCanvas(t, a, b, ref)
	var submitted, escaped int
	a.onSubmitted = func() { submitted++ }
	a.onEscape = func() { escaped++ }
	key(a, fyne.KeyReturn)
	key(a, fyne.KeyEnter)
	key(a, fyne.KeyEscape)
	if submitted != 2 || escaped != 1 {
		t.Fatalf("Enter ran %d times, Escape %d", submitted, escaped)
	}
	if _, ok := any(a).(fyne.Tabbable); ok {
		t.Fatal("the entry takes Tab")
	}
	if got, want := a.MinSize().Height, ref.MinSize().Height; got != want {
		t.Fatalf("height %v, Fyne's entry %v", got, want)
	}

	test.Tap(b)
	if w.Canvas().Focused() != b {
		t.Fatalf("a click focused %T", w.Canvas().Focused())
	}
	test.FocusNext(w.Canvas())
	if w.Canvas().Focused() != ref {
		t.Fatalf("Tab went to %T", w.Canvas().Focused())
	}
	w.Canvas().Focus(a)
	r := test.WidgetRenderer(a).(*secretRenderer)
	th, v := a.Theme(), fyne.CurrentApp().Settings().ThemeVariant()
	if r.border.StrokeColor != th.Color(theme.ColorNamePrimary, v) || r.border.StrokeWidth != 2*th.Size(theme.SizeNameInputBorder) || !r.cursor.Visible() {
		t.Fatalf("focused: border %v width %v, cursor shown %v", r.border.StrokeColor, r.border.StrokeWidth, r.cursor.Visible())
	}
	if !r.placeholder.Visible() || r.placeholder.Text != "6–8 siffror" {
		t.Fatal("no placeholder on the empty entry")
	}
	w.Canvas().Focus(b)
	if r.border.StrokeColor != th.Color(theme.ColorNameInputBorder, v) || r.cursor.Visible() {
		t.Fatalf("unfocused: border %v, cursor shown %v", r.border.StrokeColor, r.cursor.Visible())
	}
	a.Disable()
	if r.border.StrokeColor != th.Color(theme.ColorNameDisabled, v) {
		t.Fatalf("disabled: border %v", r.border.StrokeColor)
	}
	test.Tap(a)
	if w.Canvas().Focused() == a {
		t.Fatal("a click focused a disabled entry")
	}
}

// The field shows one bullet per digit; the eye shows the digits, each
// drawn from a constant one-character string.
func TestSecretEntryShowsBulletsAndReveals(t *testing.T) {
	e := newSecret("", cardreader.MaxPINLength, true)
	onCanvas(t, e)
	test.Type(e, "739")
	r := test.WidgetRenderer(e).(*secretRenderer)
	shown := func() string {
		var s string
		for _, c := range r.cells {
			if c.Visible() {
				s += c.Text
			}
		}
		return s
	}
	if got := shown(); got != "•••" || r.placeholder.Visible() {
		t.Fatalf("shows %q", got)
	}
	test.Tap(r.reveal)
	if got := shown(); got != "739" {
		t.Fatalf("revealed: %q", got)
	}
	for _, c := range r.cells[:3] {
		if p := c.Text; unsafe.StringData(p) != unsafe.StringData(glyphs[p[0]-'0']) {
			t.Fatalf("cell %q is not the constant glyph", p)
		}
	}
	e.Disable()
	if got := shown(); got != "•••" {
		t.Fatalf("disabled: %q", got)
	}
}

// Closing the window wipes what the PIN entries hold.
func TestPINViewStopWipesEntries(t *testing.T) {
	f := newFake(card("1001", 3))
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewPINChange(env, f) })
	v := vv.(*PINView)
	eventually(t, "the card", func() bool { return v.cards.loads > 0 })
	var bufs [][]byte
	for _, e := range []*secretEntry{v.first, v.newPIN, v.again} {
		test.Type(e, "24681357")
		bufs = append(bufs, e.buf)
	}
	v.Stop()
	for i, b := range bufs {
		if !zero(b) {
			t.Fatalf("entry %d holds %q after Stop", i, b[:cap(b)])
		}
	}
}

// A key the current PIN's or the PUK's entry refuses (a letter, a digit
// too many) shows the view's format message until it is deleted.
func TestPINViewTellsRefusedKeys(t *testing.T) {
	for _, unblock := range []bool{false, true} {
		f := newFake(card("1001", 3))
		_, vv := open(t, l10n.Swedish, func(env *Env) View {
			if unblock {
				return NewUnblock(env, f)
			}
			return NewPINChange(env, f)
		})
		v := vv.(*PINView)
		eventually(t, "the card", func() bool { return v.cards.loads > 0 })
		want := "PIN-koden är 6–8 siffror"
		if unblock {
			want = "En PUK-kod är 8 siffror"
		}
		typeInto(v.newPIN, "24681357")
		typeInto(v.again, "24681357")
		for _, typed := range []string{"1234a", "123456789"} {
			typeInto(v.first, typed)
			wantText(t, v.check, want)
			if !v.submit.Disabled() {
				t.Fatalf("unblock=%v: button enabled after %q", unblock, typed)
			}
		}
		key(v.first, fyne.KeyBackspace)
		if strings.Contains(v.check.Text, want) {
			t.Fatalf("unblock=%v: the message stayed after Backspace", unblock)
		}
		if !unblock {
			typeInto(v.first, "1234567")
			wantText(t, v.check, "Klart att byta")
		}
	}
}
