//go:build !windows && !darwin

package l10n

// systemUILanguages: elsewhere the POSIX locale variables are the only
// source.
func systemUILanguages() []string { return nil }
