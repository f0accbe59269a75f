//go:build darwin

package cardreader

import "time"

// macOS's PC/SC (CryptoTokenKit) has no PnP pseudo-reader: wait on the known
// readers with a timeout, then list the readers again to see new ones.
const (
	pnpNotification = `\\?PnP?\Notification` // never waited on
	pnpSupported    = false
	waitTimeout     = 2 * time.Second
	relistInterval  = 2 * time.Second
)
