// Package proxytest is the proxies of a hospital's network for tests: an
// HTTP CONNECT proxy that tunnels, and a TLS-inspecting one that answers
// CONNECT, then terminates TLS itself with a certificate of its own CA and
// relays to the real server (what a re-signing proxy does).
package proxytest

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
)

// Proxy is a proxy listening on the loopback interface until the test ends.
type Proxy struct {
	// URL is the proxy's http:// URL, for policy's proxy key.
	URL *url.URL
	// Tunnels counts the CONNECT requests answered.
	Tunnels atomic.Int64
	// Intercepted counts the TLS handshakes the inspecting proxy
	// completed with the client (0 while every client refuses it).
	Intercepted atomic.Int64
}

// Connect starts an HTTP CONNECT proxy that tunnels bytes untouched.
func Connect(t testing.TB) *Proxy {
	return start(t, nil)
}

// Inspecting starts a TLS-inspecting proxy that presents cert (issued by
// its own CA for the service's names) to the client and relays to the
// service without checking it.
func Inspecting(t testing.TB, cert tls.Certificate) *Proxy {
	return start(t, &cert)
}

func start(t testing.TB, cert *tls.Certificate) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{URL: &url.URL{Scheme: "http", Host: ln.Addr().String()}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		// Hijack first, then answer by hand: a WriteHeader before Hijack
		// leaves the server free to add framing the client would read as
		// the start of the TLS handshake.
		down, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer down.Close()
		var up net.Conn
		if cert == nil {
			if up, err = net.Dial("tcp", r.Host); err != nil {
				io.WriteString(down, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
				return
			}
		}
		if _, err := io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
			if up != nil {
				up.Close()
			}
			return
		}
		p.Tunnels.Add(1)
		var client net.Conn = down
		if cert != nil {
			inner := tls.Server(down, &tls.Config{Certificates: []tls.Certificate{*cert}})
			if err := inner.Handshake(); err != nil {
				return // the client refused the proxy's certificate
			}
			p.Intercepted.Add(1)
			client = inner
			if up, err = tls.Dial("tcp", r.Host, &tls.Config{InsecureSkipVerify: true}); err != nil {
				return
			}
		}
		defer up.Close()
		go func() { io.Copy(up, client); up.Close() }()
		io.Copy(client, up)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p
}
