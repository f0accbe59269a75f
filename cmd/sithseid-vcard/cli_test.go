package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestInitStatus(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "card")
	out, _, err := runCLI(t, "init", "--dir", dir, "--holder", "Karl Johan Karlsson", "--hsa-id", "SE2321000016-9999", "--key", "p256")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "PIN 123456\nPUK 12345678\n") || !strings.Contains(out, "Karl Johan Karlsson (SE2321000016-9999)") {
		t.Fatalf("init said:\n%s", out)
	}
	_, _, err = runCLI(t, "init", "--dir", dir)
	if !errors.Is(err, vcard.ErrExists) || exitCode(err) != 1 {
		t.Fatalf("second init: %v", err)
	}
	if _, _, err := runCLI(t, "init", "--dir", dir, "--force", "--variant", "reserve"); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, "status", "--dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Anna Svensson", "3 of 3 tries left", "AES-192, PIN-protected", "slot 9a", "slot 83", "RSA-2048, PIN always"} {
		if !strings.Contains(out, want) {
			t.Fatalf("status lacks %q:\n%s", want, out)
		}
	}
	out, _, err = runCLI(t, "status", "--dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var in vcard.Info
	if err := json.Unmarshal([]byte(out), &in); err != nil || in.PINTries != 3 || len(in.Slots) != 4 {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	for _, bad := range [][]string{
		{}, {"frobnicate"}, {"init"}, {"init", "--dir", dir, "--key", "rsa1024"},
		{"init", "--dir", dir, "--variant", "odd"}, {"init", "--dir", dir, "--holder", "Cher"},
		{"run", "--dir", dir, "--drop-after", "-1"}, {"run", "--dir", dir, "--profile", "fast"}, {"ctl", "--dir", dir},
	} {
		if _, _, err := runCLI(t, bad...); exitCode(err) != 2 {
			t.Errorf("%q: %v (exit %d), want a usage error", bad, err, exitCode(err))
		}
	}
	if _, _, err := runCLI(t, "status", "--dir", filepath.Join(dir, "nope")); err == nil || exitCode(err) != 1 {
		t.Fatalf("status of nothing: %v", err)
	}
}

// TestRunControl runs `run` against a private pcscd and drives it through
// the control socket and SIGUSR1.
func TestRunControl(t *testing.T) {
	p := rig.New(t)
	dir := filepath.Join(t.TempDir(), "card")
	if _, _, err := runCLI(t, "init", "--dir", dir); err != nil {
		t.Fatal(err)
	}
	trace := filepath.Join(t.TempDir(), "trace.log")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run", "--dir", dir, "--vpcd", p.VPCDAddr(0), "--trace", trace}, os.Stdout, os.Stderr)
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("run did not end")
		}
		if _, err := os.Stat(filepath.Join(dir, CtlSocket)); err == nil {
			t.Error("control socket left behind")
		}
	}()
	sock := filepath.Join(dir, CtlSocket)
	waitFor(t, func() bool {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket mode: %v %v", fi.Mode(), err)
	}
	stats := func() vcard.Stats {
		t.Helper()
		out, _, err := runCLI(t, "ctl", "--dir", dir, "stats", "--json")
		if err != nil {
			t.Fatal(err)
		}
		var st vcard.Stats
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("%v: %q", err, out)
		}
		return st
	}
	// pcscd powers the card up and polls its ATR.
	waitFor(t, func() bool { st := stats(); return st.Present && st.PowerOns > 0 })

	if _, _, err := runCLI(t, "run", "--dir", dir, "--vpcd", p.VPCDAddr(1)); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second run on the same card: %v", err)
	}
	if _, _, err := runCLI(t, "ctl", "--dir", dir, "remove"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { st := stats(); return !st.Present && !st.WantIn && st.Removed == 1 })
	if _, _, err := runCLI(t, "ctl", "--dir", dir, "insert"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { st := stats(); return st.Present && st.Inserted == 2 })
	// SIGUSR1: remove, then insert again.
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { st := stats(); return st.Present && st.Inserted == 3 && st.Removed == 2 })
	before := stats().PowerOns
	if _, _, err := runCLI(t, "ctl", "--dir", dir, "reinsert"); err != nil {
		t.Fatal(err)
	}
	// Back in, and powered up by pcscd (which has seen it return).
	waitFor(t, func() bool { st := stats(); return st.Present && st.Inserted == 4 && st.PowerOns > before })
	if _, _, err := runCLI(t, "ctl", "--dir", dir, "drop-after", "x"); err == nil {
		t.Fatal("drop-after x accepted")
	}
	if _, _, err := runCLI(t, "ctl", "--dir", dir, "drop-after", "1"); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI(t, "ctl", "--dir", dir, "stats")
	if err != nil || !strings.Contains(out, "present true") {
		t.Fatalf("stats: %v\n%s", err, out)
	}
	// pcscd's next ATR poll is a control message, not an APDU; an APDU from
	// a client pulls the card. opensc-tool sends some.
	out = exec(t, p, "opensc-tool", "--reader", "0", "--send-apdu", "00FD000000")
	t.Logf("opensc-tool: %s", out)
	waitFor(t, func() bool { st := stats(); return st.Drops == 1 && !st.Present })
	b, err := os.ReadFile(trace)
	if err != nil || !strings.Contains(string(b), " sw=") {
		t.Fatalf("trace: %v\n%s", err, b)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestInitStatusIDPrime(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "card")
	out, _, err := runCLI(t, "init", "--dir", dir, "--kind", "idprime")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "idprime card ") || strings.Contains(out, "signature PIN") {
		t.Fatalf("init said:\n%s", out)
	}
	out, _, err = runCLI(t, "status", "--dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind                idprime", "PIN (11)            3 of 3 tries left", "signature PIN (83)  none", "kxc00", "key 56, PIN 11"} {
		if !strings.Contains(out, want) {
			t.Fatalf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ksc01") {
		t.Fatalf("a 2024 card lists a signing certificate:\n%s", out)
	}
	out, _, err = runCLI(t, "init", "--dir", dir, "--kind", "idprime", "--with-signing", "--force")
	if err != nil || !strings.Contains(out, "signature PIN "+vcard.DefaultSignPIN) {
		t.Fatalf("init --with-signing: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, "status", "--dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var in vcard.Info
	if err := json.Unmarshal([]byte(out), &in); err != nil || in.Kind != vcard.KindIDPrime || !in.HasSignPIN || in.SignPINTries != 3 || len(in.Slots) != 2 || in.Slots[1].PIN != "83" {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	for _, bad := range [][]string{
		{"init", "--dir", dir, "--kind", "cac"},
		{"init", "--dir", dir, "--with-signing"},
		{"init", "--dir", dir, "--kind", "idprime", "--key", "p256"},
		{"init", "--dir", dir, "--kind", "idprime", "--mgmt-key", "default"},
	} {
		if _, _, err := runCLI(t, bad...); exitCode(err) != 2 {
			t.Errorf("%q: %v (exit %d), want a usage error", bad, err, exitCode(err))
		}
	}
}

// TestRunIDPrime runs an IDPrime card with the idprime-usb timing profile:
// OpenSC names it, every APDU takes the profile's latency, and the control
// socket's stats and drop fault work as for a PIV card.
func TestRunIDPrime(t *testing.T) {
	p := rig.New(t)
	dir := filepath.Join(t.TempDir(), "card")
	if _, _, err := runCLI(t, "init", "--dir", dir, "--kind", "idprime"); err != nil {
		t.Fatal(err)
	}
	trace := filepath.Join(t.TempDir(), "trace.log")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"run", "--dir", dir, "--vpcd", p.VPCDAddr(0), "--profile", "idprime-usb", "--trace", trace}, io.Discard, &stderr)
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("run did not end")
		}
	}()
	stats := func() vcard.Stats {
		t.Helper()
		out, _, err := runCLI(t, "ctl", "--dir", dir, "stats", "--json")
		var st vcard.Stats
		if err == nil {
			err = json.Unmarshal([]byte(out), &st)
		}
		if err != nil {
			return vcard.Stats{}
		}
		return st
	}
	waitFor(t, func() bool { st := stats(); return st.Present && st.PowerOns > 0 })
	if out := exec(t, p, "opensc-tool", "--reader", "0", "--name"); !strings.Contains(out, "IDPrime") {
		t.Fatalf("opensc-tool --name: %s", out)
	}
	st := stats()
	if st.APDUs < 3 {
		t.Fatalf("OpenSC's driver match took %d APDUs", st.APDUs)
	}
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var us int
		if i := strings.Index(line, " us="); i < 0 {
			t.Fatalf("trace line %q", line)
		} else if _, err := fmt.Sscan(line[i+4:], &us); err != nil || us < int(vcard.ProfileIDPrime.Latency.Microseconds()) {
			t.Errorf("APDU faster than the profile: %q", line)
		}
	}
	if _, _, err := runCLI(t, "ctl", "--dir", dir, "drop-after", "1"); err != nil {
		t.Fatal(err)
	}
	exec(t, p, "opensc-tool", "--reader", "0", "--send-apdu", "00CA9F7F2D")
	waitFor(t, func() bool { st := stats(); return st.Drops == 1 && !st.Present })
	if !strings.Contains(stderr.String(), "idprime card") {
		t.Errorf("run said: %s", stderr.String())
	}
}
