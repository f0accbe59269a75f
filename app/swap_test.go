package app_test

// Issue 14 item 2: the PIN goes to the card it was asked for. Another card
// put in the same reader while the user types gets no APDU that presents
// a PIN or a PUK or spends a try; the operation fails with
// cardreader.ErrCardChanged. The same card pulled and put back still works.

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/oob"
)

// otherSpec is a second holder's card: another HSA-ID, so another card
// number, CHUID and cardid; the same (default) PIN and PUK, so a PIN that
// reached it would be accepted without a sound.
var otherSpec = testpki.CardSpec{GivenName: "Bertil", Surname: "Berg", HSAID: "SE2321000016-9876"}

// swapRig is card A in reader 0 and card B provisioned, ready to take its
// place; B's APDUs are traced (instruction and lengths, never data).
type swapRig struct {
	kind   cardkind.Kind
	a      *rig.Card
	bDir   string
	b      *rig.Card
	bTrace *agenttest.SyncBuffer
	once   sync.Once
}

func newSwapRig(t *testing.T, k cardkind.Kind) *swapRig {
	t.Helper()
	waitEmpty(t, rig.Require(t).Reader(0))
	r := &swapRig{kind: k, bDir: t.TempDir(), bTrace: &agenttest.SyncBuffer{}}
	if err := vcard.Provision(k.Provision(vcard.ProvisionOptions{Dir: r.bDir, Spec: otherSpec, PIN: vcard.DefaultPIN, PUK: vcard.DefaultPUK})); err != nil {
		t.Fatal(err)
	}
	r.a = k.Insert(t, 0, testpki.CardSpec{}, vcard.RunOptions{})
	return r
}

// swap takes A out for good and puts B in its reader (once), returning
// when pcscd has powered B up.
func (r *swapRig) swap(t *testing.T) {
	r.once.Do(func() {
		if err := r.a.Stop(); err != nil {
			t.Errorf("stopping card A: %v", err)
		}
		r.b = rig.Require(t).RunCard(t, 0, r.bDir, vcard.DefaultPIN, vcard.DefaultPUK, vcard.RunOptions{Trace: r.bTrace})
	})
}

// reinsert pulls A and puts it back (once).
func (r *swapRig) reinsert(t *testing.T) {
	r.once.Do(func() {
		r.a.Pull(t)
		r.a.Reinsert(t)
	})
}

// checkBUntouched fails unless card B got no APDU that presents a secret
// or spends a try, and its counters and PIN are as provisioned.
func (r *swapRig) checkBUntouched(t *testing.T) {
	t.Helper()
	if r.b == nil {
		t.Fatal("card B was never inserted")
	}
	st := r.b.Server.Stats()
	if st.Verifies != 0 || st.Signatures != 0 {
		t.Errorf("card B got %d PIN VERIFYs and %d signatures", st.Verifies, st.Signatures)
	}
	for _, line := range strings.Split(r.bTrace.String(), "\n") {
		var ins byte
		var capdu int
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "ins="); ok {
				fmt.Sscanf(v, "%02X", &ins)
			}
			if v, ok := strings.CutPrefix(f, "capdu="); ok {
				fmt.Sscanf(v, "%d", &capdu)
			}
		}
		switch {
		case ins == 0x20 && capdu > 5, // VERIFY with a PIN (an empty one only reads the tries)
			ins == 0x24, ins == 0x2C, // CHANGE REFERENCE DATA, RESET RETRY COUNTER
			ins == 0x87, ins == 0x2A, // GENERAL AUTHENTICATE (PIV), PSO (IDPrime)
			ins == 0xDB: // PUT DATA (PIV removal)
			t.Errorf("card B got %q", line)
		}
	}
	if pin, puk := r.b.State.PINRetries(); pin != 3 || puk != 3 {
		t.Errorf("card B: PIN %d PUK %d tries left, want 3 and 3", pin, puk)
	}
	if !r.b.State.PINIs([]byte(vcard.DefaultPIN)) {
		t.Error("card B's PIN changed")
	}
}

// swapOp is one operation that asks for a secret; prompt is called at
// each prompt and does the swap (or the re-insertion) at the first.
type swapOp struct {
	name string
	can  func(k cardkind.Kind) bool
	run  func(t *testing.T, r *swapRig, svc *app.Service, prompt app.Prompt) error
	// after checks card A after a successful run (re-insertion).
	after func(t *testing.T, r *swapRig)
}

