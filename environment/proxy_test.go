package environment_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/sithseid/sithseid/environment"
)

// The order of docs/admin.md, "Proxy": policy's proxy, else HTTPS_PROXY
// (https_proxy) with NO_PROXY, else directly; loopback never through the
// variables; an https:// proxy refused (it would be offered the card).
func TestProxyFunc(t *testing.T) {
	vars := map[string]string{"HTTPS_PROXY": "http://envproxy.region.se:3128", "NO_PROXY": ".intern.region.se"}
	getenv := func(k string) string { return vars[k] }
	for _, tt := range []struct {
		setting, target, want string
		getenv                func(string) string
		wantErr               bool
	}{
		{"http://policy.region.se:8080", "https://idp.example.se/", "http://policy.region.se:8080", getenv, false},
		{"socks5://127.0.0.1:1080", "https://idp.example.se/", "socks5://127.0.0.1:1080", getenv, false},
		{"direct", "https://idp.example.se/", "", getenv, false},
		{"", "https://idp.example.se/", "http://envproxy.region.se:3128", getenv, false},
		{"", "https://idp.intern.region.se/", "", getenv, false},
		{"", "https://127.0.0.1:8443/", "", getenv, false},
		{"", "https://idp.example.se/", "http://lower.region.se:3128", func(k string) string {
			return map[string]string{"https_proxy": "http://lower.region.se:3128"}[k]
		}, false},
		{"", "https://idp.example.se/", "", func(string) string { return "" }, false},
		{"", "https://idp.example.se/", "", nil, false},
		{"", "https://idp.example.se/", "", func(k string) string {
			return map[string]string{"HTTPS_PROXY": "https://tlsproxy.region.se:443"}[k]
		}, true},
		{"https://tlsproxy.region.se:443", "https://idp.example.se/", "", getenv, true},
	} {
		pf, err := environment.ProxyFunc(tt.setting, tt.getenv)
		var got string
		if err == nil && pf != nil {
			req, _ := http.NewRequest(http.MethodGet, tt.target, nil)
			u, perr := pf(req)
			err = perr
			if u != nil {
				got = u.String()
			}
		}
		if tt.wantErr {
			if !errors.Is(err, environment.ErrProxy) {
				t.Errorf("%q → %s: err %v, want ErrProxy", tt.setting, tt.target, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q → %s: proxy %q, %v; want %q", tt.setting, tt.target, got, err, tt.want)
		}
	}
}
