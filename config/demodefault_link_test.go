package config_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

// The -X flag scripts/packages links the installed packages with really
// turns DEMO off (a renamed variable would make -X a silent no-op), and a
// build without it leaves DEMO on.
func TestReleaseLinkTurnsDemoOff(t *testing.T) {
	testenv.Short(t, "builds a program")
	script, err := os.ReadFile("../scripts/packages")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^release_x="([^"]+)"$`).FindSubmatch(script)
	if m == nil {
		t.Fatal(`scripts/packages has no release_x="-X …" line`)
	}
	if !strings.Contains(string(script), "$release_x") {
		t.Fatal("scripts/packages does not pass $release_x to its builds")
	}
	for _, tt := range []struct {
		ldflags, want string
	}{
		{string(m[1]), "false"},
		{"", "true"},
	} {
		bin := filepath.Join(t.TempDir(), "demodefault")
		args := []string{"build", "-o", bin}
		if tt.ldflags != "" {
			args = append(args, "-ldflags", tt.ldflags)
		}
		out, err := exec.Command("go", append(args, "./testdata/demodefault")...).CombinedOutput()
		if err != nil {
			t.Fatalf("go build %v: %v\n%s", args, err, out)
		}
		got, err := exec.Command(bin).Output()
		if err != nil {
			t.Fatal(err)
		}
		if s := strings.TrimSpace(string(got)); s != tt.want {
			t.Errorf("linked with %q: DemoDefault() = %s, want %s", tt.ldflags, s, tt.want)
		}
	}
}
