package rig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Programs the rig runs. Variables so a test machine with another layout can
// point them elsewhere before the first StartPCSCD.
var (
	PCSCDPath        = "/usr/sbin/pcscd"
	SocketActivate   = "systemd-socket-activate"
	VPCDDriverPath   = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
	systemPIDFile    = "/run/pcscd/pcscd.pid"
	portLockDir      = filepath.Join(os.TempDir(), "sithseid-rig-ports")
	startTimeout     = 10 * time.Second
	firstPort        = 20000 // below Linux's ephemeral range (32768–60999)
	lastPort         = 32766
	maxPortAttempts  = 8
	readinessBackoff = 10 * time.Millisecond
)

// ErrUnavailable means this machine cannot run a private pcscd (no pcscd, no
// vpcd driver or no systemd-socket-activate). Tests skip on it; everything
// else is a failure.
var ErrUnavailable = errors.New("rig: private pcscd unavailable")

// EnvSocket is the variable libpcsclite reads to find pcscd.
const EnvSocket = "PCSCLITE_CSOCK_NAME"

// PCSCD is one private pcscd with two vpcd readers.
type PCSCD struct {
	dir     string // holds conf/, pcscd.comm, pcscd.log
	port    int    // vpcd port of reader 0; reader 1 is port+1
	lock    *os.File
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	closed  bool
	keepDir bool
	// emptied is when the last card run in each reader was stopped. pcscd
	// polls vpcd's presence every 400 ms: a new card that connects sooner
	// is, to pcscd, the old card still there, and is never powered up.
	emptied [Readers]time.Time
}

// waitEmptied sleeps until reader has been without a card for at least d.
func (p *PCSCD) waitEmptied(reader int, d time.Duration) {
	p.mu.Lock()
	at := p.emptied[reader]
	p.mu.Unlock()
	if wait := time.Until(at.Add(d)); wait > 0 {
		time.Sleep(wait)
	}
}

func (p *PCSCD) markEmptied(reader int) {
	p.mu.Lock()
	p.emptied[reader] = time.Now()
	p.mu.Unlock()
}

// Available reports why a private pcscd cannot run here, or nil.
func Available() error {
	for _, p := range []string{PCSCDPath, VPCDDriverPath} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	if _, err := exec.LookPath(SocketActivate); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// StartPCSCD starts a private pcscd on a fresh socket with a free vpcd port
// pair and returns once its readers exist. Close stops it and removes its
// directory.
func StartPCSCD() (*PCSCD, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(socketTempDir(), "sithseid-rig-")
	if err != nil {
		return nil, fmt.Errorf("rig: %w", err)
	}
	p := &PCSCD{dir: dir}
	var lastErr error
	for range maxPortAttempts {
		port, lock, err := reservePortPair()
		if err != nil {
			lastErr = err
			continue
		}
		p.port, p.lock = port, lock
		if err := p.writeConf(); err != nil {
			p.releasePort()
			_ = os.RemoveAll(dir)
			return nil, err
		}
		if err := p.start(); err != nil {
			lastErr = err
			p.stop(syscall.SIGKILL)
			p.releasePort()
			continue
		}
		return p, nil
	}
	_ = os.RemoveAll(dir)
	return nil, fmt.Errorf("rig: starting pcscd: %w", lastErr)
}

// socketTempDir is os.TempDir unless that is too long for a Unix socket path
// (108 bytes on Linux, with room for the rest of the name).
func socketTempDir() string {
	if d := os.TempDir(); len(d) < 60 {
		return d
	}
	return "/tmp"
}

// Dir is the pcscd's working directory (conf/, pcscd.comm, pcscd.log).
func (p *PCSCD) Dir() string { return p.dir }

// Socket is the pcscd's Unix socket: the value for PCSCLITE_CSOCK_NAME.
func (p *PCSCD) Socket() string { return filepath.Join(p.dir, "pcscd.comm") }

// LogPath is the file pcscd's output goes to.
func (p *PCSCD) LogPath() string { return filepath.Join(p.dir, "pcscd.log") }

// Env returns os.Environ() with PCSCLITE_CSOCK_NAME pointing at this pcscd,
// ready for exec.Cmd.Env of a PC/SC client (opensc-tool, yubico-piv-tool…).
func (p *PCSCD) Env() []string {
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, EnvSocket+"=") {
			env = append(env, kv)
		}
	}
	return append(env, EnvSocket+"="+p.Socket())
}

