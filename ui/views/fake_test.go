package views

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/localapi"
)

// fakeAgent answers the views' calls from fields the test sets. Its card
// operations call the prompt as the agent would and record what it got.
type fakeAgent struct {
	mu     sync.Mutex
	status *app.Status
	err    error // from Status
	events chan localapi.Event
	// op answers ChangePIN, UnblockPIN, removals and logins after the
	// prompts; nil means success.
	op      func(answers map[app.PromptKind]string) error
	answers map[app.PromptKind]string
	calls   []string
	pins    []cardreader.PINRef // the PIN of each change or unblock
	removed []string
	confirm bool
	qr      func(n int) (*app.QRHandover, error)
	qrN     int
	login   func(ctx context.Context, req app.LoginRequest) (*app.LoginResult, error)
}

func newFake(cards ...app.CardStatus) *fakeAgent {
	return &fakeAgent{
		status: &app.Status{Readers: []app.ReaderStatus{{Name: "Virtual PCD 00 00", CardPresent: len(cards) > 0}}, Cards: cards},
		events: make(chan localapi.Event, 16),
	}
}

func (f *fakeAgent) record(call string) {
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
}

func (f *fakeAgent) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeAgent) Status(context.Context, app.StatusOptions) (*app.Status, error) {
	f.record("status")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	st := *f.status
	return &st, nil
}

