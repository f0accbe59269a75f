package vcard

import (
	"net"
	"syscall"
)

// quickAck sets TCP_QUICKACK, which Linux clears again after it is used:
// call it before every read (FIELD-NOTES "Latency gotcha": 48 ms → 0.2 ms per
// APDU with vpcd 3.3).
func quickAck(c *net.TCPConn) {
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
