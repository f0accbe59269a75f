package views

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/oob"
)

// The tests below run the views against a real agent over the local API:
// a private pcscd with a virtual card (internal/testkit/rig), the agent in this
// process, and the views as its client, as "sithseid ui" is. They prove
// that what the windows send is what the agent needs.
func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }

type realAgent struct {
	agent  *agent.Agent
	client *localapi.Client
	card   *rig.Card
}

// startAgent inserts a fresh card of kind and starts an agent for it,
// logins going to serviceURL ("" for none) in the DEMO environment.
func startAgent(t *testing.T, kind cardkind.Kind, serviceURL string) *realAgent {
	t.Helper()
	c := kind.Insert(t, 0, testpki.CardSpec{}, vcard.RunOptions{})
	a, addr := agenttest.StartAgent(t, agent.Options{Service: agenttest.Service(t, kind), Environment: agenttest.DemoEnvironment(t, serviceURL)})
	return &realAgent{agent: a, client: agenttest.Dial(t, addr), card: c}
}

// cardState is what a test checks nothing changed on: the PIN's and the
// PUK's tries and the certificates, read from the card itself.
func (r *realAgent) cardState(t *testing.T) (pin, puk int, certs []app.CertStatus) {
	t.Helper()
	pin, puk = r.card.State.PINRetries()
	_, certs = r.pinStatus(t)
	return pin, puk, certs
}

// pinStatus asks the agent for the card's PIN state.
func (r *realAgent) pinStatus(t *testing.T) (pin app.SecretStatus, certs []app.CertStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := r.client.Status(ctx, app.StatusOptions{})
	if err != nil || len(st.Cards) != 1 {
		t.Fatalf("status: %v %+v", err, st)
	}
	return st.Cards[0].PIN, st.Cards[0].Certificates
}

func fill(v *PINView, first, newPIN string) {
	typeInto(v.first, first)
	typeInto(v.newPIN, newPIN)
	typeInto(v.again, newPIN)
}

func TestRealAgentPINChange(t *testing.T) { cardkind.Run(t, testRealAgentPINChange) }

func testRealAgentPINChange(t *testing.T, k cardkind.Kind) {
	r := startAgent(t, k, "")
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewPINChange(env, r.client) })
	v := vv.(*PINView)
	eventually(t, "the card", func() bool { return v.cards.loads > 0 })
	wantText(t, v.card, testpki.DefaultHSAID)
	wantText(t, v.tries, "3 försök kvar")

	// A wrong current PIN: the agent's card says 2 tries left, the form
	// shows it, and nothing more is tried.
	fill(v, "654321", "24681357")
	key(v.again, fyne.KeyReturn)
	eventually(t, "the wrong attempt", func() bool { return v.ops == 1 })
	wantText(t, v.notice, "2 försök kvar")
	wantText(t, v.tries, "2 försök kvar")
	if pin, _ := r.pinStatus(t); pin.Retries != 2 {
		t.Fatalf("card after one wrong PIN: %+v", pin)
	}

	fill(v, r.card.PIN, "24681357")
	key(v.again, fyne.KeyReturn)
	eventually(t, "the change", func() bool { return v.ops == 2 })
	wantText(t, v.notice, "PIN-koden är bytt")
	if pin, _ := r.pinStatus(t); pin.Retries != 3 {
		t.Fatalf("card after the change: %+v", pin)
	}
	// The new PIN is the card's now: the old one is wrong.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := r.client.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, fixedPrompt(r.card.PIN, "97531864"))
	var wrong *cardreader.WrongPINError
	if !errors.As(err, &wrong) {
		t.Fatalf("the old PIN after the change: %v", err)
	}
}

func fixedPrompt(pin, newPIN string) app.Prompt {
	return func(_ context.Context, req app.PromptRequest) (*cardreader.Secret, error) {
		if req.Kind == app.PromptNewPIN {
			return cardreader.NewSecret([]byte(newPIN)), nil
		}
		return cardreader.NewSecret([]byte(pin)), nil
	}
}

// On a kind without a PUK (IDPrime through OpenSC) the window says there
// is none and whom to ask, offers no unblock, and the card stays blocked
// with its PUK untouched.
func TestRealAgentUnblock(t *testing.T) { cardkind.Run(t, testRealAgentUnblock) }

