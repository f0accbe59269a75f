package diag

import (
	"errors"
	"strings"
	"testing"
)

var errNo = errors.New("no such source")

func noFile(string) ([]byte, error)           { return nil, errNo }
func noRun(string, ...string) ([]byte, error) { return nil, errNo }

// summary.json names the OS and its version on Windows and macOS too (it
// used to read only /etc/os-release, so both were empty there).
func TestOSInfo(t *testing.T) {
	win := func(v winVersion) func() (winVersion, error) {
		return func() (winVersion, error) { return v, nil }
	}
	for _, tc := range []struct {
		name            string
		src             osSource
		release, kernel string
	}{
		{"Windows 11", osSource{GOOS: "windows", ReadFile: noFile, Run: noRun, Windows: win(winVersion{
			ProductName: "Windows 10 Pro", DisplayVersion: "23H2", CurrentBuild: "22631", UBR: 3447,
			Major: 10, Build: 22631})},
			"Windows 11 Pro 23H2 (build 22631.3447)", "NT 10.0.22631"},
		{"Windows 10 1909", osSource{GOOS: "windows", ReadFile: noFile, Run: noRun, Windows: win(winVersion{
			ProductName: "Windows 10 Enterprise", ReleaseID: "1909", CurrentBuild: "18363", UBR: 1556,
			Major: 10, Build: 18363})},
			"Windows 10 Enterprise 1909 (build 18363.1556)", "NT 10.0.18363"},
		{"Windows, registry unreadable", osSource{GOOS: "windows", ReadFile: noFile, Run: noRun, Windows: win(winVersion{
			Major: 10, Build: 19045})},
			"Windows (build 19045)", "NT 10.0.19045"},
		{"Windows, nothing", osSource{GOOS: "windows", ReadFile: noFile, Run: noRun,
			Windows: func() (winVersion, error) { return winVersion{}, errNo }}, "", ""},
		{"macOS", osSource{GOOS: "darwin", ReadFile: noFile, Run: func(name string, args ...string) ([]byte, error) {
			switch {
			case strings.HasSuffix(name, "sw_vers"):
				return []byte("ProductName:\t\tmacOS\nProductVersion:\t\t14.4.1\nBuildVersion:\t\t23E224\n"), nil
			case strings.HasSuffix(name, "uname"):
				return []byte("23.4.0\n"), nil
			}
			return nil, errNo
		}}, "macOS 14.4.1 (23E224)", "Darwin 23.4.0"},
		{"macOS, no sw_vers", osSource{GOOS: "darwin", ReadFile: noFile, Run: noRun}, "", ""},
		{"Linux", osSource{GOOS: "linux", Run: noRun, ReadFile: func(p string) ([]byte, error) {
			switch p {
			case "/etc/os-release":
				return []byte("NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"), nil
			case "/proc/sys/kernel/osrelease":
				return []byte("6.1.0-18-amd64\n"), nil
			}
			return nil, errNo
		}}, "Debian GNU/Linux 12 (bookworm)", "6.1.0-18-amd64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release, kernel := osInfo(tc.src)
			if release != tc.release || kernel != tc.kernel {
				t.Errorf("osInfo = %q, %q; want %q, %q", release, kernel, tc.release, tc.kernel)
			}
		})
	}
}
