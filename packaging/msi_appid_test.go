package packaging

import (
	"strings"
	"testing"

	"github.com/sithseid/sithseid/internal/appid"
)

// TestMSIShortcutAppUserModelID: the Start menu's shortcut carries the
// AppUserModelID the agent and the windows set for their processes
// (internal/appid), so Windows groups the windows with the shortcut and
// pins them as one application (issue 17). wixl cannot say it; patch.sql
// makes the MsiShortcutProperty row, checked in the built MSI's tables.
func TestMSIShortcutAppUserModelID(t *testing.T) {
	_, export := patchedMSI(t)
	shortcuts := map[string]bool{}
	for _, row := range strings.Split(export("Shortcut"), "\n")[3:] {
		if f := strings.Split(strings.TrimRight(row, "\r"), "\t"); len(f) > 1 {
			shortcuts[f[0]] = true
		}
	}
	if !shortcuts["StartMenuShortcut"] {
		t.Fatalf("the MSI has no StartMenuShortcut (shortcuts %v)", shortcuts)
	}
	// MsiShortcutProperty: MsiShortcutProperty Shortcut_ PropertyKey PropVariantValue
	ids := map[string]string{}
	for _, row := range strings.Split(export("MsiShortcutProperty"), "\n")[3:] {
		f := strings.Split(strings.TrimRight(row, "\r"), "\t")
		if len(f) == 4 && f[2] == "System.AppUserModel.ID" {
			ids[f[1]] = f[3]
		}
	}
	for s := range shortcuts {
		if ids[s] != appid.AppUserModelID {
			t.Errorf("shortcut %s: System.AppUserModel.ID %q, want %q", s, ids[s], appid.AppUserModelID)
		}
	}
}
