// Package packaging holds what IT installs: the Debian package (deb/,
// linux/), the MSI (msi/), the macOS recipe (macos/) and the policy
// examples (policy/). It has no code the product runs. Its tests check
// that the files shipped agree with what the app writes and reads: the
// systemd user unit and XDG autostart entry against autostart.SystemdUnit and
// autostart.XDGDesktopEntry, the LaunchAgent against autostart.LaunchAgentPlist, the
// MSI's registry keys and value names against config.WindowsPolicyKey and
// autostart.RunKeyValue, the policy example against the configuration parser.
//
// scripts/packages builds the packages; scripts/check-packages installs
// and inspects them with the real tools (make check-packages).
package packaging
