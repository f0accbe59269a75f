package views

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/autostart"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/testkit/wait"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/oob"
	"github.com/sithseid/sithseid/ui/viewname"
)

func TestPINChangeValidationWhileTyping(t *testing.T) {
	f := newFake(card("1001", 3))
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewPINChange(env, f) })
	v := vv.(*PINView)
	eventually(t, "the card", func() bool { return v.cards.loads > 0 })
	wantText(t, v.tries, "3 försök kvar")
	wantText(t, v.card, "Anna Andersson")
	if !v.submit.Disabled() {
		t.Fatal("button enabled on an empty form")
	}
	for _, tc := range []struct{ pin, want string }{
		{"12", "minst 6 siffror"},
		{"123456", "följd av siffror"},
		{"654321", "följd av siffror"},
		{"111111", "samma siffra"},
		{"850412", "födelsedatum"}, // the holder's, from the masked personal number
		{"19850412", "födelsedatum"},
		{"12a456", "bara innehålla siffror"},
		{"123456789", "längre än 8"},
		{"24681357", "följer reglerna"},
	} {
		typeInto(v.newPIN, tc.pin)
		wantText(t, v.check, tc.want)
		if !v.submit.Disabled() {
			t.Fatalf("button enabled with new PIN %q only", tc.pin)
		}
	}
	typeInto(v.first, "123456")
	typeInto(v.again, "2468")
	wantText(t, v.check, "följer reglerna") // a prefix of the new PIN: still typing
	typeInto(v.again, "24681358")
	wantText(t, v.check, "inte lika")
	if !v.submit.Disabled() {
		t.Fatal("button enabled with PINs that differ")
	}
	typeInto(v.again, "24681357")
	if v.submit.Disabled() {
		t.Fatalf("button disabled on a complete form: %q", v.check.Text)
	}
	typeInto(v.first, "24681357")
	wantText(t, v.check, "samma som den nuvarande")
	if !v.submit.Disabled() {
		t.Fatal("button enabled with the same PIN")
	}
}

func TestPINChangeSucceedsWithEnter(t *testing.T) {
	f := newFake(card("1001", 3))
	h, vv := open(t, l10n.English, func(env *Env) View { return NewPINChange(env, f) })
	v := vv.(*PINView)
	eventually(t, "the card", func() bool { return v.cards.loads > 0 })
	if h.w.Canvas().Focused() != v.first {
		t.Fatalf("focus on open: %T", h.w.Canvas().Focused())
	}
	// Tab order: current, new, again.
	test.Type(v.first, "123456")
	test.FocusNext(h.w.Canvas())
	if h.w.Canvas().Focused() != v.newPIN {
		t.Fatalf("Tab from the current PIN went to %T", h.w.Canvas().Focused())
	}
	test.Type(v.newPIN, "24681357")
	test.FocusNext(h.w.Canvas())
	test.Type(v.again, "24681357")
	key(v.again, fyne.KeyReturn) // Enter = change
	eventually(t, "the change", func() bool { return v.ops == 1 })
	if got := f.answers; got[app.PromptPIN] != "123456" || got[app.PromptNewPIN] != "24681357" {
		t.Fatalf("the prompts got %v", got)
	}
	wantText(t, v.notice, "The PIN is changed")
	if v.first.Len() != 0 || v.newPIN.Len() != 0 || v.again.Len() != 0 {
		t.Fatal("PIN entries not cleared after the change")
	}
	key(v.submit, fyne.KeyReturn) // now "Close"
	if !h.closed {
		t.Fatal("Enter on Close did not close")
	}
}