func testRealAgentUnblock(t *testing.T, k cardkind.Kind) {
	r := startAgent(t, k, "")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for range 3 {
		_ = r.client.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, fixedPrompt("000000", "24681357"))
	}
	if pin, _ := r.pinStatus(t); !pin.Blocked {
		t.Fatalf("PIN not blocked after 3 wrong tries: %+v", pin)
	}
	_, vv := open(t, l10n.English, func(env *Env) View { return NewUnblock(env, r.client) })
	v := vv.(*PINView)
	eventually(t, "the card", func() bool { return v.cards.loads > 0 })
	if !k.Unblock {
		wantText(t, v.tries, "no PUK on the card")
		wantText(t, v.notice, "There is no PUK for this card.")
		wantText(t, v.hint, "ID administrator")
		fill(v, r.card.PUK, "24681357")
		if !v.submit.Disabled() {
			t.Fatal("unblock offered on a card without a PUK")
		}
		key(v.again, fyne.KeyReturn)
		if pin, puk := r.card.State.PINRetries(); pin != 0 || puk != 3 {
			t.Fatalf("card without a PUK after the unblock window: PIN %d PUK %d tries left, want 0 and 3", pin, puk)
		}
		return
	}
	wantText(t, v.tries, "3 tries left")

	fill(v, "87654321", "24681357")
	key(v.again, fyne.KeyReturn)
	eventually(t, "the wrong PUK", func() bool { return v.ops == 1 })
	wantText(t, v.notice, "2 tries left")
	wantText(t, v.tries, "2 tries left")

	fill(v, r.card.PUK, "24681357")
	test.Tap(v.submit)
	eventually(t, "the unblock", func() bool { return v.ops == 2 })
	wantText(t, v.notice, "unblocked")
	if pin, _ := r.pinStatus(t); pin.Blocked || pin.Retries != 3 {
		t.Fatalf("card after the unblock: %+v", pin)
	}
	if err := r.client.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, fixedPrompt("24681357", "97531864")); err != nil {
		t.Fatalf("the new PIN does not work: %v", err)
	}
}

// On a kind that cannot remove certificates (IDPrime, natively or through
// OpenSC) the window says so and where to go instead, and the card keeps
// every certificate and every try.
func TestRealAgentCertificateRemoval(t *testing.T) { cardkind.Run(t, testRealAgentCertificateRemoval) }

func testRealAgentCertificateRemoval(t *testing.T, k cardkind.Kind) {
	r := startAgent(t, k, "")
	_, before := r.pinStatus(t)
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewCerts(env, r.client) })
	v := vv.(*CertsView)
	eventually(t, "the certificates", func() bool { return v.cards.loads > 0 && len(v.certs) > 0 })
	if len(v.certs) != len(before) || len(before) != k.Certificates {
		t.Fatalf("view lists %d certificates, the agent %d, want %d", len(v.certs), len(before), k.Certificates)
	}
	if k.RemovalRefusedBeforePIN {
		// The card says it cannot remove: the window says so at once,
		// where to go instead, and offers no removal (no PIN asked).
		v.list.Select(0)
		wantText(t, v.notice, "kan inte tas bort av SITHS eID")
		wantText(t, v.hint, "Thales SAC")
		if !v.removeB.Disabled() || !v.expiredB.Disabled() {
			t.Fatal("removal offered for a card that cannot remove")
		}
		test.Tap(v.removeB)
		v.confirmRemove() // Enter or a shortcut reaching it all the same
		if v.pending != nil || v.ops != 0 {
			t.Fatal("a disabled Remove asked for a PIN or called the agent")
		}
		if pin, puk, now := r.cardState(t); len(now) != len(before) || pin != 3 || puk != 3 {
			t.Fatalf("%d certificates (had %d), PIN %d PUK %d tries left", len(now), len(before), pin, puk)
		}
		return
	}
	if !k.Remove {
		// The login certificate is the card's only one: confirmed.
		v.list.Select(0)
		test.Tap(v.removeB)
		test.Tap(v.loginCheck)
		typeInto(v.pin, r.card.PIN)
		key(v.pin, fyne.KeyReturn)
		eventually(t, "the refusal", func() bool { return v.ops == 1 })
		wantText(t, v.notice, "kan inte tas bort av SITHS eID")
		wantText(t, v.hint, "Thales SAC")
		if pin, puk, now := r.cardState(t); len(now) != len(before) || pin != 3 || puk != 3 {
			t.Fatalf("after the refusal: %d certificates (had %d), PIN %d PUK %d tries left", len(now), len(before), pin, puk)
		}
		return
	}
	// The login certificate needs the extra confirmation; the agent
	// refuses its removal without one.
	var login, other int = -1, -1
	for i, c := range v.certs {
		if c.Login {
			login = i
		} else if other < 0 {
			other = i
		}
	}
	if login < 0 || other < 0 {
		t.Fatalf("certificates %+v", v.certs)
	}
	removedID := v.certs[other].ID
	v.list.Select(other)
	test.Tap(v.removeB)
	typeInto(v.pin, r.card.PIN)
	key(v.pin, fyne.KeyReturn)
	eventually(t, "the removal", func() bool { return v.ops == 1 })
	wantText(t, v.notice, "borttaget")
	_, after := r.pinStatus(t)
	if len(after) != len(before)-1 {
		t.Fatalf("after removing %s: %d certificates, had %d", removedID, len(after), len(before))
	}
	for _, c := range after {
		if c.ID == removedID {
			t.Fatalf("%s still on the card", removedID)
		}
	}
	eventually(t, "the list to follow", func() bool { return len(v.certs) == len(after) })

	// The login certificate, with a wrong PIN: nothing removed, tries
	// shown; then confirmed with the right PIN.
	for i, c := range v.certs {
		if c.Login {
			v.list.Select(i)
		}
	}
	test.Tap(v.removeB)
	test.Tap(v.loginCheck)
	typeInto(v.pin, "654321")
	key(v.pin, fyne.KeyReturn)
	eventually(t, "the wrong PIN", func() bool { return v.ops == 2 })
	wantText(t, v.notice, "2 försök kvar")
	if _, now := r.pinStatus(t); len(now) != len(after) {
		t.Fatal("a certificate went with a wrong PIN")
	}
	typeInto(v.pin, r.card.PIN)
	key(v.pin, fyne.KeyReturn)
	eventually(t, "the login certificate's removal", func() bool { return v.ops == 3 })
	for _, c := range func() []app.CertStatus { _, c := r.pinStatus(t); return c }() {
		if c.Login {
			t.Fatal("the login certificate is still on the card")
		}
	}
}

