package app_test

// Cards with two PINs (an IDPrime SITHS card with an identification PIN and
// a signature PIN), on a stub card backed by the test PKI's software keys:
// what app does with each PIN, in-process and through the local API.

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/oob"
)

const stubReader = "Stub IDPrime Reader 00 00"

// stubCard is a cardreader.SignaturePINCard kept in memory. It records
// every call by name; secrets are compared, never recorded.
type stubCard struct {
	mu                sync.Mutex
	creds             *testpki.Card
	hasSign           bool // false: a 2024 card with one PIN
	pin, signPIN, puk string
	pinLeft, signLeft int
	pukLeft           int
	calls             []string
	signerPINs        []string // which PIN each Signer call was given ("identification", "signature", "other")
}

func newStubCard(t testing.TB, creds *testpki.Card, hasSign bool) *stubCard {
	t.Helper()
	return &stubCard{creds: creds, hasSign: hasSign, pin: "246813", signPIN: "975318", puk: "12345678", pinLeft: 3, signLeft: 3, pukLeft: 3}
}

func (c *stubCard) called(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, name)
}

func (c *stubCard) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.calls {
		if s == name {
			n++
		}
	}
	return n
}

// touchedSignaturePIN lists the calls on the signature PIN; with
// readToo false only those that change it (an agent re-reads the status
// after every operation).
func (c *stubCard) touchedSignaturePIN(readToo bool) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, s := range c.calls {
		if (readToo && s == "SignaturePINStatus") || s == "ChangeSignaturePIN" || s == "UnblockSignaturePIN" {
			out = append(out, s)
		}
	}
	return out
}

func (c *stubCard) Backend() string { return cardreader.BackendIDPrime }
func (c *stubCard) Reader() string  { return stubReader }
func (c *stubCard) ID(context.Context) (string, error) {
	c.called("ID")
	return "stub-" + c.creds.Spec.CardNumber, nil
}

func (c *stubCard) Certificates(context.Context) ([]cardreader.Certificate, error) {
	c.called("Certificates")
	var out []cardreader.Certificate
	for i, cr := range c.creds.Credentials() {
		out = append(out, cardreader.Certificate{ID: fmt.Sprintf("%02x", i+1), Label: cr.Cert.Subject.CommonName, Cert: cr.Cert})
	}
	return out, nil
}

func status(left int) cardreader.PINStatus {
	return cardreader.PINStatus{Retries: left, Blocked: left == 0}
}

func (c *stubCard) PINStatus(context.Context) (cardreader.PINStatus, error) {
	c.called("PINStatus")
	c.mu.Lock()
	defer c.mu.Unlock()
	return status(c.pinLeft), nil
}

func (c *stubCard) PUKStatus(context.Context) (cardreader.PINStatus, error) {
	c.called("PUKStatus")
	c.mu.Lock()
	defer c.mu.Unlock()
	return status(c.pukLeft), nil
}

// verify checks got against *want and counts the tries in *left.
func verify(got *cardreader.Secret, want string, left *int) error {
	if *left == 0 {
		return cardreader.ErrPINBlocked
	}
	if !got.Equal(cardreader.NewSecret([]byte(want))) {
		*left--
		return &cardreader.WrongPINError{Retries: *left}
	}
	*left = 3
	return nil
}

func (c *stubCard) VerifyPIN(_ context.Context, pin *cardreader.Secret) error {
	c.called("VerifyPIN")
	c.mu.Lock()
	defer c.mu.Unlock()
	return verify(pin, c.pin, &c.pinLeft)
}

func (c *stubCard) ChangePIN(_ context.Context, oldPIN, newPIN *cardreader.Secret) error {
	c.called("ChangePIN")
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := verify(oldPIN, c.pin, &c.pinLeft); err != nil {
		return err
	}
	c.pin = string(newPIN.Bytes())
	return nil
}

func (c *stubCard) unblock(puk, newPIN *cardreader.Secret, pin *string, left *int) error {
	if c.pukLeft == 0 {
		return cardreader.ErrPUKBlocked
	}
	if !puk.Equal(cardreader.NewSecret([]byte(c.puk))) {
		c.pukLeft--
		return &cardreader.WrongPUKError{Retries: c.pukLeft}
	}
	c.pukLeft, *left, *pin = 3, 3, string(newPIN.Bytes())
	return nil
}

