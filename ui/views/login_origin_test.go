package views

import (
	"context"
	"fmt"
	"testing"

	"fyne.io/fyne/v2/widget"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/oob"
)

// approvalOnly is a login that shows a and then waits for the PIN until
// the test ends.
func approvalOnly(a app.LoginApproval) func(context.Context, app.LoginRequest) (*app.LoginResult, error) {
	return func(ctx context.Context, req app.LoginRequest) (*app.LoginResult, error) {
		if err := req.Approve(ctx, a); err != nil {
			return nil, err
		}
		_, err := req.Prompt(ctx, app.PromptRequest{Kind: app.PromptPIN, Retries: 3})
		return nil, err
	}
}

func approval(o *oob.Origin) app.LoginApproval {
	return app.LoginApproval{RelyingParty: "Journalsystemet", Text: "Logga in på Avdelning 12",
		Holder: "Anna Andersson", HSAID: "SE2321000016-1234", CardNumber: "1001", Origin: o}
}

// The window says where the login was started (this computer, with the
// address the relying party saw) and, above the PIN, to approve only a
// login the user started: Swedish and English.
func TestLoginShowsOriginAndReminder(t *testing.T) {
	for _, tc := range []struct {
		lang             l10n.Lang
		origin, reminder string
	}{
		{l10n.Swedish, "Startad i webbläsaren på den här datorn (127.0.0.1).", "Logga bara in om du själv just startade inloggningen. Har någon bett dig – välj Avbryt."},
		{l10n.English, "Started in the browser on this computer (127.0.0.1).", "Only log in if you just started this yourself. If someone asked you to, choose Cancel."},
	} {
		f := newFake()
		f.login = approvalOnly(approval(&oob.Origin{EndUserIP: "127.0.0.1", EndUserIPMatch: true}))
		_, vv := open(t, tc.lang, func(env *Env) View { return NewLogin(env, f, "h1") })
		v := vv.(*LoginView)
		eventually(t, "the PIN prompt", func() bool { return v.pinRow.Visible() })
		wantText(t, v.rp, "Journalsystemet")
		wantText(t, v.origin, tc.origin)
		wantText(t, v.reminder, tc.reminder)
		if !v.originRow.Visible() || !v.reminderRow.Visible() {
			t.Fatalf("%s: origin shown %v, reminder shown %v", tc.lang, v.originRow.Visible(), v.reminderRow.Visible())
		}
		if v.origin.Importance == widget.WarningImportance {
			t.Fatalf("%s: a login from this computer is shown as a warning", tc.lang)
		}
	}
}

// A login the identity service saw started on another computer is a
// prominent warning naming the address, with the reminder; focus stays on
// Avbryt until the PIN is asked for.
func TestLoginWarnsStartedElsewhere(t *testing.T) {
	for _, tc := range []struct {
		lang l10n.Lang
		want string
	}{
		{l10n.Swedish, "Varning: inloggningen verkar ha startats på en annan dator (adress 192.0.2.7), inte på den här."},
		{l10n.English, "Warning: this login seems to have been started on another computer (address 192.0.2.7), not on this one."},
	} {
		f := newFake()
		approved := make(chan struct{})
		f.login = func(ctx context.Context, req app.LoginRequest) (*app.LoginResult, error) {
			if err := req.Approve(ctx, approval(&oob.Origin{EndUserIP: "192.0.2.7"})); err != nil {
				return nil, err
			}
			select {
			case <-approved:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			_, err := req.Prompt(ctx, app.PromptRequest{Kind: app.PromptPIN, Retries: 3})
			return nil, err
		}
		h, vv := open(t, tc.lang, func(env *Env) View { return NewLogin(env, f, "h1") })
		v := vv.(*LoginView)
		eventually(t, "the approval", func() bool { return v.originRow.Visible() })
		wantText(t, v.origin, tc.want)
		if v.origin.Importance != widget.WarningImportance || !v.origin.TextStyle.Bold {
			t.Fatalf("%s: warning shown with importance %v, bold %v", tc.lang, v.origin.Importance, v.origin.TextStyle.Bold)
		}
		if !v.reminderRow.Visible() {
			t.Fatalf("%s: no reminder with the warning", tc.lang)
		}
		if h.w.Canvas().Focused() != v.cancelB {
			t.Fatalf("%s: focus on %T, want Avbryt", tc.lang, h.w.Canvas().Focused())
		}
		close(approved)
		eventually(t, "the PIN prompt", func() bool { return v.pinRow.Visible() })
	}
}

// Without the service's word on the origin the window claims nothing
// about it; the reminder stands.
func TestLoginNoOriginClaimsNothing(t *testing.T) {
	f := newFake()
	f.login = approvalOnly(approval(nil))
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewLogin(env, f, "h1") })
	v := vv.(*LoginView)
	eventually(t, "the PIN prompt", func() bool { return v.pinRow.Visible() })
	if v.originRow.Visible() || !v.reminderRow.Visible() {
		t.Fatalf("origin shown %v (%q), reminder shown %v", v.originRow.Visible(), v.origin.Text, v.reminderRow.Visible())
	}
}

// A lookup the service refused because the login was started on another
// computer is a plain sentence and what to do, in the window.
func TestLoginRefusedStartedElsewhere(t *testing.T) {
	for _, tc := range []struct {
		lang      l10n.Lang
		msg, hint string
	}{
		{l10n.Swedish, "Inloggningen stoppades: den startades på en annan dator än den här.", "Logga bara in när du själv har startat inloggningen"},
		{l10n.English, "The login was stopped: it was started on another computer, not this one.", "Only log in when you started the login yourself"},
	} {
		f := newFake()
		f.login = func(ctx context.Context, req app.LoginRequest) (*app.LoginResult, error) {
			return nil, fmt.Errorf("looking the login up: %w", &oob.ServiceError{Status: 403, Code: oob.ErrorCodeEndUserIPMismatch})
		}
		_, vv := open(t, tc.lang, func(env *Env) View { return NewLogin(env, f, "h1") })
		v := vv.(*LoginView)
		eventually(t, "the refusal", func() bool { return v.ops == 1 })
		wantText(t, v.notice, tc.msg)
		wantText(t, v.hint, tc.hint)
		if v.pinRow.Visible() {
			t.Fatalf("%s: PIN field after a refusal", tc.lang)
		}
	}
}
