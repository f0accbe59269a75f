//go:build unix

package startup_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/localsocket"
	"github.com/sithseid/sithseid/startup"
)

// Connect-or-start meets a socket directory of another user: it says so
// (*localsocket.NotOwnerError) and starts no agent, rather than "not
// running".
func TestConnectForeignSocketDirectory(t *testing.T) {
	testenv.Root(t, "to give a directory to another uid")
	dir := filepath.Join(t.TempDir(), "sithseid")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	s := &startup.Session{Getenv: func(string) string { return "" }}
	_, err := s.Connect(context.Background(), filepath.Join(dir, "agent.sock"), true)
	var no *localsocket.NotOwnerError
	if !errors.As(err, &no) || errors.Is(err, localapi.ErrNoAgent) {
		t.Fatalf("want *NotOwnerError and not ErrNoAgent, got %T %v", err, err)
	}
}
