package config

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadPolicy(t *testing.T, policy string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(pol, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(Options{PolicyFile: pol, PolicyDir: filepath.Join(dir, "policy.d"), UserFile: filepath.Join(dir, "user.json")})
}

// TestAccentColourKey: policy's accent colour is used when it has enough
// contrast in both themes, else ignored with a warning that "config show"
// prints; a value that is no colour fails the policy like any bad value.
func TestAccentColourKey(t *testing.T) {
	c, err := loadPolicy(t, `{"accentColour": "#2A6F97"}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Effective().AccentColour; got != "#2A6F97" {
		t.Errorf("AccentColour = %q", got)
	}
	for _, faint := range []string{"#FFFF00", "#000080"} {
		c, err = loadPolicy(t, `{"accentColour": "`+faint+`"}`)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Effective().AccentColour; got != "" {
			t.Errorf("%s: AccentColour = %q, want it refused", faint, got)
		}
		if w := strings.Join(c.Warnings(), "\n"); !strings.Contains(w, "accentColour "+faint+" refused: contrast") {
			t.Errorf("%s: warnings %q do not say why", faint, w)
		}
	}
	if _, err := loadPolicy(t, `{"accentColour": "blue"}`); err == nil {
		t.Error("accentColour \"blue\" accepted")
	}
	dir := t.TempDir()
	user := filepath.Join(dir, "user.json")
	if err := os.WriteFile(user, []byte(`{"accentColour": "#2A6F97", "logoFile": "/tmp/x.png"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Load(Options{PolicyFile: filepath.Join(dir, "none.json"), PolicyDir: filepath.Join(dir, "policy.d"), UserFile: user})
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Effective(); s.AccentColour != "" || s.LogoFile != "" {
		t.Errorf("the user set policy-only look keys: %+v", s)
	}
}

// TestLogoFile: an absolute .png path from policy; ReadLogo reads only a
// bounded regular PNG file.
func TestLogoFile(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
	}{{"/etc/sithseid/logo.png", true}, {"", true}, {"logo.png", false}, {"/etc/sithseid/logo.svg", false}} {
		if _, err := ParseValue(KeyLogoFile, tc.v); (err == nil) != tc.ok {
			t.Errorf("%q: %v", tc.v, err)
		}
	}
	dir := t.TempDir()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 48, 16))); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "logo.png")
	big := filepath.Join(dir, "big.png")
	fake := filepath.Join(dir, "fake.png")
	_ = os.WriteFile(good, b.Bytes(), 0o644)
	_ = os.WriteFile(big, append(b.Bytes(), make([]byte, MaxLogoBytes)...), 0o644)
	_ = os.WriteFile(fake, []byte("GIF89a"), 0o644)
	if _, err := ReadLogo(good); err != nil {
		t.Errorf("good logo: %v", err)
	}
	for _, p := range []string{big, fake, dir, filepath.Join(dir, "missing.png")} {
		if _, err := ReadLogo(p); err == nil {
			t.Errorf("ReadLogo(%s) accepted", p)
		}
	}
	c, err := loadPolicy(t, `{"logoFile": "`+good+`"}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Effective().LogoFile; got != good {
		t.Errorf("LogoFile = %q", got)
	}
}
