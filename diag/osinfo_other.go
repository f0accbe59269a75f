//go:build !windows

package diag

import "errors"

func windowsVersion() (winVersion, error) { return winVersion{}, errors.New("not Windows") }
