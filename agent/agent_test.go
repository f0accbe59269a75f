package agent_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sithseid/sithseid/agent"
	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/wait"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/oob"
)

// envPeerClient makes the test binary a local API client that pings the
// agent at the given address and exits: the child run under another uid.
// It runs from init, before TestMain starts a pcscd.
const envPeerClient = "SITHSEID_AGENT_TEST_PEER"

// Exit codes of the peer client.
const (
	peerAnswered   = 0
	peerDialDenied = 10 // connect(2) refused by the socket's permissions
	peerHungUp     = 11 // connected, then the agent closed without answering
	peerOther      = 12
)

func init() {
	addr := os.Getenv(envPeerClient)
	if addr == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := localapi.DialAddress(ctx, addr)
	if err != nil {
		if errors.Is(err, syscall.EACCES) {
			os.Exit(peerDialDenied)
		}
		os.Stderr.WriteString("dial: " + err.Error() + "\n")
		os.Exit(peerOther)
	}
	if _, err := c.Ping(ctx); err != nil {
		os.Stderr.WriteString("ping: " + err.Error() + "\n")
		os.Exit(peerHungUp)
	}
	os.Exit(peerAnswered)
}

// The agent rig is agenttest's.
type recorder = agenttest.Recorder

func startAgent(t testing.TB, svc *app.Service, env environment.Environment, addr string) *agenttest.Rig {
	t.Helper()
	return agenttest.StartRig(t, svc, env, addr)
}

func dial(t testing.TB, addr string) *localapi.Client { return agenttest.Dial(t, addr) }

func newService(t testing.TB) *app.Service { return agenttest.Service(t, cardkind.PIV) }

// Status, PIN change (the prompt answered by the client), a wrong PIN, a
// blocked PIN, unblock and a login, all through the local API, driven by a
// client other than the agent. On every kind of card; where the kind has
// no PUK (IDPrime through OpenSC) the unblock is refused clearly with no
// try spent.
func TestAgentEndToEnd(t *testing.T) { cardkind.Run(t, testAgentEndToEnd) }

