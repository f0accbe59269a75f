//go:build darwin

package environment

import (
	"context"
	"net/http"
	"net/url"
	"os/exec"
	"time"
)

// systemProxy is macOS's proxy for https as "scutil --proxy" reports it
// (System Settings, MDM profiles), read without cgo; a PAC file is not
// evaluated.
func systemProxy() func(*http.Request) (*url.URL, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/sbin/scutil", "--proxy").Output()
	if err != nil {
		return nil
	}
	server, override := scutilProxy(string(out))
	if server == "" {
		return nil
	}
	return staticProxy(server, override)
}
