package cli_test

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/oob"
)

// The installation's device key: created at the first login (here, with no
// Secret Service, in the user's configuration directory, mode 0600), the
// same at the next, and the relying party sees its fingerprint in
// completionData.device.uhi.
func TestLoginDeviceKey(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus") // no keyring: the file fallback
	insert(t, 0, testpki.CardSpec{})
	s := startIDP(t)
	cfg := t.TempDir()
	env := map[string]string{"LANG": "sv_SE.UTF-8", "SITHSEID_NO_AGENT": "1", "HOME": t.TempDir(), "XDG_CONFIG_HOME": cfg}
	keyFile := filepath.Join(cfg, "sithseid", "device-key.pem")

	login := func() string {
		t.Helper()
		o := s.order(t, "Logga in")
		r := sithseidEnvStdin(t, env, "123456\n", "login", oob.AutoStartURL(o.AutoStartToken, ""), "--pin-stdin", "--env", "DEMO", "--service", s.URL)
		wantCode(t, r, 0)
		c := s.collect(t, o)
		if c.Status != oob.StatusComplete {
			t.Fatalf("collect: %+v", c)
		}
		return c.CompletionData.Device.UHI
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("a device key before the first login: %v", err)
	}
	first := login()
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatalf("no device key after the first login: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("device key file mode %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(keyFile)
	blk, _ := pem.Decode(data)
	if blk == nil {
		t.Fatal("device key file is not PEM")
	}
	pk, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatalf("device key: %v", err)
	}
	k, ok := pk.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("device key is a %T", pk)
	}
	spki, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if first != oob.DeviceUHI(spki) {
		t.Errorf("uhi %q is not the device key's fingerprint %q", first, oob.DeviceUHI(spki))
	}
	if len(first) != 43 {
		t.Fatalf("uhi %q", first)
	}
	if again := login(); again != first {
		t.Errorf("second login's uhi %q, first %q: the device key changed", again, first)
	}
}

// sithseidEnvStdin is sithseidEnv with standard input.
func sithseidEnvStdin(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errb strings.Builder
	code := cli.Run(t.Context(), cli.Env{
		Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] }, Version: "test",
	})
	return result{out.String(), errb.String(), code}
}
