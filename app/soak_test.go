package app_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/oob"
)

// soakSample is what might leak, at one moment.
type soakSample struct {
	at         int // logins or cycles done
	goroutines int
	fds        int // this process's open files (the agent runs in it)
	pcscdFDs   int // pcscd's open files: one per client connection, context and card handle
}

func sampleSoak(t *testing.T, at int) soakSample {
	t.Helper()
	// Let finished goroutines (closed connections, ended operations) go.
	var s soakSample
	for range 20 {
		runtime.GC()
		s = soakSample{at: at, goroutines: runtime.NumGoroutine(), fds: countFDs(t, os.Getpid()), pcscdFDs: countFDs(t, rig.Require(t).PID())}
		time.Sleep(50 * time.Millisecond)
		if n := runtime.NumGoroutine(); n == s.goroutines {
			break
		}
	}
	return s
}

func countFDs(t *testing.T, pid int) int {
	t.Helper()
	es, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

func soakCount(t *testing.T, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("%s=%q: want a positive count", name, v)
		}
		return n
	}
	return def
}

// checkGrowth fails when the last samples exceed the first after warm-up
// by more than a small slack (an idle keep-alive connection, a timer
// goroutine that comes and goes).
func checkGrowth(t *testing.T, what string, samples []soakSample) {
	t.Helper()
	if len(samples) < 3 {
		t.Fatalf("%s: %d samples, too few to judge", what, len(samples))
	}
	base, last := samples[1], samples[len(samples)-1] // samples[0] is before warm-up
	for _, s := range samples {
		t.Logf("%s at %d: goroutines %d, fds %d, pcscd fds %d", what, s.at, s.goroutines, s.fds, s.pcscdFDs)
	}
	if last.goroutines > base.goroutines+5 {
		t.Errorf("%s: goroutines grew from %d to %d", what, base.goroutines, last.goroutines)
	}
	if last.fds > base.fds+4 {
		t.Errorf("%s: file descriptors grew from %d to %d", what, base.fds, last.fds)
	}
	if last.pcscdFDs > base.pcscdFDs+3 {
		t.Errorf("%s: pcscd's open files (contexts and handles) grew from %d to %d", what, base.pcscdFDs, last.pcscdFDs)
	}
}

// TestSoak (make soak; skipped unless SITHSEID_SOAK=1): SOAK_LOGINS
// logins (default 1,000) through an agent's local API against the
// reference identity service, then SOAK_CYCLES (default 1,000) card
// pull/insert cycles with the agent watching (it reads the card back each
// time). Goroutines and file descriptors of this process (the agent's) and
// pcscd's open files (each PC/SC client context and card handle is a
// connection to pcscd) are sampled along the way; growth fails the test.
//
//	SITHSEID_SOAK=1 SOAK_LOGINS=50 SOAK_CYCLES=20 go test -run '^TestSoak$' -v ./app/
func TestSoak(t *testing.T) {
	testenv.OptIn(t, "SITHSEID_SOAK", "the soak test, make soak sets it to 1")
	logins := soakCount(t, "SOAK_LOGINS", 1000)
	cycles := soakCount(t, "SOAK_CYCLES", 1000)
	f := setup(t, cardkind.PIV, testpki.CardSpec{})
	// A service without the rate limits a soak would hit (20 requests a
	// second per address by default).
	idps := startFaultyIDPWith(t, idp.Options{RPRate: 1e6, RPBurst: 1e6, IPRate: 1e6, IPBurst: 1e6})
	f.rp = idps.RP
	f.env.ServiceURL = idps.URL
	svc := newService(t)
	ar := startAgent(t, svc, f.env, "")
	cl := dial(t, ar.Addr)
	ctx := context.Background()
	waitAgentCard(t, ar.Agent)

	every := max(1, logins/10)
	samples := []soakSample{sampleSoak(t, 0)}
	start := time.Now()
	for i := 1; i <= logins; i++ {
		o, err := f.rp.Auth(ctx, "127.0.0.1", "Logga in", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Login(ctx, app.LoginRequest{Link: oob.AutoStartURL(o.AutoStartToken, ""), Prompt: pinPrompt(vcard.DefaultPIN)}); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		if i%every == 0 || i == logins {
			samples = append(samples, sampleSoak(t, i))
		}
	}
	t.Logf("%d logins in %v", logins, time.Since(start).Round(time.Second))
	checkGrowth(t, "logins", samples)

	every = max(1, cycles/10)
	samples = []soakSample{sampleSoak(t, 0)}
	start = time.Now()
	for i := 1; i <= cycles; i++ {
		f.card.Pull(t)
		waitAgent(t, ar.Agent, "the card gone", func(s localapi.State) bool { return s.Card == nil })
		f.card.Reinsert(t)
		waitAgentCard(t, ar.Agent)
		if i%every == 0 || i == cycles {
			samples = append(samples, sampleSoak(t, i))
		}
	}
	t.Logf("%d insert/remove cycles in %v", cycles, time.Since(start).Round(time.Second))
	checkGrowth(t, "cycles", samples)
	if p, u := f.card.State.PINRetries(); p != 3 || u != 3 {
		t.Errorf("tries left after the soak: PIN %d PUK %d", p, u)
	}
	st, err := cl.Status(ctx, app.StatusOptions{})
	if err != nil || len(st.Cards) != 1 {
		t.Fatalf("status after the soak: %+v %v", st, err)
	}
}