// Reader is the PC/SC name of vpcd reader i (0 or 1): "Virtual PCD 00 0i".
func (p *PCSCD) Reader(i int) string {
	checkReader(i)
	return fmt.Sprintf("Virtual PCD 00 %02X", i)
}

// Readers is the number of vpcd readers a PCSCD has.
const Readers = 2

// VPCDPort is the TCP port vpcd listens on for reader i.
func (p *PCSCD) VPCDPort(i int) int {
	checkReader(i)
	return p.port + i
}

// VPCDAddr is the address a virtual card dials to sit in reader i.
func (p *PCSCD) VPCDAddr(i int) string {
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(p.VPCDPort(i)))
}

func checkReader(i int) {
	if i < 0 || i >= Readers {
		panic(fmt.Sprintf("rig: reader %d out of range [0,%d)", i, Readers))
	}
}

// PID is the pid of the running pcscd, or 0 when it is not running.
func (p *PCSCD) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	select {
	case <-p.exited:
		return 0
	default:
		return p.cmd.Process.Pid
	}
}

// Kill ends pcscd abruptly (SIGKILL), as a crash would. Clients see their
// contexts die; virtual cards lose their connection. Restart brings it back.
func (p *PCSCD) Kill() error { return p.stop(syscall.SIGKILL) }

// Stop ends pcscd gracefully (SIGTERM). Restart brings it back.
func (p *PCSCD) Stop() error { return p.stop(syscall.SIGTERM) }

// Restart starts pcscd again on the same socket and the same vpcd ports,
// stopping it first if it still runs.
func (p *PCSCD) Restart() error {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return errors.New("rig: restart of a closed pcscd")
	}
	if err := p.stop(syscall.SIGTERM); err != nil {
		return err
	}
	return p.start()
}

// Close stops pcscd, releases its ports and removes its directory (unless
// RIG_KEEP is set in the environment, for post-mortems). Safe to call twice.
func (p *PCSCD) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	err := p.stop(syscall.SIGTERM)
	p.releasePort()
	if os.Getenv("RIG_KEEP") == "" && !p.keepDir {
		if rerr := os.RemoveAll(p.dir); err == nil {
			err = rerr
		}
	}
	return err
}

