package app_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/testkit/agenttest"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// The IDPrime benchmarks: the card SITHS holders carry (the virtual IDPrime
// 940 under the idprime-usb timing profile), the native backend against
// OpenSC's idprime driver doing the same work on the same card in the same
// run. Each figure is named for what it compares; docs/performance.md
// explains them.

// openscConf writes an opensc.conf with OpenSC's file cache on or off and
// returns the environment that makes OpenSC's tools and module use it
// (with a HOME of its own, where the cache lives).
func openscConf(b *testing.B, caching bool) []string {
	dir := b.TempDir()
	conf := filepath.Join(dir, "opensc.conf")
	if err := os.WriteFile(conf, []byte("app default {\n\tframework pkcs15 {\n\t\tuse_file_caching = "+strconv.FormatBool(caching)+";\n\t}\n}\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	return []string{"OPENSC_CONF=" + conf, "HOME=" + dir}
}

// openscPeer runs an OpenSC tool on card with env and returns its wall
// time and the APDUs the card saw.
func openscPeer(b *testing.B, card *rig.Card, env []string, name string, args ...string) (time.Duration, int64) {
	b.Helper()
	if _, err := exec.LookPath(name); err != nil {
		b.Fatalf("%s not installed (scripts/setup installs opensc): %v", name, err)
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(append(os.Environ(), rig.Current().Env()...), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	before, start := card.Server.Stats().APDUs, time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("%s %s: %v\n%s", name, args[0], err, strings.ReplaceAll(out.String(), vcard.DefaultPIN, "[PIN]"))
	}
	return d, card.Server.Stats().APDUs - before
}

// idprimeBenchCard puts an IDPrime card with the timing profile in reader 0.
func idprimeBenchCard(b *testing.B, prov vcard.ProvisionOptions) *rig.Card {
	return benchCard(b, cardkind.IDPrime.Provision(prov))
}

// statusReady runs Service.Status and checks that it found the card whole.
func statusReady(b *testing.B, ctx context.Context, svc *app.Service) {
	st, err := svc.Status(ctx, app.StatusOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if len(st.Cards) != 1 || st.Cards[0].Holder.HSAID == "" || st.Cards[0].Error != "" || st.Cards[0].PIN.Retries != 3 {
		b.Fatalf("status: %+v", st.Cards)
	}
}

// BenchmarkIDPrimePINChange: a PIN change through app.Service as the agent
// runs it (card seen before, prompts scripted) on the IDPrime card; the
// peer is "pkcs11-tool --change-pin" over OpenSC's module on the same card
// (a whole process: module load, bind, C_SetPIN).
func BenchmarkIDPrimePINChange(b *testing.B) {
	once(b, "idprime-pin", func(b *testing.B) {
		const pinA, pinB = "246813", "975318"
		card := idprimeBenchCard(b, vcard.ProvisionOptions{PIN: pinA})
		svc := agenttest.Service(b, cardkind.IDPrime)
		ctx := context.Background()
		statusReady(b, ctx, svc) // the card seen before, as in the agent
		cur, next := pinA, pinB
		var change []time.Duration
		var changeAPDUs int64
		for range benchReps {
			before, start := card.Server.Stats().APDUs, time.Now()
			if err := svc.ChangePIN(ctx, app.Selector{}, cardreader.PINIdentification, prompts(cur, next, "")); err != nil {
				b.Fatal(err)
			}
			change, changeAPDUs = append(change, time.Since(start)), card.Server.Stats().APDUs-before
			cur, next = next, cur
		}
		env := openscConf(b, false)
		var peerChange []time.Duration
		var peerAPDUs int64
		for range benchReps {
			// The test card's public test codes (README), as the PIV
			// benchmark gives yubico-piv-tool its.
			d, n := openscPeer(b, card, env, "pkcs11-tool", "--module", cardkind.OpenSCModule, "--slot-index", "0",
				"--change-pin", "--login", "--pin", cur, "--new-pin", next)
			peerChange, peerAPDUs = append(peerChange, d), n
			cur, next = next, cur
		}
		if p, _ := card.State.PINRetries(); p != 3 {
			b.Fatalf("PIN tries left %d after the benchmark", p)
		}
		c, pc := ms(median(change)), ms(median(peerChange))
		report(b, "idprime_pin_change_ms", c, "ms")
		report(b, "idprime_pin_change_apdus", float64(changeAPDUs), "apdus")
		report(b, "peer_idprime_pkcs11tool_change_pin_ms", pc, "ms")
		report(b, "peer_idprime_pkcs11tool_change_pin_apdus", float64(peerAPDUs), "apdus")
		ratio(b, "idprime_pin_change_ms", "pkcs11tool", c, pc)
		ratio(b, "idprime_pin_change_apdus", "pkcs11tool", float64(changeAPDUs), float64(peerAPDUs))
	})
}