func (f *fakeAgent) Subscribe(ctx context.Context) (<-chan localapi.Event, error) {
	out := make(chan localapi.Event)
	go func() {
		defer close(out)
		for {
			select {
			case ev := <-f.events:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// ask runs the prompts of kinds in order, as the agent does.
func (f *fakeAgent) ask(ctx context.Context, prompt app.Prompt, kinds ...app.PromptKind) error {
	got := map[app.PromptKind]string{}
	for _, k := range kinds {
		s, err := prompt(ctx, app.PromptRequest{Kind: k, Retries: 3})
		if err != nil {
			return err
		}
		got[k] = string(s.Bytes())
		s.Wipe()
	}
	f.mu.Lock()
	f.answers = got
	op := f.op
	f.mu.Unlock()
	if op != nil {
		return op(got)
	}
	return nil
}

func (f *fakeAgent) ChangePIN(ctx context.Context, _ app.Selector, pin cardreader.PINRef, p app.Prompt) error {
	f.record("pin.change")
	f.recordPIN(pin)
	return f.ask(ctx, p, app.PromptPIN, app.PromptNewPIN)
}

func (f *fakeAgent) UnblockPIN(ctx context.Context, _ app.Selector, pin cardreader.PINRef, p app.Prompt) error {
	f.record("pin.unblock")
	f.recordPIN(pin)
	return f.ask(ctx, p, app.PromptPUK, app.PromptNewPIN)
}

func (f *fakeAgent) recordPIN(pin cardreader.PINRef) {
	f.mu.Lock()
	f.pins = append(f.pins, pin)
	f.mu.Unlock()
}

func (f *fakeAgent) PINs() []cardreader.PINRef {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]cardreader.PINRef(nil), f.pins...)
}

func (f *fakeAgent) RemoveCertificate(ctx context.Context, _ app.Selector, id string, o app.RemoveOptions, p app.Prompt) error {
	f.record("cert.remove " + id)
	if err := f.ask(ctx, p, app.PromptPIN); err != nil {
		return err
	}
	f.mu.Lock()
	f.removed, f.confirm = append(f.removed, id), o.ConfirmLogin
	f.mu.Unlock()
	return nil
}

func (f *fakeAgent) RemoveExpired(ctx context.Context, _ app.Selector, o app.RemoveOptions, p app.Prompt) ([]string, error) {
	f.record("cert.removeExpired")
	return nil, f.ask(ctx, p, app.PromptPIN)
}

func (f *fakeAgent) Export(_ context.Context, _ app.Selector, dir string, format app.ExportFormat) ([]app.ExportedFile, error) {
	f.record("cert.export " + dir + " " + string(format))
	return []app.ExportedFile{{CertID: "9a", Path: dir + "/x." + string(format)}}, nil
}

func (f *fakeAgent) LoginHandoff(ctx context.Context, id string, req app.LoginRequest) (*app.LoginResult, error) {
	f.record("login " + id)
	return f.login(ctx, req)
}

func (f *fakeAgent) QRHandoff(_ context.Context, id string, size int) (*app.QRHandover, error) {
	f.mu.Lock()
	f.qrN++
	n := f.qrN
	f.mu.Unlock()
	return f.qr(n)
}

// card is a card as the agent reports it.
func card(number string, retries int) app.CardStatus {
	nb, na := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	return app.CardStatus{
		Reader: "Virtual PCD 00 00", CardNumber: number,
		Holder:    app.HolderStatus{Name: "Anna Andersson", HSAID: "SE2321000016-1234", PersonalNumber: "19850412-XXXX"},
		NotBefore: &nb, NotAfter: &na,
		PIN:      app.SecretStatus{Retries: retries, Blocked: retries == 0},
		PUK:      &app.SecretStatus{Retries: 3},
		Warnings: []app.Warning{},
		Certificates: []app.CertStatus{
			{ID: "9a", Kind: "hsa", Usage: "auth", Subject: "CN=Anna Andersson,SERIALNUMBER=SE2321000016-1234", Login: true, NotBefore: nb, NotAfter: na},
			{ID: "9c", Kind: "hsa", Usage: "sign", Subject: "CN=Anna Andersson", NotBefore: nb, NotAfter: na},
			{ID: "82", Kind: "personal", Usage: "auth", Subject: "CN=Anna Andersson", NotBefore: nb, NotAfter: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Expired: true},
		},
	}
}

// harness puts a view on a test window.
type harness struct {
	t      *testing.T
	w      fyne.Window
	closed bool
}

func open(t *testing.T, lang l10n.Lang, mk func(env *Env) View) (*harness, View) {
	t.Helper()
	test.NewTempApp(t)
	h := &harness{t: t}
	env := &Env{Cat: l10n.MustLoad(lang), Close: func() { h.closed = true }, Do: queueUI}
	v := mk(env)
	h.w = test.NewWindow(v.Content())
	h.w.Resize(fyne.NewSize(600, 700))
	t.Cleanup(func() { v.Stop(); drainUI(); h.w.Close() })
	v.Start(h.w)
	return h, v
}

// uiQueue is the tests' UI goroutine: the views' callbacks (Env.Do) wait
// here and the test goroutine runs them while it waits (eventually), as
// Fyne's event loop would between input events. Fyne's test driver would
// run them at once on the views' goroutines, racing with the test's own
// widget calls (go test -race; it crashed in Fyne's renderers).
var uiQueue struct {
	sync.Mutex
	fns []func()
}

func queueUI(fn func()) {
	uiQueue.Lock()
	uiQueue.fns = append(uiQueue.fns, fn)
	uiQueue.Unlock()
}

// drainUI runs the queued callbacks, and those they queue, on the calling
// (test) goroutine.
func drainUI() {
	for {
		uiQueue.Lock()
		fns := uiQueue.fns
		uiQueue.fns = nil
		uiQueue.Unlock()
		if len(fns) == 0 {
			return
		}
		for _, fn := range fns {
			fn()
		}
	}
}

// eventually waits for cond, which the views' goroutines make true
// through their callbacks; a bound, not a timing assertion.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for drainUI(); !cond(); drainUI() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within 20 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// typeInto replaces what e holds with s, typed.
func typeInto(e fyne.Focusable, s string) {
	switch x := e.(type) {
	case *entry:
		x.SetText("")
	case *secretEntry:
		x.Wipe()
	}
	test.Type(e, s)
}

func key(o fyne.Focusable, name fyne.KeyName) { o.TypedKey(&fyne.KeyEvent{Name: name}) }

func wantText(t *testing.T, l *widget.Label, sub string) {
	t.Helper()
	if !strings.Contains(l.Text, sub) {
		t.Fatalf("label %q does not contain %q", l.Text, sub)
	}
}

// visibleText is every visible label and button text of o, for checks of
// language and data.
func visibleText(o fyne.CanvasObject) string {
	var b strings.Builder
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		switch x := o.(type) {
		case *widget.Label:
			b.WriteString(x.Text + "\n")
		case *button:
			b.WriteString(x.Text + "\n")
		case *check:
			b.WriteString(x.Text + "\n")
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		}
	}
	walk(o)
	return b.String()
}
