//go:build linux

package rig

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr kills pcscd when the test binary dies without Close (a panic,
// a -timeout), so no private pcscd outlives its tests.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

// listensOn reports whether process pid has a listening TCP socket on every
// one of ports. It reads /proc/net/tcp{,6} for listening sockets and matches
// their inodes against pid's open files, so a port taken by someone else
// does not count.
func listensOn(pid int, ports ...int) (bool, error) {
	want := map[int]bool{}
	for _, p := range ports {
		want[p] = true
	}
	inodes := map[string]int{} // socket inode -> port
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // 0A = TCP_LISTEN
				continue
			}
			i := strings.LastIndexByte(fields[1], ':')
			port, err := strconv.ParseUint(fields[1][i+1:], 16, 16)
			if err != nil || !want[int(port)] {
				continue
			}
			inodes["socket:["+fields[9]+"]"] = int(port)
		}
		fh.Close()
	}
	if len(inodes) == 0 {
		return false, nil
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		return false, nil // gone, or not yet exec'ed
	}
	found := map[int]bool{}
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil {
			continue
		}
		if port, ok := inodes[link]; ok {
			found[port] = true
		}
	}
	return len(found) == len(want), nil
}

// rigMarker is in the path of every private pcscd's conf directory, which is
// on its command line: it tells rig pcscds from the system one.
const rigMarker = "sithseid-rig-"

// pcscdCmdline returns pid's command line if pid is a live pcscd, else "".
func pcscdCmdline(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	if len(args) == 0 || filepath.Base(args[0]) != "pcscd" {
		return ""
	}
	return strings.Join(args, " ")
}

// isSystemPCSCD reports whether pid is the pcscd on the default socket:
// neither a rig's nor anyone's private one with its own reader.conf
// directory (-c, --config).
func isSystemPCSCD(pid int) bool {
	c := pcscdCmdline(pid)
	if c == "" || strings.Contains(c, rigMarker) {
		return false
	}
	for _, arg := range strings.Fields(c)[1:] {
		if arg == "-c" || arg == "--config" || strings.HasPrefix(arg, "--config=") {
			return false
		}
	}
	return true
}

func readPIDFile() string {
	b, _ := os.ReadFile(systemPIDFile)
	return string(b)
}

func parsePID(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// fixPIDFile puts /run/pcscd/pcscd.pid back the way the system pcscd needs
// it after a private pcscd started (it overwrote the file) or stopped (it
// deleted the file). saved is the file's content from before. The file ends
// up naming the system pcscd if one runs, and is removed when it names a
// private or dead one. Several rigs may do this at once; each leaves the
// file correct, so the order does not matter.
func fixPIDFile(saved string) {
	if _, err := os.Stat(filepath.Dir(systemPIDFile)); err != nil {
		return
	}
	sys := parsePID(saved)
	if sys != 0 && !isSystemPCSCD(sys) {
		sys = 0
	}
	if sys == 0 {
		sys = findSystemPCSCD()
	}
	cur := parsePID(readPIDFile())
	switch {
	case sys != 0 && cur != sys:
		writeFileAtomic(systemPIDFile, fmt.Sprintf("%d\n", sys))
	case sys == 0 && cur != 0:
		_ = os.Remove(systemPIDFile)
	}
}

// findSystemPCSCD scans /proc for a pcscd that is not a rig's.
func findSystemPCSCD() int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if isSystemPCSCD(pid) {
			return pid
		}
	}
	return 0
}

func writeFileAtomic(path, content string) {
	tmp := fmt.Sprintf("%s.rig%d", path, os.Getpid())
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
	}
}
