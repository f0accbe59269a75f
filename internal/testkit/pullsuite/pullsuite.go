// Package pullsuite is the card-pull fault suite (issue 16 deliverable
// 3): every APDU of every operation the product runs through app.Service,
// in both drop modes, the reported outcome checked against the card's own
// state. It holds the test bodies; each kind of card runs them in a test
// package of its own (piv, idprime, opensc below), so each kind gets its
// own test binary and pcscd and go test runs them at the same time as the
// other packages. (Two kinds in one binary, a card per reader of one
// pcscd, was tried: a pull then came back once as ErrNoReader, pcscd
// showing the reader unavailable, not the card removed; and OpenSC's
// module probes every reader of its pcscd, so it would send APDUs to the
// other card and upset its pull counts.)
// Each iteration waits out two pcscd presence polls (about 400 ms each:
// the removal seen, then the card back), so the kinds' wall times add up
// only when run one after the other.
package pullsuite

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/oob"
)

const rpKey = "pullsuite-relying-party-key-0123456789"

// Run runs f on kind, its card in reader 0 of this binary's rig, as the
// subtest kind.Name (skipped, or failed on CI, when the kind's PKCS#11
// module is missing).
func Run(t *testing.T, k cardkind.Kind, f func(t *testing.T, k cardkind.Kind, reader int)) {
	t.Helper()
	t.Run(k.Name, func(t *testing.T) {
		if k.Module != "" {
			if _, err := os.Stat(k.Module); err != nil {
				testenv.Missing(t, "no PKCS#11 module %s (scripts/setup installs opensc)", k.Module)
			}
		}
		f(t, k, 0)
	})
}

type fixture struct {
	kind cardkind.Kind
	card *rig.Card
	env  environment.Environment
	rp   *oob.RPClient
}

// setup inserts kind's card issued as spec in reader and starts the
// reference identity service.
func setup(t *testing.T, kind cardkind.Kind, spec testpki.CardSpec, reader int) *fixture {
	t.Helper()
	rig.WaitAbsent(t, rig.Require(t).Reader(reader))
	card := kind.Insert(t, reader, spec, vcard.RunOptions{})
	// Its rate limits off: rounds that end early (OpenSC) order logins
	// faster than a person would; the limits are tested in idp.
	is := agenttest.StartIdentityService(t, idp.Options{RPRate: -1, IPRate: -1}, rpKey) // handshakes cut by pulled cards: its log is dropped
	return &fixture{kind: kind, card: card, env: agenttest.DemoEnvironment(t, is.URL), rp: is.RP}
}

// service is a fresh Service for the fixture's card (a cold identity
// cache, as on a first insertion) that lists only the card's reader.
func (f *fixture) service(t testing.TB) *app.Service {
	t.Helper()
	opts := f.kind.Options(cardreader.NewIdentityCache(8))
	for _, b := range opts.Backends {
		if c, ok := b.(io.Closer); ok {
			t.Cleanup(func() { _ = c.Close() })
		}
	}
	reader := f.card.Reader
	opts.Readers = func(ctx context.Context) ([]cardreader.Reader, error) {
		rs, err := cardreader.ListReaders(ctx)
		return slices.DeleteFunc(rs, func(r cardreader.Reader) bool { return r.Name != reader }), err
	}
	svc, err := app.NewService(opts)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func pinPrompt(pin string) app.Prompt { return agenttest.PINPrompt(pin) }

func prompts(pin, newPIN, puk string) app.Prompt { return agenttest.Prompts(pin, newPIN, puk) }

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
	// changes: the operation sends a command that changes the card
	// (changingINS). When that command's answer is lost the product must
	// say the outcome is unknown (app.ErrOutcomeUnknown); a plain failure
	// must mean nothing changed. Operations that only read never say
	// the outcome is unknown.
	changes bool
	// retry, when set, is how the operation is done again after a pull
	// (instead of run).
	retry func(ctx context.Context, svc *app.Service) error
}

// changingINS are the instructions that change the card in the product's
// operations: CHANGE REFERENCE DATA, RESET RETRY COUNTER, PUT DATA.
var changingINS = map[byte]bool{0x24: true, 0x2C: true, 0xDB: true}

// errNoCardListed is the status op's own error for a status that lists no
// card: accepted only when the card was pulled before discovery found it.
var errNoCardListed = errors.New("status lists no card")

