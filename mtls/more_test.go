package mtls_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http"
	"net/url"

	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/mtls"
)

// mtls knows no cards, no UI and no app: it imports the standard library
// only (DESIGN.md, "Dependency direction").
func TestImportsStandardLibraryOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s: mtls may import the standard library only", f, path)
			}
		}
	}
}

// Concurrent requests from cold: the first goes alone and the others wait
// for its session, so the key signs once. Then new connections one after
// another each resume with the latest ticket: still one signature in all.
//
// New connections made at the same instant are not asserted to resume:
// they all offer the one ticket the cache holds, and a server that makes
// TLS 1.3 tickets single-use (RFC 8446 §8.1 recommends it against replay;
// nginx does it at times) resumes one of them and gives the others a full
// handshake. A login makes one request at a time, so that is not the
// product's case.
func TestConcurrentRequestsShareTheSession(t *testing.T) {
	p := newPKI(t, "mtls")
	cred := issueCard(t, p, testpki.P256)
	srv := startNginx(t, p, serverOpts{protocols: []string{"TLSv1.3"}})
	signer := &countingSigner{Signer: cred.Key}
	c := newClient(t, options(p, cred, signer))

	const n = 8
	var wg0 sync.WaitGroup
	for range n {
		wg0.Go(func() {
			if _, err := srv.Fetch(c.HTTP); err != nil {
				t.Error(err)
			}
		})
	}
	wg0.Wait()
	if got := signer.n.Load(); got != 1 {
		t.Fatalf("%d concurrent first requests cost %d signatures, want 1", n, got)
	}

	for i := range n {
		c.CloseIdleConnections() // a new connection each time
		r, err := srv.Fetch(c.HTTP)
		if err != nil {
			t.Fatal(err)
		}
		if r.Whoami.Reused != "r" {
			t.Errorf("connection %d did not resume (%+v)", i, r.Whoami)
		}
	}
	if got := signer.n.Load(); got != 1 {
		t.Errorf("%d signatures, want 1", got)
	}
	if st := c.Stats(); st.Signatures != 1 || st.Resumptions < n {
		t.Errorf("stats %+v: want one signature and at least %d resumptions", st, n)
	}
}

// connectProxy is a minimal HTTP CONNECT proxy that counts tunnels.
type connectProxy struct {
	tunnels atomic.Int64
	ln      net.Listener
}

func startConnectProxy(t *testing.T) *connectProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cp := &connectProxy{ln: ln}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		cp.tunnels.Add(1)
		// Hijack first, then answer by hand: a WriteHeader before Hijack
		// leaves the server free to add framing that the client then reads
		// as the start of the TLS handshake.
		down, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		if _, err := io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
			up.Close()
			down.Close()
			return
		}
		go func() { io.Copy(up, down); up.Close() }()
		io.Copy(down, up)
		down.Close()
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return cp
}

func TestProxy(t *testing.T) {
	p := newPKI(t, "mtls")
	cred := issueCard(t, p, testpki.RSA2048)
	srv := startNginx(t, p, serverOpts{})
	proxy := startConnectProxy(t)
	proxyURL := &url.URL{Scheme: "http", Host: proxy.ln.Addr().String()}

	t.Run("environment ignored by default", func(t *testing.T) {
		// A proxy that does not exist: were it used, the request would fail.
		t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
		t.Setenv("https_proxy", "http://127.0.0.1:1")
		t.Setenv("NO_PROXY", "")
		c := newClient(t, options(p, cred, cred.Key))
		fetch(t, srv, c)
		if n := proxy.tunnels.Load(); n != 0 {
			t.Errorf("%d tunnels", n)
		}
	})

	t.Run("CONNECT keeps TLS end to end", func(t *testing.T) {
		signer := &countingSigner{Signer: cred.Key}
		o := options(p, cred, signer)
		o.Proxy = http.ProxyURL(proxyURL)
		c := newClient(t, o)
		w := fetch(t, srv, c)
		if !strings.Contains(w.Subject, testpki.DefaultHSAID) {
			t.Errorf("subject %q", w.Subject)
		}
		c.CloseIdleConnections()
		if w := fetch(t, srv, c); w.Reused != "r" {
			t.Errorf("not resumed through the proxy: %q", w.Reused)
		}
		if n := proxy.tunnels.Load(); n != 2 {
			t.Errorf("%d tunnels, want 2", n)
		}
		if n := signer.n.Load(); n != 1 {
			t.Errorf("%d signatures, want 1", n)
		}
	})

	t.Run("signer error through the proxy", func(t *testing.T) {
		o := options(p, cred, removedCardSigner{cred.Key})
		o.Proxy = http.ProxyURL(proxyURL)
		c := newClient(t, o)
		if _, err := srv.Fetch(c.HTTP); !errors.Is(err, errCardGone) {
			t.Errorf("error %v, want the card's error", err)
		}
	})
}

