package environment

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpproxy"
)

// staticProxy turns a system's proxy settings into a proxy rule for https
// requests, or nil when they name no proxy for https: Windows' Internet
// Options (ProxyServer and ProxyOverride under ...\Internet Settings), and
// macOS's as scutilProxy reads them. It is apart from the reading so that
// it is tested everywhere.
//
// ProxyServer is "host:port" for every protocol or
// "http=host:port;https=host:port;…" per protocol; ProxyOverride is a
// semicolon list of host names with * wildcards, "a.b.*" address
// prefixes and "<local>" (names without a dot). Patterns of other forms
// are left out: such a host goes through the proxy.
func staticProxy(server, override string) func(*http.Request) (*url.URL, error) {
	proxy := ""
	for _, part := range strings.Split(server, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		scheme, addr, perScheme := strings.Cut(part, "=")
		switch {
		case !perScheme && proxy == "":
			proxy = part
		case perScheme && strings.EqualFold(strings.TrimSpace(scheme), "https"):
			proxy = strings.TrimSpace(addr)
		}
	}
	if proxy == "" {
		return nil
	}
	if !strings.Contains(proxy, "://") {
		proxy = "http://" + proxy
	}
	var noProxy []string
	local := false
	for _, p := range strings.Split(override, ";") {
		p = strings.ToLower(strings.TrimSpace(p))
		switch {
		case p == "":
		case p == "<local>":
			local = true
		case p == "*":
			noProxy = append(noProxy, "*")
		case strings.HasPrefix(p, "*.") && !strings.Contains(p[2:], "*"):
			noProxy = append(noProxy, p[1:]) // ".intern.region.se": the domain and below
		case !strings.Contains(p, "*"):
			noProxy = append(noProxy, p)
		default:
			if cidr := wildcardPrefix(p); cidr != "" {
				noProxy = append(noProxy, cidr)
			}
		}
	}
	pf := (&httpproxy.Config{HTTPSProxy: proxy, NoProxy: strings.Join(noProxy, ",")}).ProxyFunc()
	return func(r *http.Request) (*url.URL, error) {
		if local && !strings.Contains(r.URL.Hostname(), ".") && net.ParseIP(r.URL.Hostname()) == nil {
			return nil, nil
		}
		u, err := pf(r.URL)
		if err != nil || u == nil {
			return u, err
		}
		return u, usable(u)
	}
}

// wildcardPrefix turns "10.*", "10.1.*" or "10.1.2.*" into a CIDR block,
// "" for any other pattern.
func wildcardPrefix(p string) string {
	fields := strings.Split(p, ".")
	if len(fields) < 2 || len(fields) > 4 || fields[len(fields)-1] != "*" {
		return ""
	}
	octets := fields[:len(fields)-1]
	for _, o := range octets {
		if o == "" || strings.Trim(o, "0123456789") != "" || len(o) > 3 {
			return ""
		}
	}
	ip := strings.Join(octets, ".") + strings.Repeat(".0", 4-len(octets))
	if net.ParseIP(ip) == nil {
		return ""
	}
	return ip + "/" + []string{"", "8", "16", "24"}[len(octets)]
}
