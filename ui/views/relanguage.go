package views

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/l10n"
)

// Relanguage shows the view in cat's language at once, in place: every
// text it shows is replaced by the same message in the other catalogue,
// and what comes later is said in cat. Nothing else changes: a typed PIN
// stays in its secret entry (the widgets are the same ones), a login
// under way keeps waiting for its PIN, the QR code keeps turning (issue
// 17). The environment and policy's helpdesk come along (the banner).
// It runs on the UI goroutine.
//
// A text the view shows is found in the old catalogue by its whole text
// (or line by line): a message with arguments (a card number, a count) is
// matched by its format and said again with the same arguments.
func (f *frame) Relanguage(cat *l10n.Catalog, environment string, helpdesk config.Helpdesk) {
	if cat == nil {
		return
	}
	tr := newTranslator(f.cat, cat)
	f.cat, f.env.Cat = cat, cat
	f.env.Helpdesk = helpdesk
	tr.walk(f.padded)
	f.head.relanguage(environment)
	if f.relanguaged != nil {
		f.relanguaged()
	}
	f.fit()
}

// translator says the texts of one catalogue in another.
type translator struct {
	exact   map[string]string
	formats []format
}

// format is a message with arguments: its pattern in the old language
// and its format in the new one.
type format struct {
	re      *regexp.Regexp
	verbs   []byte // the verb of each argument, in order
	to      string
	literal int // how much of the message is fixed text
}

var verbRE = regexp.MustCompile(`%[-+# 0]*[0-9]*(?:\.[0-9]+)?[sdvq]`)

func newTranslator(from, to *l10n.Catalog) *translator {
	t := &translator{exact: map[string]string{}}
	for _, id := range from.IDs() {
		old, neu := from.T(id), to.T(id)
		if old == neu || old == id {
			continue
		}
		if !verbRE.MatchString(old) {
			if _, dup := t.exact[old]; !dup {
				t.exact[old] = neu
			}
			continue
		}
		var pat strings.Builder
		var verbs []byte
		literal, last := 0, 0
		pat.WriteString("^")
		for _, m := range verbRE.FindAllStringIndex(old, -1) {
			lit := strings.ReplaceAll(old[last:m[0]], "%%", "%")
			literal += len(lit)
			pat.WriteString(regexp.QuoteMeta(lit))
			v := old[m[1]-1]
			verbs = append(verbs, v)
			if v == 'd' {
				pat.WriteString(`(-?[0-9]+)`)
			} else {
				pat.WriteString(`(.*?)`)
			}
			last = m[1]
		}
		lit := strings.ReplaceAll(old[last:], "%%", "%")
		literal += len(lit)
		pat.WriteString(regexp.QuoteMeta(lit) + "$")
		// A message that is (almost) all argument would match anything.
		if literal < 4 {
			continue
		}
		re, err := regexp.Compile(pat.String())
		if err != nil {
			continue
		}
		t.formats = append(t.formats, format{re: re, verbs: verbs, to: neu, literal: literal})
	}
	// The most specific message first.
	sort.SliceStable(t.formats, func(i, j int) bool { return t.formats[i].literal > t.formats[j].literal })
	return t
}

// text is s in the new language; a text no message makes stays as it is.
func (t *translator) text(s string) string {
	if s == "" {
		return s
	}
	if d, ok := t.exact[s]; ok {
		return d
	}
	for _, f := range t.formats {
		m := f.re.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		args := make([]any, len(f.verbs))
		for i, v := range f.verbs {
			args[i] = m[i+1]
			if v == 'd' {
				if n, err := strconv.Atoi(m[i+1]); err == nil {
					args[i] = n
				}
			} else if v == 'q' {
				if u, err := strconv.Unquote(m[i+1]); err == nil {
					args[i] = u
				}
			}
		}
		return fmt.Sprintf(f.to, args...)
	}
	if strings.Contains(s, "\n") {
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			lines[i] = t.text(l)
		}
		return strings.Join(lines, "\n")
	}
	return s
}

// walk says every text under o in the new language, shown or hidden.
func (t *translator) walk(o fyne.CanvasObject) {
	switch x := o.(type) {
	case nil:
	case *fyne.Container:
		for _, c := range x.Objects {
			t.walk(c)
		}
	case *widget.Label:
		x.SetText(t.text(x.Text))
	case *button:
		x.SetText(t.text(x.Text))
	case *check:
		x.SetText(t.text(x.Text))
	case *choice:
		// Options and the selection change together, without OnChanged:
		// the choice is the same, only its words are not.
		for i, opt := range x.Options {
			x.Options[i] = t.text(opt)
		}
		x.Selected = t.text(x.Selected)
		x.Refresh()
	case *entry:
		x.PlaceHolder = t.text(x.PlaceHolder)
		x.Refresh()
	case *secretEntry:
		// Only the placeholder: the typed digits stay in the buffer.
		x.placeHolder = t.text(x.placeHolder)
		x.Refresh()
	case *canvas.Text:
		x.Text = t.text(x.Text)
		x.Refresh()
	case *list:
		x.Refresh() // its rows are drawn again by the view, in the new language
	}
}