func TestClockIsOptionsNow(t *testing.T) {
	p := newPKI(t, "mtls")
	cred := issueCard(t, p, testpki.P256)
	srv := startNginx(t, p, serverOpts{})
	o := options(p, cred, cred.Key)
	o.Now = func() time.Time { return time.Now().Add(2 * testpki.ServerValidity) }
	c := newClient(t, o)
	_, err := srv.Fetch(c.HTTP)
	// The certificate chains and names the server: only the clock is
	// wrong, and the error says so (not "untrusted").
	var te *mtls.ServerCertificateTimeError
	var ue *mtls.UntrustedServerError
	var invalid x509.CertificateInvalidError
	if !errors.As(err, &te) || errors.As(err, &ue) || !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Fatalf("with the clock two years ahead: %T %v", err, err)
	}
	if !te.Expired() || !te.Now.After(te.NotAfter) {
		t.Errorf("fields: %+v", te)
	}
}

// Two identities sharing one SessionCache never resume each other's
// sessions: nginx must see each client's own certificate.
func TestSharedSessionCacheKeepsIdentitiesApart(t *testing.T) {
	p := newPKI(t, "mtls")
	srv := startNginx(t, p, serverOpts{})
	shared := tls.NewLRUClientSessionCache(16)
	var clients []*mtls.Client
	var signers []*countingSigner
	var subjects []string
	for _, hsaID := range []string{"SE2321000016-1111", "SE2321000016-2222"} {
		card, err := p.IssueCard(testpki.CardSpec{HSAID: hsaID, Key: testpki.P256})
		if err != nil {
			t.Fatal(err)
		}
		s := &countingSigner{Signer: card.HSAAuth.Key}
		o := options(p, card.HSAAuth, s)
		o.SessionCache = shared
		clients = append(clients, newClient(t, o))
		signers = append(signers, s)
		subjects = append(subjects, hsaID)
	}
	for round := range 2 {
		for i, c := range clients {
			w := fetch(t, srv, c)
			if !strings.Contains(w.Subject, subjects[i]) {
				t.Errorf("round %d, client %d: nginx saw %q, want %s", round, i, w.Subject, subjects[i])
			}
			if want := map[int]string{0: ".", 1: "r"}[round]; w.Reused != want {
				t.Errorf("round %d, client %d: reused %q, want %q", round, i, w.Reused, want)
			}
			c.CloseIdleConnections()
		}
	}
	for i, s := range signers {
		if n := s.n.Load(); n != 1 {
			t.Errorf("client %d: %d signatures, want 1", i, n)
		}
	}
	clients[0].ForgetSessions()
	if w := fetch(t, srv, clients[0]); w.Reused != "." {
		t.Errorf("after ForgetSessions with a caller's cache: reused %q", w.Reused)
	}
	if w := fetch(t, srv, clients[1]); w.Reused != "r" {
		t.Errorf("the other identity lost its session: reused %q", w.Reused)
	}
}
