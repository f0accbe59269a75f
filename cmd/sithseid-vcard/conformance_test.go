// Conformance of the virtual card with independent PC/SC clients: OpenSC
// (pkcs15-tool, pkcs11-tool with opensc-pkcs11.so), yubico-piv-tool and
// openssl. Each test runs its own pcscd and card (internal/testkit/rig), so the
// tests run in parallel and never share PIN counters.
//
// PINs and PUKs go to the tools on standard input (yubico-piv-tool's
// prompts read it when there is no terminal) or are typed into a
// pseudo-terminal with echo off (pkcs11-tool insists on a terminal), never
// on their command lines.
package main_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/internal/testkit/wait"
	"golang.org/x/sys/unix"
)

// openscModule is OpenSC's PKCS#11 module where Debian puts it.
var openscModule = testenv.OpenSCModule

// toolTimeout bounds every tool run: a hang is a failure, not a stuck suite.
const toolTimeout = 60 * time.Second

// need skips t when a tool is genuinely absent (make test installs them all).
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if strings.HasPrefix(tool, "/") {
			if _, err := os.Stat(tool); err != nil {
				testenv.Missing(t, "%s absent (scripts/setup installs it): %v", tool, err)
			}
			continue
		}
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, "%s absent (scripts/setup installs it): %v", tool, err)
		}
	}
}

// result is one tool run.
type result struct {
	out  string // stdout and stderr, interleaved
	err  error
	exit int // exit status, -1 when killed by a signal
}

