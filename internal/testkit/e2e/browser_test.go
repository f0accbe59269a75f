package e2e_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser is a headless Chromium (Debian's package) with a fresh profile,
// driven over the DevTools protocol.
type browser struct {
	ctx context.Context
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	exe := need(t, "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// This machine's network is closed: no background connections.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// The identity service's certificate is from the test PKI; the
		// product pins it, the browser need not.
		chromedp.Flag("ignore-certificate-errors", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Run starts the browser; it lives as long as ctx.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.userAgent`)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return &browser{ctx: ctx}
}

func (b *browser) do(t *testing.T, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

func get[T any](t *testing.T, b *browser, timeout time.Duration, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// demoPage loads the identity service's demo login page and returns the
// autostart link it shows (its "Öppna SITHS eID på den här enheten").
func (b *browser) demoPage(t *testing.T, url string) string {
	t.Helper()
	b.do(t, 60*time.Second, chromedp.Navigate(url))
	get(t, b, 30*time.Second, chromedp.Poll[bool](`document.getElementById("autostart-link").href.startsWith("sithseid:")`, chromedp.WithPollingInterval(100*time.Millisecond)))
	link := get(t, b, 10*time.Second, chromedp.Evaluate[string](`document.getElementById("autostart-link").href`))
	if !strings.HasPrefix(link, "sithseid:///?autostarttoken=") {
		t.Fatalf("the page's link is %q", link)
	}
	return link
}

// waitLoggedIn waits until the page shows the result and returns the
// HSA-ID and name it shows.
func (b *browser) waitLoggedIn(t *testing.T, timeout time.Duration) (hsaid, name string) {
	t.Helper()
	get(t, b, timeout, chromedp.Poll[bool](`!document.getElementById("result").hidden`, chromedp.WithPollingInterval(200*time.Millisecond)))
	hsaid = get(t, b, 10*time.Second, chromedp.Evaluate[string](`document.getElementById("hsaid").textContent`))
	name = get(t, b, 10*time.Second, chromedp.Evaluate[string](`document.getElementById("name").textContent`))
	return hsaid, name
}

// pageStatus is the status the page shows (its data-status).
func (b *browser) pageStatus(t *testing.T) string {
	t.Helper()
	return get(t, b, 10*time.Second, chromedp.Evaluate[string](`document.getElementById("status").dataset.status`))
}

// screenshot saves the page as a PNG.
func (b *browser) screenshot(t *testing.T, path string) {
	t.Helper()
	png := get(t, b, 20*time.Second, chromedp.FullScreenshot(90))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
