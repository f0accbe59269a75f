//go:build !windows

package agent

// alertUser: the desktop notification tells the user on this system.
func alertUser(summary, body string) {}
