package piv

import (
	"context"
	"testing"
	"time"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// identityOnInsert is what the agent does when the monitor reports a card:
// open it with the backend, then get its identity through the cache.
func identityOnInsert(t testing.TB, cache *cardreader.IdentityCache, reader string) cardreader.Identity {
	t.Helper()
	ctx := context.Background()
	c, err := cardreader.Open(ctx, cardreader.Reader{Name: reader, CardPresent: true}, New(Options{Cache: cache}))
	if err != nil {
		t.Fatal(err)
	}
	id, err := cache.Identity(ctx, c, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestInsertionCost measures the APDUs and time from "card inserted" to
// "identity ready", first (certificates read) and repeated (cache hit).
func TestInsertionCost(t *testing.T) {
	vc, _ := insert(t, vcard.ProvisionOptions{}, vcard.RunOptions{}, Options{})
	cache := cardreader.NewIdentityCache(0)

	before, start := apdus(vc), time.Now()
	id := identityOnInsert(t, cache, vc.Reader)
	first, firstTime := apdus(vc)-before, time.Since(start)
	if id.HSAID == "" {
		t.Fatal("no HSA-ID")
	}

	vc.Pull(t)
	rig.WaitAbsent(t, vc.Reader)
	vc.Reinsert(t)

	before, start = apdus(vc), time.Now()
	again := identityOnInsert(t, cache, vc.Reader)
	repeat, repeatTime := apdus(vc)-before, time.Since(start)
	if again.HSAID != id.HSAID || again.CardNumber != id.CardNumber {
		t.Errorf("cached identity differs: %+v", again)
	}
	t.Logf("first insertion: %d APDUs, %v; repeated: %d APDUs, %v", first, firstTime, repeat, repeatTime)
	if repeat > 5 {
		t.Errorf("repeated insertion cost %d APDUs, want a handful", repeat)
	}
	if repeat >= first {
		t.Errorf("the cache saved nothing: %d then %d APDUs", first, repeat)
	}
}

// BenchmarkInsertion reports APDUs per identity for a first insertion (cold
// cache) and a repeated one (warm cache), with vcard's default latency (none)
// and with a real card's (-latency: ~10 ms per APDU is typical of contact
// cards).
func BenchmarkInsertion(b *testing.B) {
	for _, lat := range []time.Duration{0, 10 * time.Millisecond} {
		vc, _ := insert(b, vcard.ProvisionOptions{}, vcard.RunOptions{Latency: lat}, Options{})
		for _, warm := range []bool{false, true} {
			name := map[bool]string{false: "first", true: "repeated"}[warm]
			b.Run(name+"/latency="+lat.String(), func(b *testing.B) {
				cache := cardreader.NewIdentityCache(0)
				if warm {
					identityOnInsert(b, cache, vc.Reader)
				}
				before := apdus(vc)
				b.ResetTimer()
				for range b.N {
					if !warm {
						cache = cardreader.NewIdentityCache(0)
					}
					identityOnInsert(b, cache, vc.Reader)
				}
				b.ReportMetric(float64(apdus(vc)-before)/float64(b.N), "APDUs/op")
			})
		}
		vc.Stop()
	}
}

// TestIdleSendsNoAPDUs: a monitor running with a card present sends no
// APDU while nothing happens, and sees the card pulled and put back.
func TestIdleSendsNoAPDUs(t *testing.T) {
	vc, _ := insert(t, vcard.ProvisionOptions{}, vcard.RunOptions{}, Options{})
	m := cardreader.NewMonitor(context.Background(), cardreader.MonitorOptions{})
	defer m.Close()
	waitEvent(t, m, cardreader.CardInserted, vc.Reader)
	idle := 10 * time.Second
	if testing.Short() {
		idle = 3 * time.Second
	}
	before := apdus(vc)
	time.Sleep(idle)
	if n := apdus(vc) - before; n != 0 {
		t.Errorf("%d APDUs in %v idle", n, idle)
	}
	// Our own operations, which reset the card after a PIN, are not
	// reported as the card leaving and coming back.
	c, err := New(Options{}).Open(context.Background(), cardreader.Reader{Name: vc.Reader})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.VerifyPIN(context.Background(), secret(vc.PIN)); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-m.Events():
		t.Errorf("event after VerifyPIN: %+v", e)
	case <-time.After(time.Second):
	}
	before = apdus(vc)
	vc.Server.Remove()
	waitEvent(t, m, cardreader.CardRemoved, vc.Reader)
	vc.Reinsert(t)
	e := waitEvent(t, m, cardreader.CardInserted, vc.Reader)
	if len(e.Reader.ATR) == 0 {
		t.Error("no ATR")
	}
	if n := apdus(vc) - before; n != 0 {
		t.Errorf("the monitor sent %d APDUs", n)
	}
}

func waitEvent(t *testing.T, m *cardreader.Monitor, k cardreader.EventKind, reader string) cardreader.Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-m.Events():
			if e.Kind == k && e.Reader.Name == reader {
				return e
			}
		case <-deadline:
			t.Fatalf("no %v in %s", k, reader)
		}
	}
}
