package leakscan

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/testenv"
)

const (
	pin = "73914682"
	puk = "20583917"
)

// found reports whether s finds secret in hay in encoding enc (a prefix
// of the encoding's name).
func found(s *Scanner, hay []byte, secret, enc string) bool {
	for _, f := range s.Bytes("test", hay) {
		if f.Secret == secret && strings.HasPrefix(f.Encoding, enc) {
			return true
		}
	}
	return false
}

// The test of the test: a log line with the PIN as little-endian hex
// words, as a traceback prints a function's argument words, is found, at
// every alignment of the PIN in the words, with the words' leading zeros
// dropped as the runtime drops them.
func TestFindsLittleEndianHexInALog(t *testing.T) {
	s := New(pin, puk)
	for _, size := range []int{8, 4} {
		for a := range size {
			mem := bytes.Repeat([]byte{0}, a)
			mem = append(mem, pin...)
			for len(mem)%size != 0 {
				mem = append(mem, 0)
			}
			var words []string
			for i := 0; i < len(mem); i += size {
				if size == 8 {
					words = append(words, fmt.Sprintf("%#x", binary.LittleEndian.Uint64(mem[i:])))
				} else {
					words = append(words, fmt.Sprintf("%#x", binary.LittleEndian.Uint32(mem[i:])))
				}
			}
			var log bytes.Buffer
			slog.New(slog.NewJSONHandler(&log, nil)).Debug("verify", "args", strings.Join(words, ", "))
			slog.New(slog.NewJSONHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})).Debug("verify", "args", strings.Join(words, ", "))
			if !found(s, log.Bytes(), pin, "little-endian") {
				t.Errorf("%d-byte words, offset %d: the PIN as little-endian hex was not found in %s", size, a, log.String())
			}
			if found(s, log.Bytes(), puk, "") {
				t.Errorf("the PUK was found in a log that holds only the PIN: %v", s.Bytes("log", log.Bytes()))
			}
		}
	}
}

// Every encoding the Scanner names is found when a log holds the PIN so,
// amid other text, at every alignment the encoding has.
func TestFindsEachEncoding(t *testing.T) {
	s := New(pin)
	b64 := func(enc *base64.Encoding, k int) []byte {
		// k bytes of other data before the PIN in one encoded value.
		return []byte(enc.EncodeToString(append(append([]byte("ab")[:k], pin...), "xyz"...)))
	}
	utf16 := func(be bool) []byte {
		var out []byte
		for _, c := range []byte(pin) {
			if be {
				out = append(out, 0, c)
			} else {
				out = append(out, c, 0)
			}
		}
		return out
	}
	cases := map[string][]byte{
		"raw":              []byte(pin),
		"hex":              []byte(hex.EncodeToString([]byte(pin))),
		"UTF-16LE":         utf16(false),
		"UTF-16BE":         utf16(true),
		"JSON \\u escapes": []byte(`"\u0037\u0033\u0039\u0031\u0034\u0036\u0038\u0032"`),
		"hex dump":         []byte("0010  37 33 39 31 34 36 38 32  00 00 00 00 00 00 00 00"),
		"traceback bytes":  []byte("main.arr({0x37, 0x33, 0x39, 0x31, 0x34, 0x36, 0x38, 0x32}, 0x0?)"),
		"little-endian 8":  []byte("main.f(0x3238363431393337)"),
		"base64, offset 0": b64(base64.StdEncoding, 0),
		"base64, offset 1": b64(base64.StdEncoding, 1),
		"base64, offset 2": b64(base64.StdEncoding, 2),
	}
	seen := map[string]bool{}
	for enc, payload := range cases {
		hay := append(append([]byte(`{"level":"DEBUG","msg":"x","v":"`), payload...), `"}`...)
		fs := s.Bytes("log", hay)
		ok := false
		for _, f := range fs {
			seen[f.Encoding] = true
			ok = ok || strings.HasPrefix(f.Encoding, enc)
		}
		if !ok {
			t.Errorf("%s: not found in %q (found %v)", enc, hay, fs)
		}
	}
	// No encoding of the list goes untested. (A PIN of digits has no
	// letters in hex and no + or / in base64: HEX and base64url are the
	// same needles, left out.)
	for _, enc := range Encodings(pin) {
		if strings.HasPrefix(enc, "little-endian") || strings.HasPrefix(enc, "base64url") {
			continue // every alignment: TestFindsLittleEndianHexInALog; the alphabet: above
		}
		if !seen[enc] {
			t.Errorf("encoding %q is never exercised", enc)
		}
	}
}

