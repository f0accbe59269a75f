package app_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/oob"
)

// faultDeadline is how long one operation may take with the card pulled
// under it: longer is a hang, reported as a failure.
const faultDeadline = 2 * time.Second

// tagSignCert is the PIV object of slot 9C (the HSA-ID signing
// certificate), SP 800-73-4 Part 1 Table 3.
const tagSignCert = 0x5FC10A

// pulledOp is one operation for TestFaultCardPulledEveryAPDU. run does it
// once on a fresh Service (a cold identity cache, as on a first
// insertion); after reports what the card's state says happened and
// prepares the next round.
type pulledOp struct {
	name string
	run  func(ctx context.Context, svc *app.Service) error
	// happened reads the card (no PC/SC) and says whether the operation
	// took effect; ok=false means the state is neither before nor after.
	happened func() (did, ok bool)
	// undo puts the card back in the before state once the operation
	// happened (through the Service, so it also proves the card works).
	undo func(ctx context.Context, svc *app.Service) error
	// minPINTries is the fewest PIN tries the attempts justify (3 when
	// every code given is right; 0 means 3).
	minPINTries int
}

// TestFaultCardPulledEveryAPDU pulls the card after every APDU index k of
// status, PIN change (with the right and with a wrong current PIN),
// unblock, certificate removal and login (k = 1..N,
// N measured first on an undisturbed run), through app.Service as the
// agent runs them. Each time: the call returns within 2 s (a context
// deadline, reported as a hang), with a typed error (ErrCardRemoved, or
// ErrNoCard when the card had gone before discovery found it) or a
// success; after re-insertion no PIN or PUK try is missing beyond the one
// a wrong PIN justifies (every other code presented was right), the card's state is the before or the after state
// (all or nothing, and success means after), and the same operation then
// succeeds.
//
// On every kind of card. Where a kind cannot unblock (no PUK through
// OpenSC) or remove certificates, that operation's answer is its clear
// refusal (ErrNoPUK, ErrRemovalUnsupported) with nothing changed on the
// card, and a pull during it must still end the same way.
func TestFaultCardPulledEveryAPDU(t *testing.T) { cardkind.Run(t, testFaultCardPulledEveryAPDU) }