func TestPINChangeWrongPINShowsTriesAndNeverRetries(t *testing.T) {
	for _, tc := range []struct {
		lang      l10n.Lang
		err       error
		msg, hint string
		tries     string
	}{
		{l10n.Swedish, &cardreader.WrongPINError{Retries: 2}, "2 försök kvar", "", "2 försök kvar"},
		{l10n.English, &cardreader.WrongPINError{Retries: 2}, "2 tries left", "", "2 tries left"},
		{l10n.Swedish, &cardreader.WrongPINError{Retries: 1}, "Ett försök kvar", "", "sista"},
		{l10n.Swedish, cardreader.ErrPINBlocked, "låst", "PUK", "låst"},
		{l10n.English, cardreader.ErrCardRemoved, "card was removed", "", ""},
		{l10n.Swedish, errors.New("SW 6A82"), "Något gick fel.", "diagnostik", ""},
	} {
		f := newFake(card("1001", 3))
		f.op = func(map[app.PromptKind]string) error { return tc.err }
		_, vv := open(t, tc.lang, func(env *Env) View { return NewPINChange(env, f) })
		v := vv.(*PINView)
		eventually(t, "the card", func() bool { return v.cards.loads > 0 })
		typeInto(v.first, "123450")
		typeInto(v.newPIN, "24681357")
		typeInto(v.again, "24681357")
		test.Tap(v.submit)
		eventually(t, "the attempt", func() bool { return v.ops == 1 })
		if n := strings.Count(strings.Join(f.Calls(), ","), "pin.change"); n != 1 {
			t.Fatalf("%v: %d attempts", tc.err, n)
		}
		if !strings.Contains(strings.ToLower(v.notice.Text), strings.ToLower(tc.msg)) {
			t.Errorf("%s %v: message %q, want %q", tc.lang, tc.err, v.notice.Text, tc.msg)
		}
		if tc.hint != "" && !strings.Contains(v.hint.Text, tc.hint) {
			t.Errorf("%s %v: hint %q, want %q", tc.lang, tc.err, v.hint.Text, tc.hint)
		}
		if tc.tries != "" && !strings.Contains(v.tries.Text, tc.tries) {
			t.Errorf("%s %v: tries %q, want %q", tc.lang, tc.err, v.tries.Text, tc.tries)
		}
		if strings.Contains(v.notice.Text+v.hint.Text, "6A82") {
			t.Errorf("a raw status word reached the user: %q", v.notice.Text)
		}
		if v.first.Len() != 0 {
			t.Error("the wrong PIN stayed in its entry")
		}
		// The agent publishes the card's new state after the attempt: the
		// reading it causes keeps the attempt's outcome on screen.
		msg := v.notice.Text
		agentChanged(t, f, v.cards)
		if v.notice.Text != msg {
			t.Errorf("%s %v: the reading after the attempt replaced %q with %q", tc.lang, tc.err, msg, v.notice.Text)
		}
	}
}

// agentChanged makes the fake agent publish a changed state and waits
// for the view's reading of the cards that follows.
func agentChanged(t *testing.T, f *fakeAgent, c *cards) {
	t.Helper()
	loads := c.loads
	f.events <- localapi.Event{State: &localapi.State{Seq: 100, Cards: 1, Readers: []app.ReaderStatus{{Name: "r", CardPresent: true, ATR: "01"}}}}
	f.events <- localapi.Event{State: &localapi.State{Seq: 101, Cards: 1, Readers: []app.ReaderStatus{{Name: "r", CardPresent: true, ATR: "02"}}}}
	eventually(t, "the reading after the agent's change", func() bool { return c.loads > loads })
}

func TestPINChangeEscapeCloses(t *testing.T) {
	f := newFake(card("1001", 3))
	h, vv := open(t, l10n.Swedish, func(env *Env) View { return NewPINChange(env, f) })
	v := vv.(*PINView)
	key(v.first, fyne.KeyEscape)
	if !h.closed {
		t.Fatal("Escape in the PIN entry did not close the window")
	}
}

