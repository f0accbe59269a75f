package ui_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/startup"
	"github.com/sithseid/sithseid/ui"
)

// A --lang or SITHSEID_LANG that a policy lock overrules is ignored; the
// window process shows nothing of it (no window text, nothing on stderr
// but its usage) and logs it; a --lang equal to the policy's value is not
// logged (issue 14 item 6). The view is one the ui does not know, so it
// stops after reading its command line, without a window.
func TestUILogsFlagsPolicyOverrules(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policy, []byte(`{"language": "sv"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	restore := startup.SetPolicyForTest(policy, "")
	defer restore()
	for _, tc := range []struct {
		args      []string
		env       map[string]string
		want, not []string
	}{
		{[]string{"nosuchview", "--lang", "en"}, nil, []string{`"flag":"--lang"`, `"key":"language"`, `"value":"sv"`}, nil},
		{[]string{"nosuchview"}, map[string]string{"SITHSEID_LANG": "en"}, []string{`"variable":"SITHSEID_LANG"`}, nil},
		{[]string{"nosuchview", "--lang", "sv"}, nil, nil, []string{"ignored"}},
	} {
		var stderr, logb bytes.Buffer
		env := map[string]string{"LANG": "en_US.UTF-8", "HOME": dir, "XDG_CONFIG_HOME": dir}
		for k, v := range tc.env {
			env[k] = v
		}
		code := ui.Run(context.Background(), ui.Env{Args: tc.args, Stderr: &stderr, Getenv: func(k string) string { return env[k] },
			Log: slog.New(slog.NewJSONHandler(&logb, nil))})
		if code != 2 {
			t.Fatalf("ui %v: exit %d, want 2", tc.args, code)
		}
		got := logb.String()
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("ui %v %v: log lacks %s:\n%s", tc.args, tc.env, w, got)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(got, n) {
				t.Errorf("ui %v: log has %q:\n%s", tc.args, n, got)
			}
		}
		// The policy's language, and no word of the ignored flag.
		if !strings.Contains(stderr.String(), "Användning: sithseid ui VY") || strings.Contains(stderr.String(), "ignor") || strings.Contains(stderr.String(), "låst") {
			t.Errorf("ui %v: stderr %q; want the usage in Swedish only", tc.args, stderr.String())
		}
	}
}
