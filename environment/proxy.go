package environment

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"golang.org/x/net/http/httpproxy"
)

// ProxyDirect is the proxy setting for no proxy at all.
const ProxyDirect = "direct"

// ErrProxy: a proxy this build cannot use (an https:// proxy: the
// transport would offer the card's certificate to the proxy itself).
var ErrProxy = errors.New("proxy not supported")

// ProxyFunc is how the identity service is reached, for
// mtls.Options.Proxy (docs/admin.md, "Proxy"): setting is policy's proxy
// key. "direct" is no proxy (nil); a proxy's URL (http or socks5) is used
// for every request; "" falls back to the system's proxy settings (Windows'
// Internet Options proxy when turned on, macOS's from scutil), then to
// HTTPS_PROXY/https_proxy and NO_PROXY/no_proxy as getenv reads them
// (golang.org/x/net/http/httpproxy: loopback is never proxied), and
// without them a direct connection (nil). An http proxy is asked to
// CONNECT, so TLS stays end to end and pinned. PAC files and WPAD are not
// evaluated (docs/admin.md says why).
func ProxyFunc(setting string, getenv func(string) string) (func(*http.Request) (*url.URL, error), error) {
	switch setting {
	case ProxyDirect:
		return nil, nil
	case "":
		if sys := systemProxyFunc(); sys != nil {
			return sys, nil
		}
	default:
		u, err := url.Parse(setting)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("proxy %q: %w", setting, ErrProxy)
		}
		if err := usable(u); err != nil {
			return nil, err
		}
		return http.ProxyURL(u), nil
	}
	if getenv == nil {
		return nil, nil
	}
	first := func(names ...string) string {
		for _, n := range names {
			if v := getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	cfg := &httpproxy.Config{
		HTTPSProxy: first("HTTPS_PROXY", "https_proxy"),
		NoProxy:    first("NO_PROXY", "no_proxy"),
	}
	if cfg.HTTPSProxy == "" {
		return nil, nil
	}
	pf := cfg.ProxyFunc()
	return func(r *http.Request) (*url.URL, error) {
		u, err := pf(r.URL)
		if err != nil || u == nil {
			return u, err
		}
		return u, usable(u)
	}, nil
}

// systemProxyFunc reads the system's proxy settings (systemProxy; tests
// replace it).
var systemProxyFunc = systemProxy

// usable refuses a proxy the transport would hand the card's TLS
// configuration to: an https:// proxy is dialled with the client's own
// TLS configuration (its pinned roots and the card's certificate).
func usable(u *url.URL) error {
	switch u.Scheme {
	case "http", "socks5":
		return nil
	}
	return fmt.Errorf("proxy %s: want an http:// or socks5:// proxy: %w", u.Redacted(), ErrProxy)
}