func TestPINChangeBlockedCard(t *testing.T) {
	f := newFake(card("1001", 0))
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewPINChange(env, f) })
	v := vv.(*PINView)
	eventually(t, "the card", func() bool { return v.cards.loads > 0 })
	wantText(t, v.notice, "låst")
	wantText(t, v.hint, "Lås upp med PUK-kod")
	typeInto(v.first, "123456")
	typeInto(v.newPIN, "24681357")
	typeInto(v.again, "24681357")
	if !v.submit.Disabled() {
		t.Fatal("change enabled on a blocked PIN")
	}
}

func TestUnblockNoPUKHint(t *testing.T) {
	cs := card("1001", 0)
	cs.PUK = nil // a 2024-portal card: the ID administrator has the PUK
	f := newFake(cs)
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewUnblock(env, f) })
	v := vv.(*PINView)
	eventually(t, "the card", func() bool { return v.cards.loads > 0 })
	wantText(t, v.hint, "ID-administratör")
	typeInto(v.first, "12345678")
	typeInto(v.newPIN, "24681357")
	typeInto(v.again, "24681357")
	if !v.submit.Disabled() {
		t.Fatal("unblock enabled on a card without PUK")
	}
}

func TestUnblockAnswersPUKThenNewPIN(t *testing.T) {
	f := newFake(card("1001", 0))
	_, vv := open(t, l10n.English, func(env *Env) View { return NewUnblock(env, f) })
	v := vv.(*PINView)
	eventually(t, "the card", func() bool { return v.cards.loads > 0 })
	wantText(t, v.tries, "3 tries left") // the PUK's
	typeInto(v.first, "1234567")
	typeInto(v.newPIN, "24681357")
	typeInto(v.again, "24681357")
	if !v.submit.Disabled() {
		t.Fatal("unblock enabled with a 7-digit PUK")
	}
	typeInto(v.first, "12345678")
	f.op = func(map[app.PromptKind]string) error { return &cardreader.WrongPUKError{Retries: 2} }
	key(v.first, fyne.KeyEnter)
	eventually(t, "the attempt", func() bool { return v.ops == 1 })
	wantText(t, v.notice, "2 tries left")
	wantText(t, v.tries, "2 tries left")
	if got := f.answers; got[app.PromptPUK] != "12345678" || got[app.PromptNewPIN] != "24681357" {
		t.Fatalf("prompts got %v", got)
	}
}

func TestStatusFollowsAgentEvents(t *testing.T) {
	f := newFake()
	f.status.Cards = nil
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewStatus(env, f) })
	v := vv.(*StatusView)
	eventually(t, "the first load", func() bool { return v.cards.loads == 1 })
	wantText(t, v.notice, "Sätt i ditt SITHS-kort")
	// The agent says a card went in: the view reads the cards again.
	f.events <- localapi.Event{State: &localapi.State{Seq: 1, Readers: []app.ReaderStatus{{Name: "r", CardPresent: false}}}}
	f.mu.Lock()
	f.status.Cards = []app.CardStatus{card("1001", 2), card("2002", 3)}
	f.status.Cards[1].Holder.Name = "Bertil Berg"
	f.mu.Unlock()
	f.events <- localapi.Event{State: &localapi.State{Seq: 2, Cards: 2, Readers: []app.ReaderStatus{{Name: "r", CardPresent: true}}}}
	eventually(t, "the card", func() bool { return v.cards.loads == 2 })
	wantText(t, v.holder, "Anna Andersson")
	wantText(t, v.hsaID, "SE2321000016-1234")
	wantText(t, v.number, "1001")
	wantText(t, v.pin, "2 försök kvar")
	wantText(t, v.valid, "2025-01-01 – 2029-01-01")
	if !v.cards.picker.Visible() {
		t.Fatal("no card picker with two cards")
	}
	v.cards.picker.SetSelected("2002")
	if v.holder.Text != "Bertil Berg" || v.pin.Text != "3 försök kvar" {
		t.Fatalf("after switching: %q %q", v.holder.Text, v.pin.Text)
	}
	if got := v.cards.selector(); got.CardNumber != "2002" {
		t.Fatalf("selector %+v", got)
	}
	// A state that only bumps the sequence (a status call publishes one)
	// does not read the cards again.
	loads := v.cards.loads
	f.events <- localapi.Event{State: &localapi.State{Seq: 3, Cards: 2, Readers: []app.ReaderStatus{{Name: "r", CardPresent: true}}}}
	f.events <- localapi.Event{State: &localapi.State{Seq: 4, Cards: 2, Readers: []app.ReaderStatus{{Name: "r", CardPresent: false}}}}
	eventually(t, "the removal", func() bool { return v.cards.loads == loads+1 })
}

