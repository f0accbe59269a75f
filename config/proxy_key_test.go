package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/config"
)

// The proxy key is policy's only: a proxy's URL or "direct"; a PAC file's
// URL is refused by name (no PAC evaluation in this build), and the
// user's file cannot set it.
func TestProxyKey(t *testing.T) {
	for _, tt := range []struct {
		value, wantErr string
	}{
		{"", ""},
		{"direct", ""},
		{"http://proxy.region.se:8080", ""},
		{"http://user:secret@proxy.region.se:3128/", ""},
		{"socks5://127.0.0.1:1080", ""},
		{"http://wpad.region.se/wpad.dat", "PAC file is not supported"},
		{"http://proxy.region.se/proxy.pac", "PAC file is not supported"},
		{"ftp://proxy.region.se:21", "http or socks5"},
		{"https://proxy.region.se:443", "http or socks5"},
		{"proxy.region.se:8080", "proxy"},
	} {
		c := newConfigDir(t)
		c.policy(t, `{"proxy": "`+tt.value+`"}`)
		cfg, err := config.Load(c.opts)
		if tt.wantErr != "" {
			var fe *config.FileError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("proxy %q: err %v, want a *FileError saying %q", tt.value, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("proxy %q: %v", tt.value, err)
			continue
		}
		if got := cfg.Effective().Proxy; got != tt.value {
			t.Errorf("proxy %q: Effective().Proxy = %q", tt.value, got)
		}
	}
	// The proxy's password stays out of "config show" and diagnostics.
	c := newConfigDir(t)
	c.policy(t, `{"proxy": "http://svc-sithseid:hemligt@proxy.region.se:3128"}`)
	for _, e := range c.load(t).Entries() {
		if e.Key == config.KeyProxy && (strings.Contains(e.Value.(string), "hemligt") || !strings.Contains(e.Value.(string), "svc-sithseid:xxxxx@proxy.region.se")) {
			t.Errorf("config entry %s = %q", e.Key, e.Value)
		}
	}
	c = newConfigDir(t)
	c.user(t, `{"proxy": "http://evil.example:8080", "allowDemo": true}`)
	cfg := c.load(t)
	if s := cfg.Effective(); s.Proxy != "" {
		t.Errorf("the user's file set proxy %q", s.Proxy)
	}
	if err := cfg.SetUser(config.KeyProxy, "http://evil.example:8080"); err == nil {
		t.Error("SetUser(proxy) accepted")
	}
	if err := cfg.SetUser(config.KeyAllowDemo, "true"); err == nil {
		t.Error("SetUser(allowDemo) accepted")
	}
}
