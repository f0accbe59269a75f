//go:build !windows

package environment

import (
	"net/http"
	"net/url"
)

// systemProxy is nil: the system proxy settings are read on Windows only
// (macOS's are not read in this build; docs/admin.md, "Proxy").
func systemProxy() func(*http.Request) (*url.URL, error) { return nil }
