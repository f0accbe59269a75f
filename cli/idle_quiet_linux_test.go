package cli_test

import (
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// TestIdleAgentWithTrayIsQuiet: the shipped agent with a card and its
// tray shown on a session bus (a fake panel) is woken at most 0.1 times a
// second once it has settled: nothing of its own (the agent, the tray,
// fyne.io/systray, godbus) polls or ticks; what may remain is the Go
// runtime's (sysmon sleeps at most a minute; a GC is forced every two).
// A period in which the card was read (the rig's pcscd reported a removal
// and insertion: APDUs) is work, not idleness: the test measures a next
// period then, up to three.
func TestIdleAgentWithTrayIsQuiet(t *testing.T) {
	testenv.Short(t, "a shipped agent idle for 30 s")
	const period = 30 * time.Second
	card := insert(t, 0, testpki.CardSpec{})
	exe := shippedBinary(t)
	agent := startShippedAgent(t, exe, t.TempDir(), true)
	pid := agent.cmd.Process.Pid
	for try := 1; ; try++ {
		st := settle(t, []int{pid}, 2*time.Second, 60*time.Second)
		apdus0 := card.Server.Stats().APDUs
		_, w0 := procTimes(t, pid)
		time.Sleep(period) // the measured period itself
		_, w1 := procTimes(t, pid)
		apdus := card.Server.Stats().APDUs - apdus0
		rate := float64(w1-w0) / period.Seconds()
		t.Logf("period %d: %d wake-ups in %v (%.3f/s), %d APDUs; settled after %v (%d wake-ups)", try, w1-w0, period, rate, apdus, st.took.Round(time.Millisecond), st.wakeups)
		if apdus > 0 && try < 3 {
			continue
		}
		if apdus > 0 {
			t.Fatalf("the card was read in each of %d periods: no idle period to judge", try)
		}
		if rate > 0.1 {
			t.Fatalf("idle agent with tray: %d wake-ups in %v (%.3f/s), want <= 0.1/s", w1-w0, period, rate)
		}
		return
	}
}
