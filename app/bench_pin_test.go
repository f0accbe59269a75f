package app_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// BenchmarkPINChange: "sithseid pin change --pin-stdin" with the shipped
// binary, through the running agent (the usual case: the agent has seen
// the card) and as a whole process without an agent (nothing cached), on
// the IDPrime and the PIV card; on the PIV card also "sithseid pin
// unblock". Time and APDUs counted by the virtual card. The peers do the
// same change as a whole process: on the IDPrime card "pkcs11-tool
// --change-pin" over OpenSC's module (file cache off), on the PIV card
// "yubico-piv-tool -a change-pin" and "-a unblock-pin". The codes are the
// test card's public test values.
func BenchmarkPINChange(b *testing.B) {
	once(b, "pin", func(b *testing.B) {
		bin := shippedBinary(b)
		pinChange(b, bin, cardkind.IDPrime, "idprime")
		pinChange(b, bin, cardkind.PIV, "piv")
	})
}

// sithseidRun runs the shipped binary with stdin and env, returning its
// wall time and the APDUs the card saw by the time it is quiet again.
func sithseidRun(b *testing.B, bin string, card *rig.Card, env []string, stdin string, args ...string) (time.Duration, int64) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	before, start := card.Server.Stats().APDUs, time.Now()
	pinTraceMark(start, "start "+strings.Join(args, " "))
	err := cmd.Start()
	pinTraceMark(time.Now(), "started")
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		b.Fatalf("sithseid %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	d := time.Since(start)
	pinTraceMark(time.Now(), fmt.Sprintf("end %.1f ms", ms(d)))
	return d, settledAPDUs(card) - before
}

// pinTrace, when SITHSEID_BENCH_PIN_TRACE names a file, gets the virtual
// card's trace (one line per APDU, ending at its time, with its own
// duration) and a line as each command starts and ends: where the time of
// a change goes, against the clock of the command.
var pinTrace *agenttest.SyncBuffer

func pinTraceMark(t time.Time, what string) {
	if pinTrace != nil {
		fmt.Fprintf(pinTrace, "%s ---- %s\n", t.UTC().Format("15:04:05.000000"), what)
	}
}

