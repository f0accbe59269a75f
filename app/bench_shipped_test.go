package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/desktoptest"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
	"github.com/sithseid/sithseid/localapi"
)

// The insertion benchmarks run the shipped binary (bin/sithseid, built
// from this module into a temporary directory) as the agent, and count the
// APDUs from outside with the virtual card's own counter, as
// "sithseid-vcard ctl stats" would: what the product sends, not what a
// function the benchmark picked sends.

// shippedBinary builds the product's binary (the module's main package,
// as "go build -o bin/ ./" does) into a directory of b's and returns its
// path (desktoptest.BuildSithseid).
func shippedBinary(b *testing.B) string {
	b.Helper()
	return desktoptest.BuildSithseid(b)
}

// shippedEnv is the environment of one user session for the shipped
// binary: its own home, runtime, state and config directories, the rig's
// pcscd, no session bus (no tray), no configured environment.
func shippedEnv(b *testing.B) (env []string, run string) {
	home := b.TempDir()
	run = filepath.Join(home, "run")
	if err := os.MkdirAll(run, 0o700); err != nil {
		b.Fatal(err)
	}
	for _, kv := range rig.Current().Env() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "HOME", "XDG_RUNTIME_DIR", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "DBUS_SESSION_BUS_ADDRESS", "SITHSEID_ENV", "SITHSEID_NO_AGENT", "SITHSEID_BACKEND":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+home, "XDG_RUNTIME_DIR="+run, "XDG_STATE_HOME="+filepath.Join(home, "state"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"), "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/sithseid-bench-bus", "LANG=sv_SE.UTF-8")
	return env, run // the default backends (auto), as installed
}

// shippedAgent is bin/sithseid agent --foreground, in a session of its own.
type shippedAgent struct {
	cmd  *exec.Cmd
	addr string
	env  []string
	out  bytes.Buffer
	done chan struct{}
}

// startShippedAgent starts the agent and returns at once (the clock of
// "start to ready" runs from here).
func startShippedAgent(b *testing.B, bin string, k cardkind.Kind) *shippedAgent {
	env, run := shippedEnv(b)
	a := &shippedAgent{addr: filepath.Join(run, "sithseid", "agent.sock"), env: env, done: make(chan struct{})}
	a.cmd = exec.Command(bin, "agent", "--foreground", "--socket", a.addr, "--no-tray")
	a.cmd.Env = env
	a.cmd.Stdout, a.cmd.Stderr = &a.out, &a.out
	if err := a.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { _ = a.cmd.Wait(); close(a.done) }()
	b.Cleanup(a.stop)
	return a
}

func (a *shippedAgent) stop() {
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(5 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
}

// subscribe dials the agent (waiting for its socket) and subscribes to its
// state.
func (a *shippedAgent) subscribe(b *testing.B, ctx context.Context) <-chan localapi.Event {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := localapi.DialAddress(ctx, a.addr)
		if err == nil {
			events, err := c.Subscribe(ctx)
			if err == nil {
				context.AfterFunc(ctx, func() { c.Close() })
				return events
			}
			c.Close()
		}
		select {
		case <-a.done:
			b.Fatalf("the agent ended: %s", a.out.String())
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("the agent did not answer within 30 s: %v\n%s", err, a.out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitState waits for an event whose state satisfies ok.
func waitState(b *testing.B, events <-chan localapi.Event, what string, ok func(localapi.State) bool) {
	b.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, open := <-events:
			if !open {
				b.Fatalf("subscription ended before %s", what)
			}
			if ev.State != nil && ok(*ev.State) {
				return
			}
		case <-timeout:
			b.Fatalf("no %s within 30 s", what)
		}
	}
}

// waitInserted waits for the agent's card-inserted notification (its
// monitor saw the card: pcscd polls the virtual reader every 400 ms, a
// delay no client controls) and returns when it came.
func waitInserted(b *testing.B, events <-chan localapi.Event) time.Time {
	b.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, open := <-events:
			if !open {
				b.Fatal("subscription ended before the card-inserted notification")
			}
			if ev.Notification != nil && ev.Notification.Kind == localapi.NotifyCardInserted {
				return time.Now()
			}
		case <-timeout:
			b.Fatal("no card-inserted notification within 30 s")
		}
	}
}

// cardReady: the agent shows the card with its holder and tries, and no
// operation runs.
func cardReady(st localapi.State) bool {
	return st.Card != nil && st.Card.Holder.HSAID != "" && st.Card.PIN.Retries == 3 && st.Busy == ""
}

func cardGone(st localapi.State) bool { return st.Card == nil }

// settledAPDUs waits until the card's APDU counter has not moved for 1 s
// (the agent's last exchange of a read may land after the state it
// publishes, and its read of the card after an operation comes after the
// operation's answer) and returns it. This is a measurement, not a synchronisation:
// APDUs sent later would be counted, not missed.
func settledAPDUs(card *rig.Card) int64 {
	n := card.Server.Stats().APDUs
	for still := time.Now(); time.Since(still) < time.Second; time.Sleep(50 * time.Millisecond) {
		if m := card.Server.Stats().APDUs; m != n {
			n, still = m, time.Now()
		}
	}
	return n
}

// statusCmd runs "sithseid status --json" against the agent (the command a
// user or script runs), returning its wall time.
func (a *shippedAgent) statusCmd(b *testing.B, bin string) time.Duration {
	cmd := exec.Command(bin, "status", "--json")
	cmd.Env = a.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("sithseid status: %v\n%s", err, errb.String())
	}
	d := time.Since(start)
	var st app.Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil || len(st.Cards) != 1 || st.Cards[0].PIN.Retries != 3 {
		b.Fatalf("sithseid status: %v\n%s", err, out.String())
	}
	return d
}

