package agent_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/usertext"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/oob"
	"github.com/sithseid/sithseid/ui/viewname"
)

// fakeClock is the agent's Now, moved by the test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// linkRig is a real agent whose login requests open approval windows the
// way the desktop's do (agent.QueueApprovalWindow on loginRequested), in
// fake windows the test opens and closes.
type linkRig struct {
	agent *agent.Agent
	addr  string
	wins  *fakeWindows
	l     *agent.ViewLauncher
	notes *agenttest.Notes
	log   *agenttest.SyncBuffer
	clock *fakeClock
}

func startLinkRig(t *testing.T, burst int) *linkRig {
	t.Helper()
	r := &linkRig{wins: newFakeWindows(), notes: agenttest.NewNotes(), log: &agenttest.SyncBuffer{},
		clock: &fakeClock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}}
	r.l = agent.NewViewLauncher(agent.LauncherOptions{Executable: "sithseid-ui", Start: r.wins.start})
	var mu sync.Mutex // r.agent is set after New
	notify := func(n localapi.Notification) {
		r.notes.Add(n)
		if n.Kind == localapi.NotifyLoginRequested {
			mu.Lock()
			a := r.agent
			mu.Unlock()
			if err := agent.QueueApprovalWindow(r.l, a, n.Handoff); err != nil {
				t.Errorf("approval window: %v", err)
			}
		}
	}
	mu.Lock()
	r.agent, r.addr = agenttest.StartAgent(t, agent.Options{
		Service:      newService(t),
		Address:      filepath.Join(t.TempDir(), "run", "agent.sock"),
		Notify:       notify,
		Now:          r.clock.Now,
		HandoffBurst: burst,
		Log:          slog.New(slog.NewTextHandler(r.log, nil)),
	})
	mu.Unlock()
	return r
}

func (r *linkRig) handoff(t *testing.T, c *localapi.Client) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec, err := c.Handoff(ctx, oob.AutoStartURL(oob.NewUUID(), ""))
	return rec.ID, err
}

func loginWindow(id string) string { return "login --handoff " + id }

// Eight links in a row (a page opening them in a loop) are one approval
// window at a time: the next opens only when the one before closes, in
// the order they came; a request a login took meanwhile opens none; a
// ninth finds the queue full and is refused, pushing none of the eight out.
func TestLinksQueueOneWindowAtATime(t *testing.T) {
	r := startLinkRig(t, 20) // the rate limit is TestLinkBurstRefused's
	c := dial(t, r.addr)
	var ids []string
	for i := range agent.MaxHandoffs {
		id, err := r.handoff(t, c)
		if err != nil {
			t.Fatalf("link %d: %v", i+1, err)
		}
		ids = append(ids, id)
	}
	if _, err := r.handoff(t, c); !errors.Is(err, localapi.ErrHandoffRateLimited) {
		t.Fatalf("link %d with the queue full: %v, want ErrHandoffRateLimited", agent.MaxHandoffs+1, err)
	}
	if hs := r.agent.Handoffs(); len(hs) != agent.MaxHandoffs || hs[0].ID != ids[0] {
		t.Fatalf("queue %+v after the refused link", hs)
	}
	if got := r.wins.next(t); got != loginWindow(ids[0]) {
		t.Fatalf("first window %q", got)
	}
	r.wins.none(t)

	// While the first window is open, a login takes the third request (it
	// fails: this agent has no identity service): its window is skipped.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.LoginHandoff(ctx, ids[2], app.LoginRequest{Prompt: agenttest.PINPrompt("123456")}); err == nil {
		t.Fatal("a login without an identity service succeeded")
	}
	if r.agent.HasHandoff(ids[2]) {
		t.Fatal("the failed login left its request queued")
	}
	want := append([]string{ids[0], ids[1]}, ids[3:]...)
	for i, id := range want {
		if i > 0 {
			if got := r.wins.next(t); got != loginWindow(id) {
				t.Fatalf("window %d: %q, want %q", i+1, got, loginWindow(id))
			}
		}
		r.wins.none(t) // never a second window beside it
		if !r.l.Running(viewname.Login) {
			t.Fatal("no approval window counted open")
		}
		r.wins.close(t, loginWindow(id))
	}
	waitUntil(t, "the last window closed", func() bool { return !r.l.Running(viewname.Login) })
	r.wins.none(t)
}

