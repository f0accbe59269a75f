package devicekey_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/sithseid/sithseid/devicekey"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// The real keyring tests run in a child process, this test binary started
// again with keyringChildEnv set: the child needs its own D-Bus session
// (dbus-run-session) or none, and go-keyring's provider is process-global
// (MockInit cannot be undone). init runs the child's part before TestMain,
// so the child starts no pcscd.
const (
	keyringChildEnv = "SITHSEID_TEST_KEYRING_CHILD"
	keyringDirEnv   = "SITHSEID_TEST_KEYRING_DIR"
)

// childReport is what a child prints on its last line.
type childReport struct {
	Sources  []devicekey.Source
	SameKey  bool
	FileMode string
	Elapsed  time.Duration
	Log      string
	Errors   []string
}

func init() {
	mode := os.Getenv(keyringChildEnv)
	if mode == "" {
		return
	}
	rep := runKeyringChild(mode, os.Getenv(keyringDirEnv))
	b, _ := json.Marshal(rep)
	fmt.Println(string(b))
	os.Exit(0)
}

func runKeyringChild(mode, dir string) (rep childReport) {
	fail := func(format string, args ...any) { rep.Errors = append(rep.Errors, fmt.Sprintf(format, args...)) }
	var logBuf bytes.Buffer
	store := &devicekey.Store{
		Dir:     dir,
		Service: "SITHS eID test",
		Timeout: 2 * time.Second,
		Log:     slog.New(slog.NewTextHandler(&logBuf, nil)),
	}
	if mode == "hang" {
		// A session bus that accepts connections and never answers.
		sock := filepath.Join(dir, "bus")
		l, err := net.Listen("unix", sock)
		if err != nil {
			fail("listen: %v", err)
			return rep
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		os.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+sock)
		store.Timeout = 300 * time.Millisecond
	}
	ctx := context.Background()
	start := time.Now()
	k1, s1, err := store.DeviceKey(ctx)
	rep.Elapsed = time.Since(start)
	if err != nil {
		fail("first DeviceKey: %v", err)
		return rep
	}
	k2, s2, err := store.DeviceKey(ctx)
	if err != nil {
		fail("second DeviceKey: %v", err)
		return rep
	}
	rep.Sources = []devicekey.Source{s1, s2}
	rep.SameKey = k1.Equal(k2)
	rep.Log = logBuf.String()
	path, _ := store.FallbackPath()
	if fi, err := os.Stat(path); err == nil {
		rep.FileMode = fi.Mode().Perm().String()
	}
	if mode == "secret-service" {
		// Read it back with go-keyring directly: it really is in the
		// Secret Service, not just in our process.
		if v, err := keyring.Get("SITHS eID test", devicekey.DeviceKeyUser); err != nil || len(v) < 100 {
			fail("keyring.Get: %d chars, %v", len(v), err)
		}
		if err := store.Delete(ctx); err != nil {
			fail("Delete: %v", err)
		}
		if _, err := keyring.Get("SITHS eID test", devicekey.DeviceKeyUser); !errors.Is(err, keyring.ErrNotFound) {
			fail("after Delete: %v", err)
		}
	}
	return rep
}