func testAgentEndToEnd(t *testing.T, k cardkind.Kind) {
	f := setup(t, k, testpki.CardSpec{})
	ar := startAgent(t, f.Svc, f.Env, "")
	cl := dial(t, ar.Addr)
	ctx := context.Background()

	info, err := cl.Ping(ctx)
	if err != nil || info.PID != os.Getpid() {
		t.Fatalf("ping: %+v %v", info, err)
	}
	st, err := cl.Status(ctx, app.StatusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Cards) != 1 || st.Cards[0].Holder.HSAID != testpki.DefaultHSAID || st.Cards[0].PIN.Retries != 3 ||
		st.Cards[0].Backend != k.Backend || len(st.Cards[0].Certificates) != k.Certificates {
		t.Fatalf("status through the agent: %+v", st)
	}
	if pn := st.Cards[0].Holder.PersonalNumber; strings.Contains(pn, testpki.DefaultPersonalNumber[8:]) || (pn != "") != k.PersonalNumber {
		t.Fatalf("personal number %q (the card carries one: %v), want it masked", pn, k.PersonalNumber)
	}

	dir := t.TempDir()
	files, err := cl.Export(ctx, app.Selector{}, dir, app.PEM)
	if err != nil || len(files) != len(st.Cards[0].Certificates) || len(files) == 0 {
		t.Fatalf("export through the agent: %+v %v", files, err)
	}
	for _, f := range files {
		if filepath.Dir(f.Path) != dir {
			t.Fatalf("exported to %s", f.Path)
		}
		if _, err := os.Stat(f.Path); err != nil {
			t.Fatal(err)
		}
	}

	// PIN change: both secrets typed on the client's side.
	rec := &recorder{Answers: []string{f.Card.PIN, "917354"}}
	if err := cl.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, rec.Prompt); err != nil {
		t.Fatalf("PIN change: %v", err)
	}
	if len(rec.Asked) != 2 || rec.Asked[0].Kind != app.PromptPIN || rec.Asked[0].Retries != 3 ||
		rec.Asked[0].Holder != testpki.DefaultGivenName+" "+testpki.DefaultSurname || rec.Asked[1].Kind != app.PromptNewPIN {
		t.Fatalf("prompts seen by the client: %+v", rec.Asked)
	}
	if pin, _ := f.Card.State.PINRetries(); pin != 3 {
		t.Fatalf("PIN tries after a change: %d", pin)
	}

	// The old PIN is wrong now: a typed error with the tries left crosses.
	var wrong *cardreader.WrongPINError
	err = cl.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, (&recorder{Answers: []string{f.Card.PIN, "864213"}}).Prompt)
	if !errors.As(err, &wrong) || wrong.Retries != 2 {
		t.Fatalf("old PIN after change: %v", err)
	}
	// A prompt cancelled on the client's side cancels the operation.
	err = cl.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, (&recorder{}).Prompt)
	if !errors.Is(err, app.ErrCancelled) {
		t.Fatalf("cancelled prompt: %v", err)
	}
	// Block it: the agent raises pinBlocked.
	for i := 0; i < 2; i++ {
		_ = cl.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, (&recorder{Answers: []string{"000001", "864213"}}).Prompt)
	}
	if err := cl.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, (&recorder{}).Prompt); !errors.Is(err, cardreader.ErrPINBlocked) {
		t.Fatalf("blocked PIN: %v", err)
	}
	ar.Notes.Wait(t, localapi.NotifyPINBlocked, 0)
	if le := ar.Agent.State().LastError; le == nil || le.Error.Code != "pinBlocked" {
		t.Fatalf("last error: %+v", le)
	}

	// Unblock with the PUK.
	rec = &recorder{Answers: []string{f.Card.PUK, "582913"}}
	if k.Unblock {
		if err := cl.UnblockPIN(ctx, app.Selector{}, cardreader.PINIdentification, rec.Prompt); err != nil {
			t.Fatalf("unblock: %v", err)
		}
		if len(rec.Asked) != 2 || rec.Asked[0].Kind != app.PromptPUK || rec.Asked[1].Kind != app.PromptNewPIN {
			t.Fatalf("unblock prompts: %+v", rec.Asked)
		}
	} else {
		// No PUK through this backend: the clear refusal crosses the
		// local API, no PUK try is spent and the PIN stays blocked. The
		// ID administrator unblocks it (here: the same card through a
		// kind that can) so that the login below has a PIN.
		if err := cl.UnblockPIN(ctx, app.Selector{}, cardreader.PINIdentification, rec.Prompt); !errors.Is(err, cardreader.ErrNoPUK) {
			t.Fatalf("unblock without a PUK: %v", err)
		}
		if pin, puk := f.Card.State.PINRetries(); pin != 0 || puk != 3 {
			t.Fatalf("after the refused unblock: PIN %d PUK %d tries left, want 0 and 3", pin, puk)
		}
		admin := unblockingKind(t, k)
		if err := agenttest.Service(t, admin).UnblockPIN(ctx, app.Selector{}, cardreader.PINIdentification, rec.Prompt); err != nil {
			t.Fatalf("unblock through %s: %v", admin.Name, err)
		}
	}
	if pin, _ := f.Card.State.PINRetries(); pin != 3 {
		t.Fatalf("PIN tries after unblock: %d", pin)
	}

	// A login driven by this client: approval and PIN on the client's side.
	o, err := f.RP.Auth(ctx, "127.0.0.1", "Logga in", "")
	if err != nil {
		t.Fatal(err)
	}
	var shown app.LoginApproval
	res, err := cl.Login(ctx, app.LoginRequest{
		Link:    oob.AutoStartURL(o.AutoStartToken, ""),
		Prompt:  (&recorder{Answers: []string{"582913"}}).Prompt,
		Approve: func(_ context.Context, a app.LoginApproval) error { shown = a; return nil },
	})
	if err != nil {
		t.Fatalf("login through the agent: %v", err)
	}
	if res.HSAID != testpki.DefaultHSAID || shown.RelyingParty != "Journalsystemet Demo" || shown.HSAID != testpki.DefaultHSAID {
		t.Fatalf("login result %+v, approval %+v", res, shown)
	}
	c, err := f.RP.Collect(ctx, o.OrderRef)
	if err != nil || c.Status != oob.StatusComplete {
		t.Fatalf("order after login: %+v %v", c, err)
	}
	// A declined approval cancels the order and spends no PIN try.
	o2, err := f.RP.Auth(ctx, "127.0.0.1", "Logga in", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.Login(ctx, app.LoginRequest{
		Link:    oob.AutoStartURL(o2.AutoStartToken, ""),
		Prompt:  (&recorder{Answers: []string{"582913"}}).Prompt,
		Approve: func(context.Context, app.LoginApproval) error { return app.ErrCancelled },
	})
	if !errors.Is(err, app.ErrCancelled) {
		t.Fatalf("declined login: %v", err)
	}
	if c, _ := f.RP.Collect(ctx, o2.OrderRef); c == nil || c.Status != oob.StatusFailed {
		t.Fatalf("declined order: %+v", c)
	}
	if strings.Contains(ar.Log.String(), "582913") || strings.Contains(ar.Log.String(), f.Card.PUK) {
		t.Fatal("a PIN or PUK reached the agent's log")
	}
}

