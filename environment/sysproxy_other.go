//go:build !windows && !darwin

package environment

import (
	"net/http"
	"net/url"
)

// systemProxy is nil: Linux desktops have no one proxy setting (GNOME's
// and KDE's differ); HTTPS_PROXY/NO_PROXY and policy serve there.
func systemProxy() func(*http.Request) (*url.URL, error) { return nil }