const rpKey = "ui-test-relying-party-key-0123456789"

// startIDP runs the reference identity service whose root is the DEMO
// environment's trust anchor, and a relying party client of it.
func startIDP(t *testing.T) (url string, rp *oob.RPClient) {
	t.Helper()
	is := agenttest.StartIdentityService(t, idp.Options{}, rpKey)
	return is.URL, is.RP
}

// handOver starts an order at the relying party and hands its autostart
// link to the agent, as the browser and the URL handler do.
func handOver(t *testing.T, r *realAgent, rp *oob.RPClient, text string) (*oob.AuthResponse, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o, err := rp.Auth(ctx, "127.0.0.1", text, "")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.client.Handoff(ctx, oob.AutoStartURL(o.AutoStartToken, ""))
	if err != nil {
		t.Fatal(err)
	}
	return o, rec.ID
}

func collect(t *testing.T, rp *oob.RPClient, o *oob.AuthResponse) *oob.CollectResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rp.Collect(ctx, o.OrderRef)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRealAgentLoginApproval(t *testing.T) { cardkind.Run(t, testRealAgentLoginApproval) }

func testRealAgentLoginApproval(t *testing.T, k cardkind.Kind) {
	url, rp := startIDP(t)
	r := startAgent(t, k, url)
	o, id := handOver(t, r, rp, "Logga in i journalen på Avdelning 12")
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewLogin(env, r.client, id) })
	v := vv.(*LoginView)
	eventually(t, "the PIN prompt", func() bool { return v.pinRow.Visible() })
	// Who asks and what for are on screen before the PIN is typed.
	wantText(t, v.rp, "Journalsystemet Demo vill att du loggar in")
	wantText(t, v.text, "Avdelning 12")
	wantText(t, v.who, testpki.DefaultHSAID)
	wantText(t, v.tries, "3 försök kvar")

	test.Type(v.pin, "654321")
	key(v.pin, fyne.KeyReturn)
	eventually(t, "the wrong PIN", func() bool { return v.ops == 1 })
	wantText(t, v.notice, "2 försök kvar")
	if c := collect(t, rp, o); c.Status != oob.StatusPending {
		t.Fatalf("after a wrong PIN the order is %+v", c)
	}
	// Another try is the user's: the agent queued the request again.
	test.Tap(v.retryB)
	eventually(t, "the PIN prompt again", func() bool { return !v.pin.Disabled() })
	wantText(t, v.tries, "2 försök kvar")
	test.Type(v.pin, r.card.PIN)
	key(v.pin, fyne.KeyReturn)
	eventually(t, "the login", func() bool { return v.ops == 2 })
	wantText(t, v.notice, "Inloggad hos Journalsystemet Demo som "+testpki.DefaultHSAID)
	c := collect(t, rp, o)
	if c.Status != oob.StatusComplete || c.CompletionData == nil || c.CompletionData.User.HSAID != testpki.DefaultHSAID {
		t.Fatalf("collect: %+v", c)
	}
}

