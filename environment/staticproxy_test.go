package environment

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The Windows proxy settings as Internet Options writes them, read as a
// browser would for an https request: the proxy for https (or for every
// protocol), the bypass list with its wildcards and <local>.
func TestWindowsProxy(t *testing.T) {
	for _, tt := range []struct {
		server, override, target, want string
		wantErr                        bool
	}{
		{"proxy.region.se:8080", "", "https://idp.example.se/", "http://proxy.region.se:8080", false},
		{"http=web.region.se:80;https=tls.region.se:3128;ftp=ftp.region.se:21", "", "https://idp.example.se/", "http://tls.region.se:3128", false},
		{"http=web.region.se:80", "", "https://idp.example.se/", "", false},
		{"HTTPS=tls.region.se:3128", "", "https://idp.example.se/", "http://tls.region.se:3128", false},
		{"http://proxy.region.se:8080", "", "https://idp.example.se/", "http://proxy.region.se:8080", false},
		{"proxy.region.se:8080", "*.intern.region.se;<local>", "https://idp.intern.region.se/", "", false},
		{"proxy.region.se:8080", "*.intern.region.se;<local>", "https://idp.example.se/", "http://proxy.region.se:8080", false},
		{"proxy.region.se:8080", "*.intern.region.se;<local>", "https://idp/", "", false},
		{"proxy.region.se:8080", "idp.example.se", "https://idp.example.se/", "", false},
		{"proxy.region.se:8080", "10.*;192.168.1.*", "https://10.2.3.4/", "", false},
		{"proxy.region.se:8080", "10.*;192.168.1.*", "https://192.168.1.9/", "", false},
		{"proxy.region.se:8080", "10.*;192.168.1.*", "https://192.168.2.9/", "http://proxy.region.se:8080", false},
		{"proxy.region.se:8080", "*", "https://idp.example.se/", "", false},
		{"proxy.region.se:8080", "idp*.example.se", "https://idp1.example.se/", "http://proxy.region.se:8080", false},
		{"https://tls.region.se:443", "", "https://idp.example.se/", "", true},
		{"", "", "https://idp.example.se/", "", false},
	} {
		pf := staticProxy(tt.server, tt.override)
		var got string
		var err error
		if pf != nil {
			req, _ := http.NewRequest(http.MethodGet, tt.target, nil)
			u, perr := pf(req)
			if u != nil {
				got = u.String()
			}
			err = perr
		}
		if tt.wantErr {
			if !errors.Is(err, ErrProxy) {
				t.Errorf("%q %q → %s: err %v, want ErrProxy", tt.server, tt.override, tt.target, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q %q → %s: %q, %v; want %q", tt.server, tt.override, tt.target, got, err, tt.want)
		}
	}
}

// The order: policy's proxy, then the system's settings, then
// HTTPS_PROXY; "direct" ignores both.
func TestProxyOrderWithSystemSettings(t *testing.T) {
	was := systemProxyFunc
	t.Cleanup(func() { systemProxyFunc = was })
	systemProxyFunc = func() func(*http.Request) (*url.URL, error) {
		return staticProxy("system.region.se:8080", "")
	}
	getenv := func(k string) string {
		if k == "HTTPS_PROXY" {
			return "http://env.region.se:3128"
		}
		return ""
	}
	for setting, want := range map[string]string{
		"http://policy.region.se:8080": "http://policy.region.se:8080",
		"":                             "http://system.region.se:8080",
		"direct":                       "",
	} {
		pf, err := ProxyFunc(setting, getenv)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if pf != nil {
			req, _ := http.NewRequest(http.MethodGet, "https://idp.example.se/", nil)
			if u, _ := pf(req); u != nil {
				got = u.String()
			}
		}
		if got != want {
			t.Errorf("setting %q: proxy %q, want %q", setting, got, want)
		}
	}
}

// What "scutil --proxy" prints on macOS, read as the https proxy and its
// bypass list.
func TestScutilProxy(t *testing.T) {
	const on = `<dictionary> {
  ExceptionsList : <array> {
    0 : *.local
    1 : 169.254/16
    2 : *.intern.region.se
  }
  ExcludeSimpleHostnames : 1
  FTPPassive : 1
  HTTPEnable : 1
  HTTPPort : 80
  HTTPProxy : web.region.se
  HTTPSEnable : 1
  HTTPSPort : 3128
  HTTPSProxy : tls.region.se
  ProxyAutoConfigEnable : 0
}
`
	server, override := scutilProxy(on)
	if server != "tls.region.se:3128" || override != "*.local;169.254/16;*.intern.region.se;<local>" {
		t.Fatalf("scutilProxy = %q, %q", server, override)
	}
	pf := staticProxy(server, override)
	for target, want := range map[string]string{
		"https://idp.example.se/":       "http://tls.region.se:3128",
		"https://idp.intern.region.se/": "",
		"https://idp/":                  "",
	} {
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		got := ""
		if u, _ := pf(req); u != nil {
			got = u.String()
		}
		if got != want {
			t.Errorf("%s: proxy %q, want %q", target, got, want)
		}
	}
	if s, _ := scutilProxy(strings.Replace(on, "HTTPSEnable : 1", "HTTPSEnable : 0", 1)); s != "" {
		t.Errorf("HTTPSEnable 0: server %q", s)
	}
	if s, _ := scutilProxy("<dictionary> {\n  ProxyAutoConfigEnable : 1\n  ProxyAutoConfigURLString : http://wpad/wpad.dat\n}\n"); s != "" {
		t.Errorf("PAC only: server %q", s)
	}
}
