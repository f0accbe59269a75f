package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/logfile"
	"github.com/sithseid/sithseid/oob"
)

// A failed command is logged by its name only: a sithseid: link's
// autostart token is a live secret while the order is pending, so neither
// it nor any other argument reaches the log file (or a diag archive).
func TestFailedCommandLogsNoArguments(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	const token = "5f0e6a2c-1d3b-4c7e-9a8f-0b1c2d3e4f50"
	link := oob.AutoStartURL(token, "")
	cases := [][]string{
		{"login", link, "--pin-stdin", "--env", "DEMO", "--service", "https://127.0.0.1:1"},
		{link},
		{"qr", link, "--out", filepath.Join(t.TempDir(), "x.png"), "--env", "DEMO", "--service", "https://127.0.0.1:1"},
		{"cert", "remove", token},
	}
	env := map[string]string{"LANG": "en_US.UTF-8", "SITHSEID_NO_AGENT": "1", "HOME": t.TempDir(), "XDG_STATE_HOME": state}
	for _, args := range cases {
		var out, errb strings.Builder
		code := cli.Run(t.Context(), cli.Env{
			Args: args, Stdin: strings.NewReader("123456\n"), Stdout: &out, Stderr: &errb,
			Getenv: func(k string) string { return env[k] }, Version: "test", LogToFile: true,
		})
		if code == cli.ExitOK {
			t.Fatalf("%v succeeded: %s", args[0], out.String())
		}
	}
	data, err := os.ReadFile(filepath.Join(state, "sithseid", "log", logfile.LogFileName))
	if err != nil {
		t.Fatal(err)
	}
	log := string(data)
	for _, want := range []string{`"cmd":"login"`, `"cmd":"cert remove"`, `"cmd":"qr"`, `"cmd":"[argument]"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, token) || strings.Contains(log, "123456") {
		t.Errorf("the log holds the token or the PIN:\n%s", log)
	}
}
