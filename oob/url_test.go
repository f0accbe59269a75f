package oob

import (
	"errors"
	"strings"
	"testing"
)

const tok = "0b4a8f4e-2a36-4f0e-9c1e-4d0d8a9b7c11"

func TestParseAutoStartURL(t *testing.T) {
	good := []struct {
		in       string
		redirect string
	}{
		{"sithseid:///?autostarttoken=" + tok + "&redirect=null", ""},
		{"sithseid://?autostarttoken=" + tok + "&redirect=null", ""},
		{"SITHSEID:///?autostarttoken=" + tok + "&redirect=null", ""},
		{"sithseid:///?redirect=null&autostarttoken=" + tok, ""},
		{"sithseid:///?autostarttoken=" + tok + "&redirect=https%3A%2F%2Fjournal.example%2Flogin%3Fa%3D1%26b%3D2", "https://journal.example/login?a=1&b=2"},
		{"sithseid:///?autostarttoken=" + tok + "&redirect=https://journal.example/", "https://journal.example/"},
		{"sithseid:///?autostarttoken=" + tok + "&redirect=http%3A%2F%2F127.0.0.1%3A8443%2Fdone", "http://127.0.0.1:8443/done"},
		{"sithseid:///?autostarttoken=" + tok + "&redirect=http%3A%2F%2Flocalhost%2F", "http://localhost/"},
	}
	for _, c := range good {
		got, err := ParseAutoStartURL(c.in)
		if err != nil {
			t.Errorf("ParseAutoStartURL(%q): %v", c.in, err)
			continue
		}
		if got.Token != tok || got.Redirect != c.redirect {
			t.Errorf("ParseAutoStartURL(%q) = %+v", c.in, got)
		}
	}

	long := "https://x.example/" + strings.Repeat("a", 2100)
	evil := []struct{ name, in string }{
		{"empty", ""},
		{"other scheme", "bankid:///?autostarttoken=" + tok + "&redirect=null"},
		{"https", "https:///?autostarttoken=" + tok + "&redirect=null"},
		{"scheme prefix", "sithseidx:///?autostarttoken=" + tok + "&redirect=null"},
		{"opaque", "sithseid:?autostarttoken=" + tok + "&redirect=null"},
		{"single slash", "sithseid:/?autostarttoken=" + tok + "&redirect=null"},
		{"host", "sithseid://evil.example/?autostarttoken=" + tok + "&redirect=null"},
		{"port", "sithseid://:443/?autostarttoken=" + tok + "&redirect=null"},
		{"userinfo", "sithseid://user@/?autostarttoken=" + tok + "&redirect=null"},
		{"empty userinfo", "sithseid://@/?autostarttoken=" + tok + "&redirect=null"},
		{"path", "sithseid:///login?autostarttoken=" + tok + "&redirect=null"},
		{"dot path", "sithseid:///./?autostarttoken=" + tok + "&redirect=null"},
		{"encoded path", "sithseid:///%2F?autostarttoken=" + tok + "&redirect=null"},
		{"fragment", "sithseid:///?autostarttoken=" + tok + "&redirect=null#x"},
		{"empty fragment", "sithseid:///?autostarttoken=" + tok + "&redirect=null#"},
		{"backslash", "sithseid:///\\?autostarttoken=" + tok + "&redirect=null"},
		{"no query", "sithseid:///"},
		{"no token", "sithseid:///?redirect=null"},
		{"no redirect", "sithseid:///?autostarttoken=" + tok},
		{"duplicate token", "sithseid:///?autostarttoken=" + tok + "&autostarttoken=" + tok + "&redirect=null"},
		{"duplicate redirect", "sithseid:///?autostarttoken=" + tok + "&redirect=null&redirect=null"},
		{"extra param", "sithseid:///?autostarttoken=" + tok + "&redirect=null&x=1"},
		{"empty param", "sithseid:///?autostarttoken=" + tok + "&redirect=null&"},
		{"semicolon", "sithseid:///?autostarttoken=" + tok + ";redirect=null"},
		{"key case", "sithseid:///?autoStartToken=" + tok + "&redirect=null"},
		{"param without =", "sithseid:///?autostarttoken=" + tok + "&redirect"},
		{"uppercase UUID", "sithseid:///?autostarttoken=" + strings.ToUpper(tok) + "&redirect=null"},
		{"braced UUID", "sithseid:///?autostarttoken={" + tok + "}&redirect=null"},
		{"short token", "sithseid:///?autostarttoken=0b4a8f4e&redirect=null"},
		{"encoded token", "sithseid:///?autostarttoken=%30b4a8f4e-2a36-4f0e-9c1e-4d0d8a9b7c11&redirect=null"},
		{"no hyphens", "sithseid:///?autostarttoken=" + strings.ReplaceAll(tok, "-", "") + "&redirect=null"},
		{"javascript redirect", "sithseid:///?autostarttoken=" + tok + "&redirect=javascript%3Aalert(1)"},
		{"javascript raw", "sithseid:///?autostarttoken=" + tok + "&redirect=javascript:alert(1)"},
		{"data redirect", "sithseid:///?autostarttoken=" + tok + "&redirect=data%3Atext%2Fhtml%2Cx"},
		{"file redirect", "sithseid:///?autostarttoken=" + tok + "&redirect=file%3A%2F%2F%2Fetc%2Fpasswd"},
		{"http non-loopback", "sithseid:///?autostarttoken=" + tok + "&redirect=http%3A%2F%2Fevil.example%2F"},
		{"relative redirect", "sithseid:///?autostarttoken=" + tok + "&redirect=%2Flogin"},
		{"scheme-relative", "sithseid:///?autostarttoken=" + tok + "&redirect=%2F%2Fevil.example%2F"},
		{"redirect userinfo", "sithseid:///?autostarttoken=" + tok + "&redirect=https%3A%2F%2Fa%40evil.example%2F"},
		{"redirect fragment", "sithseid:///?autostarttoken=" + tok + "&redirect=https%3A%2F%2Fx.example%2F%23f"},
		{"redirect no host", "sithseid:///?autostarttoken=" + tok + "&redirect=https%3A%2F%2F%2Fp"},
		{"redirect space", "sithseid:///?autostarttoken=" + tok + "&redirect=https%3A%2F%2Fx.example%2Fa+b"},
		{"redirect newline", "sithseid:///?autostarttoken=" + tok + "&redirect=https%3A%2F%2Fx.example%2F%0Aa"},
		{"redirect bad escape", "sithseid:///?autostarttoken=" + tok + "&redirect=https%3A%2F%2Fx.example%2F%zz"},
		{"redirect empty", "sithseid:///?autostarttoken=" + tok + "&redirect="},
		{"redirect NULL", "sithseid:///?autostarttoken=" + tok + "&redirect=NULL"},
		{"redirect too long", "sithseid:///?autostarttoken=" + tok + "&redirect=" + long},
		{"over-long", "sithseid:///?autostarttoken=" + tok + "&redirect=null" + strings.Repeat("&", MaxAutoStartURL)},
		{"space", "sithseid:///?autostarttoken= " + tok + "&redirect=null"},
		{"newline", "sithseid:///?autostarttoken=" + tok + "&redirect=null\n"},
		{"NUL", "sithseid:///?autostarttoken=" + tok + "\x00&redirect=null"},
		{"non-ASCII", "sithseid:///?autostarttoken=" + tok + "&redirect=https://å.example/"},
	}
	for _, c := range evil {
		got, err := ParseAutoStartURL(c.in)
		if err == nil {
			t.Errorf("%s: ParseAutoStartURL(%q) = %+v, want error", c.name, c.in, got)
			continue
		}
		var de *DecodeError
		if !errors.As(err, &de) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v is not a *DecodeError matching ErrMalformed", c.name, err)
		}
		if strings.Contains(err.Error(), tok) {
			t.Errorf("%s: error %q echoes the token", c.name, err)
		}
	}
}

func TestAutoStartURLRoundTrip(t *testing.T) {
	for _, r := range []string{"", "https://journal.example/login?a=1&b=x y", "http://127.0.0.1:8080/"} {
		u := AutoStartURL(tok, r)
		got, err := ParseAutoStartURL(u)
		if strings.Contains(r, " ") {
			// A space is not allowed in a redirect, however it is encoded.
			if err == nil {
				t.Errorf("%q: accepted a redirect with a space", u)
			}
			continue
		}
		if err != nil || got.Token != tok || got.Redirect != r {
			t.Errorf("ParseAutoStartURL(AutoStartURL(%q)) = %+v, %v", r, got, err)
		}
	}
}

func TestIsLoopbackRedirect(t *testing.T) {
	for u, want := range map[string]bool{
		"http://127.0.0.1:8443/done": true,
		"http://localhost/":          true,
		"http://[::1]:80/":           true,
		"https://127.0.0.1/":         false,
		"https://journal.example/":   false,
	} {
		if err := CheckRedirect(u); err != nil {
			t.Errorf("CheckRedirect(%q): %v", u, err)
		}
		if got := IsLoopbackRedirect(u); got != want {
			t.Errorf("IsLoopbackRedirect(%q) = %v", u, got)
		}
	}
}
