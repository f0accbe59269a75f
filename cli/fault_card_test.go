package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ebfe/scard"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/localapi"
)

// envHoldExclusive makes the test binary hold the card in the named reader
// with SCARD_SHARE_EXCLUSIVE, say "held" and keep it until its standard
// input closes: another program holding the card, as a browser's
// middleware in a transaction does. Checked in init, before TestMain
// starts a pcscd: the child uses the parent's (PCSCLITE_CSOCK_NAME).
const envHoldExclusive = "SITHSEID_TEST_HOLD_EXCLUSIVE"

func init() {
	if reader := os.Getenv(envHoldExclusive); reader != "" {
		os.Exit(holdExclusive(reader))
	}
}

func holdExclusive(reader string) int {
	sc, err := scard.EstablishContext()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hold:", err)
		return 1
	}
	defer sc.Release()
	card, err := sc.Connect(reader, scard.ShareExclusive, scard.ProtocolAny)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hold:", err)
		return 1
	}
	fmt.Println("held")
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = card.Disconnect(scard.LeaveCard)
	return 0
}

// holdCard holds reader's card exclusively in another process until the
// returned release is called (or the test ends).
func holdCard(t *testing.T, reader string) (release func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	// Only this role: not the sithseid one the agent tests set (envMain).
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envMain+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, envHoldExclusive+"="+reader)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	released := false
	release = func() {
		if released {
			return
		}
		released = true
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the holding process: %v: %s", err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("the holding process did not end")
		}
	}
	t.Cleanup(release)
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if strings.TrimSpace(s) != "held" {
			release()
			t.Fatalf("the holding process: %q %s", s, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the holding process did not hold the card within 10 s: %s", stderr.String())
	}
	return release
}

// agentCLI starts the test binary as the agent (as TestAgentIdle does),
// waits until it has read the card, and returns a runner of CLI commands
// that go through it.
func agentCLI(t *testing.T) func(t *testing.T, lang, stdin string, args ...string) result {
	t.Helper()
	run := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", run)
	t.Setenv(envMain, "1")
	ctx := context.Background()
	var errb bytes.Buffer
	if code := sithseidMain(ctx, cli.Env{Args: []string{"agent"}, Stdout: &errb, Stderr: &errb, Getenv: os.Getenv}); code != cli.ExitOK {
		t.Fatalf("sithseid agent: exit %d: %s", code, errb.String())
	}
	c, err := localapi.DialAddress(ctx, filepath.Join(run, "sithseid", "agent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info, err := c.Ping(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(info.PID, syscall.SIGTERM)
		for deadline := time.Now().Add(5 * time.Second); syscall.Kill(info.PID, 0) == nil && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		_ = syscall.Kill(info.PID, syscall.SIGKILL)
	})
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	events, err := c.Subscribe(sctx)
	if err != nil {
		t.Fatal(err)
	}
	ready := false
	for ev := range events {
		if ev.State != nil && ev.State.Card != nil && ev.State.Busy == "" {
			ready = true
			break
		}
	}
	if !ready {
		t.Fatal("the agent did not report the card read within 10 s")
	}
	return func(t *testing.T, lang, stdin string, args ...string) result {
		t.Helper()
		var out, errb bytes.Buffer
		env := map[string]string{"LANG": lang, "HOME": "/nonexistent", "XDG_RUNTIME_DIR": run}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		code := cli.Run(ctx, cli.Env{
			Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
			Getenv: func(k string) string { return env[k] }, Version: "test",
		})
		return result{out.String(), errb.String(), code}
	}
}

// TestCardBusyHeldByAnotherProcess: another process holds the card with
// SCARD_SHARE_EXCLUSIVE while `pin change` runs through the agent. The
// CLI says the card is in use by another program (sv and en), exits with
// the no-card code, and no PIN try is spent; once the other process lets
// go, the same change works.
func TestCardBusyHeldByAnotherProcess(t *testing.T) {
	card := insert(t, 0, testpki.CardSpec{})
	via := agentCLI(t)
	release := holdCard(t, card.Reader)
	for _, tc := range []struct{ lang, want string }{
		{"sv_SE.UTF-8", "Kortet används av ett annat program."},
		{"en_US.UTF-8", "The card is in use by another program."},
	} {
		r := via(t, tc.lang, "123456\n24681357\n", "pin", "change", "--pin-stdin")
		if r.code != cli.ExitNoCard || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: want exit %d and %q, got %s", tc.lang, cli.ExitNoCard, tc.want, r)
		}
	}
	if pin, puk := card.State.PINRetries(); pin != 3 || puk != 3 || !card.State.PINIs([]byte("123456")) {
		t.Fatalf("PIN %d PUK %d tries left (want 3 3), PIN unchanged %v", pin, puk, card.State.PINIs([]byte("123456")))
	}
	release()
	r := via(t, "sv_SE.UTF-8", "123456\n24681357\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, cli.ExitOK)
	if !card.State.PINIs([]byte("24681357")) {
		t.Fatal("the PIN change after the release did not take")
	}
}

