//go:build windows

package environment

import (
	"net/http"
	"net/url"

	"golang.org/x/sys/windows/registry"
)

const internetSettings = `Software\Microsoft\Windows\CurrentVersion\Internet Settings`

// systemProxy is the proxy of Internet Options (what Edge and Chrome use)
// when it is turned on and names a proxy for https: ProxyEnable,
// ProxyServer and ProxyOverride under HKCU, or under HKLM where Group
// Policy makes the proxy per machine (ProxySettingsPerUser = 0). An
// automatic configuration script (AutoConfigURL, a PAC file) and WPAD are
// not evaluated.
func systemProxy() func(*http.Request) (*url.URL, error) {
	root := registry.CURRENT_USER
	if p, err := registry.OpenKey(registry.LOCAL_MACHINE, `Software\Policies\Microsoft\Windows\CurrentVersion\Internet Settings`, registry.QUERY_VALUE); err == nil {
		if perUser, _, err := p.GetIntegerValue("ProxySettingsPerUser"); err == nil && perUser == 0 {
			root = registry.LOCAL_MACHINE
		}
		p.Close()
	}
	k, err := registry.OpenKey(root, internetSettings, registry.QUERY_VALUE)
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
	return staticProxy(server, override)
}
