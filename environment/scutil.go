package environment

import (
	"bufio"
	"strings"
)

// scutilProxy reads what "scutil --proxy" prints on macOS (the proxy of
// the network service in use, as System Settings and MDM profiles set it)
// into the server and bypass list staticProxy takes: "HOST:PORT" when
// HTTPSEnable is 1, the ExceptionsList joined with ";", and "<local>" for
// ExcludeSimpleHostnames. A PAC file (ProxyAutoConfigEnable) is not
// evaluated.
func scutilProxy(out string) (server, override string) {
	var (
		top        = map[string]string{}
		exceptions []string
		inList     bool
	)
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if inList {
			if line == "}" {
				inList = false
				continue
			}
			if _, v, ok := strings.Cut(line, " : "); ok {
				exceptions = append(exceptions, strings.TrimSpace(v))
			}
			continue
		}
		k, v, ok := strings.Cut(line, " : ")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "ExceptionsList" && strings.HasPrefix(v, "<array>") {
			inList = true
			continue
		}
		top[k] = v
	}
	if top["HTTPSEnable"] != "1" || top["HTTPSProxy"] == "" {
		return "", ""
	}
	server = top["HTTPSProxy"]
	if p := top["HTTPSPort"]; p != "" {
		server += ":" + p
	}
	if top["ExcludeSimpleHostnames"] == "1" {
		exceptions = append(exceptions, "<local>")
	}
	return server, strings.Join(exceptions, ";")
}
