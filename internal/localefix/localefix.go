// Package localefix runs before Fyne's lang package initialises, and keeps
// it from printing "Fyne error: Error parsing user locale C" on every start
// of a window (sithseid-ui, the only executable with Fyne) where the locale
// is C or POSIX, as it is in containers, minimal images and many VDI and CI
// sessions.
//
// Fyne reads LANGUAGE, then LC_ALL, LC_MESSAGES and LANG, at init, and
// cannot parse "C". This package imports only os and strings, so by the
// Go spec's initialisation order (packages in import-path order, each once
// its imports are) it runs as soon as os has, before fyne.io/fyne/v2/lang
// and its template and i18n dependencies. When the locale Fyne would read is
// C or POSIX and LANGUAGE is unset, it sets LANGUAGE to Swedish, which is
// what the product shows for that locale anyway (internal/l10n), so Fyne's
// own few strings agree. Nothing else reads LANGUAGE here.
//
// cmd/sithseid-ui's main imports it first, for its side effect only.
package localefix

import (
	"os"
	"strings"
)

func init() { apply(os.Getenv, os.Setenv) }

func apply(getenv func(string) string, setenv func(string, string) error) {
	if getenv("LANGUAGE") != "" {
		return
	}
	loc := ""
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(k); v != "" {
			loc = v
			break
		}
	}
	base := strings.ToLower(loc)
	if i := strings.IndexAny(base, ".@"); i >= 0 {
		base = base[:i]
	}
	switch base {
	case "", "c", "posix":
		_ = setenv("LANGUAGE", "sv")
	}
}