// unblockingKind is a kind that reaches k's card with a backend that can
// unblock it: the ID administrator's way for cards whose holder has none.
func unblockingKind(t *testing.T, k cardkind.Kind) cardkind.Kind {
	t.Helper()
	for _, a := range cardkind.All() {
		if a.Card == k.Card && a.Unblock {
			return a
		}
	}
	t.Fatalf("no kind unblocks %s cards", k.Card)
	return k
}

// A second agent in the same session refuses; a stale socket left by a dead
// agent is taken over; a closed agent removes its socket.
func TestAgentOnePerSession(t *testing.T) {
	rig.Require(t)
	svc := newService(t)
	ar := startAgent(t, svc, environment.Environment{}, "")
	second, err := agent.New(agent.Options{Service: svc, Address: ar.Addr})
	if err != nil {
		t.Fatal(err)
	}
	err = second.Start(context.Background())
	if !errors.Is(err, localapi.ErrAgentRunning) || !strings.Contains(err.Error(), "pid") {
		t.Fatalf("second agent: %v", err)
	}
	if _, err := dial(t, ar.Addr).Ping(context.Background()); err != nil {
		t.Fatalf("first agent after the refusal: %v", err)
	}
	fi, err := os.Stat(ar.Addr)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket: %v %v", fi, err)
	}
	if di, _ := os.Stat(filepath.Dir(ar.Addr)); di.Mode().Perm() != 0o700 {
		t.Fatalf("socket directory mode %v", di.Mode())
	}
	ar.Agent.Close()
	if _, err := os.Stat(ar.Addr); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket after Close: %v", err)
	}
	if _, err := localapi.DialAddress(context.Background(), ar.Addr); !errors.Is(err, localapi.ErrNoAgent) {
		t.Fatalf("dial with no agent: %v", err)
	}

	// A stale socket: bound, then its process gone without removing it.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: ar.Addr, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(ar.Addr); err != nil {
		t.Fatal("no stale socket to test with")
	}
	third := startAgent(t, svc, environment.Environment{}, ar.Addr)
	if _, err := dial(t, third.Addr).Ping(context.Background()); err != nil {
		t.Fatalf("agent over a stale socket: %v", err)
	}
}

