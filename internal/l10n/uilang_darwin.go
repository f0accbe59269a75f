//go:build darwin

package l10n

import (
	"context"
	"os/exec"
	"time"
)

// systemUILanguages reads the user's preferred languages (System Settings
// > General > Language & Region) from the global AppleLanguages default,
// through the defaults tool so this package needs no cgo.
func systemUILanguages() []string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/bin/defaults", "read", "-g", "AppleLanguages").Output()
	if err != nil {
		return nil
	}
	return parseAppleLanguages(string(out))
}
