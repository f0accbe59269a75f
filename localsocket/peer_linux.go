package localsocket

import "golang.org/x/sys/unix"

// peerCred asks the kernel who is at the other end of a Unix socket
// (SO_PEERCRED, socket(7)).
func peerCred(fd int) (uid, pid int, err error) {
	u, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return -1, 0, err
	}
	return int(u.Uid), int(u.Pid), nil
}