// A client running as another uid is stopped by the socket's mode, and when
// the modes are opened up, by the agent's peer-credential check, which logs
// it.
func TestAgentRefusesOtherUID(t *testing.T) {
	rig.Require(t)
	testenv.Root(t, "to run a child as another uid")
	base, err := os.MkdirTemp("", "sithseid-peer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	// The test binary, where uid 65534 may run it.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "client.test")
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := filepath.Join(base, "run", "agent.sock")
	ar := startAgent(t, newService(t), environment.Environment{}, addr)

	runAs := func(uid uint32) int {
		cmd := exec.Command(bin)
		cmd.Env = []string{envPeerClient + "=" + addr}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			t.Logf("client as uid %d: exit %d %s", uid, ee.ExitCode(), strings.TrimSpace(stderr.String()))
			return ee.ExitCode()
		}
		t.Fatalf("running the client: %v", err)
		return -1
	}
	if got := runAs(0); got != peerAnswered {
		t.Fatalf("same uid: exit %d", got)
	}
	if got := runAs(65534); got != peerDialDenied {
		t.Fatalf("uid 65534 with the modes as made: exit %d, want %d", got, peerDialDenied)
	}
	// Open the modes (a misconfiguration, or a socket passed around): the
	// kernel lets the connection in, the agent's uid check does not.
	if err := os.Chmod(filepath.Dir(addr), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(addr, 0o666); err != nil {
		t.Fatal(err)
	}
	if got := runAs(65534); got != peerHungUp {
		t.Fatalf("uid 65534 with open modes: exit %d, want %d", got, peerHungUp)
	}
	// The client sees the hang-up as the agent closes; the agent's log line
	// may follow it by a moment.
	log := ar.Log.String()
	for deadline := time.Now().Add(5 * time.Second); !(strings.Contains(log, "refused") && strings.Contains(log, "uid 65534")) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		log = ar.Log.String()
	}
	if !strings.Contains(log, "refused") || !strings.Contains(log, "uid 65534") {
		t.Fatalf("refusal not logged:\n%s", log)
	}
	// The agent still serves its own user.
	if got := runAs(0); got != peerAnswered {
		t.Fatalf("same uid after a refusal: exit %d", got)
	}
}

// The URL handler's handoff reaches the running agent, is answered at
// once, raises "login requested", and another client completes the login
// it queued.
func TestAgentHandoff(t *testing.T) {
	f := setup(t, cardkind.PIV, testpki.CardSpec{})
	ar := startAgent(t, f.Svc, f.Env, "")
	ctx := context.Background()
	o, err := f.RP.Auth(ctx, "127.0.0.1", "Logga in", "")
	if err != nil {
		t.Fatal(err)
	}
	url := oob.AutoStartURL(o.AutoStartToken, "")
	handler := dial(t, ar.Addr)
	start := time.Now()
	rec, err := handler.Handoff(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("handoff took %v", d)
	}
	if rec.ID == "" || rec.Queued != 1 {
		t.Fatalf("receipt %+v", rec)
	}
	n, _ := ar.Notes.Wait(t, localapi.NotifyLoginRequested, 0)
	if n.Handoff != rec.ID {
		t.Fatalf("notification %+v for receipt %+v", n, rec)
	}
	if hs := ar.Agent.State().Handoffs; len(hs) != 1 || hs[0].ID != rec.ID {
		t.Fatalf("queued: %+v", hs)
	}
	if _, err := handler.Handoff(ctx, "https://example.com/"); !errors.Is(err, app.ErrBadLink) {
		t.Fatalf("bad link: %v", err)
	}
	handler.Close()

	ui := dial(t, ar.Addr)
	// The ui may offer the phone instead: the QR code of the queued order.
	qr, err := ui.QRHandoff(ctx, rec.ID, 200)
	if err != nil {
		t.Fatalf("QR of the handoff: %v", err)
	}
	if !strings.HasPrefix(qr.Payload, oob.QRPrefix+".") || !bytes.HasPrefix(qr.PNG, []byte("\x89PNG")) {
		t.Fatalf("QR %q, %d PNG bytes", qr.Payload, len(qr.PNG))
	}
	res, err := ui.LoginHandoff(ctx, rec.ID, app.LoginRequest{Prompt: agenttest.PINPrompt(f.Card.PIN)})
	if err != nil {
		t.Fatalf("login of the handoff: %v", err)
	}
	if res.HSAID != testpki.DefaultHSAID {
		t.Fatalf("login: %+v", res)
	}
	if c, err := f.RP.Collect(ctx, o.OrderRef); err != nil || c.Status != oob.StatusComplete {
		t.Fatalf("order: %+v %v", c, err)
	}
	if _, err := ui.LoginHandoff(ctx, rec.ID, app.LoginRequest{Prompt: agenttest.PINPrompt(f.Card.PIN)}); !errors.Is(err, localapi.ErrHandoffNotFound) {
		t.Fatalf("second login of one handoff: %v", err)
	}
	if hs := ar.Agent.State().Handoffs; len(hs) != 0 {
		t.Fatalf("queue after the login: %+v", hs)
	}
}

