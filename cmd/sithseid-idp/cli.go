package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sithseid/sithseid/idp"
	"github.com/sithseid/sithseid/mtls"
	"github.com/sithseid/sithseid/oob"
)

// Exit codes.
const (
	exitOK      = 0 // done; for "rp collect --wait": the order completed
	exitError   = 1 // the service refused, the network failed, a file was missing
	exitUsage   = 2 // wrong command line
	exitFailed  = 3 // "rp collect --wait": the order failed
	exitPending = 4 // "rp collect --wait": still pending when --timeout ran out
)

const usage = `usage:
  sithseid-idp serve [flags]       run the reference identity service
  sithseid-idp rp auth [flags]     start an order as a relying party
  sithseid-idp rp collect [flags] ORDERREF
  sithseid-idp rp cancel [flags] ORDERREF
  sithseid-idp authn lookup [flags] (--token T | --qr PAYLOAD)
                                   look an order up as the app does (test aid)

serve flags:
  --listen ADDR        listen address (default 127.0.0.1:8443; port 0 picks one)
  --state DIR          state directory (default $XDG_STATE_HOME/sithseid-idp)
  --seed S             test PKI seed (default testpki's; must match sithseid-vcard's)
  --rp-key KEY         relying-party API key (default: $SITHSEID_IDP_RP_KEY, else
                       the key in DIR/rp-key, else a new random one)
  --rp-name NAME       relying party display name (default "Journalsystemet Demo")
  --revoked SERIAL     certificate serial (hex, as openssl prints it) the OCSP
                       responder reports revoked; repeatable or comma-separated
  --public-url URL     base URL of the demo page's return URL (default: the
                       address it listens on; never the request's Host)
  --ocsp-delegated     sign OCSP responses with a delegated responder certificate

  serve writes DIR/ca.pem (the test root: pin it), DIR/cas.pem (issuing CAs),
  DIR/rp-key (mode 0600) and DIR/url, prints the URL on stdout, logs to stderr
  and stops cleanly on SIGTERM or SIGINT. The demo login page is at the URL.

rp flags (before or after ORDERREF):
  --server URL         service URL (default: DIR/url, else https://127.0.0.1:8443)
  --ca FILE            PEM root to trust (default DIR/ca.pem)
  --key KEY            API key (default: $SITHSEID_IDP_RP_KEY, else DIR/rp-key)
  --state DIR          as for serve
  auth:    --text T (default "Logga in på Journalsystemet Demo"), --end-user-ip IP
           (default 127.0.0.1), --return-url URL, --require-ip-match (a
           lookup from another address than IP is refused, not flagged)
  collect: --wait (poll every 2 s until failed or complete), --timeout DUR (3m)

  auth prints the order as JSON with its "autoStartUrl"; collect prints the
  collect reply as JSON; cancel prints {}.

authn lookup flags: --server, --ca, --state as for rp; --token (an
  autoStartToken or a whole sithseid: URL) or --qr (a QR payload, e.g. from
  zbarimg). Prints the lookup reply as JSON; exit 1 when refused. The order
  moves to hint "started".

exit codes:
  0  done (collect --wait: the order completed)
  1  error: the service refused, network or file problem
  2  usage
  3  collect --wait: the order failed
  4  collect --wait: still pending at --timeout
`

// usageError is a wrong command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdout, stderr)
	if err == nil {
		return exitOK
	}
	var ue *usageError
	var ce codeError
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "sithseid-idp: %v\n\n%s", err, usage)
		return exitUsage
	case errors.As(err, &ce):
		return int(ce)
	}
	fmt.Fprintln(stderr, "sithseid-idp:", err)
	return exitError
}

// codeError ends the command with an exit code and no message.
type codeError int

func (e codeError) Error() string { return fmt.Sprintf("exit %d", int(e)) }

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{"no command"}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "rp":
		if len(args) < 2 {
			return &usageError{"rp needs auth, collect or cancel"}
		}
		return rp(ctx, args[1], args[2:], stdout)
	case "authn":
		if len(args) < 2 || args[1] != "lookup" {
			return &usageError{"authn needs lookup"}
		}
		return authnLookup(ctx, args[2:], stdout)
	case "help", "-h", "--help":
		return flag.ErrHelp
	}
	return &usageError{fmt.Sprintf("unknown command %q", args[0])}
}

