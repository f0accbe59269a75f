//go:build windows

package environment

import (
	"net/http"
	"net/url"

	"golang.org/x/sys/windows/registry"
)

// systemProxy is the user's proxy of Internet Options (what Edge and
// Chrome use) when it is turned on and names a proxy for https: ProxyEnable,
// ProxyServer and ProxyOverride under HKCU. An automatic configuration
// script (AutoConfigURL, a PAC file) and WPAD are not evaluated.
func systemProxy() func(*http.Request) (*url.URL, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, `Software\Microsoft\Windows\CurrentVersion\Internet Settings`, registry.QUERY_VALUE)
	if err != nil {
		return nil
	}
	defer k.Close()
	if on, _, err := k.GetIntegerValue("ProxyEnable"); err != nil || on == 0 {
		return nil
	}
	server, _, err := k.GetStringValue("ProxyServer")
	if err != nil || server == "" {
		return nil
	}
	override, _, _ := k.GetStringValue("ProxyOverride")
	return windowsProxy(server, override)
}
