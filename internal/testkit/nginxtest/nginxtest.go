// Package nginxtest runs a real nginx (the Debian package) for a test: TLS
// on a free loopback port, client certificates required
// (ssl_verify_client on), session tickets on, and one location that echoes
// what nginx saw of the client certificate and the TLS session.
//
// # Use
//
//	opts := nginxtest.PKIOptions(t, pki) // server cert, root + HSA person CA
//	opts.Protocols = []string{"TLSv1.3"}
//	srv := nginxtest.Start(t, opts)
//	resp, err := srv.Fetch(httpClient)   // GET srv.URL + "/"
//	resp.Whoami.Reused == "r"            // $ssl_session_reused
//
// Every path answers 200 with "key: value" lines (see Whoami) when the
// client certificate verified, and 403 with an "error:" line and
// $ssl_client_verify when it did not or none was sent (nginx's internal
// codes 495 and 496).
//
// nginx runs in the foreground with master_process off (one process, so
// the session ticket keys and session cache are the ones every connection
// sees) under exec.Cmd; config, certificates, logs and pid live in
// t.TempDir(), and t.Cleanup stops it. On failure the error log is copied
// to the test log.
package nginxtest

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Binary is the nginx executable.
var Binary = "/usr/sbin/nginx"

// Options configure one nginx server.
type Options struct {
	// ServerChain is the server certificate, leaf first, then the
	// intermediates to send.
	ServerChain []*x509.Certificate
	// ServerKey is the server's private key (a software key).
	ServerKey crypto.Signer
	// ClientCAs are trusted to issue client certificates (the test root
	// and the HSA person CA, typically). Their names are sent in the
	// CertificateRequest unless HideCANames.
	ClientCAs []*x509.Certificate
	// Protocols are nginx ssl_protocols values; nil means TLSv1.2 and
	// TLSv1.3.
	Protocols []string
	// Ciphers is nginx ssl_ciphers (OpenSSL names, TLS 1.2 and below;
	// TLS 1.3 suites are not set by it); empty means nginx's default.
	Ciphers string
	// HideCANames sends an empty certificate_authorities list, so that
	// clients offer any certificate: nginx then requests the certificate
	// with "ssl_verify_client optional_no_ca", verifies it against
	// ClientCAs (ssl_trusted_certificate) and answers 403 unless
	// $ssl_client_verify is SUCCESS. (nginx 1.22 sends the names of
	// ssl_client_certificate and requires it for "ssl_verify_client on".)
	HideCANames bool
	// NoClientAuth turns client certificates off (ssl_verify_client off):
	// a server-authenticated endpoint. ClientCAs may then be empty.
	NoClientAuth bool
	// VerifyDepth is ssl_verify_depth; zero means 3.
	VerifyDepth int
	// ExtraServerConfig is pasted into the server block (more locations,
	// a proxy_pass to a service under test, ...).
	ExtraServerConfig string
}

// Server is a running nginx.
type Server struct {
	// URL is "https://localhost:PORT" (no trailing slash).
	URL string
	// Addr is "127.0.0.1:PORT", where nginx listens.
	Addr string
	// Port is the TCP port.
	Port int
	// Dir holds nginx.conf, the certificates and the logs.
	Dir string

	cmd  *exec.Cmd
	done chan struct{}
	err  error // from cmd.Wait, valid after done closes
}

// Start starts nginx for the test and registers its cleanup. It fails the
// test if nginx cannot start.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Fatalf("nginxtest: %v (install the nginx package: scripts/setup)", err)
	}
	dir := t.TempDir()
	if err := writeMaterial(dir, opts); err != nil {
		t.Fatalf("nginxtest: %v", err)
	}
	var lastErr error
	// A port found free can be taken by someone else before nginx binds
	// it: try a few.
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("nginxtest: %v", err)
		}
		s, err := start(dir, port, opts)
		if err == nil {
			t.Cleanup(func() {
				if err := s.Stop(); err != nil {
					t.Errorf("nginxtest: stopping nginx: %v", err)
				}
				if t.Failed() {
					t.Logf("nginx error log:\n%s", s.ErrorLog())
				}
			})
			return s
		}
		lastErr = err
	}
	t.Fatalf("nginxtest: %v", lastErr)
	return nil
}

