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
		got := Detect(tc.override, func(k string) string { return tc.env[k] })
		if got != tc.want {
			t.Errorf("Detect(%q, %v) = %s, want %s", tc.override, tc.env, got, tc.want)
		}
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
