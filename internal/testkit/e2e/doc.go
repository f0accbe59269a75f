// Package e2e holds the product's end-to-end tests: the real sithseid
// binary in a simulated user session (its own runtime directory, home and
// X display under Xvfb), a private pcscd with a virtual SITHS card
// (internal/testkit/rig), the reference identity service (idp) and a real browser
// (Debian's headless Chromium driven over the DevTools protocol).
//
// A clinician's login as it happens on a workstation: the relying party's
// page shows the autostart link and the animated QR; the link is opened as
// the OS would open it (sithseid 'sithseid:///?autostarttoken=…' with no
// terminal), the URL handler hands it to the session's agent, the agent
// opens the approval window, the PIN is typed into that real window with
// xdotool, and the page shows who logged in.
//
// The package has no non-test code.
package e2e
