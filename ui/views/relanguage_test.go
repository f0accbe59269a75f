package views

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/oob"
)

// wantAllEnglish fails t when v shows a Swedish text: a line the
// Swedish catalogue makes (alone or with arguments) that differs in
// English.
func wantAllEnglish(t *testing.T, name string, v View) {
	t.Helper()
	tr := newTranslator(l10n.MustLoad(l10n.Swedish), l10n.MustLoad(l10n.English))
	shown := visibleText(v.Content())
	for _, line := range strings.Split(shown, "\n") {
		if en := tr.text(line); en != line {
			t.Errorf("%s: still Swedish after the switch: %q (English %q)", name, line, en)
		}
	}
	if v.Title() != l10n.MustLoad(l10n.English).T(titleKey(v)) {
		t.Errorf("%s: title %q", name, v.Title())
	}
}

func titleKey(v View) string {
	switch x := v.(type) {
	case *PINView:
		if x.unblock {
			return "ui.unblock.title"
		}
		return "ui.pin.title"
	case *LoginView:
		return "ui.login.title"
	case *QRView:
		return "ui.qr.title"
	}
	return ""
}

// A language changed while the PIN window is open applies at once, in
// place: the texts turn English, the digits typed stay typed, and the
// change runs with them (issue 17).
func TestRelanguageKeepsTypedPIN(t *testing.T) {
	for _, unblock := range []bool{false, true} {
		c := card("9752", 3)
		if unblock {
			c = card("9752", 0)
		}
		f := newFake(c)
		_, vv := open(t, l10n.Swedish, func(env *Env) View {
			env.Environment = "TEST"
			if unblock {
				return NewUnblock(env, f)
			}
			return NewPINChange(env, f)
		})
		v := vv.(*PINView)
		eventually(t, "the card", func() bool { return v.cards.loads > 0 })
		first := "123456"
		if unblock {
			first = "12345678"
		}
		typeInto(v.first, first)
		typeInto(v.newPIN, "2468")
		if !strings.Contains(visibleText(v.Content()), "Nuvarande PIN-kod") && !unblock {
			t.Fatalf("not Swedish before the switch:\n%s", visibleText(v.Content()))
		}
		v.Relanguage(l10n.MustLoad(l10n.English), "TEST", v.env.Helpdesk)
		drainUI()
		wantAllEnglish(t, v.Title(), v)
		if !strings.Contains(v.head.bannerText.Text, "TEST ENVIRONMENT") {
			t.Errorf("banner %q", v.head.bannerText.Text)
		}
		// The rest is typed after the switch, into the same fields.
		typeMore(v.newPIN, "1357")
		typeInto(v.again, "24681357")
		if !v.first.peek().Equal(cardreader.NewSecret([]byte(first))) {
			t.Fatalf("the first field lost what was typed before the switch")
		}
		if want := l10n.MustLoad(l10n.English).T("ui.pin.ready"); v.check.Text != want {
			t.Errorf("check line %q, want %q", v.check.Text, want)
		}
		v.run()
		eventually(t, "the operation", func() bool { return v.ops > 0 })
		kind := app.PromptPIN
		if unblock {
			kind = app.PromptPUK
		}
		f.mu.Lock()
		got := f.answers
		f.mu.Unlock()
		if got[kind] != first || got[app.PromptNewPIN] != "24681357" {
			t.Fatalf("the agent got %v", got)
		}
		wantText(t, v.notice, "PIN") // said in English: "The PIN has been changed." / "…unblocked…"
		wantAllEnglish(t, "after the change", v)
	}
}

// A login waiting for its PIN keeps waiting through a language switch,
// and the PIN typed after it completes the same login; the QR code keeps
// turning through one.
func TestRelanguageKeepsLoginAndQR(t *testing.T) {
	f := newFake()
	pins := make(chan string, 1)
	f.login = func(ctx context.Context, req app.LoginRequest) (*app.LoginResult, error) {
		if err := req.Approve(ctx, approval(&oob.Origin{EndUserIP: "127.0.0.1", EndUserIPMatch: true})); err != nil {
			return nil, err
		}
		s, err := req.Prompt(ctx, app.PromptRequest{Kind: app.PromptPIN, Retries: 3})
		if err != nil {
			return nil, err
		}
		pins <- string(s.Bytes())
		s.Wipe()
		return &app.LoginResult{HSAID: "SE2321000016-1234"}, nil
	}
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewLogin(env, f, "h1") })
	v := vv.(*LoginView)
	eventually(t, "the PIN prompt", func() bool { return v.pinRow.Visible() })
	typeInto(v.pin, "12")
	v.Relanguage(l10n.MustLoad(l10n.English), "", v.env.Helpdesk)
	drainUI()
	wantAllEnglish(t, "login", v)
	typeMore(v.pin, "3456")
	v.submit()
	eventually(t, "the login done", func() bool { return v.ops > 0 })
	select {
	case got := <-pins:
		if got != "123456" {
			t.Fatalf("the login got PIN %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the login got no PIN")
	}

	f.qr = func(n int) (*app.QRHandover, error) {
		return &app.QRHandover{Payload: "p" + string(rune('0'+n%10)), PNG: tinyPNG(), ValidFor: 30e9}, nil
	}
	_, qv := open(t, l10n.Swedish, func(env *Env) View { return NewQR(env, f, "h2") })
	q := qv.(*QRView)
	eventually(t, "a code", func() bool { return q.fetches > 0 })
	q.Relanguage(l10n.MustLoad(l10n.English), "", q.env.Helpdesk)
	drainUI()
	n := q.fetches
	eventually(t, "the next code after the switch", func() bool { return q.fetches > n })
	wantAllEnglish(t, "qr", q)
}

// typeMore types s after what e holds.
func typeMore(e *secretEntry, s string) { test.Type(e, s) }
