package localapi

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/internal/testkit/leakscan"
)

// An answer frame, written as the Client writes it (encodeFrame) and read
// as the Server reads it (lineReader, readFrame), leaves no copy of its
// secret once the line, the reader's buffer, the encoded frame and the
// decoded secret are wiped: a child process does exactly that with a PIN
// it reads from stdin, and this test searches the child's whole memory
// (internal/testkit/leakscan) for the PIN in every encoding, base64 (the
// frame's) included. A json.Decoder's buffer or json.Marshal's pooled
// encoder would each keep the base64.
func TestFrameCodecLeavesNoCopy(t *testing.T) {
	if os.Getenv("LOCALAPI_WIPE_CHILD") == "1" {
		frameCodecChild()
		return
	}
	pin := make([]byte, 8)
	for i := range pin {
		var b [1]byte
		_, _ = rand.Read(b[:])
		pin[i] = '0' + b[0]%10
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFrameCodecLeavesNoCopy$")
	cmd.Env = append(os.Environ(), "LOCALAPI_WIPE_CHILD=1")
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { in.Close(); _ = cmd.Wait() }()
	if _, err := in.Write(append(pin, '\n')); err != nil {
		t.Fatal(err)
	}
	var b [64]byte
	n, _ := io.ReadAtLeast(out, b[:], 3)
	if got := string(b[:n]); !strings.HasPrefix(got, "ok") {
		t.Fatalf("child: %q", got)
	}
	fs, st, err := leakscan.New(string(pin)).Process(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		t.Errorf("the child's memory: %s", f)
	}
	t.Logf("searched %d mappings, %d MB", st.Mappings, st.Bytes>>20)
}

// frameCodecChild reads a PIN from stdin into a buffer of its own, sends
// it through encodeFrame and readFrame as an answer, checks the round
// trip, wipes every buffer it holds and says "ok", then waits for stdin to
// close while the parent reads its memory.
func frameCodecChild() {
	var in [16]byte
	n, _ := os.Stdin.Read(in[:])
	pin := in[:bytes.IndexByte(in[:n], '\n')]
	f := frame{Type: frameAnswer, ID: 7, Seq: 1, Secret: pin}
	enc, err := encodeFrame(&f)
	clear(in[:])
	if err != nil {
		os.Stdout.WriteString("encode: " + err.Error())
		return
	}
	lr := newLineReader(bytes.NewReader(enc))
	got, err := readFrame(lr, true)
	clear(enc)
	lr.wipe()
	if err != nil {
		os.Stdout.WriteString("decode: " + err.Error())
		return
	}
	ok := len(got.Secret) == 8 && got.Type == frameAnswer && got.Seq == 1
	got.wipe()
	if !ok {
		os.Stdout.WriteString("round trip lost the secret")
		return
	}
	runtime.KeepAlive(lr)
	os.Stdout.WriteString("ok\n")
	var b [1]byte
	_, _ = os.Stdin.Read(b[:])
}