// dropModes are the two ways the card leaves at its k-th APDU: after
// answering it, and after executing it without answering.
var dropModes = []vcard.DropMode{vcard.DropAfterAnswer, vcard.DropBeforeAnswer}

// TestFaultCardPulledEveryAPDU pulls the card after every APDU index k of
// status, PIN change (with the right and with a wrong current PIN),
// unblock, certificate removal and login (k = 1..N,
// N measured first on an undisturbed warm run, and every round pulled at
// that run's k-th APDU), through app.Service as the
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
func CardPulledEveryAPDU(t *testing.T, k cardkind.Kind, reader int) {
	f := setup(t, k, testpki.CardSpec{}, reader)
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
	tlsSrv, tlsRoots := clientCertServer(t)
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
					return fmt.Errorf("%d cards: %w", len(st.Cards), errNoCardListed)
				}
				return nil
			},
			happened: func() (bool, bool) { return true, true }, // reads only
		},
		{
			name: "export",
			run: func(ctx context.Context, svc *app.Service) error {
				files, err := svc.Export(ctx, app.Selector{}, t.TempDir(), app.PEM)
				if err == nil && len(files) != k.Certificates {
					return fmt.Errorf("%d certificates exported, want %d", len(files), k.Certificates)
				}
				return err
			},
			happened: func() (bool, bool) { return true, true }, // reads only
		},
		{
			name: "tls-check",
			run: func(ctx context.Context, svc *app.Service) error {
				rep, err := svc.TLSCheck(ctx, app.TLSCheckRequest{URL: tlsSrv.URL, Roots: tlsRoots, Prompt: pinNow()})
				if err == nil && rep.Status != 200 {
					return fmt.Errorf("tls-check: HTTP %d", rep.Status)
				}
				return err
			},
			happened: func() (bool, bool) { return true, true }, // signs only
		},
		{
			name: "pin-change",
			run: func(ctx context.Context, svc *app.Service) error {
				return svc.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, promptNow())
			},
			happened: pinSwapped,
			undo:     func(context.Context, *app.Service) error { return nil }, // the next round changes it back
			changes:  true,
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
			changes:     true,
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
			retry: func(ctx context.Context, svc *app.Service) error {
				return relogin(ctx, f, svc, lastLink, pinNow())
			},
		},
	}
	// The QR code for the phone needs no card: no APDU, and the card out
	// of the reader changes nothing (pullEveryAPDU checks that).
	ops = append(ops, pulledOp{
		name: "qr",
		run: func(ctx context.Context, svc *app.Service) error {
			o, err := f.rp.Auth(ctx, "127.0.0.1", "Logga in", "")
			if err != nil {
				return fmt.Errorf("ordering (not the card): %v", err)
			}
			q, err := svc.QR(ctx, oob.AutoStartURL(o.AutoStartToken, ""), f.env, 256)
			if err == nil && len(q.PNG) == 0 {
				return errors.New("no QR code")
			}
			return err
		},
		happened: func() (bool, bool) { return true, true },
	})
	// Unblock and removal run before the login, per kind.
	beforeLogin := func(op pulledOp) { ops = slices.Insert(ops, len(ops)-2, op) }
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
			undo:    func(context.Context, *app.Service) error { return nil },
			changes: true,
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
			changes: true,
		})
	} else {
		// The kind's only certificate is the login one: confirmed.
		beforeLogin(pulledOp{
			name: "cert-remove-refused",
			run: func(ctx context.Context, svc *app.Service) error {
				return refused(svc.RemoveCertificate(ctx, app.Selector{}, k.Login, app.RemoveOptions{ConfirmLogin: true}, pinNow()), cardreader.ErrRemovalUnsupported)
			},
			happened: unchanged,
			// A PKCS#11 module is asked to delete (it refuses only
			// then), and cannot say whether a lost call took effect.
			changes: k.Backend == cardreader.BackendPKCS11,
		})
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) { pullEveryAPDU(t, f, k, op) })
	}
}

