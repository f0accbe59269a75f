package deptest

import (
	"sort"
	"strings"
	"testing"
)

// The packages above app (docs/architecture.md, "Packages"): one per job,
// thin role entry points, and app with the use cases only.
var (
	shipped = []string{".", "./app/...", "./agent/...", "./cli/...", "./ui/...", "./startup/...", "./backends/...",
		"./localapi/...", "./localsocket/...", "./config/...", "./environment/...", "./autostart/...", "./logfile/...",
		"./devicekey/...", "./diag/...", "./cardreader/...", "./mtls/...", "./oob/...",
		"./internal/exitcode/...", "./internal/detach/...", "./internal/atomicfile/...", "./internal/l10n/...", "./internal/localefix/...", "./internal/usertext/...", "./internal/nodump/...", "./internal/appid/...", "./internal/uiexe/...", "./cmd/sithseid-ui/..."}
	// testRigs: every test rig lives under internal/testkit (and the
	// reference identity service, idp, serves tests and the demo).
	testRigs = []string{module + "/internal/testkit/", module + "/idp"}
	glDriver = []string{"fyne.io/fyne/v2/app", "fyne.io/fyne/v2/internal/driver/glfw", "github.com/go-gl/"}
	backends = []string{module + "/cardreader/idprime", module + "/cardreader/piv", module + "/cardreader/pkcs11", module + "/backends"}
)

func forbidden(d, f string) bool {
	return d == f || strings.HasPrefix(d, f+"/") || (strings.HasSuffix(f, "/") && strings.HasPrefix(d, f))
}

func TestRoleImportRules(t *testing.T) {
	for _, rule := range []struct {
		why       string
		patterns  []string
		forbidden []string
	}{
		{"the CLI is no window and no tray: the agent and the windows are roles of their own",
			[]string{"./cli/..."}, []string{module + "/ui", module + "/agent", "fyne.io/"}},
		{"the agent owns every card operation: the windows ask it through the local API",
			[]string{"./ui/..."}, backends},
		{"app holds the use cases: nothing of the roles, the local API or the configuration above it",
			[]string{"./app/..."}, []string{module + "/agent", module + "/localapi", module + "/localsocket", module + "/startup",
				module + "/backends", module + "/config", module + "/diag", module + "/autostart", module + "/logfile",
				module + "/devicekey", module + "/cli", module + "/ui", module + "/internal/exitcode"}},
		{"the local API's client is usable on its own: no agent, no backends, no Fyne",
			[]string{"./localapi/..."}, append([]string{module + "/agent", module + "/cli", module + "/ui", module + "/startup", "fyne.io/"}, backends...)},
		{"configuration, environments, autostart, log file, device key and the socket build without cgo on every OS",
			[]string{"./config/...", "./environment/...", "./autostart/...", "./logfile/...", "./devicekey/...", "./localsocket/..."},
			[]string{module + "/app", module + "/cardreader", module + "/agent", module + "/localapi", module + "/cli", module + "/ui", "fyne.io/", "github.com/ebfe/scard"}},
		{"the resident agent and the shared start-up never load the GL driver",
			[]string{"./agent/...", "./startup/...", "./backends/...", "./localapi/...", "./diag/..."}, glDriver},
		{"the agent is reached through the local API, never imported by the other roles' start-up",
			[]string{"./startup/...", "./backends/..."}, []string{module + "/agent", module + "/cli", module + "/ui"}},
		{"the leaf libraries know nothing above them",
			[]string{"./cardreader/...", "./mtls/...", "./oob/..."},
			[]string{module + "/agent", module + "/localapi", module + "/localsocket", module + "/startup", module + "/backends",
				module + "/config", module + "/environment", module + "/diag", module + "/autostart", module + "/logfile", module + "/devicekey"}},
		{"shipped packages import no test rig", shipped, testRigs},
	} {
		for _, p := range deps(t, rule.patterns...) {
			for _, d := range p.Deps {
				for _, f := range rule.forbidden {
					if forbidden(d, f) {
						t.Errorf("%s imports %s: %s", p.ImportPath, d, rule.why)
					}
				}
			}
		}
	}
}

// The windows are an executable of their own, sithseid-ui
// (docs/architecture.md, "Processes"): only it and the packages it shows
// windows with depend on Fyne, so the main binary (agent, CLI, URL
// handler) starts without Fyne's init, its GL and X11 libraries, and the
// resident agent carries none of them. fyne.io/systray, the tray, is not
// Fyne.
func TestOnlyTheUIExecutableDependsOnFyne(t *testing.T) {
	allowed := map[string]bool{module + "/ui": true, module + "/ui/theme": true, module + "/ui/views": true, module + "/cmd/sithseid-ui": true}
	const fyne = "fyne.io/fyne/v2"
	// The main binary and the roles it runs, named, so that a rule that
	// checks nothing cannot pass: each must be listed.
	roles := []string{".", "./agent", "./cli", "./app", "./localapi", "./startup", "./backends/...", "./ui/tray/...", "./ui/viewname"}
	for _, p := range deps(t, roles...) {
		for _, d := range p.Deps {
			if forbidden(d, fyne) {
				t.Errorf("%s depends on %s: only %v may (the main binary must not link Fyne)", p.ImportPath, d, keys(allowed))
				break
			}
		}
	}
	if t.Failed() {
		return
	}
	users := map[string]bool{}
	for _, p := range deps(t, "./...") {
		for _, d := range p.Deps {
			if forbidden(d, fyne) {
				users[p.ImportPath] = true
				if !allowed[p.ImportPath] {
					t.Errorf("%s depends on %s: only %v may", p.ImportPath, d, keys(allowed))
				}
				break
			}
		}
	}
	if !users[module+"/cmd/sithseid-ui"] || !users[module+"/ui"] {
		t.Errorf("neither cmd/sithseid-ui nor ui depends on Fyne (%v): the rule checks nothing", keys(users))
	}
}

func keys(m map[string]bool) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}