func (c *stubCard) UnblockPIN(_ context.Context, puk, newPIN *cardreader.Secret) error {
	c.called("UnblockPIN")
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unblock(puk, newPIN, &c.pin, &c.pinLeft)
}

// set changes the card's state under its lock: an agent's goroutines
// (its status refresher) read it meanwhile.
func (c *stubCard) set(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f()
}

func (c *stubCard) SignaturePINStatus(context.Context) (cardreader.PINStatus, error) {
	c.called("SignaturePINStatus")
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.hasSign {
		return cardreader.PINStatus{}, cardreader.ErrNoSignaturePIN
	}
	return status(c.signLeft), nil
}

func (c *stubCard) ChangeSignaturePIN(_ context.Context, oldPIN, newPIN *cardreader.Secret) error {
	c.called("ChangeSignaturePIN")
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.hasSign {
		return cardreader.ErrNoSignaturePIN
	}
	if err := verify(oldPIN, c.signPIN, &c.signLeft); err != nil {
		return err
	}
	c.signPIN = string(newPIN.Bytes())
	return nil
}

func (c *stubCard) UnblockSignaturePIN(_ context.Context, puk, newPIN *cardreader.Secret) error {
	c.called("UnblockSignaturePIN")
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.hasSign {
		return cardreader.ErrNoSignaturePIN
	}
	return c.unblock(puk, newPIN, &c.signPIN, &c.signLeft)
}

// Signer signs with the credential's software key once pin is the
// identification PIN; it records which PIN it was given.
func (c *stubCard) Signer(_ context.Context, certID string, pin *cardreader.Secret) (crypto.Signer, error) {
	c.called("Signer")
	c.mu.Lock()
	defer c.mu.Unlock()
	which := "other"
	switch {
	case pin.Equal(cardreader.NewSecret([]byte(c.pin))):
		which = "identification"
	case pin.Equal(cardreader.NewSecret([]byte(c.signPIN))):
		which = "signature"
	}
	c.signerPINs = append(c.signerPINs, which)
	for i, cr := range c.creds.Credentials() {
		if fmt.Sprintf("%02x", i+1) == certID {
			return &stubSigner{card: c, key: cr.Key, pin: pin}, nil
		}
	}
	return nil, cardreader.ErrCertificateNotFound
}

func (c *stubCard) RemoveCertificate(context.Context, string, cardreader.RemoveAuth) error {
	c.called("RemoveCertificate")
	return fmt.Errorf("stub: %w", cardreader.ErrRemovalUnsupported)
}

type stubSigner struct {
	card *stubCard
	key  crypto.Signer
	pin  *cardreader.Secret
}

func (s *stubSigner) Public() crypto.PublicKey { return s.key.Public() }
func (s *stubSigner) SupportsPSS() bool        { return true }
func (s *stubSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.card.called("Sign")
	s.card.mu.Lock()
	err := verify(s.pin, s.card.pin, &s.card.pinLeft)
	s.card.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s.key.Sign(r, digest, opts)
}

// stubBackend serves the stub card in stubReader and counts its opens.
type stubBackend struct {
	card  *stubCard
	mu    sync.Mutex
	opens int
}

func (b *stubBackend) Name() string { return cardreader.BackendIDPrime }
func (b *stubBackend) Open(_ context.Context, r cardreader.Reader) (cardreader.Card, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opens++
	if r.Name != stubReader {
		return nil, cardreader.ErrUnsupportedCard
	}
	return b.card, nil
}

func (b *stubBackend) openCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opens
}

var (
	stubPKIOnce sync.Once
	stubPKI     *testpki.PKI
	stubCreds   *testpki.Card
	stubPKIErr  error
)

// stubCredentials are a default card's certificates and keys from the
// identity service's default test PKI (so its logins verify).
func stubCredentials(t testing.TB) *testpki.Card {
	t.Helper()
	stubPKIOnce.Do(func() {
		stubPKI, stubPKIErr = testpki.New(testpki.Options{Now: time.Now()})
		if stubPKIErr == nil {
			stubCreds, stubPKIErr = stubPKI.IssueCard(testpki.CardSpec{})
		}
	})
	if stubPKIErr != nil {
		t.Fatal(stubPKIErr)
	}
	return stubCreds
}