func pinChange(b *testing.B, bin string, k cardkind.Kind, name string) {
	const pinA, pinB = "24681357", "97531864"
	var opts vcard.RunOptions
	if path := os.Getenv("SITHSEID_BENCH_PIN_TRACE"); path != "" {
		pinTrace = &agenttest.SyncBuffer{}
		opts.Trace = pinTrace
		defer func() {
			if err := os.WriteFile(path+"."+name, []byte(pinTrace.String()), 0o600); err != nil {
				b.Error(err)
			}
			pinTrace = nil
		}()
	}
	card := benchCardWith(b, k.Provision(vcard.ProvisionOptions{PIN: pinA}), opts)
	defer func() { _ = card.Stop() }()
	cur, next := pinA, pinB
	swap := func() { cur, next = next, cur }
	p := "pin_" + name + "_"

	// Through the agent.
	a := startShippedAgent(b, bin, k)
	ctx, cancel := context.WithCancel(context.Background())
	waitState(b, a.subscribe(b, ctx), "card ready", cardReady)
	var agentChange, agentUnblock []time.Duration
	var agentChangeN, agentUnblockN []int64
	for range benchReps {
		d, n := sithseidRun(b, bin, card, a.env, cur+"\n"+next+"\n", "pin", "change", "--pin-stdin")
		agentChange, agentChangeN = append(agentChange, d), append(agentChangeN, n)
		swap()
		if k.Name == cardkind.PIV.Name {
			d, n = sithseidRun(b, bin, card, a.env, vcard.DefaultPUK+"\n"+next+"\n", "pin", "unblock", "--pin-stdin")
			agentUnblock, agentUnblockN = append(agentUnblock, d), append(agentUnblockN, n)
			swap()
		}
	}
	cancel()
	a.stop()

	// A whole process, no agent.
	env, _ := shippedEnv(b)
	env = append(env, "SITHSEID_NO_AGENT=1")
	var cold []time.Duration
	var coldN []int64
	for range benchReps {
		d, n := sithseidRun(b, bin, card, env, cur+"\n"+next+"\n", "pin", "change", "--pin-stdin")
		cold, coldN = append(cold, d), append(coldN, n)
		swap()
	}

	var peerChange, peerUnblock []time.Duration
	var peerChangeAPDUs, peerUnblockAPDUs int64
	peerName := "pkcs11tool"
	home := b.TempDir()
	for range benchReps {
		var d time.Duration
		var n int64
		if k.Name == cardkind.PIV.Name {
			peerName = "yubicopivtool"
			d, n = peer(b, card, home, "yubico-piv-tool", "-r", card.Reader, "-a", "change-pin", "-P", cur, "-N", next)
		} else {
			d, n = openscPeer(b, card, openscConf(b, false), "pkcs11-tool", "--module", cardkind.OpenSCModule, "--slot-index", "0",
				"--change-pin", "--login", "--pin", cur, "--new-pin", next)
		}
		peerChange, peerChangeAPDUs = append(peerChange, d), n
		swap()
		if k.Name == cardkind.PIV.Name {
			d, n = peer(b, card, home, "yubico-piv-tool", "-r", card.Reader, "-a", "unblock-pin", "-P", vcard.DefaultPUK, "-N", next)
			peerUnblock, peerUnblockAPDUs = append(peerUnblock, d), n
			swap()
		}
	}
	if pin, _ := card.State.PINRetries(); pin != 3 {
		b.Fatalf("PIN tries left %d after the benchmark", pin)
	}
	agentChangeAPDUs, coldAPDUs := medianN(agentChangeN), medianN(coldN)
	ac, cc, pc := ms(median(agentChange)), ms(median(cold)), ms(median(peerChange))
	report(b, p+"change_via_agent_ms", ac, "ms")
	report(b, p+"change_via_agent_apdus", float64(agentChangeAPDUs), "apdus")
	report(b, p+"change_no_agent_cold_ms", cc, "ms")
	report(b, p+"change_no_agent_cold_apdus", float64(coldAPDUs), "apdus")
	pp := "peer_" + name + "_" + peerName + "_change_pin_cold_"
	report(b, pp+"ms", pc, "ms")
	report(b, pp+"apdus", float64(peerChangeAPDUs), "apdus")
	report(b, p+"change_via_agent_vs_"+peerName+"_cold_ms_ratio", ac/pc, "ratio")
	report(b, p+"change_via_agent_vs_"+peerName+"_cold_apdus_ratio", float64(agentChangeAPDUs)/float64(peerChangeAPDUs), "ratio")
	report(b, p+"change_no_agent_cold_vs_"+peerName+"_cold_ms_ratio", cc/pc, "ratio")
	report(b, p+"change_no_agent_cold_vs_"+peerName+"_cold_apdus_ratio", float64(coldAPDUs)/float64(peerChangeAPDUs), "ratio")
	if len(agentUnblock) > 0 {
		agentUnblockAPDUs := medianN(agentUnblockN)
		au, pu := ms(median(agentUnblock)), ms(median(peerUnblock))
		report(b, p+"unblock_via_agent_ms", au, "ms")
		report(b, p+"unblock_via_agent_apdus", float64(agentUnblockAPDUs), "apdus")
		report(b, "peer_"+name+"_"+peerName+"_unblock_pin_cold_ms", pu, "ms")
		report(b, "peer_"+name+"_"+peerName+"_unblock_pin_cold_apdus", float64(peerUnblockAPDUs), "apdus")
		report(b, p+"unblock_via_agent_vs_"+peerName+"_cold_ms_ratio", au/pu, "ratio")
		report(b, p+"unblock_via_agent_vs_"+peerName+"_cold_apdus_ratio", float64(agentUnblockAPDUs)/float64(peerUnblockAPDUs), "ratio")
	}
}