// insertionFigures are one kind's figures of the shipped agent.
type insertionFigures struct {
	cold, reinsert, status             []time.Duration
	coldAPDUs, reinsertAPDUs, statusAP int64
}

// measureShippedInsertion runs, benchReps times, a fresh agent process with
// k's card in the reader (cold: nothing cached anywhere) until it shows the
// card ready; then the card pulled and put back (re-insertion: the agent
// has seen it) until ready again; then "sithseid status --json" answered by
// that agent.
func measureShippedInsertion(b *testing.B, bin string, card *rig.Card, k cardkind.Kind) (f insertionFigures) {
	var coldN, reN, stN []int64
	defer func() { f.coldAPDUs, f.reinsertAPDUs, f.statusAP = medianN(coldN), medianN(reN), medianN(stN) }()
	for range benchReps {
		ctx, cancel := context.WithCancel(context.Background())
		before, start := card.Server.Stats().APDUs, time.Now()
		a := startShippedAgent(b, bin, k)
		events := a.subscribe(b, ctx)
		waitState(b, events, "card ready after start", cardReady)
		f.cold = append(f.cold, time.Since(start))
		coldN = append(coldN, settledAPDUs(card)-before)

		card.Pull(b)
		waitState(b, events, "card gone", cardGone)
		before = card.Server.Stats().APDUs
		card.Reinsert(b)
		seen := waitInserted(b, events)
		waitState(b, events, "card ready after re-insertion", cardReady)
		f.reinsert = append(f.reinsert, time.Since(seen))
		reN = append(reN, settledAPDUs(card)-before)

		before = card.Server.Stats().APDUs
		f.status = append(f.status, a.statusCmd(b, bin))
		stN = append(stN, settledAPDUs(card)-before)
		cancel()
		a.stop()
	}
	return f
}

// measureShippedCerts runs, benchReps times, "sithseid certs --json
// --backend auto" with no agent, a fresh process in a session of its own
// (its own home, runtime and config directories: nothing cached): it reads
// the card itself. Its time is the whole process's; its APDUs are what the
// card received while it ran. It is the peer's work from the peer's
// starting point: the card's identity and its certificates, no tries (the
// command shows none, as pkcs15-tool --list-pins shows none); cli
// TestCertsReadsOnlyTheCertificates checks the APDUs one by one.
func measureShippedCerts(b *testing.B, bin string, card *rig.Card, k cardkind.Kind) (ds []time.Duration, apdus int64) {
	var ns []int64
	for range benchReps {
		env, _ := shippedEnv(b)
		cmd := exec.Command(bin, "certs", "--json", "--backend", "auto")
		cmd.Env = env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		before, start := card.Server.Stats().APDUs, time.Now()
		err := cmd.Run()
		d := time.Since(start)
		n := card.Server.Stats().APDUs - before
		var certs []app.CertStatus
		if err != nil || json.Unmarshal(out.Bytes(), &certs) != nil || len(certs) != k.Certificates {
			b.Fatalf("sithseid certs --json: %v, %d certificates, want %d\n%s%s", err, len(certs), k.Certificates, out.String(), errb.String())
		}
		ds, ns = append(ds, d), append(ns, n)
	}
	return ds, medianN(ns)
}

// BenchmarkInsertion: the shipped agent (bin/sithseid agent) on each kind
// of card, the IDPrime card SITHS holders carry and a PIV card: from the
// process's start to the card shown ready (holder, certificates, PIN and
// PUK tries) with nothing cached (cold), the card pulled and put back
// (re-insertion), and "sithseid status" answered by the running agent;
// time and APDUs counted by the virtual card. The peers do the same work
// (certificates and the PINs' tries) from the same starting point, each a
// whole process: "pkcs15-tool --list-certificates --list-pins" with
// OpenSC's file cache off (cold) and on and filled (cached), and on the
// PIV card "yubico-piv-tool -a status" (no cache). The agent reads the
// PIN's and PUK's tries, which it shows and pkcs15-tool does not read; so
// the peer's own work is measured too, with the same binary: "sithseid
// certs --json" with no agent, a fresh process, nothing cached
// (insertion_*_certs_cold_*), against the same pkcs15-tool runs.
func BenchmarkInsertion(b *testing.B) {
	once(b, "shipped-insertion", func(b *testing.B) {
		bin := shippedBinary(b)
		for _, k := range []struct {
			kind cardkind.Kind
			name string
		}{{cardkind.IDPrime, "idprime"}, {cardkind.PIV, "piv"}} {
			shippedInsertion(b, bin, k.kind, k.name)
		}
	})
}

