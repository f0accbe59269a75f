package views

import (
	"errors"
	"io/fs"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/ui/tray/icons"
)

// CardState is what the header says about the card, worst first.
type CardState string

// The header's states; each is the name of the tray's icon for it.
const (
	StateReady       CardState = "ready"
	StateNoCard      CardState = "nocard"
	StateNoReader    CardState = "noreader"
	StateServiceDown CardState = "servicedown"
	StatePINBlocked  CardState = "pinblocked"
	StateExpiring    CardState = "expiring"
	StateWrongEnv    CardState = "wrongenv"
)

// CardEnvironment is the environment a card belongs to, told by its
// issuing CA: Inera's test CAs carry the word TEST in their name ("SITHS
// e-id Person HSA-id 3 CA v1 TEST", internal/testkit/testpki), the
// production CAs do not. "" when the issuer is unknown.
func CardEnvironment(issuer string) string {
	if strings.TrimSpace(issuer) == "" {
		return ""
	}
	for _, w := range strings.FieldsFunc(issuer, func(r rune) bool {
		return r == ' ' || r == ',' || r == '=' || r == '-' || r == '_'
	}) {
		if w == "TEST" {
			return "TEST"
		}
	}
	return "PROD"
}

// envMismatch says whether a card of cardEnv is the wrong one for the
// app's environment appEnv: PROD wants production cards, every other
// environment (TEST, QA, DEMO) test cards.
func envMismatch(appEnv, cardEnv string) bool {
	if cardEnv == "" {
		return false
	}
	if appEnv == "" || strings.EqualFold(appEnv, "PROD") {
		return cardEnv != "PROD"
	}
	return cardEnv == "PROD"
}

// cardState is the header's state and sentence for the active card cs
// (nil with err when there is none) in the app's environment appEnv.
func cardState(c *l10n.Catalog, st *app.Status, cs *app.CardStatus, err error, appEnv string) (CardState, string) {
	switch {
	case cs == nil && err != nil && !errors.Is(err, cardreader.ErrNoCard) && !errors.Is(err, cardreader.ErrNoReader):
		return StateServiceDown, c.T("ui.state.service_down")
	case cs == nil && (errors.Is(err, cardreader.ErrNoReader) || (st != nil && len(st.Readers) == 0)):
		return StateNoReader, c.T("ui.state.no_reader")
	case cs == nil:
		return StateNoCard, c.T("ui.state.no_card")
	}
	if ce := CardEnvironment(cs.Issuer); envMismatch(appEnv, ce) {
		if ce == "TEST" {
			return StateWrongEnv, c.T("ui.state.test_card", "PROD")
		}
		return StateWrongEnv, c.T("ui.state.prod_card", strings.ToUpper(appEnv))
	}
	if cs.PIN.Blocked {
		return StatePINBlocked, c.T("ui.state.pin_blocked")
	}
	days := -1
	for _, w := range cs.Warnings {
		if w.Code == app.WarnCertificateExpiring && (days < 0 || w.Days < days) {
			days = w.Days
		}
	}
	if days >= 0 {
		return StateExpiring, c.T("ui.state.expiring", days)
	}
	return StateReady, c.T("ui.state.ready")
}

// header is the top of every window: a banner when the app is not in
// production, and the card's state with the tray's icon for it.
type header struct {
	f      *frame
	banner *fyne.Container
	// bannerText is the banner's sentence.
	bannerText *canvas.Text
	icon       *widget.Icon
	state      *widget.Label
	logo       *canvas.Image
	row        *fyne.Container
	box        *fyne.Container
	// shown is the state shown now (tests read it).
	shown CardState
}

func newHeader(f *frame) *header {
	h := &header{f: f}
	env := strings.ToUpper(strings.TrimSpace(f.env.Environment))
	bannerText := canvas.NewText(f.cat.T("ui.banner.not_prod", env), theme.Color(theme.ColorNameForegroundOnWarning))
	bannerText.TextStyle.Bold = true
	bannerText.Alignment = fyne.TextAlignCenter
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameWarning))
	h.bannerText = bannerText
	h.banner = container.NewStack(bg, container.NewPadded(bannerText))
	if env == "" || env == "PROD" {
		h.banner.Hide()
	}
	h.icon = widget.NewIcon(nil)
	h.state = widget.NewLabel("")
	h.state.TextStyle.Bold = true
	h.state.SizeName = theme.SizeNameSubHeadingText
	h.state.Wrapping = fyne.TextWrapWord
	var right fyne.CanvasObject
	if f.env.Logo != nil {
		h.logo = canvas.NewImageFromResource(f.env.Logo)
		h.logo.FillMode = canvas.ImageFillContain
		h.logo.SetMinSize(fyne.NewSize(72, 24))
		right = container.NewCenter(h.logo)
	}
	h.row = container.NewBorder(nil, widget.NewSeparator(),
		container.NewCenter(container.NewGridWrap(fyne.NewSquareSize(32), h.icon)), right, h.state)
	h.row.Hide()
	h.box = container.NewVBox(h.banner, h.row)
	return h
}

// set shows the state of the active card cs (nil with err when none).
func (h *header) set(st *app.Status, cs *app.CardStatus, err error) {
	s, text := cardState(h.f.cat, st, cs, err, h.f.env.Environment)
	h.shown = s
	h.icon.SetResource(stateIcon(s))
	h.state.SetText(text)
	h.state.Importance = widget.MediumImportance
	h.row.Show()
	h.box.Refresh()
}

// stateIcon is the tray's icon for s; the wrong environment has no tray
// icon of its own and shows the theme's error sign.
func stateIcon(s CardState) fyne.Resource {
	if s == StateWrongEnv {
		return theme.NewErrorThemedResource(theme.ErrorIcon())
	}
	b, err := fs.ReadFile(icons.FS, string(s)+".png")
	if err != nil {
		return theme.NewWarningThemedResource(theme.WarningIcon())
	}
	return fyne.NewStaticResource("state-"+string(s)+".png", b)
}
