package localapi

import (
	"io"
	"net"

	"golang.org/x/sys/unix"
)

// kernelPeerPID asks the kernel which process connected a Unix socket
// (LOCAL_PEERPID, unix(4)); 0 when rwc is none.
func kernelPeerPID(rwc io.ReadWriteCloser) int {
	uc, ok := rwc.(*net.UnixConn)
	if !ok {
		return 0
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0
	}
	pid := 0
	_ = raw.Control(func(fd uintptr) {
		if v, err := unix.GetsockoptInt(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERPID); err == nil {
			pid = v
		}
	})
	return pid
}
