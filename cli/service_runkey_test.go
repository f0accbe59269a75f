package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/autostart"
)

// On Windows the MSI's machine-wide Run value (HKLM) starts the agent:
// "service status" says autostart is on, lists both entries and which one
// is in force (it used to say "Autostart is not installed").
func TestServiceStatusShowsMachineWideRunKey(t *testing.T) {
	const cmd = `"C:\Program Files\SITHS eID\sithseid.exe" agent`
	machine := autostart.Entry{Method: autostart.MachineRunKey, MachineWide: true, InForce: true,
		Path: autostart.MachineRunKeyPath + `\SITHS eID`, Command: cmd}
	user := autostart.Entry{Method: autostart.RunKey, Path: autostart.RunKeyPath + `\SITHS eID`, Command: cmd}
	run := func(t *testing.T, lang string, entries []autostart.Entry, args ...string) string {
		t.Helper()
		old := autostartState
		autostartState = func(context.Context, autostart.Options) ([]autostart.Entry, error) { return entries, nil }
		defer func() { autostartState = old }()
		var out, errb bytes.Buffer
		env := map[string]string{"LANG": lang, "HOME": t.TempDir(), "XDG_RUNTIME_DIR": t.TempDir()}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if code := Run(ctx, Env{Args: append([]string{"service", "status"}, args...), Stdout: &out, Stderr: &errb,
			Getenv: func(k string) string { return env[k] }, Version: "test"}); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		return out.String()
	}

	t.Run("MSI only", func(t *testing.T) {
		out := run(t, "en_US.UTF-8", []autostart.Entry{machine})
		if strings.Contains(out, "not installed") || !strings.Contains(out, `HKLM\Software\Microsoft\Windows\CurrentVersion\Run\SITHS eID`) ||
			!strings.Contains(out, "all users") {
			t.Errorf("output:\n%s", out)
		}
		var st serviceStatus
		if err := json.Unmarshal([]byte(run(t, "en_US.UTF-8", []autostart.Entry{machine}, "--json")), &st); err != nil {
			t.Fatal(err)
		}
		if !st.Installed || len(st.Entries) != 1 || !st.Entries[0].MachineWide || !st.Entries[0].InForce {
			t.Errorf("--json: %+v", st)
		}
	})
	t.Run("both", func(t *testing.T) {
		out := run(t, "sv_SE.UTF-8", []autostart.Entry{machine, user})
		for _, want := range []string{"alla användare", "gäller:", "behövs inte", `HKCU\Software\Microsoft\Windows\CurrentVersion\Run\SITHS eID`} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q in:\n%s", want, out)
			}
		}
	})
	t.Run("machine-wide turned off", func(t *testing.T) {
		off := machine
		off.InForce, off.Disabled = false, true
		out := run(t, "en_US.UTF-8", []autostart.Entry{off})
		if !strings.Contains(out, "not installed") || !strings.Contains(out, "turned off in Task Manager") {
			t.Errorf("output:\n%s", out)
		}
	})
}
