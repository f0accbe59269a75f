package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// orgKey is an organisation's AES-192 management key shared by its PIV
// tokens (a test value).
const orgKey = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778"

// A PIV token whose management key is the organisation's, not a
// PIN-protected or default one: certificate removal needs that key, given
// by policy (pivManagementKeyFile) or by an administrator on stdin in hex.
func TestManagementKeyFromPolicyAndStdin(t *testing.T) {
	rig.Require(t).InsertCard(t, 0, vcard.ProvisionOptions{Dir: t.TempDir(), Spec: testpki.CardSpec{}, MgmtKey: orgKey}, vcard.RunOptions{})
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "piv-mgmt.key")
	write := func(content string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(keyFile, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(keyFile, mode); err != nil {
			t.Fatal(err)
		}
	}
	e := newConfigEnv(t, `{"language": "en", "pivManagementKeyFile": "`+keyFile+`"}`)
	certCount := func() int {
		t.Helper()
		return len(onlyCard(t, status(t)).Certificates)
	}
	before := certCount()

	// No key from policy yet (file absent): refused, nothing removed.
	r := sithseidEnvIn(t, e, "123456\n", "cert", "remove", "83", "--pin-stdin")
	if r.code == cli.ExitOK {
		t.Fatalf("removal without the key file: %s", r)
	}
	// A wrong key: the card refuses it, nothing removed.
	write(strings.Repeat("ab", 24)+"\n", 0o644)
	r = sithseidEnvIn(t, e, "123456\n", "cert", "remove", "83", "--pin-stdin")
	wantIn(t, r.stderr, "management key")
	// A key file others may write is refused before the card is asked.
	write(orgKey, 0o666)
	r = sithseidEnvIn(t, e, "123456\n", "cert", "remove", "83", "--pin-stdin")
	wantCode(t, r, cli.ExitUsage)
	wantIn(t, r.stderr, "pivManagementKeyFile")
	if n := certCount(); n != before {
		t.Fatalf("%d certificates after refused removals, want %d", n, before)
	}
	// The organisation's key from policy (colons and a newline allowed).
	var spaced strings.Builder
	for i := 0; i < len(orgKey); i += 2 {
		if i > 0 {
			spaced.WriteByte(':')
		}
		spaced.WriteString(orgKey[i : i+2])
	}
	write(spaced.String()+"\n", 0o644)
	r = sithseidEnvIn(t, e, "123456\n", "cert", "remove", "83", "--pin-stdin")
	wantCode(t, r, cli.ExitOK)
	if n := certCount(); n != before-1 {
		t.Fatalf("%d certificates after removal, want %d", n, before-1)
	}
	// An administrator's key on stdin (hex), without the policy's.
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	r = sithseidEnvIn(t, e, orgKey+"\n123456\n", "cert", "remove", "82", "--mgmt-key-stdin")
	wantCode(t, r, cli.ExitOK)
	r = sithseidEnvIn(t, e, "not-hex\n123456\n", "cert", "remove", "9c", "--mgmt-key-stdin")
	wantCode(t, r, cli.ExitUsage)
	if n := certCount(); n != before-2 {
		t.Fatalf("%d certificates at the end, want %d", n, before-2)
	}
	// The PIN was spent on none of the refusals.
	if c := onlyCard(t, status(t)); c.PIN.Retries != 3 {
		t.Fatalf("PIN: %+v", c.PIN)
	}
}
