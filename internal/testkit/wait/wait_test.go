package wait

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestRecv(t *testing.T) {
	ch := make(chan int, 1)
	ch <- 7
	if got := Recv(t, ch, time.Second, "seven"); got != 7 {
		t.Fatalf("Recv = %d, want 7", got)
	}
	close(ch)
	if got := Recv(t, ch, time.Second, "closed"); got != 0 {
		t.Fatalf("Recv on a closed channel = %d, want 0", got)
	}
	if _, ok := TryRecv(make(chan int), 20*time.Millisecond); ok {
		t.Fatal("TryRecv on a silent channel reported a value")
	}
}

func TestFor(t *testing.T) {
	n := 0
	For(t, time.Second, "three calls", func() bool { n++; return n == 3 })
	if n != 3 {
		t.Fatalf("cond called %d times, want 3", n)
	}
	if Until(30*time.Millisecond, func() bool { return false }) {
		t.Fatal("Until reported a condition that never holds")
	}
}

// A lost event fails the test, by its deadline, and names the event: run in
// a child process so the failure is observed, not suffered.
func TestDeadlineFails(t *testing.T) {
	switch os.Getenv("WAIT_CHILD") {
	case "recv":
		Recv(t, make(chan struct{}), 50*time.Millisecond, "the lost event")
		return
	case "for":
		For(t, 50*time.Millisecond, "the false condition", func() bool { return false })
		return
	}
	for _, c := range []struct{ child, want string }{
		{"recv", "the lost event: nothing after 50ms"},
		{"for", "the false condition: not after 50ms"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDeadlineFails$", "-test.v", "-test.timeout=20s")
		cmd.Env = append(os.Environ(), "WAIT_CHILD="+c.child)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--- FAIL") || !strings.Contains(string(out), c.want) {
			t.Errorf("%s: want a failure saying %q, got err=%v\n%s", c.child, c.want, err, out)
		}
	}
}