func TestStatusNoServiceInEnglish(t *testing.T) {
	f := newFake()
	f.err = fmt.Errorf("agent: %w", cardreader.ErrNoService)
	_, vv := open(t, l10n.English, func(env *Env) View { return NewStatus(env, f) })
	v := vv.(*StatusView)
	eventually(t, "the load", func() bool { return v.cards.loads == 1 })
	wantText(t, v.notice, "smart card service")
	if strings.Contains(v.notice.Text, "noService") {
		t.Fatalf("raw code shown: %q", v.notice.Text)
	}
}

func TestCertsRemoveLoginNeedsExtraConfirmation(t *testing.T) {
	f := newFake(card("1001", 3))
	h, vv := open(t, l10n.Swedish, func(env *Env) View { return NewCerts(env, f) })
	v := vv.(*CertsView)
	eventually(t, "the certificates", func() bool { return len(v.certs) == 3 })
	if v.selected() == nil || !v.selected().Login {
		t.Fatal("the first (login) certificate is not selected")
	}
	if v.expiredB.Disabled() {
		t.Fatal("remove expired disabled with an expired certificate")
	}
	test.Tap(v.removeB)
	wantText(t, v.confirmText, "Ta bort certifikatet")
	if h.w.Canvas().Focused() != v.loginCheck {
		t.Fatalf("focus %T, want the login confirmation", h.w.Canvas().Focused())
	}
	typeInto(v.pin, "123456")
	if !v.confirmB.Disabled() {
		t.Fatal("removal of the login certificate enabled without the extra confirmation")
	}
	key(v.pin, fyne.KeyReturn)
	if len(f.Calls()) > 1 {
		t.Fatalf("Enter removed without confirmation: %v", f.Calls())
	}
	test.Tap(v.loginCheck)
	if v.confirmB.Disabled() {
		t.Fatal("removal still disabled after confirming")
	}
	key(v.pin, fyne.KeyReturn)
	eventually(t, "the removal", func() bool { return v.ops == 1 })
	if len(f.removed) != 1 || f.removed[0] != "9a" || !f.confirm || f.answers[app.PromptPIN] != "123456" {
		t.Fatalf("removed %v confirm %v answers %v", f.removed, f.confirm, f.answers)
	}
	wantText(t, v.notice, "borttaget")
}

func TestCertsEscapeBacksOutOfConfirmation(t *testing.T) {
	f := newFake(card("1001", 3))
	h, vv := open(t, l10n.English, func(env *Env) View { return NewCerts(env, f) })
	v := vv.(*CertsView)
	eventually(t, "the certificates", func() bool { return len(v.certs) == 3 })
	v.list.Select(1) // the signing certificate: one confirmation
	test.Tap(v.removeB)
	if h.w.Canvas().Focused() != v.pin {
		t.Fatalf("focus %T, want the PIN", h.w.Canvas().Focused())
	}
	key(v.pin, fyne.KeyEscape)
	if h.closed || v.root.Objects[0] != v.main {
		t.Fatal("Escape did not go back to the list")
	}
	key(v.list, fyne.KeyEscape)
	if !h.closed {
		t.Fatal("Escape on the list did not close")
	}
	if line := v.certLine(v.certs[0]); !strings.Contains(line, "valid until 1 January 2029 · login") {
		t.Fatalf("English list line: %s", line)
	}
}