// A subscriber sees the card's identity, the expiry warning, and the card
// pulled and put back.
func TestAgentSubscribeCardEvents(t *testing.T) {
	f := setup(t, cardkind.PIV, testpki.CardSpec{Variant: testpki.Expiring})
	ar := startAgent(t, f.Svc, f.Env, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := dial(t, ar.Addr).Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := wait.Recv(t, events, 10*time.Second, "the first event")
	if first.State == nil {
		t.Fatalf("first event %+v", first)
	}
	// waitFor reads events until ok says so.
	waitFor := func(what string, ok func(localapi.Event) bool) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case ev, open := <-events:
				if !open {
					t.Fatalf("subscription ended waiting for %s", what)
				}
				if ok(ev) {
					return
				}
			case <-deadline:
				t.Fatalf("no %s within 10 s", what)
			}
		}
	}
	hasCard := func(ev localapi.Event) bool {
		return ev.State != nil && ev.State.Card != nil && ev.State.Card.Holder.HSAID == testpki.DefaultHSAID
	}
	if !hasCard(first) {
		waitFor("the card's identity", hasCard)
	}
	exp, _ := ar.Notes.Wait(t, localapi.NotifyCertificateExpiring, 0)
	if exp.Days < 10 || exp.Days > 11 || exp.HSAID != testpki.DefaultHSAID {
		t.Fatalf("expiry notification %+v", exp)
	}
	// Once per threshold: more refreshes raise no more warnings.
	before := ar.Notes.Count(localapi.NotifyCertificateExpiring)
	if _, err := dial(t, ar.Addr).Status(ctx, app.StatusOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := ar.Notes.Count(localapi.NotifyCertificateExpiring); got != before {
		t.Fatalf("expiry warnings repeated: %d then %d", before, got)
	}

	f.Card.Pull(t)
	waitFor("cardRemoved", func(ev localapi.Event) bool {
		return ev.Notification != nil && ev.Notification.Kind == localapi.NotifyCardRemoved && ev.Notification.Reader == f.Card.Reader
	})
	waitFor("a state without the card", func(ev localapi.Event) bool {
		if ev.State == nil || ev.State.Card != nil {
			return false
		}
		for _, r := range ev.State.Readers {
			if r.Name == f.Card.Reader {
				return !r.CardPresent
			}
		}
		return false
	})
	f.Card.Reinsert(t)
	waitFor("cardInserted", func(ev localapi.Event) bool {
		return ev.Notification != nil && ev.Notification.Kind == localapi.NotifyCardInserted && ev.Notification.Reader == f.Card.Reader
	})
	waitFor("the card back", hasCard)
}

