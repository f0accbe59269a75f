//go:build darwin || freebsd

package localsocket

import "golang.org/x/sys/unix"

// peerCred asks the kernel who is at the other end of a Unix socket
// (LOCAL_PEERCRED, unix(4)). The pid is not reported here.
func peerCred(fd int) (uid, pid int, err error) {
	x, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return -1, 0, err
	}
	return int(x.Uid), 0, nil
}