// stubService is an app.Service whose only reader holds card.
func stubService(t testing.TB, card *stubCard) (*app.Service, *stubBackend) {
	t.Helper()
	b := &stubBackend{card: card}
	svc, err := app.NewService(app.Options{
		Backends: []cardreader.Backend{b},
		Readers: func(context.Context) ([]cardreader.Reader, error) {
			return []cardreader.Reader{{Name: stubReader, CardPresent: true, ATR: []byte{0x3b}}}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc, b
}

// The signature PIN's tries are in the status (JSON "signaturePin") of a
// card that has one, read from the card opened once; a card without one
// has no such field; a blocked one is a warning.
func TestStatusSignaturePIN(t *testing.T) {
	ctx := context.Background()
	creds := stubCredentials(t)

	two := newStubCard(t, creds, true)
	two.signLeft = 2
	svc, b := stubService(t, two)
	st, err := svc.Status(ctx, app.StatusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Cards) != 1 {
		t.Fatalf("cards: %+v", st.Cards)
	}
	cs := st.Cards[0]
	if cs.Error != "" || cs.Backend != cardreader.BackendIDPrime || cs.PIN.Retries != 3 || cs.SignaturePIN == nil || cs.SignaturePIN.Retries != 2 || cs.SignaturePIN.Blocked {
		t.Fatalf("status: %+v (signature PIN %+v)", cs, cs.SignaturePIN)
	}
	if n := b.openCount(); n != 1 {
		t.Errorf("status opened the card %d times, want 1", n)
	}
	if n := two.count("SignaturePINStatus"); n != 1 {
		t.Errorf("SignaturePINStatus called %d times, want 1", n)
	}
	js, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Cards []map[string]json.RawMessage `json:"cards"`
	}
	if err := json.Unmarshal(js, &raw); err != nil {
		t.Fatal(err)
	}
	if got := string(raw.Cards[0]["signaturePin"]); got != `{"retries":2,"blocked":false}` {
		t.Errorf(`"signaturePin" = %s`, got)
	}

	one := newStubCard(t, creds, false)
	svc, _ = stubService(t, one)
	st, err = svc.Status(ctx, app.StatusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cs := st.Cards[0]; cs.Error != "" || cs.SignaturePIN != nil {
		t.Fatalf("one-PIN card: error %q, signature PIN %+v", cs.Error, cs.SignaturePIN)
	}
	if js, _ := json.Marshal(st); bytes.Contains(js, []byte("signaturePin")) {
		t.Errorf("one-PIN card's JSON names a signature PIN: %s", js)
	}

	blocked := newStubCard(t, creds, true)
	blocked.signLeft = 0
	svc, _ = stubService(t, blocked)
	st, err = svc.Status(ctx, app.StatusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cs = st.Cards[0]
	if cs.SignaturePIN == nil || !cs.SignaturePIN.Blocked || !slices.ContainsFunc(cs.Warnings, func(w app.Warning) bool { return w.Code == app.WarnSignaturePINBlocked }) {
		t.Errorf("blocked signature PIN: %+v, warnings %+v", cs.SignaturePIN, cs.Warnings)
	}
	if slices.ContainsFunc(cs.Warnings, func(w app.Warning) bool { return w.Code == app.WarnPINBlocked }) {
		t.Errorf("a blocked signature PIN reported as a blocked identification PIN: %+v", cs.Warnings)
	}
}

// pinOps are PIN operations the same tests run in-process and through the
// local API.
type pinOps interface {
	Status(context.Context, app.StatusOptions) (*app.Status, error)
	ChangePIN(context.Context, app.Selector, cardreader.PINRef, app.Prompt) error
	UnblockPIN(context.Context, app.Selector, cardreader.PINRef, app.Prompt) error
	RemoveCertificate(context.Context, app.Selector, string, app.RemoveOptions, app.Prompt) error
}

// eachWay runs f on a Service over card, and on a client of an agent that
// runs such a Service.
func eachWay(t *testing.T, hasSign bool, f func(t *testing.T, card *stubCard, ops pinOps)) {
	t.Run("in-process", func(t *testing.T) {
		card := newStubCard(t, stubCredentials(t), hasSign)
		svc, _ := stubService(t, card)
		f(t, card, svc)
	})
	t.Run("local API", func(t *testing.T) {
		card := newStubCard(t, stubCredentials(t), hasSign)
		svc, _ := stubService(t, card)
		_, addr := agenttest.StartAgent(t, agent.Options{Service: svc, Environment: agenttest.DemoEnvironment(t, "")})
		// The agent gave the service its PC/SC monitor's readers
		// (UseKnownReaders): the stub's reader is not among them, and a
		// card a previous test left in the rig's reader a moment ago
		// would be opened instead ("card not supported"). The stub's
		// readers are the truth here.
		svc.UseKnownReaders(nil)
		f(t, card, agenttest.Dial(t, addr))
	})
}

// Changing or unblocking the signature PIN calls the card's signature-PIN
// operations only, and its prompts say which PIN they ask for; the default
// (and "identification") act on the identification PIN only.
func TestPINChoiceDispatch(t *testing.T) {
	eachWay(t, true, func(t *testing.T, card *stubCard, ops pinOps) {
		ctx := context.Background()
		rec := &recorder{Answers: []string{"975318", "13572468"}}
		if err := ops.ChangePIN(ctx, app.Selector{}, cardreader.PINSignature, rec.Prompt); err != nil {
			t.Fatalf("change signature PIN: %v", err)
		}
		if card.signPIN != "13572468" || card.pin != "246813" || card.count("ChangePIN") != 0 || card.count("ChangeSignaturePIN") != 1 {
			t.Fatalf("after a signature PIN change: calls %v", card.calls)
		}
		if len(rec.Asked) != 2 || rec.Asked[0].Kind != app.PromptPIN || rec.Asked[1].Kind != app.PromptNewPIN {
			t.Fatalf("prompts %+v", rec.Asked)
		}
		for _, req := range rec.Asked {
			if req.PIN != cardreader.PINSignature || req.Retries != 3 {
				t.Errorf("prompt %+v, want the signature PIN's with its 3 tries", req)
			}
		}

		rec = &recorder{Answers: []string{"12345678", "86427531"}}
		if err := ops.UnblockPIN(ctx, app.Selector{}, cardreader.PINSignature, rec.Prompt); err != nil {
			t.Fatalf("unblock signature PIN: %v", err)
		}
		if card.signPIN != "86427531" || card.pin != "246813" || card.count("UnblockPIN") != 0 || card.count("UnblockSignaturePIN") != 1 {
			t.Fatalf("after a signature PIN unblock: calls %v", card.calls)
		}
		if len(rec.Asked) != 2 || rec.Asked[0].Kind != app.PromptPUK || rec.Asked[0].PIN != cardreader.PINSignature {
			t.Fatalf("prompts %+v", rec.Asked)
		}

		for _, ref := range []cardreader.PINRef{"", cardreader.PINIdentification} {
			before := card.touchedSignaturePIN(false)
			rec = &recorder{Answers: []string{card.pin, "31415926"}}
			if err := ops.ChangePIN(ctx, app.Selector{}, ref, rec.Prompt); err != nil {
				t.Fatalf("change %q: %v", ref, err)
			}
			if card.pin != "31415926" || card.signPIN != "86427531" {
				t.Fatalf("change %q changed the wrong PIN", ref)
			}
			if got := card.touchedSignaturePIN(false); len(got) != len(before) {
				t.Errorf("change %q touched the signature PIN: %v", ref, got[len(before):])
			}
			for _, req := range rec.Asked {
				if req.PIN != cardreader.PINIdentification {
					t.Errorf("change %q: prompt %+v", ref, req)
				}
			}
			card.set(func() { card.pin = "246813" })
		}
	})
}

// Failures on the signature PIN keep their type and tries and say which
// PIN they are about; a card without a signature PIN says so before asking
// anything; an unknown PIN name is refused; a backend that cannot remove
// certificates says so with its own code.
func TestPINChoiceErrors(t *testing.T) {
	eachWay(t, true, func(t *testing.T, card *stubCard, ops pinOps) {
		ctx := context.Background()
		err := ops.ChangePIN(ctx, app.Selector{}, cardreader.PINSignature, (&recorder{Answers: []string{"000000", "13572468"}}).Prompt)
		var wrong *cardreader.WrongPINError
		var pe *app.PINError
		if !errors.As(err, &wrong) || wrong.Retries != 2 || !errors.As(err, &pe) || pe.PIN != cardreader.PINSignature {
			t.Fatalf("wrong signature PIN: %v", err)
		}
		if card.pinLeft != 3 {
			t.Errorf("a wrong signature PIN cost an identification PIN try: %d left", card.pinLeft)
		}
		card.set(func() { card.signLeft = 0 })
		rec := &recorder{}
		err = ops.ChangePIN(ctx, app.Selector{}, cardreader.PINSignature, rec.Prompt)
		if !errors.Is(err, cardreader.ErrPINBlocked) || !errors.As(err, &pe) || pe.PIN != cardreader.PINSignature || len(rec.Asked) != 0 {
			t.Fatalf("blocked signature PIN: %v, asked %+v", err, rec.Asked)
		}
		// The identification PIN is unaffected and its errors unwrapped.
		err = ops.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, (&recorder{Answers: []string{"000000", "13572468"}}).Prompt)
		if !errors.As(err, &wrong) || wrong.Retries != 2 || errors.As(err, &pe) {
			t.Fatalf("wrong identification PIN: %v", err)
		}
		if err := ops.ChangePIN(ctx, app.Selector{}, "admin", (&recorder{}).Prompt); !errors.Is(err, app.ErrUnknownPIN) {
			t.Errorf("unknown PIN: %v", err)
		}
		err = ops.RemoveCertificate(ctx, app.Selector{}, "02", app.RemoveOptions{}, (&recorder{Answers: []string{"246813"}}).Prompt)
		if !errors.Is(err, cardreader.ErrRemovalUnsupported) {
			t.Errorf("removal: %v", err)
		}
	})
	eachWay(t, false, func(t *testing.T, card *stubCard, ops pinOps) {
		ctx := context.Background()
		for name, op := range map[string]func(context.Context, app.Selector, cardreader.PINRef, app.Prompt) error{
			"change": ops.ChangePIN, "unblock": ops.UnblockPIN,
		} {
			rec := &recorder{Answers: []string{"12345678", "13572468"}}
			err := op(ctx, app.Selector{}, cardreader.PINSignature, rec.Prompt)
			if !errors.Is(err, cardreader.ErrNoSignaturePIN) || len(rec.Asked) != 0 {
				t.Errorf("%s on a one-PIN card: %v, asked %+v", name, err, rec.Asked)
			}
		}
		if card.pukLeft != 3 || card.pinLeft != 3 {
			t.Errorf("tries spent: PIN %d, PUK %d", card.pinLeft, card.pukLeft)
		}
	})
}

// A login on a card with two PINs asks for and uses the identification
// PIN only: the signature PIN is never read, changed or given to a signer.
func TestLoginTwoPINCardUsesIdentificationPIN(t *testing.T) {
	is := agenttest.StartIdentityService(t, idp.Options{}, rpKey)
	creds, err := is.IDP.PKI().IssueCard(testpki.CardSpec{})
	if err != nil {
		t.Fatal(err)
	}
	card := newStubCard(t, creds, true)
	svc, _ := stubService(t, card)
	o, err := is.RP.Auth(context.Background(), "127.0.0.1", "Logga in", "")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{Answers: []string{card.pin}}
	res, err := svc.Login(context.Background(), app.LoginRequest{
		Link:    oob.AutoStartURL(o.AutoStartToken, ""),
		Env:     agenttest.DemoEnvironment(t, is.URL),
		Prompt:  rec.Prompt,
		Approve: func(context.Context, app.LoginApproval) error { return nil },
	})
	if err != nil {
		t.Fatalf("login: %v (calls %v)", err, card.calls)
	}
	if res.HSAID != testpki.DefaultHSAID {
		t.Errorf("logged in as %+v", res)
	}
	if got := card.touchedSignaturePIN(true); len(got) != 0 {
		t.Errorf("login touched the signature PIN: %v", got)
	}
	if len(card.signerPINs) == 0 || slices.ContainsFunc(card.signerPINs, func(s string) bool { return s != "identification" }) {
		t.Errorf("signers were given %v, want the identification PIN only", card.signerPINs)
	}
	for _, req := range rec.Asked {
		if req.PIN != cardreader.PINIdentification {
			t.Errorf("login prompt %+v asks for another PIN", req)
		}
	}
	if card.signLeft != 3 {
		t.Errorf("signature PIN tries: %d", card.signLeft)
	}
}