// A burst of links beyond the rate (three at once, then one per 20 s) is
// refused: each refusal is a log line and the local API's
// ErrHandoffRateLimited (the URL handler's message), and the flood raises
// one loginRefused notification, not one per link. A quiet minute later a
// new flood is told again.
func TestLinkBurstRefused(t *testing.T) {
	r := startLinkRig(t, 0) // the defaults
	c := dial(t, r.addr)
	ok, refused := 0, 0
	for range 8 {
		_, err := r.handoff(t, c)
		switch {
		case err == nil:
			ok++
		case errors.Is(err, localapi.ErrHandoffRateLimited):
			refused++
		default:
			t.Fatalf("link: %v", err)
		}
	}
	if ok != agent.DefaultHandoffBurst || refused != 8-agent.DefaultHandoffBurst {
		t.Fatalf("%d links queued, %d refused; want %d and %d", ok, refused, agent.DefaultHandoffBurst, 8-agent.DefaultHandoffBurst)
	}
	if n := strings.Count(r.log.String(), "login request refused"); n != refused {
		t.Fatalf("%d log lines for %d refusals:\n%s", n, refused, r.log.String())
	}
	r.notes.Wait(t, localapi.NotifyLoginRefused, 0)
	if n, m := r.notes.Count(localapi.NotifyLoginRefused), r.notes.Count(localapi.NotifyLoginRequested); n != 1 || m != ok {
		t.Fatalf("%d loginRefused and %d loginRequested notifications, want 1 and %d", n, m, ok)
	}
	r.wins.next(t)
	r.wins.none(t) // one window; the others wait behind it

	// 20 s on, one more is let through, the next refused: still the same
	// flood, no second notification.
	r.clock.Advance(agent.DefaultHandoffInterval)
	if _, err := r.handoff(t, c); err != nil {
		t.Fatalf("link after %v: %v", agent.DefaultHandoffInterval, err)
	}
	if _, err := r.handoff(t, c); !errors.Is(err, localapi.ErrHandoffRateLimited) {
		t.Fatalf("second link after %v: %v", agent.DefaultHandoffInterval, err)
	}
	if n := r.notes.Count(localapi.NotifyLoginRefused); n != 1 {
		t.Fatalf("%d loginRefused notifications within one flood", n)
	}
	// A quiet minute fills the bucket: a new flood is told once more.
	r.clock.Advance(time.Duration(agent.DefaultHandoffBurst) * agent.DefaultHandoffInterval)
	for i := range agent.DefaultHandoffBurst {
		if _, err := r.handoff(t, c); err != nil {
			t.Fatalf("link %d after a quiet minute: %v", i+1, err)
		}
	}
	if _, err := r.handoff(t, c); !errors.Is(err, localapi.ErrHandoffRateLimited) {
		t.Fatalf("link beyond the burst: %v", err)
	}
	_, from := r.notes.Wait(t, localapi.NotifyLoginRefused, 0)
	r.notes.Wait(t, localapi.NotifyLoginRefused, from)
}

