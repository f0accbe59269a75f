package main

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// TestMainProcess is not a test: it is main() in a child process started
// by the tests below (the test binary re-executed), so they can signal it.
func TestMainProcess(t *testing.T) {
	args := testenv.OptIn(t, "SITHSEID_VCARD_MAIN_ARGS", "a helper process TestSignals and TestExitCodes start")
	var a []string
	if err := json.Unmarshal([]byte(args), &a); err != nil {
		t.Fatal(err)
	}
	os.Args = append([]string{"sithseid-vcard"}, a...)
	main()
	os.Exit(0)
}

func mainCmd(t *testing.T, args ...string) *osexec.Cmd {
	t.Helper()
	b, _ := json.Marshal(args)
	cmd := osexec.Command(os.Args[0], "-test.run=^TestMainProcess$")
	cmd.Env = append(os.Environ(), "SITHSEID_VCARD_MAIN_ARGS="+string(b))
	return cmd
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"status", "--dir", t.TempDir()}, 1, "reading state"},
		{[]string{"help"}, 0, ""},
	} {
		out, err := mainCmd(t, tc.args...).CombinedOutput()
		code := 0
		var ee *osexec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || !strings.Contains(string(out), tc.msg) {
			t.Errorf("%q: exit %d, want %d; output:\n%s", tc.args, code, tc.code, out)
		}
		if tc.code != 0 && !strings.Contains(string(out), "sithseid-vcard: ") {
			t.Errorf("%q: error not prefixed: %s", tc.args, out)
		}
	}
}

// TestSignals: SIGUSR1 re-inserts the card, SIGTERM ends `run` cleanly
// (exit 0, control socket removed).
func TestSignals(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "card")
	if _, _, err := runCLI(t, "init", "--dir", dir, "--mgmt-key", "default"); err != nil {
		t.Fatal(err)
	}
	// A vpcd that accepts and counts connections (insertions).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conns := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	cmd := mainCmd(t, "run", "--dir", dir, "--vpcd", l.Addr().String())
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	waited := make(chan struct{})
	go func() { exited <- cmd.Wait(); close(waited) }()
	defer func() {
		select {
		case <-waited:
		default:
			cmd.Process.Kill()
			<-waited
		}
	}()
	next := func() net.Conn {
		t.Helper()
		select {
		case c := <-conns:
			return c
		case <-time.After(5 * time.Second):
			t.Fatal("no connection from the card")
		}
		return nil
	}
	c1 := next()
	defer c1.Close()
	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	c1.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c1.Read(make([]byte, 1)); err == nil {
		t.Fatal("SIGUSR1 did not remove the card")
	}
	c2 := next() // and put it back
	defer c2.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("run after SIGTERM: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run ignores SIGTERM")
	}
	if _, err := os.Stat(filepath.Join(dir, CtlSocket)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("control socket after exit: %v", err)
	}
}