func TestRealAgentLoginCancelAndQR(t *testing.T) {
	url, rp := startIDP(t)
	r := startAgent(t, cardkind.PIV, url)

	// Avbryt at the PIN cancels the order at the service.
	o, id := handOver(t, r, rp, "Avbryt mig")
	h, vv := open(t, l10n.English, func(env *Env) View { return NewLogin(env, r.client, id) })
	v := vv.(*LoginView)
	eventually(t, "the PIN prompt", func() bool { return v.pinRow.Visible() })
	test.Tap(v.cancelB)
	eventually(t, "the window to close", func() bool { return h.closed })
	eventually(t, "the order to fail", func() bool { return collect(t, rp, o).Status == oob.StatusFailed })

	// "Use the mobile instead": the QR code of this very order, from the
	// agent, every second; the order stays pending for the phone.
	o, id = handOver(t, r, rp, "Med mobilen")
	_, vv = open(t, l10n.Swedish, func(env *Env) View { return NewLogin(env, r.client, id) })
	v = vv.(*LoginView)
	eventually(t, "the PIN prompt", func() bool { return v.pinRow.Visible() })
	test.Tap(v.mobileB)
	eventually(t, "two QR codes", func() bool { return v.qr != nil && (v.qr.fetches >= 2 || v.qr.ended) })
	if v.qr.ended || !strings.HasPrefix(v.qr.payload, "sithseid."+o.QRStartToken+".") {
		t.Fatalf("QR payload %q (ended %v) for token %s; notice %q", v.qr.payload, v.qr.ended, o.QRStartToken, v.qr.notice.Text)
	}
	wantText(t, v.qr.countdown, "sekunder")
	if c := collect(t, rp, o); c.Status != oob.StatusPending {
		t.Fatalf("after switching to the phone the order is %+v", c)
	}
}

// The status view follows the card out of the reader and back, from the
// agent's events alone. On every kind of card.
func TestRealAgentStatusFollowsCard(t *testing.T) { cardkind.Run(t, testRealAgentStatusFollowsCard) }

func testRealAgentStatusFollowsCard(t *testing.T, k cardkind.Kind) {
	r := startAgent(t, k, "")
	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewStatus(env, r.client) })
	v := vv.(*StatusView)
	eventually(t, "the card", func() bool { return v.cards.loads > 0 && v.details.Visible() })
	wantText(t, v.hsaID, testpki.DefaultHSAID)
	r.card.Pull(t)
	eventually(t, "the removal", func() bool { return !v.details.Visible() && strings.Contains(v.notice.Text, "Sätt i") })
	r.card.Reinsert(t)
	eventually(t, "the card again", func() bool { return v.details.Visible() && v.hsaID.Text == testpki.DefaultHSAID })
}

// Two cards inserted: the status view offers a switch by card number,
// and a view opened for one card (--card) changes that card's PIN only.
func TestRealAgentTwoCards(t *testing.T) {
	r := startAgent(t, cardkind.PIV, "")
	second := rig.Require(t).InsertCard(t, 1, vcard.ProvisionOptions{Dir: t.TempDir(),
		Spec: testpki.CardSpec{GivenName: "Bertil", Surname: "Berg", HSAID: "SE2321000016-5678"}}, vcard.RunOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var st *app.Status
	eventually(t, "two cards at the agent", func() bool {
		var err error
		st, err = r.client.Status(ctx, app.StatusOptions{})
		return err == nil && len(st.Cards) == 2
	})
	numbers := map[string]string{} // HSA-ID → card number
	for _, c := range st.Cards {
		numbers[c.Holder.HSAID] = c.CardNumber
	}
	bertil := numbers["SE2321000016-5678"]

	_, vv := open(t, l10n.Swedish, func(env *Env) View { return NewStatus(env, r.client) })
	sv := vv.(*StatusView)
	eventually(t, "the cards", func() bool { return sv.cards.loads > 0 && sv.cards.picker.Visible() })
	if len(sv.cards.picker.Options) != 2 {
		t.Fatalf("picker offers %v", sv.cards.picker.Options)
	}
	sv.cards.picker.SetSelected(bertil)
	wantText(t, sv.holder, "Bertil Berg")
	wantText(t, sv.hsaID, "SE2321000016-5678")

	_, vv = open(t, l10n.Swedish, func(env *Env) View { env.Card = bertil; return NewPINChange(env, r.client) })
	v := vv.(*PINView)
	eventually(t, "the card", func() bool { return v.cards.loads > 0 })
	wantText(t, v.card, "Bertil Berg")
	fill(v, second.PIN, "24681357")
	key(v.again, fyne.KeyReturn)
	eventually(t, "the change", func() bool { return v.ops == 1 })
	wantText(t, v.notice, "PIN-koden är bytt")
	// Bertil's card has the new PIN; Anna's still the old one.
	if err := r.client.ChangePIN(ctx, app.Selector{CardNumber: bertil}, cardreader.PINIdentification, fixedPrompt("24681357", "97531864")); err != nil {
		t.Fatalf("the second card's new PIN: %v", err)
	}
	anna := numbers[testpki.DefaultHSAID]
	if err := r.client.ChangePIN(ctx, app.Selector{CardNumber: anna}, cardreader.PINIdentification, fixedPrompt(r.card.PIN, "97531864")); err != nil {
		t.Fatalf("the first card's PIN changed too: %v", err)
	}
}