// Text without the secrets finds nothing: timestamps, ports, counters and
// a goroutine dump of this process.
func TestNothingInCleanText(t *testing.T) {
	s := New(pin, puk)
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	hay := append(buf, []byte(`{"time":"2026-12-02T03:44:01.739146+01:00","port":39146,"n":8205839,"pid":73914}`)...)
	if fs := s.Bytes("clean", hay); len(fs) > 0 {
		t.Fatalf("found a secret in clean text: %v", fs)
	}
}

//go:noinline
func holdArray(p [8]byte, ch chan struct{}) { <-ch }

// A real goroutine dump of a process whose goroutine holds the PIN as an
// array argument finds it ("traceback bytes"): the search that tracebacks
// need, on the runtime's own output.
func TestFindsPINInARealGoroutineDump(t *testing.T) {
	if os.Getenv("LEAKSCAN_CHILD") == "1" {
		ch := make(chan struct{})
		go holdArray([8]byte([]byte(pin)), ch)
		runtime.Gosched()
		for i := 0; i < 1000 && !strings.Contains(string(stack()), "holdArray"); i++ {
			runtime.Gosched()
		}
		panic("dump")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFindsPINInARealGoroutineDump$")
	cmd.Env = append(os.Environ(), "LEAKSCAN_CHILD=1", "GOTRACEBACK=all")
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "holdArray") {
		t.Fatalf("no dump of holdArray:\n%s", out)
	}
	if !found(New(pin), out, pin, "") {
		t.Fatalf("the PIN in the goroutine dump was not found:\n%s", out)
	}
}

func stack() []byte {
	buf := make([]byte, 1<<20)
	return buf[:runtime.Stack(buf, true)]
}

// A process's memory: this test's own child holds the PIN in a buffer and
// its base64, and Process finds both.
func TestProcessFindsASecretInMemory(t *testing.T) {
	if os.Getenv("LEAKSCAN_CHILD") == "mem" {
		b := []byte(strings.Repeat("-", 100) + pin)
		e := base64.StdEncoding.EncodeToString([]byte("x" + pin))
		os.Stdout.WriteString("ready\n")
		var line [1]byte
		_, _ = os.Stdin.Read(line[:])
		runtime.KeepAlive(b)
		runtime.KeepAlive(e)
		return
	}
	testenv.GOOS(t, "linux") // /proc/PID/mem
	cmd := exec.Command(os.Args[0], "-test.run=^TestProcessFindsASecretInMemory$")
	cmd.Env = append(os.Environ(), "LEAKSCAN_CHILD=mem")
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { in.Close(); _ = cmd.Wait() }()
	var b [6]byte
	if _, err := out.Read(b[:]); err != nil || string(b[:5]) != "ready" {
		t.Fatalf("child: %q %v", b, err)
	}
	fs, st, err := New(pin).Process(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	var raw, b64 bool
	for _, f := range fs {
		raw = raw || f.Encoding == "raw"
		b64 = b64 || strings.HasPrefix(f.Encoding, "base64, offset 1")
	}
	if !raw || !b64 {
		t.Fatalf("raw %v, base64 %v in %d mappings (%d bytes): %v", raw, b64, st.Mappings, st.Bytes, fs)
	}
	t.Logf("read %d mappings, %d MB, %d unreadable", st.Mappings, st.Bytes>>20, st.Unreadable)
}
