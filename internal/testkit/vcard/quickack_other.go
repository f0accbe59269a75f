//go:build !linux

package vcard

import "net"

// quickAck is a no-op where TCP_QUICKACK does not exist.
func quickAck(*net.TCPConn) {}
