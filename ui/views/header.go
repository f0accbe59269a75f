package views

import (
	"errors"
	"image"
	"image/draw"
	"io/fs"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/localapi"
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
// The one rule is localapi.CardEnvironmentOf, which the agent also applies
// to the state it publishes.
func CardEnvironment(issuer string) string {
	return string(localapi.CardEnvironmentOf(issuer))
}

// envMismatch says whether a card of cardEnv is the wrong one for the
// app's environment appEnv: PROD wants production cards, every other
// environment (TEST, QA, DEMO) test cards.
func envMismatch(appEnv, cardEnv string) bool {
	return localapi.CardEnvironment(cardEnv).Mismatches(appEnv)
}

// cardState is the header's state and sentence for the active card cs
// (nil with err when there is none) in the app's environment appEnv.
func cardState(c *l10n.Catalog, st *app.Status, cs *app.CardStatus, err error, appEnv string) (CardState, string) {
	ce := ""
	if cs != nil {
		ce = CardEnvironment(cs.Issuer)
	}
	return cardStateEnv(c, st, cs, ce, err, appEnv)
}

// cardStateEnv is cardState for a card whose environment ce is known
// otherwise than by its issuer (the agent's published state names it).
func cardStateEnv(c *l10n.Catalog, st *app.Status, cs *app.CardStatus, ce string, err error, appEnv string) (CardState, string) {
	switch {
	case cs == nil && err != nil && !errors.Is(err, cardreader.ErrNoCard) && !errors.Is(err, cardreader.ErrNoReader):
		return StateServiceDown, c.T("ui.state.service_down")
	case cs == nil && (errors.Is(err, cardreader.ErrNoReader) || (st != nil && len(st.Readers) == 0)):
		return StateNoReader, c.T("ui.state.no_reader")
	case cs == nil:
		return StateNoCard, c.T("ui.state.no_card")
	}
	if envMismatch(appEnv, ce) {
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
	banner *banner
	// bannerText is the banner's sentence (the banner draws it).
	bannerText *canvas.Text
	icon       *stateImage
	state      *widget.Label
	logo       *canvas.Image
	row        *fyne.Container
	box        *fyne.Container
	// shown is the state shown now (tests read it).
	shown CardState
	// following: the header follows the agent's published state.
	following bool
	// The last state set, to say it again in another language.
	lastSt  *app.Status
	lastCs  *app.CardStatus
	lastErr error
	// lastEnv is the card's environment as last shown.
	lastEnv string
}

func newHeader(f *frame) *header {
	h := &header{f: f}
	env := strings.ToUpper(strings.TrimSpace(f.env.Environment))
	h.banner = newBanner(f.cat.T("ui.banner.not_prod", env))
	h.bannerText = h.banner.text
	if env == "" || env == "PROD" {
		h.banner.Hide()
	}
	h.icon = newStateImage()
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
	ce := ""
	if cs != nil {
		ce = CardEnvironment(cs.Issuer)
	}
	h.show(st, cs, ce, err)
}

// show is set for a card of environment ce.
func (h *header) show(st *app.Status, cs *app.CardStatus, ce string, err error) {
	h.lastSt, h.lastCs, h.lastErr, h.lastEnv = st, cs, err, ce
	s, text := cardStateEnv(h.f.cat, st, cs, ce, err, h.f.env.Environment)
	h.shown = s
	h.icon.show(s)
	h.state.SetText(text)
	h.state.Importance = widget.MediumImportance
	h.row.Show()
	h.box.Refresh()
}

// relanguage says the banner and the state again in the frame's language
// (now its catalogue), for the app's environment, which may have changed
// too.
func (h *header) relanguage(environment string) {
	h.f.env.Environment = environment
	env := strings.ToUpper(strings.TrimSpace(environment))
	h.bannerText.Text = h.f.cat.T("ui.banner.not_prod", env)
	h.banner.Refresh()
	if env == "" || env == "PROD" {
		h.banner.Hide()
	} else {
		h.banner.Show()
	}
	if h.shown != "" {
		h.show(h.lastSt, h.lastCs, h.lastEnv, h.lastErr)
	}
}

// follow shows in the header the card's state as the agent knows it
// (its published state: the active card, readers, service down), for the
// windows that read no card themselves (login, QR, settings, about). A
// source that cannot be reached shows "service down".
func (h *header) follow(src StateSource) {
	if src == nil || h.following {
		return
	}
	h.following = true
	go func() {
		events, err := src.Subscribe(h.f.ctx)
		if err != nil {
			h.f.later(func() { h.set(nil, nil, err) })
			return
		}
		for ev := range events {
			if ev.State == nil {
				continue
			}
			st, cs, err := fromAgentState(ev.State)
			ce := ""
			if ev.State.Card != nil && !ev.State.ServiceDown {
				ce = string(ev.State.Card.Environment)
			}
			h.f.later(func() { h.show(st, cs, ce, err) })
		}
	}()
}

// fromAgentState is the header's input from the agent's published state.
// The summary has no issuer; the card's environment, which the agent
// judged from it, travels beside (CardSummary.Environment).
func fromAgentState(s *localapi.State) (*app.Status, *app.CardStatus, error) {
	if s.ServiceDown {
		return nil, nil, errServiceDown
	}
	st := &app.Status{Readers: s.Readers}
	c := s.Card
	if c == nil {
		return st, nil, cardreader.ErrNoCard
	}
	return st, &app.CardStatus{Reader: c.Reader, Backend: c.Backend, CardNumber: c.CardNumber, Holder: c.Holder,
		NotAfter: c.NotAfter, PIN: c.PIN, PUK: c.PUK, Warnings: c.Warnings, EIDs: c.EIDs}, nil
}

// errServiceDown: the agent says the smart card service is unreachable.
var errServiceDown = errors.New("the smart card service does not answer")

// banner is the strip that says the app is not in production: a widget,
// so it takes the theme's colours again when the theme or its variant
// changes while the window is open (Fyne refreshes every widget then; a
// bare canvas.Text keeps the colour it was made with).
type banner struct {
	widget.BaseWidget
	bg   *canvas.Rectangle
	text *canvas.Text
}

func newBanner(text string) *banner {
	b := &banner{bg: canvas.NewRectangle(theme.Color(theme.ColorNameWarning)),
		text: canvas.NewText(text, theme.Color(theme.ColorNameForegroundOnWarning))}
	b.text.TextStyle.Bold = true
	b.text.Alignment = fyne.TextAlignCenter
	b.ExtendBaseWidget(b)
	return b
}

func (b *banner) CreateRenderer() fyne.WidgetRenderer {
	return &bannerRenderer{b: b, box: container.NewStack(b.bg, container.NewPadded(b.text))}
}

// setColours takes the current theme's colours.
func (b *banner) setColours() {
	b.bg.FillColor = theme.Color(theme.ColorNameWarning)
	b.text.Color = theme.Color(theme.ColorNameForegroundOnWarning)
}

type bannerRenderer struct {
	b   *banner
	box *fyne.Container
}

func (r *bannerRenderer) Layout(s fyne.Size)           { r.box.Resize(s) }
func (r *bannerRenderer) MinSize() fyne.Size           { return r.box.MinSize() }
func (r *bannerRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.box} }
func (r *bannerRenderer) Destroy()                     {}
func (r *bannerRenderer) Refresh() {
	r.b.setColours()
	r.b.bg.Refresh()
	r.b.text.Refresh()
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

// stateImage is the header's state icon, sharp at any scale. A tray
// state's picture is a canvas.Raster: Fyne asks it for the texture's size
// in pixels (32 units are 32 px at 100 %, 48 at 150 %, 64 at 200 %), and
// it is drawn at that size from the product icon as the tray's files are
// (icons.Draw), so no raster is scaled on the way. The wrong environment's
// theme icon is an SVG, which Fyne renders at that size itself.
type stateImage struct {
	widget.BaseWidget
	// Resource is the state's picture as a resource (stateIcon): the
	// tray's 64 px PNG for a tray state, the theme's icon otherwise.
	Resource fyne.Resource
	mu       sync.Mutex
	name     string // the tray icon the raster draws; "" for a theme icon
	drawn    *image.NRGBA
	// drawnName is the icon drawn.
	drawnName string
	raster    *canvas.Raster
	image     *canvas.Image
}

func newStateImage() *stateImage {
	s := &stateImage{image: canvas.NewImageFromResource(nil)}
	s.image.FillMode = canvas.ImageFillContain
	s.raster = canvas.NewRaster(s.generate)
	s.ExtendBaseWidget(s)
	return s
}

// show shows state st's picture.
func (s *stateImage) show(st CardState) {
	s.Resource = stateIcon(st)
	name := ""
	if _, err := fs.Stat(icons.FS, string(st)+".png"); err == nil {
		name = string(st)
	}
	s.mu.Lock()
	s.name = name
	s.mu.Unlock()
	s.Refresh()
}

// generate draws the tray icon at the raster's pixel size, once per size.
func (s *stateImage) generate(w, h int) image.Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	size := min(w, h)
	if s.name == "" || size <= 0 {
		return image.NewNRGBA(image.Rect(0, 0, max(w, 1), max(h, 1)))
	}
	if s.drawn == nil || s.drawn.Bounds().Dx() != size || s.drawnName != s.name {
		img, err := icons.Draw(s.name, size)
		if err != nil {
			return image.NewNRGBA(image.Rect(0, 0, max(w, 1), max(h, 1)))
		}
		s.drawn, s.drawnName = img, s.name
	}
	if w == h {
		return s.drawn
	}
	// Not square: the picture centred, as ImageFillContain would.
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	at := image.Pt((w-size)/2, (h-size)/2)
	draw.Draw(out, s.drawn.Bounds().Add(at), s.drawn, image.Point{}, draw.Src)
	return out
}

func (s *stateImage) CreateRenderer() fyne.WidgetRenderer {
	r := &stateImageRenderer{s: s}
	r.Refresh()
	return r
}

type stateImageRenderer struct{ s *stateImage }

func (r *stateImageRenderer) Layout(size fyne.Size) {
	r.s.raster.Resize(size)
	r.s.image.Resize(size)
}
func (r *stateImageRenderer) MinSize() fyne.Size { return fyne.NewSquareSize(theme.IconInlineSize()) }
func (r *stateImageRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.s.raster, r.s.image}
}
func (r *stateImageRenderer) Destroy() {}
func (r *stateImageRenderer) Refresh() {
	s := r.s
	s.mu.Lock()
	raster := s.name != ""
	s.mu.Unlock()
	if raster {
		s.image.Hide()
		s.raster.Show()
		s.raster.Refresh()
		return
	}
	s.raster.Hide()
	s.image.Resource = s.Resource
	s.image.Show()
	s.image.Refresh()
}
