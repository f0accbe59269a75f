package oob

import (
	"net/url"
	"strings"
)

// URLScheme is the scheme the app registers with the operating system.
const URLScheme = "sithseid"

// MaxAutoStartURL bounds the length of a sithseid: URL: the token, a
// redirect of at most 2048 bytes percent-encoded (up to three times as
// long) and the fixed parts.
const MaxAutoStartURL = 7000

// AutoStart is a parsed sithseid: URL: the order's autostart token and
// where to send the browser afterwards.
type AutoStart struct {
	// Token is the autoStartToken, a canonical UUID. It is a bearer secret
	// until the order ends: never log it.
	Token string
	// Redirect is the URL to open after completion, "" for "null".
	Redirect string
}

// AutoStartURL builds "sithseid:///?autostarttoken=T&redirect=R", with R
// percent-encoded, or "null" when redirect is "".
func AutoStartURL(token, redirect string) string {
	r := "null"
	if redirect != "" {
		r = url.QueryEscape(redirect)
	}
	return URLScheme + ":///?autostarttoken=" + token + "&redirect=" + r
}

// ParseAutoStartURL parses the URL a login page opens, strictly, because
// anything on any web page can open it: scheme sithseid (any case, RFC 3986
// §3.1), an empty authority, path "/" or empty, no fragment, and exactly
// the parameters autostarttoken (a canonical UUID) and redirect (an https
// URL, a loopback http URL, or "null"; see CheckRedirect), each once. Errors
// are *DecodeError and never echo the token.
func ParseAutoStartURL(s string) (AutoStart, error) {
	bad := func(field, reason string) (AutoStart, error) {
		return AutoStart{}, &DecodeError{What: "autostart URL", Field: field, Reason: reason}
	}
	if len(s) > MaxAutoStartURL {
		return bad("", "too long")
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return bad("", "space, control or non-ASCII character")
		}
	}
	if strings.ContainsAny(s, "#\\") {
		return bad("", "fragment or backslash")
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || !strings.EqualFold(scheme, URLScheme) {
		return bad("scheme", "not "+URLScheme)
	}
	if !strings.HasPrefix(rest, "//") {
		return bad("", "no empty authority (want sithseid:///?…)")
	}
	u, err := url.Parse(URLScheme + ":" + rest)
	if err != nil {
		return bad("", "does not parse")
	}
	if u.Opaque != "" || u.User != nil || u.Host != "" {
		return bad("host", "not empty")
	}
	if u.Path != "" && u.Path != "/" || u.RawPath != "" {
		return bad("path", `not "/"`)
	}
	if u.RawQuery == "" {
		return bad("", "no parameters")
	}
	var as AutoStart
	var haveToken, haveRedirect bool
	for _, kv := range strings.Split(u.RawQuery, "&") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return bad("", "parameter without value")
		}
		switch k {
		case "autostarttoken":
			if haveToken {
				return bad(k, "repeated")
			}
			haveToken = true
			if !IsCanonicalUUID(v) {
				return bad(k, "not a canonical UUID")
			}
			as.Token = v
		case "redirect":
			if haveRedirect {
				return bad(k, "repeated")
			}
			haveRedirect = true
			if v == "null" {
				continue
			}
			r, err := url.QueryUnescape(v)
			if err != nil {
				return bad(k, "bad percent-encoding")
			}
			if err := CheckRedirect(r); err != nil {
				return AutoStart{}, &DecodeError{What: "autostart URL", Field: k, Err: err}
			}
			as.Redirect = r
		default:
			return bad("", "unknown parameter")
		}
	}
	if !haveToken {
		return bad("autostarttoken", "missing")
	}
	if !haveRedirect {
		return bad("redirect", "missing")
	}
	return as, nil
}
