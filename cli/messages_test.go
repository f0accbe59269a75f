package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/l10n"
)

// Every message ID the CLI names literally exists in both catalogues.
func TestMessageIDsExist(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	id := regexp.MustCompile(`\.T\("([a-zA-Z0-9_.]+)"[,)]`)
	sv, en := l10n.MustLoad(l10n.Swedish), l10n.MustLoad(l10n.English)
	n := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range id.FindAllSubmatch(src, -1) {
			n++
			if k := string(m[1]); !sv.Has(k) || !en.Has(k) {
				t.Errorf("%s: message %q missing from a catalogue", f, k)
			}
		}
	}
	if n < 50 {
		t.Fatalf("found only %d message IDs: the pattern is stale", n)
	}
	// IDs made from a prefix and a code.
	for _, k := range []string{
		"warn." + app.WarnPINBlocked, "warn." + app.WarnPUKBlocked, "warn." + app.WarnCertificateExpired,
		"warn." + app.WarnCertificateExpiring, "warn." + app.WarnTooManyCertificates,
		"warn." + app.WarnReserveCard, "warn." + app.WarnNoLoginCertificate,
		"usage." + string(cardreader.UsageAuth), "usage." + string(cardreader.UsageSign),
		"pin.changed", "pin.unblocked", "pin.sign_changed", "pin.sign_unblocked",
		"warn." + app.WarnSignaturePINBlocked, "help.pin_change", "help.pin_unblock",
		"kind." + string(cardreader.KindHSAID), "kind." + string(cardreader.KindPersonalNumber), "kind." + string(cardreader.KindOther),
	} {
		if !sv.Has(k) || !en.Has(k) {
			t.Errorf("message %q missing from a catalogue", k)
		}
	}
}
