package views

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// UnavailableView says that no agent answers and none could be started,
// in place of the view asked for.
type UnavailableView struct {
	*frame
	closeB *button
}

// NewUnavailable returns the view for err (from reaching the agent).
func NewUnavailable(env *Env, err error) *UnavailableView {
	v := &UnavailableView{frame: newFrame(env)}
	c := v.cat
	v.closeB = v.keys.newButton(c.T("ui.close"), v.closeWindow)
	v.keys.enter = v.closeWindow
	v.show(container.NewVBox(
		heading(c.T("ui.unavailable.title")),
		v.messages(),
		container.NewHBox(layoutSpacer(), v.closeB),
	))
	msg, hint := explain(c, err)
	v.say(widget.DangerImportance, msg, joinNonEmpty("\n", hint, c.T("ui.unavailable.hint")))
	return v
}

func (v *UnavailableView) Title() string { return v.cat.T("ui.unavailable.title") }

func (v *UnavailableView) Start(w fyne.Window) {
	v.attach(w)
	v.focus(v.closeB)
}
