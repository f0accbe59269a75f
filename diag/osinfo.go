package diag

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// osSource is where the OS name and version are read: files on Linux, the
// sw_vers tool on macOS, the registry and RtlGetVersion on Windows. Tests
// fake each one.
type osSource struct {
	GOOS     string
	ReadFile func(path string) ([]byte, error)
	// Run runs a tool and returns its standard output.
	Run func(name string, args ...string) ([]byte, error)
	// Windows reads HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion and
	// RtlGetVersion.
	Windows func() (winVersion, error)
}

// winVersion is what Windows says of itself.
type winVersion struct {
	// From HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion:
	// ProductName ("Windows 10 Pro" — also on Windows 11), DisplayVersion
	// ("23H2"; ReleaseId on Windows 10 before 20H2), CurrentBuild
	// ("22631") and UBR, the update build revision (3447).
	ProductName, DisplayVersion, ReleaseID, CurrentBuild string
	UBR                                                  uint64
	// From RtlGetVersion, which no compatibility shim lies to.
	Major, Minor, Build uint32
}

// systemOS is this machine's sources.
func systemOS() osSource {
	return osSource{
		GOOS:     runtime.GOOS,
		ReadFile: os.ReadFile,
		Run: func(name string, args ...string) ([]byte, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return exec.CommandContext(ctx, name, args...).Output()
		},
		Windows: windowsVersion,
	}
}

// osInfo names the OS and its version ("Debian GNU/Linux 12 (bookworm)",
// "macOS 14.4.1 (23E224)", "Windows 11 Pro 23H2 (build 22631.3447)") and
// the kernel's version; what cannot be read is left empty.
func osInfo(src osSource) (release, kernel string) {
	switch src.GOOS {
	case "windows":
		return windowsInfo(src)
	case "darwin":
		return darwinInfo(src)
	}
	if b, err := src.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
				release = strings.Trim(v, `"`)
			}
		}
	}
	if b, err := src.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	return release, kernel
}

// darwinInfo reads sw_vers ("ProductName:\tmacOS", "ProductVersion:\t14.4.1",
// "BuildVersion:\t23E224") and the Darwin kernel's release (uname -r).
func darwinInfo(src osSource) (release, kernel string) {
	if out, err := src.Run("/usr/bin/sw_vers"); err == nil {
		f := map[string]string{}
		for _, l := range strings.Split(string(out), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				f[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		release = strings.TrimSpace(f["ProductName"] + " " + f["ProductVersion"])
		if b := f["BuildVersion"]; b != "" && release != "" {
			release += " (" + b + ")"
		}
	}
	if out, err := src.Run("/usr/bin/uname", "-r"); err == nil {
		if k := strings.TrimSpace(string(out)); k != "" {
			kernel = "Darwin " + k
		}
	}
	return release, kernel
}

// windowsInfo names the edition, feature update and build. Windows 11
// still calls itself "Windows 10 …" in ProductName; build 22000 and later
// is Windows 11.
func windowsInfo(src osSource) (release, kernel string) {
	if src.Windows == nil {
		return "", ""
	}
	v, err := src.Windows()
	if err != nil {
		return "", ""
	}
	build := v.CurrentBuild
	if build == "" && v.Build != 0 {
		build = fmt.Sprint(v.Build)
	}
	var buildNo int
	fmt.Sscan(build, &buildNo)
	name := v.ProductName
	if rest, ok := strings.CutPrefix(name, "Windows 10"); ok && buildNo >= 22000 {
		name = "Windows 11" + rest
	}
	if name == "" {
		name = "Windows"
	}
	release = name
	if dv := v.DisplayVersion; dv != "" {
		release += " " + dv
	} else if v.ReleaseID != "" {
		release += " " + v.ReleaseID
	}
	if build != "" {
		release += " (build " + build
		if v.UBR != 0 {
			release += fmt.Sprintf(".%d", v.UBR)
		}
		release += ")"
	}
	if v.Major != 0 {
		kernel = fmt.Sprintf("NT %d.%d.%d", v.Major, v.Minor, v.Build)
	}
	return release, kernel
}