func runChild(t *testing.T, mode string, cmd *exec.Cmd, extraEnv ...string) childReport {
	t.Helper()
	dir := t.TempDir()
	cmd.Env = append(os.Environ(), keyringChildEnv+"="+mode, keyringDirEnv+"="+dir, "HOME="+dir)
	cmd.Env = append(cmd.Env, extraEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.Output(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("child %s hung; stderr:\n%s", mode, stderr.String())
	}
	if err != nil {
		t.Fatalf("child %s: %v\nstdout:\n%s\nstderr:\n%s", mode, err, out, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var rep childReport
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil {
		t.Fatalf("child %s: %v\n%s\nstderr:\n%s", mode, err, out, stderr.String())
	}
	for _, e := range rep.Errors {
		t.Error(e)
	}
	return rep
}

// A real round trip through the Secret Service: gnome-keyring-daemon on a
// private session bus.
func TestDeviceKeySecretService(t *testing.T) {
	for _, tool := range []string{"dbus-run-session", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, "%s not installed", tool)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dbus-run-session", "--", "sh", "-c",
		`eval "$(printf pass | gnome-keyring-daemon --unlock --components=secrets)"; "$0" -test.run='^$'; rc=$?; kill "$GNOME_KEYRING_PID" 2>/dev/null; exit $rc`, self)
	rep := runChild(t, "secret-service", cmd)
	if len(rep.Sources) != 2 || rep.Sources[0] != devicekey.KeyInKeyring || rep.Sources[1] != devicekey.KeyInKeyring || !rep.SameKey {
		t.Fatalf("sources %v same %v", rep.Sources, rep.SameKey)
	}
	if rep.FileMode != "" {
		t.Errorf("a fallback file was written (%s) though the keyring worked", rep.FileMode)
	}
	if strings.Contains(rep.Log, "no usable OS keyring") {
		t.Errorf("fallback warning logged: %s", rep.Log)
	}
}

// No session bus at all: the key goes to the fallback file, mode 0600,
// with a warning in the log.
func TestDeviceKeyNoBus(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rep := runChild(t, "nobus", exec.Command(self, "-test.run=^$"),
		"DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/sithseid-test-bus")
	if len(rep.Sources) != 2 || rep.Sources[0] != devicekey.KeyInFile || rep.Sources[1] != devicekey.KeyInFile || !rep.SameKey {
		t.Fatalf("sources %v same %v", rep.Sources, rep.SameKey)
	}
	if rep.FileMode != "-rw-------" {
		t.Errorf("fallback file mode %q", rep.FileMode)
	}
	if !strings.Contains(rep.Log, "no usable OS keyring") || !strings.Contains(rep.Log, devicekey.DeviceKeyFile) {
		t.Errorf("no clear warning: %s", rep.Log)
	}
}

// A bus that never answers: the keyring call is abandoned after its
// timeout and the fallback serves, instead of hanging startup.
func TestDeviceKeyHungBus(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rep := runChild(t, "hang", exec.Command(self, "-test.run=^$"))
	if len(rep.Sources) != 2 || rep.Sources[0] != devicekey.KeyInFile || !rep.SameKey {
		t.Fatalf("sources %v same %v", rep.Sources, rep.SameKey)
	}
	if rep.Elapsed > 2*time.Second {
		t.Errorf("first DeviceKey took %v with a 300 ms keyring timeout", rep.Elapsed)
	}
	if !strings.Contains(rep.Log, "did not answer in time") {
		t.Errorf("log does not say the keyring timed out: %s", rep.Log)
	}
}

// With go-keyring's in-memory mock: created once, then read back; a
// keyring that fails sends the key to the file; a key already in the file
// is kept when the keyring comes back empty (same installation, same key).
func TestDeviceKeyMock(t *testing.T) {
	keyring.MockInit()
	dir := t.TempDir()
	store := &devicekey.Store{Dir: dir}
	ctx := context.Background()
	k1, src, err := store.DeviceKey(ctx)
	if err != nil || src != devicekey.KeyInKeyring {
		t.Fatalf("%v %v", src, err)
	}
	k2, src, err := store.DeviceKey(ctx)
	if err != nil || src != devicekey.KeyInKeyring || !k1.Equal(k2) {
		t.Fatalf("second: %v %v same=%v", src, err, k1.Equal(k2))
	}
	if k1.Curve.Params().Name != "P-256" {
		t.Errorf("curve %s", k1.Curve.Params().Name)
	}
	if _, err := os.Stat(filepath.Join(dir, devicekey.DeviceKeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("fallback file with a working keyring: %v", err)
	}

	other := &devicekey.Store{Dir: dir, Service: "other"}
	keyring.MockInitWithError(errors.New("org.freedesktop.secrets was not provided"))
	k3, src, err := other.DeviceKey(ctx)
	if err != nil || src != devicekey.KeyInFile {
		t.Fatalf("failing keyring: %v %v", src, err)
	}
	keyring.MockInit()
	k4, src, err := other.DeviceKey(ctx)
	if err != nil || src != devicekey.KeyInFile || !k3.Equal(k4) {
		t.Fatalf("keyring back: %v %v same=%v", src, err, k3.Equal(k4))
	}
	if err := other.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, devicekey.DeviceKeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Delete left the file: %v", err)
	}
}