// pullEveryAPDU runs op twice undisturbed and on the second, warm run
// counts its N APDUs and finds the ones that change the card, then for
// each drop mode and k = 1..N pulls the card at the k-th APDU (a round
// that pulls nothing, or pulls at another APDU, fails) and checks what op
// reports against what the card then holds (see
// TestFaultCardPulledEveryAPDU).
func pullEveryAPDU(t *testing.T, f *fixture, k cardkind.Kind, op pulledOp) {
	card := f.card
	ctx := context.Background()
	// The instructions the card is sent, in order, while recording.
	var ins []byte
	var insMu sync.Mutex
	record := func() {
		insMu.Lock()
		ins = ins[:0]
		insMu.Unlock()
		card.Server.Observe(func(b byte) { insMu.Lock(); ins = append(ins, b); insMu.Unlock() })
	}
	recorded := func() []byte {
		card.Server.Observe(nil)
		insMu.Lock()
		defer insMu.Unlock()
		return slices.Clone(ins)
	}
	// N is counted on a warm run, the second: OpenSC's module reads the
	// card's PKCS#15 structure (some 20 APDUs) on its first use after an
	// insertion only, so a first run after the previous operation's last
	// pull sends more than any later run, and its N left rounds that
	// pulled nothing. Every round below starts warm too (warm after each
	// re-insertion), and must pull at the same APDU as the warm run's k-th.
	var measured []byte
	var first int
	for run := 1; run <= 2; run++ {
		record()
		err := op.run(ctx, f.service(t))
		got := recorded()
		if err != nil {
			t.Fatalf("without a pull (run %d): %v", run, err)
		}
		if did, ok := op.happened(); !ok || (op.undo != nil && !did) {
			t.Fatalf("without a pull (run %d) the card's state is wrong (happened %v, consistent %v)", run, did, ok)
		} else if did && op.undo != nil {
			if err := op.undo(ctx, f.service(t)); err != nil {
				t.Fatal(err)
			}
		}
		if run == 1 {
			first = len(got)
		}
		measured = got
	}
	n := len(measured)
	changing := map[int]bool{} // 1-based indices of the APDUs that change the card
	for i, b := range measured {
		if changingINS[b] {
			changing[i+1] = true
		}
	}
	if op.changes != (len(changing) > 0) && k.Backend != cardreader.BackendPKCS11 && !strings.HasSuffix(op.name, "-refused") {
		t.Fatalf("changes %v but the card was sent %d changing commands (% X)", op.changes, len(changing), measured)
	}
	t.Logf("%s: %d APDUs, changing at %v (warm; the first run sent %d)", op.name, n, slices.Sorted(maps.Keys(changing)), first)
	if n == 0 {
		// Nothing to pull at: the card out of the reader all along
		// changes nothing.
		card.Server.Remove()
		rig.WaitAbsent(t, card.Reader)
		err := op.run(ctx, f.service(t))
		card.Reinsert(t)
		rig.WaitPresent(t, card.Reader)
		if err != nil {
			t.Fatalf("with the card out: %v", err)
		}
		return
	}
	// The native backends know which command got no answer; OpenSC's
	// module does not, so a removal during a change is always "unknown".
	native := k.Backend != cardreader.BackendPKCS11
	// warm puts OpenSC's module back where the measured run found it
	// after a re-insertion: a status reads what the module reads first.
	// (What it says of the card is not judged here: a card whose expired
	// certificates were all removed has none to show.)
	warm := func(tag string) {
		st, err := f.service(t).Status(ctx, app.StatusOptions{})
		if err == nil && len(st.Cards) != 1 {
			err = fmt.Errorf("%d cards listed", len(st.Cards))
		}
		if err != nil {
			t.Fatalf("%s: status after re-insertion: %v", tag, err)
		}
	}
	for _, mode := range dropModes {
		for i := 1; i <= n; i++ {
			tag := fmt.Sprintf("%v k=%d/%d", mode, i, n)
			drops, apdus := card.Server.Stats().Drops, card.Server.Stats().APDUs
			record()
			card.Server.SetDrop(i, mode)
			rctx, cancel := context.WithTimeout(ctx, faultDeadline)
			start := time.Now()
			err := op.run(rctx, f.service(t))
			took := time.Since(start)
			hung := rctx.Err() != nil
			cancel()
			// The card counts the drop before its reply (or its silence):
			// an operation that needed the k-th answer may return first.
			// Wait for the pull: the k-th APDU must be sent, as on the
			// measured run, and be the measured run's k-th (the same
			// instructions up to it). A round that ends with fewer than
			// k APDUs sent pulled nothing and tested nothing: it fails.
			opDone := time.Now()
			pulled := card.Server.Stats().Drops > drops
			for deadline := time.Now().Add(2 * time.Second); !pulled && (err != nil || card.Server.Stats().APDUs-apdus >= int64(i)) && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				pulled = card.Server.Stats().Drops > drops
			}
			card.Server.SetDrop(0, mode)
			sent := recorded() // the card is out when pulled: nothing more comes
			switch {
			case !pulled:
				t.Errorf("%s: nothing pulled: the operation sent %d APDUs (% X), fewer than k; the measured run % X", tag, len(sent), sent, measured)
			case !slices.Equal(sent, measured[:i]):
				t.Errorf("%s: pulled at another APDU than the measured run's k-th: sent % X, measured % X", tag, sent, measured)
			}
			outcome := errors.Is(err, app.ErrOutcomeUnknown)
			switch {
			case hung:
				t.Errorf("%s: no answer within %v (%v)", tag, faultDeadline, err)
			case err == nil:
			case errors.Is(err, errNoCardListed) && pulled && op.name == "status":
				// The card was gone before discovery listed it: a
				// status without it is the truth.
			case errors.Is(err, cardreader.ErrCardRemoved), errors.Is(err, cardreader.ErrNoCard):
			default:
				t.Errorf("%s: untyped error %v", tag, err)
			}
			if !pulled && err != nil {
				t.Errorf("%s: the card was not pulled yet the operation failed: %v", tag, err)
			}
			var gone, back time.Duration // waiting for pcscd to see the card go, putting it back
			if pulled {
				rig.WaitAbsent(t, card.Reader)
				start := time.Now()
				card.Reinsert(t)
				rig.WaitPresent(t, card.Reader)
				back = time.Since(start)
			}
			gone = time.Since(opDone) - back // the drop counted, then pcscd's poll
			checked := time.Now()
			if pulled {
				warm(tag)
			}
			minTries := op.minPINTries
			if minTries == 0 {
				minTries = 3
			}
			if p, u := card.State.PINRetries(); p < minTries || u != 3 {
				t.Fatalf("%s: PIN %d PUK %d tries left, want at least %d and 3", tag, p, u, minTries)
			}
			did, ok := op.happened()
			if !ok {
				t.Fatalf("%s: the card is neither before nor after the operation", tag)
			}
			if err == nil && !did {
				t.Fatalf("%s: success reported but the card says it did not happen", tag)
			}
			// What it says against what the card did.
			lostAnswer := mode == vcard.DropBeforeAnswer && changing[i]
			switch {
			case outcome && !op.changes:
				t.Errorf("%s: outcome unknown for an operation that changes nothing: %v", tag, err)
			case op.changes && op.undo != nil && did && err != nil && !outcome:
				t.Errorf("%s: the card changed but the product reports a plain failure: %v", tag, err)
			case native && lostAnswer && !outcome:
				t.Errorf("%s: the changing command executed and its answer was lost, yet the outcome is not reported unknown: %v", tag, err)
			case native && outcome && !lostAnswer && !(mode == vcard.DropAfterAnswer && changing[i+1]):
				// Unknown is allowed only where the card got the
				// changing command (or had just left when it was sent,
				// which the reader cannot tell apart).
				t.Errorf("%s: outcome unknown although the card never got the changing command: %v", tag, err)
			}
			// Then the same operation succeeds (once more if it had not
			// happened), and the card goes back to the before state.
			if op.undo != nil && !did || op.undo == nil && err != nil {
				again := op.run
				if op.retry != nil {
					again = op.retry
				}
				if rerr := again(ctx, f.service(t)); rerr != nil {
					t.Fatalf("%s: the same operation after re-insertion: %v", tag, rerr)
				}
				did, _ = op.happened()
			}
			if op.undo != nil && did {
				if uerr := op.undo(ctx, f.service(t)); uerr != nil {
					t.Fatalf("%s: undo: %v", tag, uerr)
				}
			}
			t.Logf("%s: pulled=%v outcome-unknown=%v %v in %v (removal seen %v, reinserted %v, status/check/redo/undo %v)", tag, pulled, outcome, err,
				took.Round(time.Millisecond), gone.Round(time.Millisecond), back.Round(time.Millisecond), time.Since(checked).Round(time.Millisecond))
		}
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

// clientCertServer is an HTTPS server that requires a client certificate
// (any: tls-check's handshake with the card's key is what is pulled) and
// answers 200 with the certificate's subject, and the roots that trust it.
func clientCertServer(t *testing.T) (*httptest.Server, *x509.CertPool) {
	t.Helper()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			http.Error(w, "no client certificate", http.StatusForbidden)
			return
		}
		fmt.Fprintln(w, r.TLS.PeerCertificates[0].Subject)
	}))
	ts.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	ts.Config.ErrorLog = nil
	ts.StartTLS()
	t.Cleanup(ts.Close)
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	return ts, roots
}

