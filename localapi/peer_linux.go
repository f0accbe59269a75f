package localapi

import (
	"io"
	"syscall"

	"golang.org/x/sys/unix"
)

// kernelPeerPID asks the kernel which process connected a Unix socket
// (SO_PEERCRED: the process that called connect); 0 when rwc is none.
func kernelPeerPID(rwc io.ReadWriteCloser) int {
	sc, ok := rwc.(syscall.Conn)
	if !ok {
		return 0
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	pid := 0
	_ = raw.Control(func(fd uintptr) {
		if u, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			pid = int(u.Pid)
		}
	})
	return pid
}
