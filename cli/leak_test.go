package cli_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testkit/leakscan"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/logfile"
	"github.com/sithseid/sithseid/oob"
)

// envLoggedMain makes the test binary run as sithseid with its log file
// on (as main does), for the agent of the leak test.
const envLoggedMain = "SITHSEID_CLI_TEST_LOGGED_MAIN"

// The codes of the leak test: 8 digits each, so that no timestamp, port
// or counter in a log matches by chance, and none the PIN policy refuses.
const (
	leakPIN      = "73914682"
	leakPUK      = "20583917"
	leakWrongPIN = "96385274"
	leakNewPIN   = "58261937"
	leakNewPIN2  = "41736925"
	leakNewPIN3  = "62851473"
	// An organisation's AES-192 management key, and a wrong one, as an
	// administrator types them (hex) for "cert remove --mgmt-key-stdin".
	leakMgmtKey      = "9d2e71c4a85f03b6e1947a2c5d8f60b3174ea92dc65b08f3"
	leakWrongMgmtKey = "4b7f19e2c06da358f2b1847c9e3a056dd81c2fb7649ae035"
)

// TestNoSecretLeaks runs every flow of the CLI that handles a PIN, PUK or
// management key (status, PIN change, a wrong PIN, unblock with the PUK,
// certificate removal, login, a URL handoff, tls-check's PIN, a removal
// with --mgmt-key-stdin and a wrong key) at debug log level, through an
// agent (its own process, log file on, as in a session) and in-process,
// then builds a diagnostics archive, searches the agent's memory, and
// makes the agent dump its goroutines (SIGQUIT, the crash output a Go
// program writes). No secret appears, in any encoding the shared searcher
// knows (internal/testkit/leakscan: raw, hex, little-endian words as a
// traceback prints them, base64 as the local API frames carry it, UTF-16,
// JSON escapes), in: the log files, the runtime, state and config
// directories, the diag archive's files, any command's stdout/stderr, the
// agent's stdout/stderr and crash dump, and the agent's memory once the
// flows have returned. (The windows' and the tray's PIN entry: ui's
// TestRealWindowPINLeaks; the shipped agent's memory per card kind:
// TestAgentMemoryHoldsNoPIN.)
func TestNoSecretLeaks(t *testing.T) {
	p := rig.Require(t)
	p.InsertCard(t, 0, vcard.ProvisionOptions{Dir: t.TempDir(), PIN: leakPIN, PUK: leakPUK}, vcard.RunOptions{})
	s := startIDP(t)
	root := t.TempDir()
	dirs := map[string]string{
		"HOME":            filepath.Join(root, "home"),
		"XDG_CONFIG_HOME": filepath.Join(root, "config"),
		"XDG_STATE_HOME":  filepath.Join(root, "state"),
		"XDG_RUNTIME_DIR": filepath.Join(root, "run"),
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range dirs {
		t.Setenv(k, v) // logfile reads XDG_STATE_HOME from the process
	}
	var outputs []string // every stdout and stderr seen
	// The agent logs in to the environment of its session: DEMO, at the
	// test's service. The CLI names the same, so its logins go to the agent.
	cliEnv := func(agent bool) map[string]string {
		env := map[string]string{"LANG": "sv_SE.UTF-8", "SITHSEID_ENV": "DEMO", "SITHSEID_SERVICE_URL": s.URL}
		for k, v := range dirs {
			env[k] = v
		}
		if !agent {
			env["SITHSEID_NO_AGENT"] = "1"
		}
		return env
	}
	run := func(agent bool, stdin string, args ...string) result {
		t.Helper()
		var out, errb bytes.Buffer
		env := cliEnv(agent)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		code := cli.Run(ctx, cli.Env{Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
			Getenv: func(k string) string { return env[k] }, Version: "test", LogToFile: true})
		r := result{out.String(), errb.String(), code}
		outputs = append(outputs, r.stdout, r.stderr)
		return r
	}
	if r := run(false, "", "config", "set", "logLevel", "debug"); r.code != 0 {
		t.Fatalf("config set logLevel debug: %s", r)
	}

	// The agent, as its own process.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "agent", "--foreground")
	cmd.Env = append(os.Environ(), envLoggedMain+"=1", "LANG=sv_SE.UTF-8", "SITHSEID_ENV=DEMO", "SITHSEID_SERVICE_URL="+s.URL)
	var agentOut, agentErr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &agentOut, &agentErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	agentDone := make(chan error, 1)
	go func() { agentDone <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-agentDone
	})
	addr := filepath.Join(dirs["XDG_RUNTIME_DIR"], "sithseid", "agent.sock")
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := localapi.DialAddress(context.Background(), addr); err == nil {
			_, perr := c.Ping(context.Background())
			c.Close()
			if perr == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not answer: %s", agentErr.String())
		}
	}

	pin := leakPIN
	flows := func(agent bool, newPIN, afterPUK string) {
		t.Helper()
		where := map[bool]string{true: "agent", false: "in-process"}[agent]
		want := func(r result, code int, what string) {
			t.Helper()
			if r.code != code {
				t.Fatalf("%s, %s: want exit %d, got %s", where, what, code, r)
			}
		}
		want(run(agent, "", "status", "--json"), 0, "status")
		want(run(agent, pin+"\n"+newPIN+"\n", "pin", "change", "--pin-stdin"), 0, "PIN change")
		pin = newPIN
		want(run(agent, leakWrongPIN+"\n"+leakNewPIN3+"\n", "pin", "change", "--pin-stdin"), cli.ExitWrongPIN, "wrong PIN")
		want(run(agent, leakPUK+"\n"+afterPUK+"\n", "pin", "unblock", "--pin-stdin"), 0, "unblock")
		pin = afterPUK
		want(run(agent, leakWrongPIN+"\n", "cert", "remove", "9c", "--pin-stdin"), cli.ExitWrongPIN, "removal, wrong PIN")
		o := s.order(t, "Logga in")
		want(run(agent, pin+"\n", "login", oob.AutoStartURL(o.AutoStartToken, ""), "--pin-stdin"), 0, "login")
		if c := s.collect(t, o); c.Status != oob.StatusComplete {
			t.Fatalf("%s, login: order %+v", where, c)
		}
		o = s.order(t, "Logga in")
		want(run(agent, leakWrongPIN+"\n", "login", oob.AutoStartURL(o.AutoStartToken, ""), "--pin-stdin"), cli.ExitWrongPIN, "login, wrong PIN")
		want(run(agent, pin+"\n"+leakNewPIN3+"\n", "pin", "unblock", "--pin-stdin"), cli.ExitWrongPUK, "unblock with a PIN for PUK")
		want(run(agent, leakPUK+"\n"+pin+"\n", "pin", "unblock", "--pin-stdin"), 0, "unblock resetting the counters")
	}
	flows(true, leakNewPIN, leakNewPIN2)
	// A certificate removal that works, through the agent.
	if r := run(true, pin+"\n", "cert", "remove", "83", "--pin-stdin"); r.code != 0 {
		t.Fatalf("agent, removal: %s", r)
	}
	// A handoff to the agent (the URL handler's path).
	o := s.order(t, "Logga in")
	var herr bytes.Buffer
	henv := cliEnv(true)
	if code := cli.Handoff(context.Background(), cli.Env{Getenv: func(k string) string { return henv[k] }, Stderr: &herr}, oob.AutoStartURL(o.AutoStartToken, "")); code != cli.ExitOK {
		t.Fatalf("handoff: exit %d: %s", code, herr.String())
	}
	outputs = append(outputs, herr.String())
	// The same flows in-process (pin is afterPUK from the agent's round).
	flows(false, leakNewPIN3, leakNewPIN)
	if r := run(false, pin+"\n", "cert", "remove", "82", "--pin-stdin"); r.code != 0 {
		t.Fatalf("in-process, removal: %s", r)
	}

	// tls-check's PIN, right and wrong (in-process: it has trust
	// anchors of its own and never goes through the agent).
	if r := run(false, pin+"\n", "tls-check", s.URL, "--env", "DEMO", "--pin-stdin"); r.code != 0 || !strings.Contains(r.stdout, "200 ") {
		t.Fatalf("tls-check: %s", r)
	}
	if r := run(false, leakWrongPIN+"\n", "tls-check", s.URL, "--env", "DEMO", "--pin-stdin"); r.code != cli.ExitWrongPIN {
		t.Fatalf("tls-check, wrong PIN: %s", r)
	}
	// A management key on stdin, wrong and right, on a second card whose
	// key is the organisation's (such a removal runs in-process).
	keyCard := p.InsertCard(t, 1, vcard.ProvisionOptions{Dir: t.TempDir(), PIN: leakPIN, PUK: leakPUK, MgmtKey: leakMgmtKey}, vcard.RunOptions{})
	if r := run(false, leakWrongMgmtKey+"\n"+leakPIN+"\n", "cert", "remove", "9c", "--mgmt-key-stdin", "--reader", keyCard.Reader); r.code == 0 || !strings.Contains(r.stderr, "administrationsnyckel") {
		t.Fatalf("removal with a wrong management key: %s", r)
	}
	if r := run(false, leakMgmtKey+"\n"+leakPIN+"\n", "cert", "remove", "9c", "--mgmt-key-stdin", "--reader", keyCard.Reader); r.code != 0 {
		t.Fatalf("removal with the management key: %s", r)
	}
	mgmtKey, _ := hex.DecodeString(leakMgmtKey)
	wrongKey, _ := hex.DecodeString(leakWrongMgmtKey)
	secrets := []string{leakPIN, leakPUK, leakWrongPIN, leakNewPIN, leakNewPIN2, leakNewPIN3,
		leakMgmtKey, leakWrongMgmtKey, string(mgmtKey), string(wrongKey)}
	scan := leakscan.New(secrets...)

	// The agent's memory, after every flow through it has returned.
	t.Run("agent memory", func(t *testing.T) {
		if os.Geteuid() != 0 {
			testenv.Missing(t, "reading the memory of the undumpable agent needs root")
		}
		// The agent is this test binary: its constants hold the codes.
		fs, st, err := scan.Process(cmd.Process.Pid, exe)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			t.Errorf("%s", f)
		}
		t.Logf("searched %d mappings of the agent, %d MB", st.Mappings, st.Bytes>>20)
	})

	diagZip := filepath.Join(root, "diag.zip")
	if r := run(true, "", "diag", "--out", diagZip); r.code != 0 {
		t.Fatalf("diag: %s", r)
	}

	// The crash output: SIGQUIT makes the Go runtime dump every goroutine
	// to stderr and exit.
	if err := cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-agentDone:
		agentDone <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("the agent did not exit on SIGQUIT")
	}
	if !strings.Contains(agentErr.String(), "goroutine ") {
		t.Fatalf("no goroutine dump on the agent's stderr:\n%s", agentErr.String())
	}

	// Everything that was written, by name.
	haystack := map[string]string{
		"agent stdout":            agentOut.String(),
		"agent stderr and dump":   agentErr.String(),
		"commands' stdout+stderr": strings.Join(outputs, "\n"),
	}
	for _, d := range []string{root} {
		_ = filepath.WalkDir(d, func(path string, de fs.DirEntry, err error) error {
			if err != nil || !de.Type().IsRegular() || path == diagZip {
				return nil
			}
			b, rerr := os.ReadFile(path)
			if rerr == nil {
				haystack[path] = string(b)
			}
			return nil
		})
	}
	zr, err := zip.OpenReader(diagZip)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		haystack["diag.zip:"+f.Name] = string(b)
	}
	zr.Close()
	logName := filepath.Join(dirs["XDG_STATE_HOME"], "sithseid", "log", logfile.LogFileName)
	log := haystack[logName]
	// "method":"login" is the agent's: the logins went through it too.
	for _, want := range []string{`"level":"DEBUG"`, "PIN changed", "PIN unblocked", "certificate removed", "login completed", `"method":"login"`} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q: the flows were not logged at debug level\n%s", want, log)
		}
	}
	for name, body := range haystack {
		for _, f := range scan.Bytes(name, []byte(body)) {
			t.Errorf("%s", f)
		}
	}
	if os.Getenv("LEAK_DUMP") != "" {
		t.Log(log)
	}
	t.Logf("searched %d files and outputs (%d bytes of log)", len(haystack), len(log))
}