// pivCertTags are the PIV certificate objects by slot: 9A, 9C, 9D, 9E
// and the retired key slots 82–95 (SP 800-73-4 Part 1 Table 3).
var pivCertTags = func() map[string]int {
	m := map[string]int{"9a": 0x5FC105, "9c": 0x5FC10A, "9d": 0x5FC10B, "9e": 0x5FC101}
	for i := 0; i < 20; i++ {
		m[fmt.Sprintf("%02x", 0x82+i)] = 0x5FC10D + i
	}
	return m
}()

// TestFaultRemoveExpiredPulledEveryAPDU pulls the card at every APDU of
// `cert remove-expired` (every certificate of the card expired, the
// login one confirmed), in both drop modes, as TestFaultCardPulledEveryAPDU
// does for the other operations. A pull between two removals leaves the
// card with exactly the certificates the operation reported removed gone
// (one more when it says the outcome of the last one is unknown). A kind
// that cannot remove certificates refuses (ErrRemovalUnsupported) with
// nothing changed, pulled or not.
func RemoveExpiredPulledEveryAPDU(t *testing.T, k cardkind.Kind, reader int) {
	f := setup(t, k, testpki.CardSpec{Variant: testpki.Expired}, reader)
	card := f.card
	remove := func(ctx context.Context, svc *app.Service) ([]string, error) {
		return svc.RemoveExpired(ctx, app.Selector{}, app.RemoveOptions{ConfirmLogin: true}, pinPrompt(card.PIN))
	}
	op := pulledOp{name: "remove-expired"}
	if !k.Remove {
		op.run = func(ctx context.Context, svc *app.Service) error {
			_, err := remove(ctx, svc)
			if errors.Is(err, cardreader.ErrRemovalUnsupported) {
				return nil
			}
			if err == nil {
				return errors.New("removal succeeded on a kind that cannot remove")
			}
			return err
		}
		op.happened = func() (bool, bool) { return true, card.State.PINIs([]byte(card.PIN)) }
		op.changes = k.Backend == cardreader.BackendPKCS11 // the module is asked to delete
		t.Run(op.name, func(t *testing.T) { pullEveryAPDU(t, f, k, op) })
		return
	}
	saved := map[int][]byte{} // the expired ones, by tag
	present := map[int]bool{} // every certificate object at the start
	for _, tag := range pivCertTags {
		present[tag] = card.State.HasObject(tag)
	}
	st, err := f.service(t).Status(context.Background(), app.StatusOptions{})
	if err != nil || len(st.Cards) != 1 {
		t.Fatalf("status: %+v %v", st, err)
	}
	for _, c := range st.Cards[0].Certificates {
		if tag, ok := pivCertTags[c.ID]; ok && time.Now().After(c.NotAfter) {
			saved[tag] = card.State.Object(tag)
		}
	}
	if len(saved) < 2 {
		t.Fatalf("%d expired certificates on the card, want several", len(saved))
	}
	var lastRemoved []string
	var lastErr error
	op.run = func(ctx context.Context, svc *app.Service) error {
		lastRemoved, lastErr = remove(ctx, svc)
		return lastErr
	}
	op.happened = func() (bool, bool) {
		missing := 0
		for _, tag := range pivCertTags {
			if present[tag] && !card.State.HasObject(tag) {
				if saved[tag] == nil {
					return false, false // a certificate that had not expired
				}
				missing++
			}
		}
		ok := missing == len(lastRemoved) || errors.Is(lastErr, app.ErrOutcomeUnknown) && missing == len(lastRemoved)+1
		return missing == len(saved), ok
	}
	op.undo = func(context.Context, *app.Service) error {
		for tag, b := range saved {
			if !card.State.HasObject(tag) {
				if err := card.State.RestoreObject(tag, b); err != nil {
					return err
				}
			}
		}
		return nil
	}
	op.changes = true
	t.Run(op.name, func(t *testing.T) { pullEveryAPDU(t, f, k, op) })
}