func shippedInsertion(b *testing.B, bin string, k cardkind.Kind, name string) {
	card := benchCard(b, k.Provision(vcard.ProvisionOptions{}))
	defer func() { _ = card.Stop() }()
	f := measureShippedInsertion(b, bin, card, k)
	p := "insertion_" + name + "_agent_"
	cold, re, st := ms(median(f.cold)), ms(median(f.reinsert)), ms(median(f.status))
	report(b, p+"cold_start_to_ready_ms", cold, "ms")
	report(b, p+"cold_start_to_ready_apdus", float64(f.coldAPDUs), "apdus")
	report(b, p+"reinsertion_to_ready_ms", re, "ms")
	report(b, p+"reinsertion_to_ready_apdus", float64(f.reinsertAPDUs), "apdus")
	report(b, p+"status_command_ms", st, "ms")
	report(b, p+"status_command_apdus", float64(f.statusAP), "apdus")
	certsD, certsAPDUs := measureShippedCerts(b, bin, card, k)
	cp := "insertion_" + name + "_certs_"
	cc := ms(median(certsD))
	report(b, cp+"cold_ms", cc, "ms")
	report(b, cp+"cold_apdus", float64(certsAPDUs), "apdus")

	// pkcs15-tool: certificates and PINs (with their tries), cold and
	// with OpenSC's file cache filled by an earlier run.
	args := []string{"--list-certificates", "--list-pins", "--reader", "0"}
	var pcold, pcached []time.Duration
	var pcoldAPDUs, pcachedAPDUs int64
	cachedEnv := openscConf(b, true)
	openscPeer(b, card, cachedEnv, "pkcs15-tool", args...) // fills its cache
	for range benchReps {
		d, n := openscPeer(b, card, openscConf(b, false), "pkcs15-tool", args...)
		pcold, pcoldAPDUs = append(pcold, d), n
		d, n = openscPeer(b, card, cachedEnv, "pkcs15-tool", args...)
		pcached, pcachedAPDUs = append(pcached, d), n
	}
	pp := "peer_" + name + "_pkcs15tool_certs_pins_"
	pc, pw := ms(median(pcold)), ms(median(pcached))
	report(b, pp+"cold_ms", pc, "ms")
	report(b, pp+"cold_apdus", float64(pcoldAPDUs), "apdus")
	report(b, pp+"cached_ms", pw, "ms")
	report(b, pp+"cached_apdus", float64(pcachedAPDUs), "apdus")
	report(b, p+"cold_vs_pkcs15tool_cold_ms_ratio", cold/pc, "ratio")
	report(b, p+"cold_vs_pkcs15tool_cold_apdus_ratio", float64(f.coldAPDUs)/float64(pcoldAPDUs), "ratio")
	report(b, p+"reinsertion_vs_pkcs15tool_cached_ms_ratio", re/pw, "ratio")
	report(b, p+"reinsertion_vs_pkcs15tool_cached_apdus_ratio", float64(f.reinsertAPDUs)/float64(pcachedAPDUs), "ratio")
	report(b, cp+"cold_vs_pkcs15tool_cold_ms_ratio", cc/pc, "ratio")
	report(b, cp+"cold_vs_pkcs15tool_cold_apdus_ratio", float64(certsAPDUs)/float64(pcoldAPDUs), "ratio")
	if k.Name == cardkind.PIV.Name {
		home := b.TempDir()
		var ypt []time.Duration
		var yptAPDUs int64
		for range benchReps {
			d, n := peer(b, card, home, "yubico-piv-tool", "-r", card.Reader, "-a", "status")
			ypt, yptAPDUs = append(ypt, d), n
		}
		y := ms(median(ypt))
		report(b, "peer_piv_yubicopivtool_status_cold_ms", y, "ms")
		report(b, "peer_piv_yubicopivtool_status_cold_apdus", float64(yptAPDUs), "apdus")
		report(b, p+"cold_vs_yubicopivtool_cold_ms_ratio", cold/y, "ratio")
		report(b, p+"cold_vs_yubicopivtool_cold_apdus_ratio", float64(f.coldAPDUs)/float64(yptAPDUs), "ratio")
	}
}

// medianN is the median of counts (the APDUs of each repetition: one that
// caught the agent's read late does not decide the figure).
func medianN(ns []int64) int64 {
	s := slices.Clone(ns)
	slices.Sort(s)
	return s[len(s)/2]
}
