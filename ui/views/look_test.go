package views

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

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
	// With the banner of a test environment, in the longer language.
	_, vv := open(t, l10n.English, func(env *Env) View { env.Environment = "DEMO"; return NewQR(env, f, "h1") })
	if s := vv.Content().MinSize(); s.Height > screenFitHeight || s.Width > screenFitWidth {
		t.Errorf("QR window needs %v, want within %dx%d", s, screenFitWidth, screenFitHeight)
	}
}

// Every window has one emphasised button, its primary action (Enter).
func TestOnePrimaryButton(t *testing.T) {
	f := newFake(card("1001", 3))
	f.qr = func(int) (*app.QRHandover, error) {
		return &app.QRHandover{Payload: "p", PNG: tinyPNG(), ValidFor: 20 * time.Second}, nil
	}
	f.login = func(ctx context.Context, req app.LoginRequest) (*app.LoginResult, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	mks := map[string]func(*Env) View{
		"status":  func(e *Env) View { return NewStatus(e, f) },
		"pin":     func(e *Env) View { return NewPINChange(e, f) },
		"unblock": func(e *Env) View { return NewUnblock(e, f) },
		"certs":   func(e *Env) View { return NewCerts(e, f) },
		"login":   func(e *Env) View { return NewLogin(e, f, "h") },
		"qr":      func(e *Env) View { return NewQR(e, f, "h") },
		"settings": func(e *Env) View {
			return NewSettings(e, &fakePrefs{set: map[string]string{}, locked: map[string]bool{}}, Autostart{})
		},
		"about": func(e *Env) View {
			return NewAbout(e, AboutInfo{Version: "1", Diagnostics: func(context.Context, string) error { return nil }})
		},
	}
	for name, mk := range mks {
		_, v := open(t, l10n.Swedish, mk)
		eventually(t, name+" loaded", func() bool { return !strings.Contains(visibleText(v.Content()), "Läser kortet") })
		var primary []string
		var walk func(fyne.CanvasObject)
		walk = func(o fyne.CanvasObject) {
			if o == nil || !o.Visible() {
				return
			}
			switch x := o.(type) {
			case *button:
				if x.Importance == widget.HighImportance || x.Importance == widget.DangerImportance {
					primary = append(primary, x.Text)
				}
			case *fyne.Container:
				for _, c := range x.Objects {
					walk(c)
				}
			}
		}
		walk(v.Content())
		if len(primary) != 1 {
			t.Errorf("%s: emphasised buttons %q, want exactly one", name, primary)
		}
	}
}
