//go:build windows

package diag

import (
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// windowsVersion reads the edition and feature update from the registry
// (the 64-bit view) and the version numbers from RtlGetVersion.
func windowsVersion() (winVersion, error) {
	var v winVersion
	rv := windows.RtlGetVersion()
	v.Major, v.Minor, v.Build = rv.MajorVersion, rv.MinorVersion, rv.BuildNumber
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Windows NT\CurrentVersion`,
		registry.QUERY_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return v, nil // the numbers alone still say something
	}
	defer k.Close()
	v.ProductName, _, _ = k.GetStringValue("ProductName")
	v.DisplayVersion, _, _ = k.GetStringValue("DisplayVersion")
	v.ReleaseID, _, _ = k.GetStringValue("ReleaseId")
	v.CurrentBuild, _, _ = k.GetStringValue("CurrentBuild")
	v.UBR, _, _ = k.GetIntegerValue("UBR")
	return v, nil
}
