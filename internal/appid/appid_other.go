//go:build !windows

package appid

import "errors"

// Apply: an AppUserModelID is Windows'; elsewhere nothing to do.
func Apply() error { return nil }

// Current: there is no AppUserModelID on this system.
func Current() (string, error) { return "", errors.ErrUnsupported }