func start(dir string, port int, opts Options) (*Server, error) {
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(config(dir, port, opts)), 0o600); err != nil {
		return nil, err
	}
	// Test the configuration first: a config error is then reported as
	// such, not as a failure to listen.
	if out, err := exec.Command(Binary, "-t", "-q", "-p", dir, "-c", conf).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("nginx -t: %v: %s", err, out)
	}
	stderr, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	cmd := exec.Command(Binary, "-p", dir, "-c", conf)
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	cmd.Dir = dir
	// Its own process group, so a signal to the test's group does not
	// reach it and Stop can signal it alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{
		URL:  "https://localhost:" + strconv.Itoa(port),
		Addr: "127.0.0.1:" + strconv.Itoa(port),
		Port: port,
		Dir:  dir,
		cmd:  cmd,
		done: make(chan struct{}),
	}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("nginx exited before listening on %s (%v): %s%s", s.Addr, s.err, readFile(stderr.Name()), s.ErrorLog())
		default:
		}
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			_ = s.Stop()
			return nil, fmt.Errorf("nginx does not listen on %s after 10 s: %v", s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops nginx (SIGQUIT: graceful; SIGKILL after 5 s) and waits for
// it. Calling it again is harmless.
func (s *Server) Stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return errors.New("nginx ignored SIGQUIT for 5 s; killed")
	}
	return nil
}

// ErrorLog returns nginx's error log so far.
func (s *Server) ErrorLog() string { return readFile(filepath.Join(s.Dir, "error.log")) }

// AccessLog returns nginx's access log so far: one line per request with
// the session reuse flag, protocol and client subject. nginx writes a line
// after it has sent the answer, so a client may see the answer first.
func (s *Server) AccessLog() string { return readFile(filepath.Join(s.Dir, "access.log")) }

func readFile(name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return ""
	}
	return string(b)
}

// Whoami is what the echo location reports: nginx's view of the request's
// TLS session and client certificate.
type Whoami struct {
	Subject  string // $ssl_client_s_dn (RFC 2253)
	Issuer   string // $ssl_client_i_dn
	Serial   string // $ssl_client_serial (hex)
	Verify   string // $ssl_client_verify: SUCCESS, FAILED:reason or NONE
	Reused   string // $ssl_session_reused: "r" when the session was resumed, "." otherwise
	Protocol string // $ssl_protocol: TLSv1.2 or TLSv1.3
	Cipher   string // $ssl_cipher
	Error    string // set on the 403 answer for a rejected or missing client certificate
}

// Response is one answer from the echo location.
type Response struct {
	Status int
	Whoami Whoami
}

// Fetch GETs s.URL+"/" with c and parses the answer.
func (s *Server) Fetch(c *http.Client) (*Response, error) {
	resp, err := c.Get(s.URL + "/")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	w, err := ParseWhoami(body)
	if err != nil {
		return nil, fmt.Errorf("status %d: %w", resp.StatusCode, err)
	}
	return &Response{Status: resp.StatusCode, Whoami: w}, nil
}

