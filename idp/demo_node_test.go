package idp

import (
	"bufio"
	"encoding/json"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/oob"
)

// pageState is what testdata/demo_harness.js prints.
type pageState struct {
	Status, Text, HSAID, Name, Link, QR, URL string
	QRHidden, ResultHidden                   bool
}

// The demo page's own script, run by Node against the live service: it
// starts an order, shows the autostart link and the QR image, polls, and
// after a completion shows the HSA-ID and name.
func TestDemoPageScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node not installed")
	}
	f := newFixture(t, nil)
	_, _, page := f.get("/")
	m := regexp.MustCompile(`(?s)<script nonce="[^"]+">(.*)</script>`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no script in the page")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "page.js")
	root := filepath.Join(dir, "root.pem")
	os.WriteFile(script, m[1], 0o600)
	os.WriteFile(root, f.pki.Root.CertPEM(), 0o600)
	harness, _ := filepath.Abs("testdata/demo_harness.js")

	cmd := exec.Command(node, harness, f.ts.URL, script)
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+root)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	states := make(chan pageState, 16)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var s pageState
			if json.Unmarshal(sc.Bytes(), &s) == nil {
				select {
				case states <- s:
				default: // the test only needs recent states
				}
			}
		}
		close(states)
	}()
	waitFor := func(what string, ok func(pageState) bool) pageState {
		t.Helper()
		deadline := time.After(20 * time.Second)
		var last pageState
		for {
			select {
			case s, open := <-states:
				if !open {
					t.Fatalf("node exited waiting for %s", what)
				}
				last = s
				if ok(s) {
					return s
				}
			case <-deadline:
				t.Fatalf("waiting for %s; last state %+v", what, last)
			}
		}
	}

	s := waitFor("an order", func(s pageState) bool {
		return strings.HasPrefix(s.Link, "sithseid:") && s.Status == oob.StatusPending
	})
	if !strings.HasPrefix(s.QR, "/demo/qr.png?order=") || !strings.HasPrefix(s.URL, "/?order=") ||
		!strings.Contains(s.Text, "Starta SITHS eID") {
		t.Fatalf("page state %+v", s)
	}
	// The image the page points at is a PNG.
	code, h, _ := f.get(s.QR)
	if code != http.StatusOK || h.Get("Content-Type") != "image/png" {
		t.Fatalf("QR image: %d %s", code, h.Get("Content-Type"))
	}

	as, err := oob.ParseAutoStartURL(s.Link)
	if err != nil {
		t.Fatal(err)
	}
	l := f.lookup(as.Token)
	waitFor("hint started", func(s pageState) bool { return strings.Contains(s.Text, "PIN") })
	alg, sig := sign(t, f.card.HSAAuth.Key, l)
	var cr oob.CompleteResponse
	f.decodeReply(f.complete(&f.card.HSAAuth, l.TransactionID, alg, sig), http.StatusOK, &cr)
	s = waitFor("the result", func(s pageState) bool { return s.Status == oob.StatusComplete })
	if s.HSAID != "SE2321000016-1234" || s.Name != "Anna Svensson" || s.ResultHidden || !s.QRHidden ||
		!strings.Contains(s.Text, "Du är inloggad") {
		t.Fatalf("final page state %+v", s)
	}
}
