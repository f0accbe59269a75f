package cli_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/nodump"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/leakscan"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/oob"
)

// sessionAgent is "sithseid agent --foreground --no-tray", the shipped
// binary, in a session of its own.
type sessionAgent struct {
	cmd    *exec.Cmd
	env    map[string]string // the session's, for cli.Run
	addr   string            // its socket
	stderr *bytes.Buffer
	done   chan error
}

// startMemscanAgent runs the shipped agent for kind k, logins to the DEMO
// environment at serviceURL (startSessionAgent).
func startMemscanAgent(t *testing.T, exe string, k cardkind.Kind, serviceURL string) *sessionAgent {
	t.Helper()
	extra := map[string]string{"LANG": "sv_SE.UTF-8", "SITHSEID_ENV": "DEMO", "SITHSEID_SERVICE_URL": serviceURL}
	for _, kv := range k.Env() {
		name, val, _ := strings.Cut(kv, "=")
		extra[name] = val
	}
	return startSessionAgent(t, exe, extra)
}

// startSessionAgent runs the shipped agent (exe) with the session
// directories under a fresh root and extra in its environment, until t
// ends; it returns once the agent answers a ping.
func startSessionAgent(t *testing.T, exe string, extra map[string]string) *sessionAgent {
	t.Helper()
	root := t.TempDir()
	env := map[string]string{
		"HOME":            filepath.Join(root, "home"),
		"XDG_CONFIG_HOME": filepath.Join(root, "config"),
		"XDG_STATE_HOME":  filepath.Join(root, "state"),
		"XDG_RUNTIME_DIR": filepath.Join(root, "run"),
	}
	for _, d := range env {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	maps.Copy(env, extra)
	cmd := exec.Command(exe, "agent", "--foreground", "--no-tray")
	cmd.Env = os.Environ() // PC/SC (the rig's pcscd) and OPENSC_CONF
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	a := &sessionAgent{cmd: cmd, env: env, addr: filepath.Join(env["XDG_RUNTIME_DIR"], "sithseid", "agent.sock"), stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = a.stderr, a.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-a.done
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := localapi.DialAddress(ctx, a.addr)
		if err == nil {
			_, err = c.Ping(ctx)
			c.Close()
		}
		cancel()
		if err == nil {
			return a
		}
		select {
		case err := <-a.done:
			a.done <- err
			t.Fatalf("the agent exited: %v\n%s", err, a.stderr)
		case <-time.After(50 * time.Millisecond): // polling the socket, with a deadline
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not answer within 30 s: %s", a.stderr)
		}
	}
}

// run runs the CLI in this process against the agent.
func (a *sessionAgent) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := cli.Run(ctx, cli.Env{Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return a.env[k] }, Version: "test"})
	return result{out.String(), errb.String(), code}
}

