//go:build unix

package localsocket_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/localsocket"
)

// A socket directory of another user is *NotOwnerError for Listen and
// Dial alike, not "nothing listens" (which read "SITHS eID is not
// running").
func TestForeignSocketDirectory(t *testing.T) {
	testenv.Root(t, "to give a directory to another uid")
	const other = 4242
	dir := filepath.Join(t.TempDir(), "sithseid")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, other, other); err != nil {
		t.Fatal(err)
	}
	addr := filepath.Join(dir, "agent.sock")

	_, err := localsocket.Dial(context.Background(), addr)
	var no *localsocket.NotOwnerError
	if !errors.As(err, &no) || no.Path != dir || no.UID != other || no.Want != os.Getuid() {
		t.Fatalf("Dial: want *NotOwnerError for %s, got %T %v", dir, err, err)
	}
	if errors.Is(err, localsocket.ErrNotListening) {
		t.Fatalf("Dial: also 'not listening': %v", err)
	}
	if _, err := localsocket.Listen(addr, func(string) error { return nil }); !errors.As(err, &no) {
		t.Fatalf("Listen: want *NotOwnerError, got %T %v", err, err)
	}
}

// A dead socket of another user, in a directory of ours: the connect
// fails, and the error names the socket's owner, not "nothing listens".
// (A live one is left to the agent's peer check: agent tests.)
func TestForeignDeadSocket(t *testing.T) {
	testenv.Root(t, "to give a file to another uid")
	addr := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if err := os.Lchown(addr, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	_, err = localsocket.Dial(context.Background(), addr)
	var no *localsocket.NotOwnerError
	if !errors.As(err, &no) || no.Path != addr || errors.Is(err, localsocket.ErrNotListening) {
		t.Fatalf("want *NotOwnerError for the socket, got %T %v", err, err)
	}
}