// ParseWhoami parses the echo location's "key: value" lines. Lines are used
// rather than JSON because nginx cannot JSON-escape a distinguished name
// in a return directive.
func ParseWhoami(body []byte) (Whoami, error) {
	var w Whoami
	fields := map[string]*string{
		"subject": &w.Subject, "issuer": &w.Issuer, "serial": &w.Serial,
		"verify": &w.Verify, "reused": &w.Reused, "protocol": &w.Protocol,
		"cipher": &w.Cipher, "error": &w.Error,
	}
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			k, v, ok = strings.Cut(sc.Text(), ":")
		}
		if p, known := fields[k]; ok && known {
			*p = v
			seen++
		}
	}
	if seen == 0 {
		return w, fmt.Errorf("nginxtest: not an echo answer: %.200q", body)
	}
	return w, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func writeMaterial(dir string, opts Options) error {
	if len(opts.ServerChain) == 0 || opts.ServerKey == nil {
		return errors.New("Options.ServerChain and ServerKey are required")
	}
	if len(opts.ClientCAs) == 0 && !opts.NoClientAuth {
		return errors.New("Options.ClientCAs is required")
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(opts.ServerKey)
	if err != nil {
		return fmt.Errorf("server key: %w", err)
	}
	files := map[string][]byte{
		"server.pem":    certsPEM(opts.ServerChain),
		"server.key":    pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		"client-ca.pem": certsPEM(opts.ClientCAs),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return os.MkdirAll(filepath.Join(dir, "tmp"), 0o700)
}

func certsPEM(certs []*x509.Certificate) []byte {
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return b
}

// echo is the body of the answers; one "key: value" per line (ParseWhoami).
const echo = `subject: $ssl_client_s_dn\n` +
	`issuer: $ssl_client_i_dn\n` +
	`serial: $ssl_client_serial\n` +
	`verify: $ssl_client_verify\n` +
	`reused: $ssl_session_reused\n` +
	`protocol: $ssl_protocol\n` +
	`cipher: $ssl_cipher\n`

func config(dir string, port int, opts Options) string {
	protocols := opts.Protocols
	if len(protocols) == 0 {
		protocols = []string{"TLSv1.2", "TLSv1.3"}
	}
	ciphers := "# ssl_ciphers: nginx's default"
	if opts.Ciphers != "" {
		ciphers = "ssl_ciphers " + opts.Ciphers + ";"
	}
	depth := opts.VerifyDepth
	if depth == 0 {
		depth = 3
	}
	// nginx 1.22 insists on ssl_client_certificate (whose names it sends)
	// for "ssl_verify_client on". Without names, request the certificate
	// with optional_no_ca, verify it against ssl_trusted_certificate all
	// the same, and refuse the request here when that failed.
	verify := "ssl_verify_client on;\n        ssl_client_certificate"
	if opts.HideCANames {
		verify = "ssl_verify_client optional_no_ca;\n" +
			"        if ($ssl_client_verify != SUCCESS) { return 403 \"error: client certificate rejected\\n" + echo + "\"; }\n" +
			"        ssl_trusted_certificate"
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	caFile := p("client-ca.pem")
	if opts.NoClientAuth {
		verify, caFile = "ssl_verify_client off;\n        #", ""
	}
	return fmt.Sprintf(`# generated by internal/testkit/nginxtest
daemon off;
master_process off;
worker_processes 1;
pid %[1]s;
lock_file %[2]s;
error_log %[3]s info;

events { worker_connections 128; }

http {
    log_format tls '$remote_addr "$request" $status reused=$ssl_session_reused $ssl_protocol verify=$ssl_client_verify "$ssl_client_s_dn"';
    access_log %[4]s tls;
    client_body_temp_path %[5]s/body;
    proxy_temp_path %[5]s/proxy;
    fastcgi_temp_path %[5]s/fastcgi;
    uwsgi_temp_path %[5]s/uwsgi;
    scgi_temp_path %[5]s/scgi;

    server {
        listen 127.0.0.1:%[6]d ssl;
        server_name localhost;

        ssl_certificate %[7]s;
        ssl_certificate_key %[8]s;
        ssl_protocols %[9]s;
        %[15]s

        %[10]s %[11]s;
        ssl_verify_depth %[12]d;

        ssl_session_cache shared:SSL:1m;
        ssl_session_timeout 10m;
        ssl_session_tickets on;

        # 495: the client certificate did not verify; 496: none was sent.
        error_page 495 496 = @rejected;
        location @rejected {
            default_type text/plain;
            return 403 "error: client certificate rejected\n%[13]s";
        }

        location / {
            default_type text/plain;
            return 200 "%[13]s";
        }
%[14]s
    }
}
`, p("nginx.pid"), p("nginx.lock"), p("error.log"), p("access.log"), p("tmp"), port,
		p("server.pem"), p("server.key"), strings.Join(protocols, " "),
		verify, caFile, depth, echo, opts.ExtraServerConfig, ciphers)
}
