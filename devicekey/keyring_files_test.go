//go:build unix

package devicekey_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/sithseid/sithseid/devicekey"
	"github.com/sithseid/sithseid/internal/atomicfile"
)

func writeKeyPEM(t *testing.T, path string, mode os.FileMode) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return k
}

// A fallback key file with mode 0644 is set to 0600 and the log says so;
// the key in it is still the installation's key.
func TestDeviceKeyFileLooseModeFixed(t *testing.T) {
	keyring.MockInitWithError(errors.New("org.freedesktop.secrets was not provided"))
	defer keyring.MockInit()
	dir := t.TempDir()
	path := filepath.Join(dir, devicekey.DeviceKeyFile)
	want := writeKeyPEM(t, path, 0o644)
	var log bytes.Buffer
	store := &devicekey.Store{Dir: dir, Log: slog.New(slog.NewTextHandler(&log, nil))}
	k, src, err := store.DeviceKey(context.Background())
	if err != nil || src != devicekey.KeyInFile || !k.Equal(want) {
		t.Fatalf("%v %v same=%v", src, err, err == nil && k.Equal(want))
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("key file left %v", st.Mode().Perm())
	}
	if !strings.Contains(log.String(), "mode set to 0600") || !strings.Contains(log.String(), "-rw-r--r--") {
		t.Errorf("no log line for the loose key file: %s", log.String())
	}
}

// A link planted at the key file's name (to a key someone else knows) is
// not used and not replaced: DeviceKey fails and says why.
func TestDeviceKeyFileSymlinkRefused(t *testing.T) {
	keyring.MockInitWithError(errors.New("org.freedesktop.secrets was not provided"))
	defer keyring.MockInit()
	dir := t.TempDir()
	planted := filepath.Join(t.TempDir(), "planted.pem")
	writeKeyPEM(t, planted, 0o644)
	before, _ := os.ReadFile(planted)
	link := filepath.Join(dir, devicekey.DeviceKeyFile)
	if err := os.Symlink(planted, link); err != nil {
		t.Fatal(err)
	}
	store := &devicekey.Store{Dir: dir}
	k, src, err := store.DeviceKey(context.Background())
	if !errors.Is(err, atomicfile.ErrSymlink) {
		t.Fatalf("got %v %v %v, want ErrSymlink", k != nil, src, err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the planted link was replaced: %v", err)
	}
	if after, _ := os.ReadFile(planted); !bytes.Equal(before, after) {
		t.Error("the link's target was written")
	}
	if st, _ := os.Stat(planted); st.Mode().Perm() != 0o644 {
		t.Errorf("the link's target was chmodded: %v", st.Mode().Perm())
	}
}

// A link planted where the key file is to be created (dangling, to a
// path another user would then read) is refused, not written through.
func TestDeviceKeyFileDanglingSymlinkRefused(t *testing.T) {
	keyring.MockInitWithError(errors.New("org.freedesktop.secrets was not provided"))
	defer keyring.MockInit()
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "stolen.pem")
	link := filepath.Join(dir, devicekey.DeviceKeyFile)
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	_, _, err := (&devicekey.Store{Dir: dir}).DeviceKey(context.Background())
	if !errors.Is(err, atomicfile.ErrSymlink) {
		t.Fatalf("err %v, want ErrSymlink", err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the key was written through the link: %v", err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the planted link was replaced: %v", err)
	}
}