// parse parses flags that may come before or after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "sithseid-idp")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "sithseid-idp")
	}
	return "sithseid-idp-state"
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// parseSerial reads a certificate serial in hex, as openssl prints it
// ("serial=1A2B…", with or without colons or 0x).
func parseSerial(s string) (*big.Int, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(s), "serial="), "0x")
	h = strings.ReplaceAll(h, ":", "")
	n, ok := new(big.Int).SetString(h, 16)
	if !ok || n.Sign() < 0 {
		return nil, fmt.Errorf("serial %q is not hexadecimal", s)
	}
	return n, nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8443", "")
	state := fs.String("state", defaultStateDir(), "")
	seed := fs.String("seed", "", "")
	rpKey := fs.String("rp-key", "", "")
	rpName := fs.String("rp-name", idp.DefaultRelyingPartyName, "")
	publicURL := fs.String("public-url", "", "")
	delegated := fs.Bool("ocsp-delegated", false, "")
	var revoked multiFlag
	fs.Var(&revoked, "revoked", "")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{"serve takes no arguments"}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	opts := idp.Options{Seed: *seed, Logger: log, PublicURL: *publicURL, OCSPDelegated: *delegated}
	for _, s := range strings.Split(strings.Join(revoked, ","), ",") {
		if s == "" {
			continue
		}
		n, err := parseSerial(s)
		if err != nil {
			return &usageError{err.Error()}
		}
		opts.Revoked = append(opts.Revoked, n)
	}
	if err := os.MkdirAll(*state, 0o700); err != nil {
		return err
	}
	key, err := serveKey(*rpKey, *state)
	if err != nil {
		return err
	}
	opts.RelyingParties = []idp.RelyingParty{{Name: *rpName, APIKey: key}}
	// Listen first: the demo page's return URL is the address served
	// unless --public-url names another, never the requests' Host header.
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	url := "https://" + ln.Addr().String()
	if opts.PublicURL == "" {
		opts.PublicURL = url
	}
	srv, err := idp.New(opts)
	if err != nil {
		ln.Close()
		return err
	}
	if err := srv.PKI().WriteDir(*state); err != nil {
		ln.Close()
		return fmt.Errorf("writing CA certificates: %w", err)
	}
	// ca.pem is the name clients look for; root.pem is testpki's.
	if err := os.WriteFile(filepath.Join(*state, "ca.pem"), srv.PKI().Root.CertPEM(), 0o644); err != nil {
		ln.Close()
		return err
	}
	if err := os.WriteFile(filepath.Join(*state, "url"), []byte(url+"\n"), 0o644); err != nil {
		ln.Close()
		return err
	}
	hs := &http.Server{
		Handler:           srv,
		TLSConfig:         srv.TLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- hs.ServeTLS(ln, "", "") }()
	log.Info("serving", "url", url, "state", *state, "rp", *rpName, "seed", srv.PKI().Seed(), "revoked", len(opts.Revoked))
	fmt.Fprintln(stdout, url+"/")

	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// serveKey picks the API key: the flag, the environment, the state file,
// or a new random one, and keeps it in DIR/rp-key (0600) for "rp".
func serveKey(flagKey, state string) (string, error) {
	path := filepath.Join(state, "rp-key")
	key := flagKey
	if key == "" {
		key = os.Getenv("SITHSEID_IDP_RP_KEY")
	}
	if key == "" {
		if b, err := os.ReadFile(path); err == nil {
			key = strings.TrimSpace(string(b))
		}
	}
	if key == "" {
		key = oob.NewUUID()
	}
	if len(key) < 16 {
		return "", &usageError{"the relying-party API key must be at least 16 characters"}
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", err
	}
	return key, os.Chmod(path, 0o600)
}