func testFaultCardPulledEveryAPDU(t *testing.T, k cardkind.Kind) {
	f := setup(t, k, testpki.CardSpec{})
	card := f.card
	// The card's default PIN (123456) is one the policy refuses as a new
	// PIN: start from one of two acceptable PINs and alternate.
	pins := [2]string{"246813", "975318"}
	cur := 0 // index of the current PIN in pins
	if err := f.service(t).ChangePIN(context.Background(), app.Selector{}, cardreader.PINIdentification, prompts(vcard.DefaultPIN, pins[0], "")); err != nil {
		t.Fatal(err)
	}
	prompt := func(req app.PromptRequest, oldIdx int) (*cardreader.Secret, error) {
		switch req.Kind {
		case app.PromptNewPIN:
			return cardreader.NewSecret([]byte(pins[1-oldIdx])), nil
		case app.PromptPUK:
			return cardreader.NewSecret([]byte(vcard.DefaultPUK)), nil
		}
		return cardreader.NewSecret([]byte(pins[oldIdx])), nil
	}
	promptNow := func() app.Prompt {
		idx := cur
		return func(_ context.Context, req app.PromptRequest) (*cardreader.Secret, error) { return prompt(req, idx) }
	}
	pinNow := func() app.Prompt {
		idx := cur
		return func(context.Context, app.PromptRequest) (*cardreader.Secret, error) {
			return cardreader.NewSecret([]byte(pins[idx])), nil
		}
	}
	pinSwapped := func() (bool, bool) {
		a, b := card.State.PINIs([]byte(pins[cur])), card.State.PINIs([]byte(pins[1-cur]))
		if b {
			cur = 1 - cur // the change happened: the other PIN is current now
		}
		return b, a != b
	}
	var signCert []byte
	if k.Remove {
		if signCert = card.State.Object(tagSignCert); signCert == nil {
			t.Fatal("the card has no certificate in 9C")
		}
	}
	// unchanged is the check of an operation the kind refuses: the PIN is
	// still the current one (the tries are checked after every round).
	unchanged := func() (bool, bool) { return true, card.State.PINIs([]byte(pins[cur])) }
	// refused turns the kind's refusal into the operation's success.
	refused := func(err, want error) error {
		if errors.Is(err, want) {
			return nil
		}
		if err == nil {
			return fmt.Errorf("want %v, the operation succeeded", want)
		}
		return err
	}
	var lastOrder atomic.Pointer[oob.AuthResponse]
	var lastLink string
	ops := []pulledOp{
		{
			name: "status",
			run: func(ctx context.Context, svc *app.Service) error {
				st, err := svc.Status(ctx, app.StatusOptions{})
				if err != nil {
					return err
				}
				for _, c := range st.Cards {
					if c.Err() != nil {
						return c.Err()
					}
				}
				if len(st.Cards) != 1 {
					return fmt.Errorf("%d cards: %w", len(st.Cards), cardreader.ErrNoCard)
				}
				return nil
			},
			happened: func() (bool, bool) { return true, true }, // reads only
		},
		{
			name: "pin-change",
			run: func(ctx context.Context, svc *app.Service) error {
				return svc.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, promptNow())
			},
			happened: pinSwapped,
			undo:     func(context.Context, *app.Service) error { return nil }, // the next round changes it back
		},
		{
			// A wrong current PIN: one try spent when the card saw the
			// command, none when the pull came first; never two.
			name: "pin-change-wrong",
			run: func(ctx context.Context, svc *app.Service) error {
				err := svc.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, func(_ context.Context, req app.PromptRequest) (*cardreader.Secret, error) {
					if req.Kind == app.PromptNewPIN {
						return cardreader.NewSecret([]byte(pins[1-cur])), nil
					}
					return cardreader.NewSecret([]byte("135790")), nil
				})
				var wrong *cardreader.WrongPINError
				if errors.As(err, &wrong) {
					if wrong.Retries != 2 {
						return fmt.Errorf("wrong PIN with %d tries left, want 2", wrong.Retries)
					}
					return nil // the card's answer to a wrong PIN: the operation happened
				}
				if err == nil {
					return errors.New("a wrong PIN was accepted")
				}
				return err
			},
			happened: func() (bool, bool) {
				p, _ := card.State.PINRetries()
				return p == 2, (p == 2 || p == 3) && card.State.PINIs([]byte(pins[cur]))
			},
			undo: func(ctx context.Context, svc *app.Service) error {
				// The PUK restores the counter (and sets the other PIN);
				// without a PUK, a change with the right PIN does.
				op := svc.UnblockPIN
				if !k.Unblock {
					op = svc.ChangePIN
				}
				if err := op(ctx, app.Selector{}, cardreader.PINIdentification, promptNow()); err != nil {
					return err
				}
				cur = 1 - cur
				return nil
			},
			minPINTries: 2,
		},
		{
			name: "login",
			run: func(ctx context.Context, svc *app.Service) error {
				o, err := f.rp.Auth(ctx, "127.0.0.1", "Logga in", "")
				if err != nil {
					return fmt.Errorf("ordering (not the card): %v", err)
				}
				lastOrder.Store(o)
				lastLink = oob.AutoStartURL(o.AutoStartToken, "")
				_, err = svc.Login(ctx, app.LoginRequest{Link: lastLink, Env: f.env, Prompt: pinNow()})
				return err
			},
			happened: func() (bool, bool) {
				c, err := f.rp.Collect(context.Background(), lastOrder.Load().OrderRef)
				if err != nil {
					return false, false
				}
				return c.Status == oob.StatusComplete, true
			},
		},
	}
	// Unblock and removal run before the login (the last op), per kind.
	beforeLogin := func(op pulledOp) { ops = slices.Insert(ops, len(ops)-1, op) }
	if k.Unblock {
		beforeLogin(pulledOp{
			name: "unblock",
			run: func(ctx context.Context, svc *app.Service) error {
				return svc.UnblockPIN(ctx, app.Selector{}, cardreader.PINIdentification, promptNow())
			},
			happened: func() (bool, bool) {
				did, ok := pinSwapped()
				return did, ok && card.State.PUKIs([]byte(vcard.DefaultPUK))
			},
			undo: func(context.Context, *app.Service) error { return nil },
		})
	} else {
		beforeLogin(pulledOp{
			name: "unblock-refused",
			run: func(ctx context.Context, svc *app.Service) error {
				return refused(svc.UnblockPIN(ctx, app.Selector{}, cardreader.PINIdentification, promptNow()), cardreader.ErrNoPUK)
			},
			happened: unchanged,
		})
	}
	if k.Remove {
		beforeLogin(pulledOp{
			name: "cert-remove",
			run: func(ctx context.Context, svc *app.Service) error {
				return svc.RemoveCertificate(ctx, app.Selector{}, "9c", app.RemoveOptions{}, pinNow())
			},
			happened: func() (bool, bool) { return !card.State.HasObject(tagSignCert), true },
			undo: func(context.Context, *app.Service) error {
				return card.State.RestoreObject(tagSignCert, signCert)
			},
		})
	} else {
		// The kind's only certificate is the login one: confirmed.
		beforeLogin(pulledOp{
			name: "cert-remove-refused",
			run: func(ctx context.Context, svc *app.Service) error {
				return refused(svc.RemoveCertificate(ctx, app.Selector{}, k.Login, app.RemoveOptions{ConfirmLogin: true}, pinNow()), cardreader.ErrRemovalUnsupported)
			},
			happened: unchanged,
		})
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			ctx := context.Background()
			before := card.Server.Stats().APDUs
			if err := op.run(ctx, f.service(t)); err != nil {
				t.Fatalf("without a pull: %v", err)
			}
			n := int(card.Server.Stats().APDUs - before)
			if did, ok := op.happened(); !ok || (op.undo != nil && !did) {
				t.Fatalf("without a pull the card's state is wrong (happened %v, consistent %v)", did, ok)
			} else if did && op.undo != nil {
				if err := op.undo(ctx, f.service(t)); err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("%s: %d APDUs", op.name, n)
			for k := 1; k <= n; k++ {
				drops := card.Server.Stats().Drops
				card.Server.SetDropAfter(k)
				rctx, cancel := context.WithTimeout(ctx, faultDeadline)
				start := time.Now()
				err := op.run(rctx, f.service(t))
				took := time.Since(start)
				hung := rctx.Err() != nil
				cancel()
				// The card counts the drop after its reply is on the wire:
				// an operation that needed the k-th answer may return
				// first. Wait for the pull (the k-th APDU is always sent:
				// N was measured on the same path).
				pulled := false
				for deadline := time.Now().Add(2 * time.Second); !pulled && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
					pulled = card.Server.Stats().Drops > drops
				}
				card.Server.SetDropAfter(0)
				switch {
				case hung:
					t.Errorf("k=%d/%d: no answer within %v (%v)", k, n, faultDeadline, err)
				case err == nil:
				case errors.Is(err, cardreader.ErrCardRemoved), errors.Is(err, cardreader.ErrNoCard):
				default:
					t.Errorf("k=%d/%d: untyped error %v", k, n, err)
				}
				if !pulled && err != nil {
					t.Errorf("k=%d/%d: the card was not pulled yet the operation failed: %v", k, n, err)
				}
				if pulled {
					waitEmpty(t, card.Reader)
					card.Reinsert(t)
					waitPresent(t, card.Reader)
				}
				minTries := op.minPINTries
				if minTries == 0 {
					minTries = 3
				}
				if p, u := card.State.PINRetries(); p < minTries || u != 3 {
					t.Fatalf("k=%d/%d: PIN %d PUK %d tries left, want at least %d and 3", k, n, p, u, minTries)
				}
				did, ok := op.happened()
				if !ok {
					t.Fatalf("k=%d/%d: the card is neither before nor after the operation", k, n)
				}
				if err == nil && !did {
					t.Fatalf("k=%d/%d: success reported but the card says it did not happen", k, n)
				}
				// Then the same operation succeeds (once more if it had not
				// happened), and the card goes back to the before state.
				if op.undo != nil && !did || op.undo == nil && err != nil {
					if op.name == "login" {
						if rerr := relogin(ctx, f, f.service(t), lastLink, pinNow()); rerr != nil {
							t.Fatalf("k=%d/%d: the login after re-insertion: %v", k, n, rerr)
						}
					} else if rerr := op.run(ctx, f.service(t)); rerr != nil {
						t.Fatalf("k=%d/%d: the same operation after re-insertion: %v", k, n, rerr)
					}
					did, _ = op.happened()
				}
				if op.undo != nil && did {
					if uerr := op.undo(ctx, f.service(t)); uerr != nil {
						t.Fatalf("k=%d/%d: undo: %v", k, n, uerr)
					}
				}
				t.Logf("k=%d/%d: pulled=%v %v in %v", k, n, pulled, err, took.Round(time.Millisecond))
			}
		})
	}
}

// relogin finishes a login whose card was pulled: the same order when the
// service still has it pending (nothing lost), a new one when the pull
// failed it (cardRemoved tells the relying party to start over).
func relogin(ctx context.Context, f *fixture, svc *app.Service, link string, pin app.Prompt) error {
	_, err := svc.Login(ctx, app.LoginRequest{Link: link, Env: f.env, Prompt: pin})
	if err == nil || !errors.Is(err, oob.ErrExpired) && !errors.Is(err, oob.ErrAlreadyCompleted) {
		return err
	}
	o, err := f.rp.Auth(ctx, "127.0.0.1", "Logga in", "")
	if err != nil {
		return err
	}
	_, err = svc.Login(ctx, app.LoginRequest{Link: oob.AutoStartURL(o.AutoStartToken, ""), Env: f.env, Prompt: pin})
	return err
}