func TestCertsWarnsOverSix(t *testing.T) {
	cs := card("1001", 3)
	for len(cs.Certificates) < 7 {
		cs.Certificates = append(cs.Certificates, cs.Certificates[1])
	}
	f := newFake(cs)
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewCerts(env, f) })
	v := vv.(*CertsView)
	eventually(t, "the certificates", func() bool { return len(v.certs) == 7 })
	if !v.warn.Visible() {
		t.Fatal("no warning with 7 certificates")
	}
	wantText(t, v.warn, "7 certifikat")
}

func TestCertsExport(t *testing.T) {
	f := newFake(card("1001", 3))
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewCerts(env, f) })
	v := vv.(*CertsView)
	eventually(t, "the certificates", func() bool { return len(v.certs) == 3 })
	key(v.list, fyne.KeyReturn) // Enter = export
	dir := t.TempDir()
	typeInto(v.folder, dir)
	v.format.SetSelected("DER")
	key(v.folder, fyne.KeyReturn)
	eventually(t, "the export", func() bool { return v.ops == 1 })
	if calls := f.Calls(); calls[len(calls)-1] != "cert.export "+dir+" der" {
		t.Fatalf("calls %v", calls)
	}
	wantText(t, v.notice, "1 certifikat sparades")
}

func TestLoginShowsRelyingPartyBeforePIN(t *testing.T) {
	f := newFake()
	approved := make(chan struct{})
	f.login = func(ctx context.Context, req app.LoginRequest) (*app.LoginResult, error) {
		if err := req.Approve(ctx, app.LoginApproval{RelyingParty: "Journalsystemet", Text: "Logga in på Avdelning 12", Holder: "Anna Andersson", HSAID: "SE2321000016-1234", CardNumber: "1001"}); err != nil {
			return nil, err
		}
		select {
		case <-approved:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		s, err := req.Prompt(ctx, app.PromptRequest{Kind: app.PromptPIN, Retries: 3})
		if err != nil {
			return nil, err
		}
		defer s.Wipe()
		if string(s.Bytes()) != "123456" {
			return nil, &cardreader.WrongPINError{Retries: 2}
		}
		return &app.LoginResult{RelyingParty: "Journalsystemet", HSAID: "SE2321000016-1234"}, nil
	}
	h, vv := open(t, l10n.Swedish, func(env *Env) View { return NewLogin(env, f, "h1") })
	v := vv.(*LoginView)
	eventually(t, "the approval", func() bool { return strings.Contains(v.rp.Text, "Journalsystemet") })
	wantText(t, v.text, "Avdelning 12")
	if v.pinRow.Visible() || !v.pin.Disabled() {
		t.Fatal("the PIN field is there before the prompt")
	}
	close(approved)
	eventually(t, "the PIN prompt", func() bool { return v.pinRow.Visible() })
	wantText(t, v.tries, "3 försök kvar")
	if h.w.Canvas().Focused() != v.pin {
		t.Fatal("the PIN field has no focus")
	}
	test.Type(v.pin, "654321")
	key(v.pin, fyne.KeyReturn)
	eventually(t, "the attempt", func() bool { return v.ops == 1 })
	wantText(t, v.notice, "2 försök kvar")
	if !v.retryB.Visible() {
		t.Fatal("no way to try again after a wrong PIN")
	}
	if n := len(f.Calls()); n != 1 {
		t.Fatalf("retried on its own: %v", f.Calls())
	}
	test.Tap(v.retryB)
	eventually(t, "the PIN prompt again", func() bool { return !v.pin.Disabled() })
	test.Type(v.pin, "123456")
	key(v.pin, fyne.KeyReturn)
	eventually(t, "the login", func() bool { return v.ops == 2 })
	wantText(t, v.notice, "Inloggad hos Journalsystemet")
}

func TestLoginCancelDeclines(t *testing.T) {
	f := newFake()
	got := make(chan error, 1)
	f.login = func(ctx context.Context, req app.LoginRequest) (*app.LoginResult, error) {
		_, err := req.Prompt(ctx, app.PromptRequest{Kind: app.PromptPIN, Retries: 3})
		got <- err
		return nil, err
	}
	h, vv := open(t, l10n.English, func(env *Env) View { return NewLogin(env, f, "h1") })
	v := vv.(*LoginView)
	eventually(t, "the PIN prompt", func() bool { return v.pinRow.Visible() })
	key(v.pin, fyne.KeyEscape)
	if err := wait.Recv(t, got, 10*time.Second, "the prompt's answer"); !errors.Is(err, app.ErrCancelled) {
		t.Fatalf("the prompt returned %v, want ErrCancelled (which cancels the order)", err)
	}
	eventually(t, "the window to close", func() bool { return h.closed })
}

func TestLoginSwitchesToQR(t *testing.T) {
	f := newFake()
	ended := make(chan error, 1)
	f.login = func(ctx context.Context, req app.LoginRequest) (*app.LoginResult, error) {
		_, err := req.Prompt(ctx, app.PromptRequest{Kind: app.PromptPIN, Retries: 3})
		ended <- err
		return nil, err
	}
	f.qr = func(n int) (*app.QRHandover, error) {
		if n > 2 {
			return nil, fmt.Errorf("fetching the QR code: %w", oob.ErrExpired)
		}
		return &app.QRHandover{Payload: fmt.Sprintf("sithseid.tok.%d.mac", n), PNG: tinyPNG(), ValidFor: time.Duration(30-n) * time.Second}, nil
	}
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewLogin(env, f, "h1") })
	v := vv.(*LoginView)
	eventually(t, "the PIN prompt", func() bool { return v.pinRow.Visible() })
	test.Tap(v.mobileB)
	if err := wait.Recv(t, ended, 10*time.Second, "the prompt's answer"); !errors.Is(err, localapi.ErrAbandoned) {
		t.Fatalf("switching to the phone answered the prompt with %v, want ErrAbandoned (ErrCancelled would decline the order)", err)
	}
	eventually(t, "the first code", func() bool { return v.qr.fetches >= 1 })
	eventually(t, "the end", func() bool { return v.qr.ended })
	if v.qr.payload != "sithseid.tok.2.mac" {
		t.Fatalf("last code %q", v.qr.payload)
	}
	wantText(t, v.qr.notice, "inloggningen är klar eller har gått ut")
}

