package views

import (
	"context"
	"errors"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/oob"
)

// QRSize is the QR code's side, in pixels as the agent renders it and in
// Fyne units on screen (so it is crisp at 100 % and exactly doubled at
// 200 %). 256 keeps the window within 440 units, the height a 1366×768
// screen at 150 % leaves below its title bar and panel (look_test.go).
const QRSize = 256

// QRView shows the animated QR code of a queued login, for finishing it
// on the phone: a new code every second, a countdown, and it closes
// itself when the order is completed or the code's window is over.
type QRView struct {
	*frame
	src     QRSource
	handoff string

	img       *canvas.Image
	countdown *widget.Label
	closeB    *button
	// Payload is the code shown now (tests compare it with the service's).
	payload string
	ended   bool
	// fetches counts answers from the agent (tests wait on it).
	fetches int
	stop    context.CancelFunc
}

// NewQR returns the QR view for the handoff id.
func NewQR(env *Env, src QRSource, handoff string) *QRView {
	return newQR(env, src, handoff, newFrame(env))
}

func newQR(env *Env, src QRSource, handoff string, f *frame) *QRView {
	v := &QRView{frame: f, src: src, handoff: handoff}
	c := v.cat
	v.img = canvas.NewImageFromResource(nil)
	v.img.FillMode = canvas.ImageFillContain
	v.img.ScaleMode = canvas.ImageScalePixels
	v.img.SetMinSize(fyne.NewSize(QRSize, QRSize))
	v.countdown = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{})
	v.closeB = v.keys.newButton(c.T("ui.close"), v.closeWindow)
	v.closeB.Importance = widget.HighImportance // the one primary action
	v.keys.enter = v.closeWindow
	v.keys.escape = v.closeWindow
	// The code beside the text, not under it: the window then fits the
	// 440 units a 1366×768 screen at 150 % leaves, banner included.
	v.countdown.Alignment = fyne.TextAlignLeading
	v.countdown.Wrapping = fyne.TextWrapWord
	v.show(container.NewBorder(nil, container.NewHBox(layoutSpacer(), v.closeB),
		container.NewCenter(v.img), nil,
		container.NewVBox(
			heading(c.T("ui.qr.title")),
			para(c.T("ui.qr.intro")),
			v.countdown,
			v.messages(),
		)))
	return v
}

func (v *QRView) Title() string { return v.cat.T("ui.qr.title") }

// Start fetches a new code every second until the window closes or the
// order ends.
func (v *QRView) Start(w fyne.Window) {
	v.attach(w)
	v.head.follow(v.frame.env.State) // the card's state, as the agent knows it
	v.focus(v.closeB)
	ctx, cancel := context.WithCancel(v.ctx)
	v.stop = cancel
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			h, err := v.src.QRHandoff(ctx, v.handoff, QRSize)
			if ctx.Err() != nil {
				return
			}
			v.later(func() { v.apply(h, err) })
			if err != nil && ended(err) {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// Stop ends the refresh; the window is closing.
func (v *QRView) Stop() {
	if v.stop != nil {
		v.stop()
	}
	v.frame.Stop()
}

// ended: the order is over (completed, expired, or no longer queued).
func ended(err error) bool {
	return errors.Is(err, oob.ErrExpired) || errors.Is(err, oob.ErrAlreadyCompleted) || errors.Is(err, localapi.ErrHandoffNotFound)
}

func (v *QRView) apply(h *app.QRHandover, err error) {
	defer func() { v.fetches++ }()
	c := v.cat
	if err != nil {
		if ended(err) {
			v.img.Resource = nil
			v.img.Hide()
			v.countdown.SetText("")
			v.say(widget.MediumImportance, c.T("ui.qr.ended"), c.T("ui.qr.ended_hint"))
			// Last: whoever waits for the end finds what it says.
			v.ended = true
			if d := v.env.AutoClose; d > 0 {
				time.AfterFunc(d, func() { v.later(v.closeWindow) })
			}
			return
		}
		v.fail(err) // a passing failure: the next second tries again
		return
	}
	v.quiet()
	v.payload = h.Payload
	v.img.Resource = fyne.NewStaticResource(fmt.Sprintf("qr-%d.png", v.fetches), h.PNG)
	v.img.Show()
	v.img.Refresh()
	secs := int(h.ValidFor / time.Second)
	v.countdown.SetText(c.T("ui.qr.countdown", secs))
}