// LogTail returns the last n bytes of pcscd's log, for error messages.
func (p *PCSCD) LogTail(n int) string {
	b, _ := os.ReadFile(p.LogPath())
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

func (p *PCSCD) writeConf() error {
	conf := filepath.Join(p.dir, "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		return fmt.Errorf("rig: %w", err)
	}
	// vpcd: CHANNELID is the TCP port of the first slot; the second slot
	// listens on CHANNELID+1 (vsmartcard's ifd-vpcd, reader.conf.d/vpcd).
	body := fmt.Sprintf("FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME /dev/null:0x%X\nLIBPATH %s\nCHANNELID 0x%X\n",
		p.port, VPCDDriverPath, p.port)
	if err := os.WriteFile(filepath.Join(conf, "vpcd"), []byte(body), 0o644); err != nil {
		return fmt.Errorf("rig: %w", err)
	}
	return nil
}

// start runs systemd-socket-activate, which execs pcscd on the first
// connection to the socket, then makes that connection and waits until
// pcscd listens on both vpcd ports (its readers exist by then).
func (p *PCSCD) start() error {
	_ = os.Remove(p.Socket())
	saved := readPIDFile()
	var logStart int64
	if fi, err := os.Stat(p.LogPath()); err == nil {
		logStart = fi.Size()
	}
	logf, err := os.OpenFile(p.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("rig: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(SocketActivate, "-l", p.Socket(),
		PCSCDPath, "--foreground", "-c", filepath.Join(p.dir, "conf"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("rig: %s: %w", SocketActivate, err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()
	go func() { _ = cmd.Wait(); close(exited) }()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	err = p.waitReady(ctx, cmd.Process.Pid, exited, logStart)
	fixPIDFile(saved)
	if err != nil {
		return fmt.Errorf("%w\npcscd log:\n%s", err, p.LogTail(2000))
	}
	return nil
}

func (p *PCSCD) waitReady(ctx context.Context, pid int, exited <-chan struct{}, logStart int64) error {
	var conn net.Conn
	for conn == nil {
		c, err := net.Dial("unix", p.Socket())
		if err == nil {
			conn = c
			break
		}
		select {
		case <-exited:
			return errors.New("rig: pcscd exited at start")
		case <-ctx.Done():
			return fmt.Errorf("rig: pcscd socket: %w", err)
		case <-time.After(readinessBackoff):
		}
	}
	// The connection only wakes pcscd up; it has nothing to say to it.
	defer conn.Close()
	for {
		ok, err := listensOn(pid, p.port, p.port+1)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if p.readerInitFailed(logStart) {
			return fmt.Errorf("rig: vpcd could not listen on port %d or %d", p.port, p.port+1)
		}
		select {
		case <-exited:
			return fmt.Errorf("rig: pcscd exited at start (vpcd port %d taken?)", p.port)
		case <-ctx.Done():
			return fmt.Errorf("rig: pcscd (pid %d) does not listen on vpcd ports %d and %d", pid, p.port, p.port+1)
		case <-time.After(readinessBackoff):
		}
	}
}

// readerInitFailed reports whether pcscd logged, after offset, that the
// vpcd reader failed to start: with a port taken by someone else it says
// "Address already in use", "Could not initialize connection to virtual
// ICC" and "Virtual PCD init failed", and runs on without that reader.
func (p *PCSCD) readerInitFailed(offset int64) bool {
	b, err := os.ReadFile(p.LogPath())
	if err != nil || int64(len(b)) < offset {
		return false
	}
	b = b[offset:]
	for _, msg := range []string{"Address already in use", "Could not initialize connection", "init failed"} {
		if bytes.Contains(b, []byte(msg)) {
			return true
		}
	}
	return false
}

// stop signals pcscd and waits for it; a process that ignores SIGTERM for
// 5 s gets SIGKILL.
func (p *PCSCD) stop(sig syscall.Signal) error {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	saved := readPIDFile()
	select {
	case <-exited:
	default:
		_ = cmd.Process.Signal(sig)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	fixPIDFile(saved)
	return nil
}

// reservePortPair picks a random even port P with P and P+1 free and takes
// a lock file for P in a directory shared by every rig on the machine, so
// two test binaries never race for the same pair. The lock lives as long as
// the returned file is open.
func reservePortPair() (int, *os.File, error) {
	if err := os.MkdirAll(portLockDir, 0o777); err != nil {
		return 0, nil, fmt.Errorf("rig: %w", err)
	}
	// Shared by every user's rigs, like /tmp (MkdirAll's mode went through
	// the umask). Not ours to change when another user made it.
	_ = os.Chmod(portLockDir, 0o777|os.ModeSticky)
	for range 50 {
		port := firstPort + 2*rand.IntN((lastPort-firstPort)/2)
		f, err := os.OpenFile(filepath.Join(portLockDir, fmt.Sprintf("%d.lock", port)), os.O_CREATE|os.O_RDONLY, 0o666) // flock needs no write access
		if err != nil {
			return 0, nil, fmt.Errorf("rig: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			continue
		}
		if portFree(port) && portFree(port+1) {
			return port, f, nil
		}
		f.Close()
	}
	return 0, nil, errors.New("rig: no free vpcd port pair")
}

func (p *PCSCD) releasePort() {
	if p.lock != nil {
		p.lock.Close()
		p.lock = nil
	}
}

// portFree reports whether nothing listens on or is bound to port (all
// interfaces, as vpcd binds).
func portFree(port int) bool {
	l, err := net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