func TestSettingsSavesLanguageAndAutostart(t *testing.T) {
	prefs := &fakePrefs{s: config.Settings{Environment: environment.PROD}, locked: map[string]bool{config.KeyEnvironment: true}, set: map[string]string{}}
	var installed bool
	auto := Autostart{
		State: func(context.Context) ([]autostart.Entry, error) { return nil, nil },
		Install: func(context.Context) (*autostart.Entry, error) {
			installed = true
			return &autostart.Entry{}, nil
		},
		Uninstall: func(context.Context) ([]autostart.Entry, error) { return nil, nil },
	}
	h, vv := open(t, l10n.Swedish, func(env *Env) View { return NewSettings(env, prefs, auto) })
	v := vv.(*SettingsView)
	if h.w.Canvas().Focused() != v.lang {
		t.Fatal("focus is not on the language")
	}
	if !v.env.Disabled() {
		t.Fatal("environment switch offered though policy locks it")
	}
	wantText(t, v.envNote, "organisation")
	eventually(t, "the autostart state", func() bool { return !v.autostart.Disabled() })
	v.lang.SetSelectedIndex(2)
	test.Tap(v.autostart)
	key(v.lang, fyne.KeyReturn)
	eventually(t, "saving", func() bool { return v.ops == 1 })
	if prefs.set[config.KeyLanguage] != "en" || !installed {
		t.Fatalf("saved %v, autostart installed %v", prefs.set, installed)
	}
	wantText(t, v.notice, "sparade")
}

