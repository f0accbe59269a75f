package ui_test

import (
	"bytes"
	"fmt"
	"image"
	_ "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// TestUIFirstFrame (make bench; skipped unless SITHSEID_BENCH_UI=1): the
// UI process's cost, "sithseid ui status" started against a running agent
// under Xvfb (Mesa software GL), five times: the time until its window is
// mapped, the time until the window shows a drawn frame (a capture with
// more than a handful of colours: text and widgets, not a blank fill), and
// the process's RSS two seconds later. Medians as BENCH lines. Polling
// costs ~20 ms (window) and one capture (~50–100 ms with ImageMagick's
// import), which bounds the resolution.
//
//	SITHSEID_BENCH_UI=1 go test -count=1 -run '^TestUIFirstFrame$' -v ./ui/
func TestUIFirstFrame(t *testing.T) {
	testenv.OptIn(t, "SITHSEID_BENCH_UI", "a benchmark, make bench sets it to 1")
	d := startX(t)
	a := startAgent(t, cardkind.PIV, testpki.CardSpec{})
	bin := sithseid(t)
	var mapped, framed []time.Duration
	var rss []float64
	for range 5 {
		before := map[string]bool{}
		for _, id := range strings.Fields(d.search()) {
			before[id] = true
		}
		home := t.TempDir()
		cmd := exec.Command(bin, "ui", "status", "--socket", a.addr)
		cmd.Env = append(os.Environ(), d.env...)
		cmd.Env = append(cmd.Env, "LANG=sv_SE.UTF-8", "LC_ALL=", "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
			"XDG_STATE_HOME="+filepath.Join(home, ".state"), "XDG_RUNTIME_DIR="+filepath.Join(home, "run"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		id := ""
		for deadline := time.Now().Add(30 * time.Second); id == ""; time.Sleep(20 * time.Millisecond) {
			for _, w := range strings.Fields(d.search()) {
				if !before[w] {
					id = w
				}
			}
			select {
			case err := <-done:
				t.Fatalf("sithseid ui status exited: %v\n%s", err, stderr.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("no window within 30 s\n%s", stderr.String())
			}
		}
		mapped = append(mapped, time.Since(start))
		for deadline := time.Now().Add(30 * time.Second); ; {
			if colours(t, d, id) > 8 {
				framed = append(framed, time.Since(start))
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the window shows no drawn frame within 30 s")
			}
		}
		time.Sleep(2 * time.Second)
		rss = append(rss, rssMB(t, cmd.Process.Pid))
		_ = cmd.Process.Kill()
		<-done
	}
	med := func(ds []time.Duration) float64 {
		s := append([]time.Duration(nil), ds...)
		for i := range s {
			for j := i + 1; j < len(s); j++ {
				if s[j] < s[i] {
					s[i], s[j] = s[j], s[i]
				}
			}
		}
		return float64(s[len(s)/2].Microseconds()) / 1000
	}
	medF := func(fs []float64) float64 {
		s := append([]float64(nil), fs...)
		for i := range s {
			for j := i + 1; j < len(s); j++ {
				if s[j] < s[i] {
					s[i], s[j] = s[j], s[i]
				}
			}
		}
		return s[len(s)/2]
	}
	line := func(name string, v float64, unit string) {
		fmt.Printf("BENCH %s %s %s\n", name, strconv.FormatFloat(v, 'f', 3, 64), unit)
	}
	line("ui_status_window_mapped_ms", med(mapped), "ms")
	line("ui_status_first_frame_ms", med(framed), "ms")
	line("ui_status_rss_mb", medF(rss), "MB")
}

// colours counts distinct colours in a capture of window id (up to 64).
func colours(t *testing.T, d *display, id string) int {
	cmd := exec.Command("import", "-window", id, "png:-")
	cmd.Env = append(os.Environ(), d.env...)
	out, err := cmd.Output()
	if err != nil {
		return 0 // not drawable yet
	}
	img, _, err := image.Decode(bytes.NewReader(out))
	if err != nil {
		return 0
	}
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			if len(seen) >= 64 {
				return len(seen)
			}
		}
	}
	return len(seen)
}

func rssMB(t *testing.T, pid int) float64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
