//go:build !darwin

package cardreader

import "time"

// pnpNotification is the pseudo-reader that changes when readers come and
// go (pcsclite and Windows; MS-RDPESC, PC/SC Workgroup part 5).
const pnpNotification = `\\?PnP?\Notification`

// pnpSupported: wait on the PnP pseudo-reader instead of polling the list.
const pnpSupported = true

// waitTimeout is infinite: SCardGetStatusChange blocks at no cost until a
// reader or a card changes or SCardCancel interrupts it.
const waitTimeout time.Duration = -1

// relistInterval is unused where PnP notification exists.
const relistInterval = time.Second
