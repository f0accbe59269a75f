// Package l10n picks the user's language and looks messages up in the
// catalogues embedded by the assets package. Swedish is the first language,
// English the second: Swedish when the locale says Swedish or says nothing
// (C, POSIX, unset), English for any other language.
//
// The CLI and the windows both use it, so a message reads the same in
// every part of the product. It needs no Fyne.
package l10n

import (
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/sithseid/sithseid/assets"
)

// Lang is a language the product speaks.
type Lang string

const (
	Swedish Lang = "sv"
	English Lang = "en"
)

// Parse accepts "sv", "en", locale names such as "sv_SE.UTF-8" or "en-GB",
// and returns ok=false for anything else.
func Parse(s string) (Lang, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexAny(s, "_-.@"); i >= 0 {
		s = s[:i]
	}
	switch s {
	case "sv":
		return Swedish, true
	case "en":
		return English, true
	}
	return "", false
}

// Detect picks the language from an override (a setting or flag; may be
// empty), then the POSIX locale variables in their order of precedence,
// read through getenv, then the user's UI languages as the operating
// system reports them (Windows: GetUserPreferredUILanguages; macOS:
// AppleLanguages), and Swedish when none of them says anything.
func Detect(override string, getenv func(string) string) Lang {
	return DetectWith(override, getenv, System)
}

// UILanguages is where the operating system keeps the user's preferred UI
// languages, most preferred first, as BCP 47 or locale names ("sv-SE",
// "en_GB"). Tests fake it; System is the real one.
type UILanguages interface {
	UILanguages() []string
}

// UILanguagesFunc adapts a function to UILanguages.
type UILanguagesFunc func() []string

// UILanguages calls f.
func (f UILanguagesFunc) UILanguages() []string { return f() }

// System is the operating system's list: the user's preferred UI
// languages on Windows and macOS, none elsewhere (the POSIX variables say
// it there).
var System UILanguages = UILanguagesFunc(systemUILanguages)

// DetectWith is Detect with the operating system's languages read from
// osLangs (nil: none).
func DetectWith(override string, getenv func(string) string, osLangs UILanguages) Lang {
	if l, ok := Parse(override); ok {
		return l
	}
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		val := getenv(v)
		if val == "" {
			continue
		}
		if l, ok := Parse(val); ok {
			return l
		}
		base := strings.ToLower(val)
		if base == "c" || base == "posix" || strings.HasPrefix(base, "c.") {
			return Swedish
		}
		return English // another language: English is the one we share
	}
	if osLangs != nil {
		if l, ok := fromUILanguages(osLangs.UILanguages()); ok {
			return l
		}
	}
	return Swedish
}

// fromUILanguages picks from the user's preferred UI languages: the first
// one the product speaks (a Finnish Windows with Swedish as its second
// language gets Swedish), English when the list names only others, and
// ok=false for an empty list.
func fromUILanguages(langs []string) (Lang, bool) {
	seen := false
	for _, s := range langs {
		if strings.TrimSpace(s) == "" {
			continue
		}
		seen = true
		if l, ok := Parse(s); ok {
			return l, true
		}
	}
	if seen {
		return English, true
	}
	return "", false
}

// parseAppleLanguages reads the output of `defaults read -g
// AppleLanguages`, a property list array such as
//
//	(
//	    "sv-SE",
//	    "en-SE"
//	)
func parseAppleLanguages(out string) []string {
	var langs []string
	for _, line := range strings.Split(out, "\n") {
		s := strings.Trim(strings.TrimSpace(line), "(),\"")
		s = strings.TrimSpace(s)
		if s != "" {
			langs = append(langs, s)
		}
	}
	return langs
}

// Catalog is the messages of one language, with English as the fallback
// for IDs a translation lacks. It is safe for concurrent use.
type Catalog struct {
	Lang     Lang
	messages map[string]string

	// The fallback is read at the first miss, not at Load: a catalogue
	// has every ID of the other (TestCataloguesMatch), so a process that
	// speaks Swedish never needs English, and reading it cost every
	// start of every role as much as its own catalogue (issue 17).
	fallbackOnce sync.Once
	fallback     map[string]string
}

// Load reads the catalogue of lang from the embedded translations.
func Load(lang Lang) (*Catalog, error) {
	msgs, err := read(lang)
	if err != nil {
		return nil, err
	}
	return &Catalog{Lang: lang, messages: msgs}, nil
}

// MustLoad is Load for the embedded catalogues, which are known good (a
// test loads each one).
func MustLoad(lang Lang) *Catalog {
	c, err := Load(lang)
	if err != nil {
		panic(err)
	}
	return c
}

func read(lang Lang) (map[string]string, error) {
	b, err := fs.ReadFile(assets.Translations(), string(lang)+".json")
	if err != nil {
		return nil, fmt.Errorf("reading %s catalogue: %w", lang, err)
	}
	m, err := decode(string(b))
	if err != nil {
		return nil, fmt.Errorf("parsing %s catalogue: %w", lang, err)
	}
	return m, nil
}

// lookupFallback is id in English, read once at the first miss (nothing
// when the catalogue is English, or English does not read: the ID then
// shows as itself).
func (c *Catalog) lookupFallback(id string) (string, bool) {
	if c.Lang == English {
		return "", false
	}
	c.fallbackOnce.Do(func() {
		c.fallback, _ = read(English)
	})
	s, ok := c.fallback[id]
	return s, ok
}

// T returns the message id formatted with args (fmt verbs). An unknown ID
// comes back as the ID itself, so a missing translation shows, never
// crashes; a test checks that every ID used exists in both languages.
func (c *Catalog) T(id string, args ...any) string {
	s, ok := c.messages[id]
	if !ok {
		if s, ok = c.lookupFallback(id); !ok {
			s = id
		}
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// Has reports whether the catalogue itself (not the fallback) has id.
func (c *Catalog) Has(id string) bool {
	_, ok := c.messages[id]
	return ok
}

// IDs lists the catalogue's message IDs.
func (c *Catalog) IDs() []string {
	ids := make([]string, 0, len(c.messages))
	for id := range c.messages {
		ids = append(ids, id)
	}
	return ids
}