// The relying party's endUserIp against where the agent's lookup comes
// from, end to end (relying party, identity service, agent, a window's
// client, the card): a strict order started from another address is
// refused before anything is shown or a PIN asked, and the order fails
// with endUserIpMismatch; a lenient one shows the mismatch to the window,
// where declining cancels it; an order started from this computer shows
// that and logs in.
func TestLoginStartedElsewhere(t *testing.T) {
	f := setup(t, cardkind.PIV, testpki.CardSpec{})
	ar := startAgent(t, f.Svc, f.Env, "")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	handler := dial(t, ar.Addr)
	ui := dial(t, ar.Addr)
	order := func(ip string, strict bool) (*oob.AuthResponse, string) {
		t.Helper()
		o, err := f.RP.StartOrder(ctx, oob.AuthRequest{EndUserIP: ip, UserVisibleData: oob.Base64("Logga in i journalen"), RequireEndUserIPMatch: strict})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := handler.Handoff(ctx, oob.AutoStartURL(o.AutoStartToken, ""))
		if err != nil {
			t.Fatal(err)
		}
		return o, rec.ID
	}
	var (
		mu        sync.Mutex
		approvals []app.LoginApproval
		prompts   int
	)
	req := func(decline bool) app.LoginRequest {
		return app.LoginRequest{
			Approve: func(_ context.Context, a app.LoginApproval) error {
				mu.Lock()
				defer mu.Unlock()
				approvals = append(approvals, a)
				if decline {
					return app.ErrCancelled
				}
				return nil
			},
			Prompt: func(ctx context.Context, pr app.PromptRequest) (*cardreader.Secret, error) {
				mu.Lock()
				prompts++
				mu.Unlock()
				return agenttest.PINPrompt(f.Card.PIN)(ctx, pr)
			},
		}
	}
	state := func(ref string) (string, string) {
		t.Helper()
		c, err := f.RP.Collect(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		return c.Status, c.HintCode
	}

	// Strict, from another computer: refused, nothing shown, no PIN.
	o, id := order("192.0.2.7", true)
	_, err := ui.LoginHandoff(ctx, id, req(false))
	if !errors.Is(err, oob.ErrEndUserIPMismatch) {
		t.Fatalf("strict order from 192.0.2.7: %v, want ErrEndUserIPMismatch", err)
	}
	if len(approvals) != 0 || prompts != 0 {
		t.Fatalf("refused login showed %d approvals and asked %d PINs", len(approvals), prompts)
	}
	if st, hint := state(o.OrderRef); st != oob.StatusFailed || hint != oob.HintEndUserIPMismatch {
		t.Fatalf("refused order %s/%s", st, hint)
	}
	if msg, hint, _ := usertext.Explain(l10n.MustLoad(l10n.Swedish), err); !strings.Contains(msg, "startades på en annan dator") || hint == "" {
		t.Fatalf("the refusal reads %q / %q", msg, hint)
	}

	// Lenient, from another computer: the window is told; declined.
	o, id = order("192.0.2.7", false)
	if _, err := ui.LoginHandoff(ctx, id, req(true)); !errors.Is(err, app.ErrCancelled) {
		t.Fatalf("declined login: %v", err)
	}
	if len(approvals) != 1 || approvals[0].Origin == nil || *approvals[0].Origin != (oob.Origin{EndUserIP: "192.0.2.7", EndUserIPMatch: false}) {
		t.Fatalf("approval %+v", approvals)
	}
	if prompts != 0 {
		t.Fatal("a PIN was asked for after the user declined")
	}
	if st, hint := state(o.OrderRef); st != oob.StatusFailed || hint != oob.HintUserCancel {
		t.Fatalf("declined order %s/%s", st, hint)
	}

	// From this computer: said so, and the login completes.
	o, id = order("127.0.0.1", true)
	res, err := ui.LoginHandoff(ctx, id, req(false))
	if err != nil {
		t.Fatalf("login started on this computer: %v", err)
	}
	if len(approvals) != 2 || approvals[1].Origin == nil || !approvals[1].Origin.EndUserIPMatch || res.HSAID != testpki.DefaultHSAID {
		t.Fatalf("approval %+v, result %+v", approvals, res)
	}
	if st, _ := state(o.OrderRef); st != oob.StatusComplete {
		t.Fatalf("order %s after the login", st)
	}
}