// The protocol is parsed strictly: unknown fields and oversized frames end
// the connection with a protocol error; an unknown method is an error reply
// on a connection that stays usable.
func TestLocalAPIStrict(t *testing.T) {
	rig.Require(t)
	ar := startAgent(t, newService(t), environment.Environment{}, "")
	raw := func(t *testing.T) (net.Conn, *bufio.Reader) {
		c, err := net.Dial("unix", ar.Addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(5 * time.Second))
		return c, bufio.NewReader(c)
	}
	type reply struct {
		Type  string              `json:"type"`
		ID    uint64              `json:"id"`
		Error *localapi.WireError `json:"error"`
		Res   json.RawMessage     `json:"result"`
	}
	read := func(t *testing.T, r *bufio.Reader) reply {
		t.Helper()
		line, err := r.ReadBytes('\n')
		if err != nil {
			t.Fatalf("reading a reply: %v", err)
		}
		var rp reply
		if err := json.Unmarshal(line, &rp); err != nil {
			t.Fatal(err)
		}
		return rp
	}
	closed := func(t *testing.T, r *bufio.Reader) {
		t.Helper()
		// A reset is a close with unread data (the oversized frame).
		if _, err := r.ReadByte(); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("connection not closed: %v", err)
		}
	}
	t.Run("unknown field", func(t *testing.T) {
		c, r := raw(t)
		io.WriteString(c, `{"type":"call","id":1,"method":"ping","pin":"123456"}`+"\n")
		if rp := read(t, r); rp.Error == nil || rp.Error.Code != "protocol" {
			t.Fatalf("reply %+v", rp)
		}
		closed(t, r)
	})
	t.Run("unknown params field", func(t *testing.T) {
		c, r := raw(t)
		io.WriteString(c, `{"type":"call","id":7,"method":"status","params":{"select":{},"extra":1}}`+"\n")
		if rp := read(t, r); rp.ID != 7 || rp.Error == nil || rp.Error.Code != "protocol" {
			t.Fatalf("reply %+v", rp)
		}
	})
	t.Run("trailing data", func(t *testing.T) {
		c, r := raw(t)
		io.WriteString(c, `{"type":"call","id":1,"method":"ping"} {"type":"call","id":2,"method":"ping"}`+"\n")
		if rp := read(t, r); rp.Error == nil || rp.Error.Code != "protocol" {
			t.Fatalf("reply %+v", rp)
		}
		closed(t, r)
	})
	t.Run("out of place", func(t *testing.T) {
		c, r := raw(t)
		io.WriteString(c, `{"type":"reply","id":1}`+"\n")
		if rp := read(t, r); rp.Error == nil || rp.Error.Code != "protocol" {
			t.Fatalf("reply %+v", rp)
		}
		closed(t, r)
	})
	t.Run("too large", func(t *testing.T) {
		c, r := raw(t)
		go c.Write(bytes.Repeat([]byte("x"), localapi.MaxFrameSize+4096))
		if rp := read(t, r); rp.Error == nil || rp.Error.Code != "protocol" {
			t.Fatalf("reply %+v", rp)
		}
		closed(t, r)
	})
	t.Run("unknown method", func(t *testing.T) {
		c, r := raw(t)
		io.WriteString(c, `{"type":"call","id":3,"method":"format.card"}`+"\n")
		if rp := read(t, r); rp.ID != 3 || rp.Error == nil || rp.Error.Code != "unknownMethod" {
			t.Fatalf("reply %+v", rp)
		}
		io.WriteString(c, `{"type":"call","id":4,"method":"ping"}`+"\n")
		if rp := read(t, r); rp.ID != 4 || rp.Error != nil || len(rp.Res) == 0 {
			t.Fatalf("ping after an unknown method: %+v", rp)
		}
	})
}

// Handoff latency to a running agent, as the URL handler pays it: connect,
// hand the URL over, hang up. The rate limit is lifted and each request is
// taken again off the clock (a login that fails at once: no environment),
// so the queue never fills: the figure is an accepted handoff's.
func BenchmarkHandoff(b *testing.B) {
	rig.Require(b)
	ar := agenttest.StartRigWith(b, newService(b), environment.Environment{}, filepath.Join(b.TempDir(), "run", "agent.sock"),
		func(o *agent.Options) { o.HandoffBurst = 1 << 30 })
	url := oob.AutoStartURL("0b7a4a8c-5c4e-4d2f-9f1e-2b1f3c4d5e6f", "")
	ctx := context.Background()
	ui := dial(b, ar.Addr)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := localapi.DialAddress(ctx, ar.Addr)
		if err != nil {
			b.Fatal(err)
		}
		rec, err := c.Handoff(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
		b.StopTimer()
		_, _ = ui.LoginHandoff(ctx, rec.ID, app.LoginRequest{})
		b.StartTimer()
	}
}
