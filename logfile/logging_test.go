package logfile_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/logfile"
)

func TestMaskPersonalNumbers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"199001012385", "19900101-XXXX"},
		{"pn=199001012385.", "pn=19900101-XXXX."},
		{"19900101-2385 and 19900101+2385", "19900101-XXXX and 19900101-XXXX"},
		{"SERIALNUMBER=199001612380,CN=x", "SERIALNUMBER=19900161-XXXX,CN=x"}, // coordination number
		{"a199001012385b", "a19900101-XXXXb"},
		{"two 200012312385 201202292385", "two 20001231-XXXX 20120229-XXXX"},
		// Not personal numbers: longer or shorter digit runs, impossible dates.
		{"1199001012385", "1199001012385"},
		{"1990010123851", "1990010123851"},
		{"19900101238", "19900101238"},
		{"199013012385", "199013012385"},
		{"199001322385", "199001322385"},
		{"123456", "123456"},
		{"12345678", "12345678"},
		{"card 9752280012345678901", "card 9752280012345678901"},
		{"", ""},
	} {
		if got := logfile.MaskPersonalNumbers(tc.in); got != tc.want {
			t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

type stringer struct{ s string }

func (s stringer) String() string { return s.s }

// The redacting handler masks personal numbers in the message, in string,
// error, Stringer and number attributes, in groups and in attributes added
// with With.
func TestRedactingHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(logfile.NewRedactingHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	const pn = "199001012385"
	log = log.With("holder", "Anna "+pn)
	log.Debug("reading card of "+pn,
		"err", fmt.Errorf("subject SERIALNUMBER=%s: %w", pn, errors.New("x")),
		"subject", stringer{"serialNumber=" + pn},
		"n", int64(199001012385),
		slog.Group("cert", "subject", "CN=Anna,SERIALNUMBER="+pn, "serial", "0a1b"),
		"struct", struct{ PN string }{pn},
		"count", 3,
	)
	out := buf.String()
	if strings.Contains(out, pn) || strings.Contains(out, "2385") {
		t.Fatalf("unmasked personal number in %s", out)
	}
	if strings.Count(out, "19900101-XXXX") != 7 {
		t.Errorf("want 7 masked numbers in %s", out)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["count"] != float64(3) || rec["cert"].(map[string]any)["serial"] != "0a1b" {
		t.Errorf("other attributes changed: %v", rec)
	}
}

func TestRotatingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log", "x.log")
	w, err := logfile.OpenRotatingFile(path, 1000, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// 8 writers × 200 lines of 50 bytes: 80 kB through files of 1000 bytes,
	// concurrently. Every line must come out whole.
	const writers, lines = 8, 200
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < lines; i++ {
				line := fmt.Sprintf("writer %d line %04d %s\n", g, i, strings.Repeat("x", 50-26))
				if _, err := w.Write([]byte(line)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	files := w.Files()
	want := []string{path, path + ".1", path + ".2"}
	if strings.Join(files, " ") != strings.Join(want, " ") {
		t.Fatalf("files %v", files)
	}
	if _, err := os.Stat(path + ".3"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a fourth file exists: %v", err)
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1000 {
			t.Errorf("%s: %d bytes", f, fi.Size())
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", f, fi.Mode().Perm())
		}
		fh, _ := os.Open(f)
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if len(sc.Text()) != 43 || !strings.HasPrefix(sc.Text(), "writer ") {
				t.Errorf("%s: torn line %q", f, sc.Text())
			}
		}
		fh.Close()
	}
	if fi, _ := os.Stat(filepath.Dir(path)); fi.Mode().Perm() != 0o700 {
		t.Errorf("log dir mode %v", fi.Mode().Perm())
	}
	// Reopening appends.
	w.Close()
	before, _ := os.Stat(path)
	w2, err := logfile.OpenRotatingFile(path, 1000, 3)
	if err != nil {
		t.Fatal(err)
	}
	w2.Write([]byte("again\n"))
	w2.Close()
	after, _ := os.Stat(path)
	if after.Size() != before.Size()+6 && after.Size() != 6 {
		t.Errorf("reopen: %d -> %d", before.Size(), after.Size())
	}
}

func TestOpenLogLevelAndRedaction(t *testing.T) {
	dir := t.TempDir()
	l, err := logfile.Open(logfile.Options{Dir: dir, Level: slog.LevelInfo})
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("hidden at info")
	l.Info("holder", "pn", "199001012385")
	l.Level.Set(slog.LevelDebug)
	l.Debug("shown at debug")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, logfile.LogFileName))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Contains(s, "hidden") || !strings.Contains(s, "shown at debug") || !strings.Contains(s, "19900101-XXXX") || strings.Contains(s, "2385") {
		t.Fatalf("log:\n%s", s)
	}
}

func TestLogDir(t *testing.T) {
	testenv.GOOS(t, "linux") // the XDG layout
	t.Setenv("XDG_STATE_HOME", "/state")
	d, err := logfile.Dir()
	if err != nil {
		t.Fatal(err)
	}
	if d != "/state/sithseid/log" {
		t.Errorf("LogDir with XDG_STATE_HOME = %s", d)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/anna")
	if d, _ := logfile.Dir(); d != "/home/anna/.local/state/sithseid/log" {
		t.Errorf("LogDir = %s", d)
	}
}