type fakePrefs struct {
	s      config.Settings
	locked map[string]bool
	set    map[string]string
}

func (p *fakePrefs) Effective() config.Settings { return p.s }
func (p *fakePrefs) Locked(k string) bool       { return p.locked[k] }
func (p *fakePrefs) SetUser(k, v string) error  { p.set[k] = v; return nil }
func (p *fakePrefs) UnsetUser(k string) error   { delete(p.set, k); return nil }

func TestAboutExportsDiagnostics(t *testing.T) {
	var wrote string
	info := AboutInfo{Version: "1.2.3", Environment: "DEMO", Diagnostics: func(_ context.Context, path string) error { wrote = path; return nil }}
	h, vv := open(t, l10n.English, func(env *Env) View { return NewAbout(env, info) })
	v := vv.(*AboutView)
	if text := visibleText(v.Content()); !strings.Contains(text, "1.2.3") || !strings.Contains(text, "DEMO") {
		t.Fatalf("about shows: %s", text)
	}
	path := t.TempDir() + "/d.zip"
	typeInto(v.path, path)
	key(h.w.Canvas().Focused(), fyne.KeyReturn)
	eventually(t, "the export", func() bool { return v.ops == 1 })
	if wrote != path {
		t.Fatalf("wrote %q", wrote)
	}
	wantText(t, v.notice, path)
}

// Every view's visible text is in the user's language: no Swedish in the
// English windows and no message IDs in either.
func TestViewsSpeakTheirLanguage(t *testing.T) {
	for _, lang := range []l10n.Lang{l10n.Swedish, l10n.English} {
		f := newFake(card("1001", 3))
		f.qr = func(int) (*app.QRHandover, error) {
			return &app.QRHandover{Payload: "p", PNG: tinyPNG(), ValidFor: 20 * time.Second}, nil
		}
		f.login = func(ctx context.Context, req app.LoginRequest) (*app.LoginResult, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		mks := map[string]func(*Env) View{
			viewname.Status:  func(e *Env) View { return NewStatus(e, f) },
			viewname.PIN:     func(e *Env) View { return NewPINChange(e, f) },
			viewname.Unblock: func(e *Env) View { return NewUnblock(e, f) },
			viewname.Certs:   func(e *Env) View { return NewCerts(e, f) },
			viewname.Login:   func(e *Env) View { return NewLogin(e, f, "h") },
			viewname.QR:      func(e *Env) View { return NewQR(e, f, "h") },
			viewname.Settings: func(e *Env) View {
				return NewSettings(e, &fakePrefs{set: map[string]string{}, locked: map[string]bool{}}, Autostart{})
			},
			viewname.About: func(e *Env) View { return NewAbout(e, AboutInfo{Version: "1"}) },
		}
		for _, name := range viewname.All {
			_, v := open(t, lang, mks[name])
			eventually(t, name+" loaded", func() bool {
				return !strings.Contains(visibleText(v.Content()), "Läser kortet") && !strings.Contains(visibleText(v.Content()), "Reading the card")
			})
			text := visibleText(v.Content())
			if strings.Contains(text, "ui.") || strings.Contains(text, "err.") {
				t.Errorf("%s %s shows a message ID:\n%s", lang, name, text)
			}
			swedish := []string{"Stäng", "Avbryt", "försök", "Kort"}
			for _, w := range swedish {
				if lang == l10n.English && strings.Contains(text, w) {
					t.Errorf("%s %s shows Swedish %q:\n%s", lang, name, w, text)
				}
			}
			if lang == l10n.Swedish && strings.Contains(text, "Close") {
				t.Errorf("%s %s shows English:\n%s", lang, name, text)
			}
		}
	}
}

// tinyPNG is a 2×2 PNG, for QR codes in tests that do not decode them.
func tinyPNG() []byte {
	var b bytes.Buffer
	_ = png.Encode(&b, image.NewGray(image.Rect(0, 0, 2, 2)))
	return b.Bytes()
}
