package nodump

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
)

// Status reads, for the running process pid, whether it is dumpable
// (prctl(PR_GET_DUMPABLE) as only that process could ask it; here from
// the ownership of /proc/PID: an undumpable process's entries belong to
// root) and its soft core-file limit as /proc/PID/limits prints it ("0",
// "unlimited", …). For tests of the processes that call Apply.
func Status(pid int) (dumpable bool, coreLimit string, err error) {
	dir := "/proc/" + strconv.Itoa(pid)
	limits, err := os.ReadFile(dir + "/limits")
	if err != nil {
		return false, "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(limits))
	for sc.Scan() {
		if f := strings.Fields(strings.TrimPrefix(sc.Text(), "Max core file size")); len(f) >= 2 && strings.HasPrefix(sc.Text(), "Max core file size") {
			coreLimit = f[0]
		}
	}
	if coreLimit == "" {
		return false, "", errors.New("no core file size in " + dir + "/limits")
	}
	dumpable, err = isDumpable(dir)
	return dumpable, coreLimit, err
}

// isDumpable tells from outside: the kernel gives an undumpable process's
// /proc/PID entries to root (proc(5), "/proc/pid"), a dumpable one's to
// its own uid. For a process that runs as root the two look the same.
func isDumpable(dir string) (bool, error) {
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return false, err
	}
	uid := -1
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Uid:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				uid, _ = strconv.Atoi(f[0])
			}
		}
	}
	if uid < 0 {
		return false, errors.New("no Uid in " + dir + "/status")
	}
	if uid == 0 {
		return false, ErrRootProcess
	}
	fi, err := os.Stat(dir + "/mem")
	if err != nil {
		return false, err
	}
	return fileUID(fi) != 0, nil
}

// ErrRootProcess: whether a process of root's is dumpable cannot be told
// from its /proc entries (they are root's either way).
var ErrRootProcess = errors.New("nodump: a process of root's is root's in /proc dumpable or not")
