package usertext

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/assets"
)

// TestSwedishSaysLåstForBlockedCodes pins the word for a blocked PIN or PUK:
// the tray and the regions' own pages say "låst"; "spärrat" means a revoked
// card or certificate and must never describe a PIN or PUK.
func TestSwedishSaysLåstForBlockedCodes(t *testing.T) {
	raw, err := fs.ReadFile(assets.Translations(), "sv.json")
	if err != nil {
		t.Fatal(err)
	}
	var cat map[string]string
	if err := json.Unmarshal(raw, &cat); err != nil {
		t.Fatal(err)
	}
	for id, text := range cat {
		for _, line := range strings.Split(text, "\n") {
			low := strings.ToLower(line)
			if !strings.Contains(low, "spärr") {
				continue
			}
			if strings.Contains(low, "pin") || strings.Contains(low, "puk") || id == "status.blocked" {
				t.Errorf("%s: %q says spärr- for a PIN/PUK; use låst", id, line)
			}
		}
	}
	if got := cat["status.blocked"]; got != "låst" {
		t.Errorf("status.blocked = %q, want låst", got)
	}
}
