package views

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/internal/l10n"
)

// A 1366×768 screen at 150 % is 910×512 units; a title bar and a panel
// take about 70 of those, so a window may be at most 440 units high
// (UX-GUIDE) and every view fits the windows' 580-unit width.
const (
	screenFitWidth  = 580
	screenFitHeight = 440
)

// The About window's diagnostics path wraps inside the window however long
// it is, and the whole path stays in the field to select and copy.
func TestAboutLongPathStaysInsideWindow(t *testing.T) {
	info := AboutInfo{Version: "1.2.3", Environment: "PROD", Diagnostics: func(context.Context, string) error { return nil }}
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewAbout(env, info) })
	v := vv.(*AboutView)
	long := "/home/" + strings.Repeat("mycket-langt-katalognamn/", 8) + "sithseid-diagnostik-20261202-043000.zip"
	v.path.SetText(long)
	if w := v.Content().MinSize().Width; w > screenFitWidth {
		t.Errorf("about is %v units wide with a long path, want <= %d", w, screenFitWidth)
	}
	// A single-line entry draws a long path past its own edge and the
	// window's (the bug); the field must wrap it.
	if !v.path.MultiLine || v.path.Wrapping == fyne.TextWrapOff {
		t.Errorf("the path field does not wrap (MultiLine %v, Wrapping %v)", v.path.MultiLine, v.path.Wrapping)
	}
	if v.path.Text != long {
		t.Errorf("the field holds %q, want the whole path", v.path.Text)
	}
}

// The QR window fits a 1366×768 screen at 150 %.
func TestQRFitsSmallScreen(t *testing.T) {
	f := newFake()
	f.qr = func(int) (*app.QRHandover, error) {
		return &app.QRHandover{Payload: "p", PNG: tinyPNG(), ValidFor: 20 * time.Second}, nil
	}
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewQR(env, f, "h1") })
	if s := vv.Content().MinSize(); s.Height > screenFitHeight || s.Width > screenFitWidth {
		t.Errorf("QR window needs %v, want within %dx%d", s, screenFitWidth, screenFitHeight)
	}
}