var swapOps = []swapOp{
	{
		name: "change",
		can:  func(cardkind.Kind) bool { return true },
		run: func(t *testing.T, r *swapRig, svc *app.Service, prompt app.Prompt) error {
			return svc.ChangePIN(context.Background(), app.Selector{}, "", prompt)
		},
		after: func(t *testing.T, r *swapRig) {
			if !r.a.State.PINIs([]byte("246810")) {
				t.Error("card A's PIN was not changed")
			}
		},
	},
	{
		name: "unblock",
		can:  func(k cardkind.Kind) bool { return k.Unblock },
		run: func(t *testing.T, r *swapRig, svc *app.Service, prompt app.Prompt) error {
			return svc.UnblockPIN(context.Background(), app.Selector{}, "", prompt)
		},
		after: func(t *testing.T, r *swapRig) {
			if !r.a.State.PINIs([]byte("246810")) {
				t.Error("card A's PIN was not set")
			}
		},
	},
	{
		name: "login",
		can:  func(cardkind.Kind) bool { return true },
		run: func(t *testing.T, r *swapRig, svc *app.Service, prompt app.Prompt) error {
			is := agenttest.StartIdentityService(t, idp.Options{}, rpKey)
			o, err := is.RP.Auth(context.Background(), "127.0.0.1", "Logga in", "")
			if err != nil {
				t.Fatal(err)
			}
			_, lerr := svc.Login(context.Background(), app.LoginRequest{
				Link: oob.AutoStartURL(o.AutoStartToken, ""), Env: agenttest.DemoEnvironment(t, is.URL), Prompt: prompt,
			})
			c, err := is.RP.Collect(context.Background(), o.OrderRef)
			if err != nil {
				t.Fatal(err)
			}
			if (lerr == nil) != (c.Status == oob.StatusComplete) {
				t.Errorf("login %v but order %+v", lerr, c)
			}
			return lerr
		},
	},
	{
		name: "remove",
		can:  func(k cardkind.Kind) bool { return k.Remove },
		run: func(t *testing.T, r *swapRig, svc *app.Service, prompt app.Prompt) error {
			return svc.RemoveCertificate(context.Background(), app.Selector{}, "9c", app.RemoveOptions{}, prompt)
		},
		after: func(t *testing.T, r *swapRig) {
			if r.a.State.HasObject(0x5FC10A) {
				t.Error("card A still holds the certificate of slot 9C")
			}
		},
	},
}

// swapPrompt answers PINs with the default PIN, new PINs with 246810, the
// PUK with the default PUK; at the first prompt it runs at (with the
// prompt open, as a person typing).
func swapPrompt(t *testing.T, at func(t *testing.T)) app.Prompt {
	var once sync.Once
	answer := agenttest.Prompts(vcard.DefaultPIN, "246810", vcard.DefaultPUK)
	return func(ctx context.Context, req app.PromptRequest) (*cardreader.Secret, error) {
		once.Do(func() { at(t) })
		return answer(ctx, req)
	}
}

// TestCardSwappedAtPrompt: per kind and operation, card A is replaced by
// card B while the prompt is open: ErrCardChanged, and B got nothing.
func TestCardSwappedAtPrompt(t *testing.T) {
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		for _, op := range swapOps {
			if !op.can(k) {
				continue
			}
			t.Run(op.name, func(t *testing.T) {
				r := newSwapRig(t, k)
				svc := agenttest.Service(t, k)
				err := op.run(t, r, svc, swapPrompt(t, r.swap))
				r.checkBUntouched(t)
				if !errors.Is(err, cardreader.ErrCardChanged) {
					t.Fatalf("got %v, want ErrCardChanged", err)
				}
			})
		}
		t.Run("sign", func(t *testing.T) { testSignerSwapped(t, k) })
	})
}

// TestCardReinsertedAtPrompt: the same card pulled and put back while the
// prompt is open: the operation goes through.
func TestCardReinsertedAtPrompt(t *testing.T) {
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		for _, op := range swapOps {
			if !op.can(k) {
				continue
			}
			t.Run(op.name, func(t *testing.T) {
				r := newSwapRig(t, k)
				svc := agenttest.Service(t, k)
				if err := op.run(t, r, svc, swapPrompt(t, r.reinsert)); err != nil {
					t.Fatalf("after the same card came back: %v", err)
				}
				if op.after != nil {
					op.after(t, r)
				}
			})
		}
	})
}

// testSignerSwapped: a signer made for card A signs nothing on card B.
func testSignerSwapped(t *testing.T, k cardkind.Kind) {
	r := newSwapRig(t, k)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	backends, err := cardreader.OrderBackends(k.Preference, k.Backends(cardreader.NewIdentityCache(4)))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range backends {
		if c, ok := b.(interface{ Close() error }); ok {
			t.Cleanup(func() { _ = c.Close() })
		}
	}
	c, err := cardreader.Open(ctx, cardreader.Reader{Name: r.a.Reader, CardPresent: true}, backends...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ID(ctx); err != nil {
		t.Fatal(err)
	}
	pin := cardreader.NewSecret([]byte(vcard.DefaultPIN))
	defer pin.Wipe()
	sg, err := c.Signer(ctx, k.Login, pin)
	if err != nil {
		t.Fatal(err)
	}
	r.swap(t)
	digest := sha256.Sum256([]byte("to be signed"))
	_, err = sg.Sign(rand.Reader, digest[:], crypto.SHA256)
	r.checkBUntouched(t)
	if !errors.Is(err, cardreader.ErrCardChanged) {
		t.Fatalf("sign on the other card: %v, want ErrCardChanged", err)
	}
}
