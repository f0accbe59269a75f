//go:build darwin

package config

import (
	"errors"
	"os"
)

// readSystemPolicy reads the managed preferences an MDM profile installs
// for the app's bundle ID (payload type io.github.sithseid.desktop): an
// XML property list with the same keys as the Linux policy.json.
func (c *Config) readSystemPolicy() error {
	b, err := os.ReadFile(MacPolicyFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &FileError{Path: MacPolicyFile, Err: err}
	}
	raw, err := decodePlist(b)
	if err != nil {
		return &FileError{Path: MacPolicyFile, Err: err}
	}
	return c.mergePolicy(raw, MacPolicyFile)
}