// runTool runs name with args against the card's pcscd, stdin fed from
// stdin, in a session of its own (no controlling terminal, so password
// prompts read standard input).
func runTool(t *testing.T, c *testCard, stdin, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(append(c.pcscd.Env(), "HOME="+c.home), c.env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err := cmd.Run()
	r := result{out: out.String(), err: err}
	if ctx.Err() != nil {
		t.Fatalf("%s %s: no answer within %v:\n%s", name, strings.Join(args, " "), toolTimeout, r.out)
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.exit = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

// runToolTTY runs name like runTool but with a pseudo-terminal as its
// standard input and output, for tools that insist on a terminal for their
// PIN prompt (OpenSC's util_getpass calls tcgetattr on stdout). It types
// secret each time prompt appears. The secret is typed only once the tool
// has turned echo off, so it never shows up in the captured output.
func runToolTTY(t *testing.T, c *testCard, prompt, secret, name string, args ...string) result {
	t.Helper()
	answered := 0
	return runToolTTYWith(t, c, func(out string) (string, bool) {
		if strings.Count(out, prompt) > answered {
			answered++
			return secret, true
		}
		return "", false
	}, name, args...)
}

// ttyAnswer is a secret to type when its prompt appears.
type ttyAnswer struct{ prompt, secret string }

// runToolTTYSeq is runToolTTY for a tool that asks several questions in
// turn (pkcs11-tool --change-pin: the current PIN, the new one, the new
// one again): each answer is typed once its prompt appears after the
// previous one.
func runToolTTYSeq(t *testing.T, c *testCard, answers []ttyAnswer, name string, args ...string) result {
	t.Helper()
	next, pos := 0, 0
	return runToolTTYWith(t, c, func(out string) (string, bool) {
		if next >= len(answers) {
			return "", false
		}
		i := strings.Index(out[pos:], answers[next].prompt)
		if i < 0 {
			return "", false
		}
		pos += i + len(answers[next].prompt)
		next++
		return answers[next-1].secret, true
	}, name, args...)
}

// runToolTTYWith runs name on a pseudo-terminal; after each read of its
// output, next (given all output so far) says what to type, if anything.
func runToolTTYWith(t *testing.T, c *testCard, next func(out string) (string, bool), name string, args ...string) result {
	t.Helper()
	master, slave, err := openPTY()
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	defer master.Close()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(append(c.pcscd.Env(), "HOME="+c.home), c.env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		slave.Close()
		t.Fatalf("%s: %v", name, err)
	}
	slave.Close()
	var (
		mu  sync.Mutex
		out bytes.Buffer
	)
	prompts := make(chan string, 8)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf) // ends with EIO once the tool exits
			mu.Lock()
			out.Write(buf[:n])
			for {
				secret, ok := next(out.String())
				if !ok {
					break
				}
				prompts <- secret
			}
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	// Answer every prompt (pkcs11-tool asks again for the context-specific
	// login of a key with CKA_ALWAYS_AUTHENTICATE, PIV slot 9C).
typing:
	for {
		select {
		case secret := <-prompts:
			// util_getpass prints the prompt, then turns echo off with
			// tcsetattr(TCSAFLUSH), which discards pending input: type
			// once echo is off (TCGETS on the master reads the slave's
			// flags), so nothing typed is flushed and nothing is echoed.
			wait.For(t, toolTimeout, name+" turning echo off after its prompt", func() bool {
				tio, err := unix.IoctlGetTermios(int(master.Fd()), unix.TCGETS)
				return err == nil && tio.Lflag&unix.ECHO == 0
			})
			if _, err := master.Write([]byte(secret + "\n")); err != nil {
				t.Fatalf("typing into the pty: %v", err)
			}
		case <-copied:
			break typing
		case <-ctx.Done():
			break typing
		}
	}
	err = cmd.Wait()
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	mu.Lock()
	r := result{out: strings.ReplaceAll(out.String(), "\r\n", "\n"), err: err}
	mu.Unlock()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: no answer within %v:\n%s", name, strings.Join(args, " "), toolTimeout, r.out)
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.exit = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

// openPTY opens a pseudo-terminal pair with echo on and ECHONL off: the
// tool's own switch to echo off, when it reads a secret, says when to type.
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil { // unlockpt
		master.Close()
		return nil, nil, err
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN) // ptsname
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err == nil {
		tio.Lflag |= unix.ECHO
		tio.Lflag &^= unix.ECHONL
		err = unix.IoctlSetTermios(int(slave.Fd()), unix.TCSETS, tio)
	}
	if err != nil {
		master.Close()
		slave.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

// mustRun is runTool that fails the test on a non-zero exit.
func mustRun(t *testing.T, c *testCard, stdin, name string, args ...string) string {
	t.Helper()
	r := runTool(t, c, stdin, name, args...)
	if r.err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), r.err, r.out)
	}
	return r.out
}

// testCard is a virtual card in reader 0 of a pcscd of the test's own, with
// the certificates the card must hold.
type testCard struct {
	pcscd *rig.PCSCD
	*rig.Card
	want *testpki.Card
	home string   // HOME for the tools (OpenSC's caches)
	env  []string // more environment for the tools (OPENSC_CONF)
}

// slot pairs a PIV slot with the OpenSC PKCS#15 object ID of its key and
// certificate (OpenSC's PIV emulation: 9A→01, 9C→02, 82→05, 83→06).
type slot struct {
	piv, id string
	cert    func(*testpki.Card) *x509.Certificate
}

var slots = []slot{
	{"9a", "01", func(c *testpki.Card) *x509.Certificate { return c.HSAAuth.Cert }},
	{"9c", "02", func(c *testpki.Card) *x509.Certificate { return c.HSASign.Cert }},
	{"82", "05", func(c *testpki.Card) *x509.Certificate { return c.PNAuth.Cert }},
	{"83", "06", func(c *testpki.Card) *x509.Certificate { return c.PNSign.Cert }},
}

func newTestCard(t *testing.T, key testpki.KeyType, run vcard.RunOptions) *testCard {
	t.Helper()
	p := rig.New(t)
	opts := testpki.Options{Seed: "conformance-" + string(key), Now: time.Now().Truncate(time.Second)}
	spec := testpki.CardSpec{Key: key}
	pki, err := testpki.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pki.IssueCard(spec)
	if err != nil {
		t.Fatal(err)
	}
	card := p.InsertCard(t, 0, vcard.ProvisionOptions{Spec: spec, PKI: opts}, run)
	return &testCard{pcscd: p, Card: card, want: want, home: t.TempDir()}
}

func keyTypes(t *testing.T, f func(t *testing.T, key testpki.KeyType)) {
	for _, key := range []testpki.KeyType{testpki.RSA2048, testpki.P256} {
		t.Run(string(key), func(t *testing.T) {
			t.Parallel()
			f(t, key)
		})
	}
}

func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// pivStatus runs yubico-piv-tool -a status and returns its output split
// into the per-slot sections ("9a" → the lines under "Slot 9a:") and the
// PIN tries left.
func pivStatus(t *testing.T, c *testCard) (map[string]string, int) {
	t.Helper()
	out := mustRun(t, c, "", "yubico-piv-tool", "-r", c.Reader, "-a", "status")
	sections := map[string]string{}
	var cur string
	for _, line := range strings.Split(out, "\n") {
		if m := regexp.MustCompile(`^Slot ([0-9a-f]{2}):`).FindStringSubmatch(line); m != nil {
			cur = m[1]
			continue
		}
		if !strings.HasPrefix(line, "\t") {
			cur = ""
		}
		if cur != "" {
			sections[cur] += line + "\n"
		}
	}
	m := regexp.MustCompile(`PIN tries left:\s*(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no PIN tries in yubico-piv-tool status:\n%s", out)
	}
	tries, _ := strconv.Atoi(m[1])
	return sections, tries
}

// checkCertificates asserts that yubico-piv-tool lists exactly the expected
// certificate in each SITHS slot.
func checkCertificates(t *testing.T, c *testCard) {
	t.Helper()
	sections, _ := pivStatus(t, c)
	for _, s := range slots {
		sec, ok := sections[s.piv]
		if !ok {
			t.Errorf("yubico-piv-tool status: no slot %s", s.piv)
			continue
		}
		cert := s.cert(c.want)
		if !strings.Contains(strings.ToLower(sec), fingerprint(cert)) {
			t.Errorf("slot %s: fingerprint of %q not listed:\n%s", s.piv, cert.Subject, sec)
		}
	}
}

func TestYubicoPIVToolStatus(t *testing.T) {
	need(t, "yubico-piv-tool")
	keyTypes(t, func(t *testing.T, key testpki.KeyType) {
		c := newTestCard(t, key, vcard.RunOptions{})
		checkCertificates(t, c)
		sections, tries := pivStatus(t, c)
		if tries != 3 {
			t.Errorf("PIN tries left %d, want 3", tries)
		}
		alg := map[testpki.KeyType]string{testpki.RSA2048: "RSA2048", testpki.P256: "ECCP256"}[key]
		if !strings.Contains(sections["9a"], alg) {
			t.Errorf("slot 9a algorithm is not %s:\n%s", alg, sections["9a"])
		}
		if !strings.Contains(sections["9a"], c.want.Spec.HSAID) {
			t.Errorf("slot 9a subject lacks the HSA-ID %s:\n%s", c.want.Spec.HSAID, sections["9a"])
		}
	})
}

func TestPKCS15ListCertificates(t *testing.T) {
	need(t, "pkcs15-tool")
	keyTypes(t, func(t *testing.T, key testpki.KeyType) {
		c := newTestCard(t, key, vcard.RunOptions{})
		out := mustRun(t, c, "", "pkcs15-tool", "--reader", "0", "--list-certificates")
		if n := strings.Count(out, "X.509 Certificate"); n != len(slots) {
			t.Errorf("pkcs15-tool lists %d certificates, want %d:\n%s", n, len(slots), out)
		}
		for _, s := range slots {
			if !regexp.MustCompile(`(?m)^\s*ID\s*:\s*` + s.id + `\s*$`).MatchString(out) {
				t.Errorf("no certificate with ID %s:\n%s", s.id, out)
			}
			pemOut := mustRun(t, c, "", "pkcs15-tool", "--reader", "0", "--read-certificate", s.id)
			blk, _ := pem.Decode([]byte(pemOut[strings.Index(pemOut, "-----BEGIN"):]))
			if blk == nil || !bytes.Equal(blk.Bytes, s.cert(c.want).Raw) {
				t.Errorf("certificate %s read by pkcs15-tool differs from the provisioned one", s.id)
			}
		}
	})
}

// pkcs11Sign signs data with the key of PKCS#15 ID id through OpenSC's
// PKCS#11 module, the PIN on standard input, and returns the signature
// (DER for ECDSA, as openssl wants it).
func pkcs11Sign(t *testing.T, c *testCard, key testpki.KeyType, id string, data []byte) ([]byte, result) {
	t.Helper()
	mech := mechRSA
	if key == testpki.P256 {
		mech = mechECDSA
	}
	return pkcs11SignMech(t, c, mech, id, data)
}

// pkcs11-tool mechanisms the tests sign with.
const (
	mechRSA    = "SHA256-RSA-PKCS"
	mechRSAPSS = "SHA256-RSA-PKCS-PSS" // salt length = hash length (pkcs11-tool's default)
	mechECDSA  = "ECDSA-SHA256"
)

func pkcs11SignMech(t *testing.T, c *testCard, mech, id string, data []byte) ([]byte, result) {
	t.Helper()
	dir := t.TempDir()
	in, sig := filepath.Join(dir, "data"), filepath.Join(dir, "sig")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--module", openscModule, "--login", "--sign", "--id", id,
		"--input-file", in, "--output-file", sig}
	args = append(args, "--mechanism", mech)
	if mech == mechECDSA {
		args = append(args, "--signature-format", "openssl") // DER, as openssl wants it
	}
	r := runToolTTY(t, c, "PIN: ", c.PIN, "pkcs11-tool", args...)
	if r.err != nil {
		return nil, r
	}
	b, err := os.ReadFile(sig)
	if err != nil {
		t.Fatal(err)
	}
	return b, r
}

// opensslVerify checks sig over data with cert's public key.
func opensslVerify(t *testing.T, c *testCard, cert *x509.Certificate, data, sig []byte) error {
	t.Helper()
	return opensslVerifyMech(t, c, cert, "", data, sig)
}

// opensslVerifyMech checks sig, made with the pkcs11-tool mechanism mech
// ("" for PKCS#1 v1.5 or ECDSA, which openssl tells from the key).
func opensslVerifyMech(t *testing.T, c *testCard, cert *x509.Certificate, mech string, data, sig []byte) error {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{
		"cert.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		"data":     data, "sig": sig,
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pub := mustRun(t, c, "", "openssl", "x509", "-in", filepath.Join(dir, "cert.pem"), "-noout", "-pubkey")
	if err := os.WriteFile(filepath.Join(dir, "pub.pem"), []byte(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"dgst", "-sha256", "-verify", filepath.Join(dir, "pub.pem"),
		"-signature", filepath.Join(dir, "sig")}
	if mech == mechRSAPSS {
		args = append(args, "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest")
	}
	r := runTool(t, c, "", "openssl", append(args, filepath.Join(dir, "data"))...)
	if r.err != nil || !strings.Contains(r.out, "Verified OK") {
		return fmt.Errorf("openssl dgst -verify: %v\n%s", r.err, r.out)
	}
	return nil
}

func TestPKCS11SignOpenSSLVerify(t *testing.T) {
	need(t, "pkcs11-tool", "openssl", openscModule)
	keyTypes(t, func(t *testing.T, key testpki.KeyType) {
		c := newTestCard(t, key, vcard.RunOptions{})
		data := []byte("SITHS eID conformance " + string(key))
		for _, s := range []slot{slots[0], slots[1]} { // auth (9A) and signature (9C) keys
			sig, r := pkcs11Sign(t, c, key, s.id, data)
			if r.err != nil {
				t.Fatalf("pkcs11-tool --sign --id %s: %v\n%s", s.id, r.err, r.out)
			}
			if err := opensslVerify(t, c, s.cert(c.want), data, sig); err != nil {
				t.Errorf("signature by key %s: %v", s.id, err)
			}
			// The same signature must not verify over other data.
			if err := opensslVerify(t, c, s.cert(c.want), append(data, '!'), sig); err == nil {
				t.Errorf("signature by key %s verifies over different data", s.id)
			}
		}
		if key == testpki.RSA2048 { // RSA-PSS, as TLS 1.3 needs it (padding on the host)
			sig, r := pkcs11SignMech(t, c, mechRSAPSS, "01", data)
			if r.err != nil {
				t.Fatalf("pkcs11-tool --sign -m %s: %v\n%s", mechRSAPSS, r.err, r.out)
			}
			if err := opensslVerifyMech(t, c, c.want.HSAAuth.Cert, mechRSAPSS, data, sig); err != nil {
				t.Errorf("PSS signature: %v", err)
			}
			if err := opensslVerify(t, c, c.want.HSAAuth.Cert, data, sig); err == nil {
				t.Errorf("PSS signature verifies as PKCS#1 v1.5")
			}
		}
		if n := c.State.Signatures(); n < 2 {
			t.Errorf("card counted %d signatures, want at least 2", n)
		}
	})
}

// verifyPIN runs yubico-piv-tool -a verify-pin with pin on standard input.
func verifyPIN(t *testing.T, c *testCard, pin string) result {
	t.Helper()
	return runTool(t, c, pin+"\n", "yubico-piv-tool", "-r", c.Reader, "-a", "verify-pin")
}

func pinTries(t *testing.T, c *testCard) int {
	t.Helper()
	_, tries := pivStatus(t, c)
	if pin, _ := c.State.PINRetries(); pin != tries {
		t.Errorf("yubico-piv-tool says %d PIN tries left, the card's state %d", tries, pin)
	}
	return tries
}

func TestYubicoPIVToolPINLifecycle(t *testing.T) {
	need(t, "yubico-piv-tool")
	t.Parallel()
	c := newTestCard(t, testpki.RSA2048, vcard.RunOptions{})
	const newPIN, wrongPIN, thirdPIN = "24681357", "11112222", "80604020"

	// change-pin: old PIN, then the new one twice (its prompts).
	mustRun(t, c, c.PIN+"\n"+newPIN+"\n"+newPIN+"\n", "yubico-piv-tool", "-r", c.Reader, "-a", "change-pin")
	if r := verifyPIN(t, c, newPIN); r.err != nil {
		t.Fatalf("new PIN refused: %v\n%s", r.err, r.out)
	}
	if got := pinTries(t, c); got != 3 {
		t.Fatalf("tries after change-pin %d, want 3", got)
	}
	if r := verifyPIN(t, c, c.PIN); r.err == nil {
		t.Fatalf("old PIN still accepted:\n%s", r.out)
	}
	if got := pinTries(t, c); got != 2 {
		t.Fatalf("tries after one wrong PIN %d, want 2", got)
	}
	// A right PIN resets the counter.
	if r := verifyPIN(t, c, newPIN); r.err != nil {
		t.Fatalf("new PIN refused: %v\n%s", r.err, r.out)
	}
	if got := pinTries(t, c); got != 3 {
		t.Fatalf("tries after a right PIN %d, want 3", got)
	}

	// Three wrong PINs block it.
	for i := 2; i >= 0; i-- {
		r := verifyPIN(t, c, wrongPIN)
		if r.err == nil {
			t.Fatalf("wrong PIN accepted:\n%s", r.out)
		}
		if got := pinTries(t, c); got != i {
			t.Fatalf("tries after %d wrong PINs %d, want %d", 3-i, got, i)
		}
	}
	r := verifyPIN(t, c, newPIN)
	if r.err == nil {
		t.Fatalf("right PIN accepted on a blocked card:\n%s", r.out)
	}
	if !strings.Contains(strings.ToLower(r.out), "blocked") {
		t.Errorf("verify-pin on a blocked card does not say blocked:\n%s", r.out)
	}

	// unblock-pin: the PUK, then the new PIN twice.
	mustRun(t, c, c.PUK+"\n"+thirdPIN+"\n"+thirdPIN+"\n", "yubico-piv-tool", "-r", c.Reader, "-a", "unblock-pin")
	if got := pinTries(t, c); got != 3 {
		t.Fatalf("tries after unblock-pin %d, want 3", got)
	}
	if r := verifyPIN(t, c, thirdPIN); r.err != nil {
		t.Fatalf("PIN set by unblock-pin refused: %v\n%s", r.err, r.out)
	}
	if r := verifyPIN(t, c, newPIN); r.err == nil {
		t.Fatalf("PIN from before the block still accepted:\n%s", r.out)
	}
	if _, puk := c.State.PINRetries(); puk != 3 {
		t.Errorf("PUK tries left %d after a right PUK, want 3", puk)
	}
}

// traceLog collects the card's APDU trace (instruction, lengths, status
// word; never data) for finding where in a client's exchange a command
// falls.
type traceLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *traceLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.Split(strings.TrimRight(string(p), "\n"), "\n")...)
	return len(p), nil
}

// since returns the trace lines after the first n.
func (l *traceLog) since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines[n:])
}

func (l *traceLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// checkCleanFailure asserts that a client whose card was pulled failed the
// way a client should: it exited (no hang: runTool bounds it) with a
// non-zero status of its own, not killed by a signal.
func checkCleanFailure(t *testing.T, what string, r result) {
	t.Helper()
	if r.err == nil {
		t.Fatalf("%s succeeded although the card was pulled:\n%s", what, r.out)
	}
	if r.exit <= 0 {
		t.Fatalf("%s ended by %v, not by an error exit:\n%s", what, r.err, r.out)
	}
	t.Logf("%s with the card pulled: exit %d: %s", what, r.exit, strings.TrimSpace(r.out))
}

// checkIntact asserts that the card, back in the reader, is the card it was:
// the same certificates, the PIN and PUK tries left as expected, and its
// state on disk agreeing.
func checkIntact(t *testing.T, c *testCard, pinTries int) {
	t.Helper()
	checkCertificates(t, c)
	sections, tries := pivStatus(t, c)
	if len(sections) < len(slots) {
		t.Errorf("only %d slots listed after reinsertion", len(sections))
	}
	if tries != pinTries {
		t.Errorf("PIN tries left %d after reinsertion, want %d", tries, pinTries)
	}
	reloaded, err := vcard.Load(c.Dir)
	if err != nil {
		t.Fatalf("card state after the pull: %v", err)
	}
	pin, puk := reloaded.PINRetries()
	if pin != pinTries || puk != 3 {
		t.Errorf("card state on disk: PIN %d PUK %d tries, want %d and 3", pin, puk, pinTries)
	}
}

// TestPulledDuringPKCS11Sign pulls the card (the DropAfter fault) in the
// middle of pkcs11-tool's login-and-sign, at several points.
func TestPulledDuringPKCS11Sign(t *testing.T) {
	need(t, "pkcs11-tool", "yubico-piv-tool", "openssl", openscModule)
	t.Parallel()
	c := newTestCard(t, testpki.RSA2048, vcard.RunOptions{})
	data := []byte("pulled mid-signature")

	before := c.Server.Stats().APDUs
	if _, r := pkcs11Sign(t, c, testpki.RSA2048, "01", data); r.err != nil {
		t.Fatalf("sign: %v\n%s", r.err, r.out)
	}
	n := int(c.Server.Stats().APDUs - before)
	if n < 4 {
		t.Fatalf("a pkcs11-tool signature took %d APDUs: too few to pull in the middle", n)
	}
	for _, at := range []int{n / 4, n / 2, n - 2} {
		t.Run(fmt.Sprintf("after-%d-of-%d", at, n), func(t *testing.T) {
			drops := c.Server.Stats().Drops
			c.Server.SetDropAfter(at)
			_, r := pkcs11Sign(t, c, testpki.RSA2048, "01", data)
			if got := c.Server.Stats().Drops; got != drops+1 {
				t.Fatalf("the card was not pulled (drops %d → %d):\n%s", drops, got, r.out)
			}
			checkCleanFailure(t, "pkcs11-tool --sign", r)
			c.Reinsert(t)
			checkIntact(t, c, 3)
		})
	}
	sig, r := pkcs11Sign(t, c, testpki.RSA2048, "01", data)
	if r.err != nil {
		t.Fatalf("sign after the pulls: %v\n%s", r.err, r.out)
	}
	if err := opensslVerify(t, c, c.want.HSAAuth.Cert, data, sig); err != nil {
		t.Fatalf("signature after the pulls: %v", err)
	}
}

// TestPulledAroundVerifyPIN pulls the card right before and right after the
// VERIFY carrying a wrong PIN: a try is spent only when the VERIFY reached
// the card.
func TestPulledAroundVerifyPIN(t *testing.T) {
	need(t, "yubico-piv-tool")
	t.Parallel()
	tr := &traceLog{}
	c := newTestCard(t, testpki.RSA2048, vcard.RunOptions{Trace: tr})
	const wrongPIN = "99999999"

	// Where in yubico-piv-tool's exchange does the VERIFY with the PIN come?
	mark := tr.len()
	if r := verifyPIN(t, c, wrongPIN); r.err == nil {
		t.Fatalf("wrong PIN accepted:\n%s", r.out)
	}
	at := 0
	for i, line := range tr.since(mark) {
		if strings.Contains(line, "ins=20 ") && !strings.Contains(line, "capdu=5 ") && !strings.Contains(line, "capdu=4 ") {
			at = i + 1
		}
	}
	if at < 2 {
		t.Fatalf("no VERIFY with a PIN in the trace:\n%s", strings.Join(tr.since(mark), "\n"))
	}
	if r := verifyPIN(t, c, c.PIN); r.err != nil { // back to 3 tries
		t.Fatalf("right PIN refused: %v\n%s", r.err, r.out)
	}

	// Pulled just before the VERIFY: no try spent.
	c.Server.SetDropAfter(at - 1)
	checkCleanFailure(t, "verify-pin (pulled before its VERIFY)", verifyPIN(t, c, wrongPIN))
	c.Reinsert(t)
	checkIntact(t, c, 3)

	// Pulled right after the VERIFY: exactly the one try in flight spent.
	c.Server.SetDropAfter(at)
	checkCleanFailure(t, "verify-pin (pulled after its VERIFY)", verifyPIN(t, c, wrongPIN))
	c.Reinsert(t)
	checkIntact(t, c, 2)
}

// TestRemovedDuringPKCS11Sign pulls the card by hand (Server.Remove) while
// pkcs11-tool works with it, APDU by APDU at a slow card's pace.
func TestRemovedDuringPKCS11Sign(t *testing.T) {
	need(t, "pkcs11-tool", "yubico-piv-tool", openscModule)
	t.Parallel()
	c := newTestCard(t, testpki.RSA2048, vcard.RunOptions{Latency: 20 * time.Millisecond})
	start := c.Server.Stats().APDUs
	stop := make(chan struct{})
	pulled := make(chan bool, 1)
	go func() {
		// About half of a signature's ~60 APDUs.
		for c.Server.Stats().APDUs < start+25 {
			select {
			case <-stop:
				pulled <- false
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
		c.Server.Remove()
		pulled <- true
	}()
	began := time.Now()
	_, r := pkcs11Sign(t, c, testpki.RSA2048, "01", []byte("removed mid-signature"))
	close(stop)
	if !wait.Recv(t, pulled, 5*time.Second, "the pulling goroutine's outcome") {
		t.Fatalf("pkcs11-tool finished before the card was pulled:\n%s", r.out)
	}
	t.Logf("pkcs11-tool returned %v after it started", time.Since(began).Round(time.Millisecond))
	checkCleanFailure(t, "pkcs11-tool --sign", r)
	c.Reinsert(t)
	checkIntact(t, c, 3)
}
