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