// TestAgentMemoryHoldsNoPIN runs the shipped agent on every kind of card,
// changes the PIN, gives a wrong one, unblocks with the PUK where the
// backend can, and logs in, all through the agent with the CLI as its
// client, then reads every readable mapping of the running agent
// (/proc/PID/mem) and finds none of the PINs or the PUK in any encoding
// (internal/testkit/leakscan: raw, hex, little-endian words, base64 at
// every alignment, UTF-16, JSON escapes). Nothing is collected or waited
// for first: after the operation has returned, no copy may be left, freed
// or not. Through the PKCS#11 backend the module (OpenSC) keeps copies in
// its own C memory that the product cannot reach: there only the Go heap
// must be clean, and the module's copies are logged. It also checks the
// agent's core-file limit of 0 (internal/nodump).
//
// Reading an undumpable process's memory needs root (CAP_SYS_PTRACE): as
// another user the test skips, or fails on CI, through internal/testenv.
func TestAgentMemoryHoldsNoPIN(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "reading the memory of the undumpable agent needs root")
	}
	s := startIDP(t)
	exe := shippedBinary(t)
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		const (
			pin, puk, wrong     = "73914682", "20583917", "96385274"
			newPIN, afterPUK    = "58261937", "41736925"
			wrongNew, loginPIN2 = "62851473", "85172639"
		)
		rig.Require(t).InsertCard(t, 0, k.Provision(vcard.ProvisionOptions{Dir: t.TempDir(), PIN: pin, PUK: puk}), vcard.RunOptions{})
		a := startMemscanAgent(t, exe, k, s.URL)
		want := func(r result, code int, what string) {
			t.Helper()
			if r.code != code {
				t.Fatalf("%s: want exit %d, got %s\nagent: %s", what, code, r, a.stderr)
			}
		}
		want(a.run(t, pin+"\n"+newPIN+"\n", "pin", "change", "--pin-stdin"), 0, "PIN change")
		want(a.run(t, wrong+"\n"+wrongNew+"\n", "pin", "change", "--pin-stdin"), cli.ExitWrongPIN, "PIN change, wrong PIN")
		cur := newPIN
		if k.Unblock {
			want(a.run(t, puk+"\n"+afterPUK+"\n", "pin", "unblock", "--pin-stdin"), 0, "unblock")
			cur = afterPUK
		}
		o := s.order(t, "Logga in")
		want(a.run(t, cur+"\n", "login", oob.AutoStartURL(o.AutoStartToken, ""), "--pin-stdin"), 0, "login")
		if c := s.collect(t, o); c.Status != oob.StatusComplete {
			t.Fatalf("login: order %+v", c)
		}
		// And a last change, so that the newest PIN went through a change
		// and nothing after it.
		want(a.run(t, cur+"\n"+loginPIN2+"\n", "pin", "change", "--pin-stdin"), 0, "second PIN change")

		pid := a.cmd.Process.Pid
		findings, st, err := leakscan.New(pin, puk, wrong, newPIN, afterPUK, wrongNew, loginPIN2).Process(pid)
		if err != nil {
			t.Fatal(err)
		}
		if st.Bytes == 0 {
			t.Fatalf("read nothing of the agent's memory: %+v", st)
		}
		cHeap, err := leakscan.MallocArenas(pid)
		if err != nil {
			t.Fatal(err)
		}
		var module int
		for _, f := range findings {
			if k.Module != "" && leakscan.In(cHeap, f.Offset) {
				// C's heap, where the product's Go code puts nothing:
				// OpenSC formats every APDU as a hex dump for its log
				// whether or not it logs and frees it unwiped, and
				// miekg/pkcs11 passes the PIN to C_Login as a C string it
				// frees unwiped (docs/architecture.md, "Secrets in memory").
				module++
				t.Logf("C's heap (the PKCS#11 module's; not the product's to wipe): %s", f)
				continue
			}
			t.Errorf("the agent's memory: %s", f)
		}
		t.Logf("searched %d mappings of the agent (pid %d), %d MB, %d unreadable; %d findings in C's heap", st.Mappings, pid, st.Bytes>>20, st.Unreadable, module)

		// No core dump: the limit is 0 (whether it is undumpable, a
		// process of root's does not show; TestShippedAgentUndumpable).
		if _, core, err := nodump.Status(pid); core != "0" || (err != nil && !errors.Is(err, nodump.ErrRootProcess)) {
			t.Errorf("the agent's core-file limit is %q (%v), want 0", core, err)
		}
	})
}

// TestShippedAgentUndumpable runs the shipped agent and reads from outside
// that it made itself undumpable (no core, no /proc/PID/mem or ptrace for
// its user) and set its core-file limit to 0 (internal/nodump). The kernel
// shows a process's undumpability only for a user other than root (its
// /proc entries turn root's), so as root the agent runs as nobody.
func TestShippedAgentUndumpable(t *testing.T) {
	exe := shippedBinary(t)
	root := t.TempDir()
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
		// A directory nobody may enter, for the binary and the session.
		var err error
		if root, err = os.MkdirTemp("", "sithseid-nobody-"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(root) })
		if err := os.Chmod(root, 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(exe)
		if err != nil {
			t.Fatal(err)
		}
		exe = filepath.Join(root, "sithseid")
		if err := os.WriteFile(exe, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	for _, d := range []string{"HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"} {
		dir := filepath.Join(root, strings.ToLower(d))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if cred != nil {
			if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
				t.Fatal(err)
			}
		}
		env = append(env, d+"="+dir)
	}
	// Core files on for the agent, as far as the hard limit allows (a
	// child inherits the limit): the agent must turn them off itself.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &lim); err == nil && lim.Cur != lim.Max {
		was := lim
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &lim); err == nil {
			t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_CORE, &was) })
		}
	}
	cmd := exec.Command(exe, "agent", "--foreground", "--no-tray")
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	// The agent listens after it hardened itself: wait for its socket.
	sock := filepath.Join(root, "xdg_runtime_dir", "sithseid", "agent.sock")
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("the agent exited: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond): // polling for the socket, with a deadline
		}
		if time.Now().After(deadline) {
			t.Fatalf("no socket within 30 s:\n%s", out.String())
		}
	}
	dumpable, core, err := nodump.Status(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if dumpable || core != "0" {
		t.Fatalf("the running agent: dumpable %v, core-file limit %q; want undumpable and 0", dumpable, core)
	}
}