// TestCardUnresponsive: the card stops answering (vcard's mute fault: it
// stays in the reader and every APDU gets no status word) while `status`
// and `pin change` run through the agent. The CLI says the card does not
// respond (sv and en) and exits with the no-card code; no PIN try is
// spent and the PIN is unchanged. Once it answers again, the change works.
func TestCardUnresponsive(t *testing.T) {
	card := insert(t, 0, testpki.CardSpec{})
	via := agentCLI(t)
	card.Server.SetMute(true)
	for _, tc := range []struct{ lang, want string }{
		{"sv_SE.UTF-8", "Kortet svarar inte."},
		{"en_US.UTF-8", "The card does not respond."},
	} {
		r := via(t, tc.lang, "123456\n24681357\n", "pin", "change", "--pin-stdin")
		if r.code != cli.ExitNoCard || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: want exit %d and %q, got %s", tc.lang, cli.ExitNoCard, tc.want, r)
		}
	}
	if n := card.Server.Stats().Unanswered; n == 0 {
		t.Fatal("the mute card was never asked anything")
	}
	if pin, puk := card.State.PINRetries(); pin != 3 || puk != 3 || !card.State.PINIs([]byte("123456")) {
		t.Fatalf("PIN %d PUK %d tries left (want 3 3), PIN unchanged %v", pin, puk, card.State.PINIs([]byte("123456")))
	}
	card.Server.SetMute(false)
	r := via(t, "sv_SE.UTF-8", "123456\n24681357\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, cli.ExitOK)
	if !card.State.PINIs([]byte("24681357")) {
		t.Fatal("the PIN change after the card answered again did not take")
	}
}

// TestPINChangeAnswerLost: the card executes the PIN change and leaves
// the reader before it answers (vcard's DropBeforeAnswer at the CHANGE
// REFERENCE DATA command) while `pin change` runs through the agent. The
// PIN did change on the card, so the CLI must not say "removed, try
// again": it says the outcome is not known and to try the new PIN (sv and
// en), with the card-removed exit code; and the new PIN is the one that
// works.
func TestPINChangeAnswerLost(t *testing.T) {
	card := insert(t, 0, testpki.CardSpec{})
	via := agentCLI(t)
	pins := []string{"123456", "24681357", "97531864"}
	for i, tc := range []struct{ lang, want string }{
		{"sv_SE.UTF-8", "Det går inte att veta om den nya PIN-koden gäller."},
		{"en_US.UTF-8", "It is not known whether the new PIN took effect."},
	} {
		var once sync.Once
		card.Server.Observe(func(ins byte) {
			if ins == 0x24 { // CHANGE REFERENCE DATA: drop after executing it
				once.Do(func() { card.Server.SetDrop(1, vcard.DropBeforeAnswer) })
			}
		})
		r := via(t, tc.lang, pins[i]+"\n"+pins[i+1]+"\n", "pin", "change", "--pin-stdin")
		card.Server.Observe(nil)
		if r.code != cli.ExitCardRemoved || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: want exit %d and %q, got %s", tc.lang, cli.ExitCardRemoved, tc.want, r)
		}
		if st := card.Server.Stats(); st.Drops != int64(i+1) || st.Unanswered != int64(i+1) {
			t.Fatalf("the card was not pulled unanswered: %+v", st)
		}
		if !card.State.PINIs([]byte(pins[i+1])) {
			t.Fatalf("%s: the card did not execute the change", tc.lang)
		}
		if pin, puk := card.State.PINRetries(); pin != 3 || puk != 3 {
			t.Fatalf("PIN %d PUK %d tries left, want 3 3", pin, puk)
		}
		card.Reinsert(t)
	}
	// The new PIN works, as the message said to try.
	r := via(t, "sv_SE.UTF-8", pins[2]+"\n"+pins[1]+"\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, cli.ExitOK)
}
