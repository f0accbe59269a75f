package l10n

import (
	"regexp"
	"slices"
	"testing"
)

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		override string
		env      map[string]string
		want     Lang
	}{
		{"", nil, Swedish},
		{"", map[string]string{"LANG": "C.UTF-8"}, Swedish},
		{"", map[string]string{"LANG": "POSIX"}, Swedish},
		{"", map[string]string{"LANG": "sv_SE.UTF-8"}, Swedish},
		{"", map[string]string{"LANG": "en_GB.UTF-8"}, English},
		{"", map[string]string{"LANG": "de_DE.UTF-8"}, English},
		{"", map[string]string{"LANG": "sv_SE.UTF-8", "LC_ALL": "en_US.UTF-8"}, English},
		{"", map[string]string{"LANG": "en_US.UTF-8", "LC_MESSAGES": "sv_FI.UTF-8"}, Swedish},
		{"sv", map[string]string{"LANG": "en_US.UTF-8"}, Swedish},
		{"EN", map[string]string{"LANG": "sv_SE.UTF-8"}, English},
		{"fr", map[string]string{"LANG": "sv_SE.UTF-8"}, Swedish}, // an unknown override is ignored
	} {
		got := DetectWith(tc.override, func(k string) string { return tc.env[k] }, nil)
		if got != tc.want {
			t.Errorf("Detect(%q, %v) = %s, want %s", tc.override, tc.env, got, tc.want)
		}
	}
}

// On Windows and macOS no locale variable is set: the user's UI languages
// as the operating system lists them decide (an English Windows used to
// get Swedish). The override and the POSIX variables still win.
func TestDetectFollowsUILanguages(t *testing.T) {
	noEnv := func(string) string { return "" }
	for _, tc := range []struct {
		name     string
		override string
		env      map[string]string
		os       []string
		want     Lang
	}{
		{"English Windows", "", nil, []string{"en-US"}, English},
		{"Swedish Windows", "", nil, []string{"sv-SE", "en-US"}, Swedish},
		{"Finland-Swedish", "", nil, []string{"sv-FI"}, Swedish},
		{"German Windows", "", nil, []string{"de-DE"}, English},
		{"Finnish then Swedish", "", nil, []string{"fi-FI", "sv-SE"}, Swedish},
		{"German then English", "", nil, []string{"de-DE", "en-GB"}, English},
		{"nothing said", "", nil, nil, Swedish},
		{"blank entries", "", nil, []string{"", " "}, Swedish},
		{"override wins", "sv", nil, []string{"en-US"}, Swedish},
		{"override wins (en)", "en", nil, []string{"sv-SE"}, English},
		{"LANG wins", "", map[string]string{"LANG": "sv_SE.UTF-8"}, []string{"en-US"}, Swedish},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := noEnv
			if tc.env != nil {
				getenv = func(k string) string { return tc.env[k] }
			}
			os := UILanguagesFunc(func() []string { return tc.os })
			if got := DetectWith(tc.override, getenv, os); got != tc.want {
				t.Errorf("DetectWith(%q, %v, %q) = %s, want %s", tc.override, tc.env, tc.os, got, tc.want)
			}
		})
	}
}

// macOS: the defaults tool prints AppleLanguages as a property list array.
func TestParseAppleLanguages(t *testing.T) {
	out := "(\n    \"en-SE\",\n    \"sv-SE\"\n)\n"
	if got := parseAppleLanguages(out); !slices.Equal(got, []string{"en-SE", "sv-SE"}) {
		t.Fatalf("got %q", got)
	}
	if got := DetectWith("", func(string) string { return "" }, UILanguagesFunc(func() []string { return parseAppleLanguages(out) })); got != English {
		t.Errorf("English macOS: got %s", got)
	}
	if got := parseAppleLanguages(""); len(got) != 0 {
		t.Errorf("empty output: %q", got)
	}
}

var verb = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)

// Both catalogues have the same IDs, and each message the same verbs in
// the same order, so a translation can never crash or garble a Sprintf.
func TestCataloguesMatch(t *testing.T) {
	sv, en := MustLoad(Swedish), MustLoad(English)
	svIDs, enIDs := sv.IDs(), en.IDs()
	slices.Sort(svIDs)
	slices.Sort(enIDs)
	if !slices.Equal(svIDs, enIDs) {
		for _, id := range svIDs {
			if !en.Has(id) {
				t.Errorf("%q only in sv", id)
			}
		}
		for _, id := range enIDs {
			if !sv.Has(id) {
				t.Errorf("%q only in en", id)
			}
		}
	}
	for _, id := range svIDs {
		a, b := verb.FindAllString(sv.T(id), -1), verb.FindAllString(en.T(id), -1)
		if !slices.Equal(a, b) {
			t.Errorf("%q: sv verbs %v, en verbs %v", id, a, b)
		}
	}
}

func TestUnknownIDShowsItself(t *testing.T) {
	if got := MustLoad(Swedish).T("no.such.id"); got != "no.such.id" {
		t.Errorf("got %q", got)
	}
}