func rp(ctx context.Context, cmd string, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("rp "+cmd, flag.ContinueOnError)
	state := fs.String("state", defaultStateDir(), "")
	server := fs.String("server", "", "")
	caFile := fs.String("ca", "", "")
	key := fs.String("key", "", "")
	text := fs.String("text", "Logga in på Journalsystemet Demo", "")
	endUserIP := fs.String("end-user-ip", "127.0.0.1", "")
	requireIP := fs.Bool("require-ip-match", false, "")
	returnURL := fs.String("return-url", "", "")
	wait := fs.Bool("wait", false, "")
	timeout := fs.Duration("timeout", oob.OrderLifetime, "")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch cmd {
	case "auth":
		if len(pos) != 0 {
			return &usageError{"rp auth takes no arguments"}
		}
	case "collect", "cancel":
		if len(pos) != 1 || !oob.IsCanonicalUUID(pos[0]) {
			return &usageError{"rp " + cmd + " needs one ORDERREF (a UUID)"}
		}
	default:
		return &usageError{fmt.Sprintf("unknown rp command %q", cmd)}
	}

	c, err := rpClient(*state, *server, *caFile, *key)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	switch cmd {
	case "auth":
		a, err := c.StartOrder(ctx, oob.AuthRequest{EndUserIP: *endUserIP, UserVisibleData: oob.Base64(*text),
			ReturnURL: *returnURL, RequireEndUserIPMatch: *requireIP})
		if err != nil {
			return err
		}
		return enc.Encode(struct {
			*oob.AuthResponse
			AutoStartURL string `json:"autoStartUrl"`
		}{a, a.AutoStartURL(*returnURL)})
	case "collect":
		var r *oob.CollectResponse
		if *wait {
			wctx, cancel := context.WithTimeout(ctx, *timeout)
			defer cancel()
			r, err = c.CollectUntilDone(wctx, pos[0], 0)
			if err != nil && !(errors.Is(err, context.DeadlineExceeded) && r != nil) {
				return err
			}
		} else if r, err = c.Collect(ctx, pos[0]); err != nil {
			return err
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
		if *wait {
			switch r.Status {
			case oob.StatusFailed:
				return codeError(exitFailed)
			case oob.StatusPending:
				return codeError(exitPending)
			}
		}
		return nil
	default:
		if err := c.Cancel(ctx, pos[0]); err != nil {
			return err
		}
		return enc.Encode(struct{}{})
	}
}

// rpClient builds the relying-party client: the server URL, the pinned
// root and the key from flags, the environment or the state directory.
func rpClient(state, server, caFile, key string) (*oob.RPClient, error) {
	server, roots, err := serviceTrust(state, server, caFile)
	if err != nil {
		return nil, err
	}
	if key == "" {
		key = os.Getenv("SITHSEID_IDP_RP_KEY")
	}
	if key == "" {
		b, err := os.ReadFile(filepath.Join(state, "rp-key"))
		if err != nil {
			return nil, fmt.Errorf("no API key: give --key, set SITHSEID_IDP_RP_KEY or run serve with this --state: %w", err)
		}
		key = strings.TrimSpace(string(b))
	}
	hc := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12, CipherSuites: mtls.CipherSuites()}},
	}
	return oob.NewRPClient(server, key, hc, oob.RetryPolicy{})
}

// serviceTrust finds the service URL and the root to pin.
func serviceTrust(state, server, caFile string) (string, *x509.CertPool, error) {
	if server == "" {
		server = "https://127.0.0.1:8443"
		if b, err := os.ReadFile(filepath.Join(state, "url")); err == nil {
			server = strings.TrimSpace(string(b))
		}
	}
	if caFile == "" {
		caFile = filepath.Join(state, "ca.pem")
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return "", nil, fmt.Errorf("reading the service's CA (--ca): %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return "", nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	return server, roots, nil
}

func authnLookup(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("authn lookup", flag.ContinueOnError)
	state := fs.String("state", defaultStateDir(), "")
	server := fs.String("server", "", "")
	caFile := fs.String("ca", "", "")
	token := fs.String("token", "", "")
	qr := fs.String("qr", "", "")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || (*token == "") == (*qr == "") {
		return &usageError{"authn lookup needs exactly one of --token and --qr"}
	}
	var key oob.LookupKey
	switch {
	case strings.HasPrefix(*token, oob.URLScheme+":"):
		as, err := oob.ParseAutoStartURL(*token)
		if err != nil {
			return &usageError{err.Error()}
		}
		key = as
	case *token != "":
		if !oob.IsCanonicalUUID(*token) {
			return &usageError{"--token is not a UUID or sithseid: URL"}
		}
		key = oob.AutoStart{Token: *token}
	default:
		q, err := oob.ParseQRPayload(strings.TrimSpace(*qr))
		if err != nil {
			return &usageError{err.Error()}
		}
		key = q
	}
	serverURL, roots, err := serviceTrust(*state, *server, *caFile)
	if err != nil {
		return err
	}
	plain := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12, CipherSuites: mtls.CipherSuites()}},
	}
	c, err := oob.NewClient(serverURL, plain, oob.RetryPolicy{MaxRetries: -1})
	if err != nil {
		return err
	}
	tx, err := c.Lookup(ctx, key)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(&oob.LookupResponse{
		TransactionID:   tx.ID,
		RelyingParty:    tx.RelyingParty,
		UserVisibleText: tx.Text,
		Challenge:       tx.Challenge,
		ExpiresAt:       tx.ExpiresAt,
		Origin:          tx.Origin,
	})
}
