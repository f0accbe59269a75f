package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// CtlSocket is the control socket's name inside the card directory.
const CtlSocket = "ctl.sock"

// usageError makes main exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

const usage = `usage:
  sithseid-vcard init   --dir D [--kind piv|idprime] [--with-signing]
                        [--holder "Given Surname"] [--hsa-id ID] [--personal-number N]
                        [--eid "Organisation:HSA-ID"]...
                        [--key rsa2048|p256] [--variant normal|expired|expiring|reserve]
                        [--seed S] [--mgmt-key default|default-aes|HEX|3des:HEX] [--force]
  sithseid-vcard run    --dir D [--vpcd 127.0.0.1:35963] [--profile none|idprime-usb]
                        [--latency DUR] [--sign-latency DUR]
                        [--drop-after N] [--trace FILE]
  sithseid-vcard ctl    --dir D remove|insert|reinsert|stats [--json]|drop-after N|drop-before-answer N|mute|unmute
  sithseid-vcard status --dir D [--json]`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{usage}
	}
	switch args[0] {
	case "init":
		return cmdInit(args[1:], stdout, stderr)
	case "run":
		return cmdRun(ctx, args[1:], stdout, stderr)
	case "ctl":
		return cmdCtl(args[1:], stdout, stderr)
	case "status":
		return cmdStatus(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q\n%s", args[0], usage)}
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sithseid-vcard "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return usageError{"help requested"}
		}
		return usageError{err.Error()}
	}
	return nil
}

func needDir(dir string) error {
	if dir == "" {
		return usageError{"--dir is required"}
	}
	return nil
}

func cmdInit(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("init", stderr)
	var (
		opts   vcard.ProvisionOptions
		holder = fs.String("holder", "", `holder's name, "Given Surname" (default "Anna Svensson")`)
		key    = fs.String("key", "rsa2048", "key type: rsa2048 or p256")
		vari   = fs.String("variant", "normal", "certificates: normal, expired, expiring or reserve")
		serial = fs.Uint("serial", 0, "card serial number (default derived)")
		kind   = fs.String("kind", string(vcard.KindPIV), "card kind: piv (a PIV card) or idprime (a Thales IDPrime 940, what SITHS cards are)")
	)
	fs.BoolVar(&opts.WithSigning, "with-signing", false, "idprime: add the HSA-ID signing key and certificate under the signature PIN (cards since 2024 come without)")
	fs.StringVar(&opts.Dir, "dir", "", "card state directory")
	fs.StringVar(&opts.Spec.HSAID, "hsa-id", "", "HSA-ID (default SE2321000016-1234)")
	fs.StringVar(&opts.Spec.PersonalNumber, "personal-number", "", "personal identity number, 12 digits")
	fs.StringVar(&opts.Spec.CardNumber, "card-number", "", "printed card number (default derived)")
	fs.StringVar(&opts.Spec.Organization, "organization", "", "organisation (default Region Test)")
	fs.StringVar(&opts.PKI.Seed, "seed", "", "test PKI seed (default "+testpki.DefaultSeed+")")
	fs.StringVar(&opts.PKI.OCSPURL, "ocsp-url", "", "OCSP URL to put in the certificates")
	fs.StringVar(&opts.MgmtKey, "mgmt-key", "", `management key: "" = random AES-192, PIN-protected; "default" (3DES); "default-aes"; hex (AES by length) or 3des:HEX`)
	fs.BoolVar(&opts.Force, "force", false, "overwrite an existing card")
	var eids []testpki.EIDSpec
	fs.Func("eid", `a SITHS eID, "Organisation:HSA-ID" (repeat for several organisations' eIDs on one card; without --hsa-id the first is the card's first eID)`, func(v string) error {
		e, err := testpki.ParseEIDSpec(v)
		if err == nil {
			eids = append(eids, e)
		}
		return err
	})
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := needDir(opts.Dir); err != nil {
		return err
	}
	if len(eids) > 0 && opts.Spec.HSAID == "" {
		if opts.Spec.Organization != "" {
			return usageError{"init: --organization names the first eID's organisation: give --hsa-id with it, or put both in the first --eid"}
		}
		opts.Spec.HSAID, opts.Spec.Organization = eids[0].HSAID, eids[0].Organization
		eids = eids[1:]
	}
	opts.Spec.EIDs = eids
	if fs.NArg() != 0 {
		return usageError{fmt.Sprintf("init: unexpected argument %q", fs.Arg(0))}
	}
	if *holder != "" {
		h := strings.TrimSpace(*holder)
		i := strings.LastIndexByte(h, ' ')
		if i < 0 {
			return usageError{`--holder wants "Given Surname"`}
		}
		opts.Spec.GivenName, opts.Spec.Surname = strings.TrimSpace(h[:i]), h[i+1:]
	}
	switch testpki.KeyType(*key) {
	case testpki.RSA2048, testpki.P256:
		opts.Spec.Key = testpki.KeyType(*key)
	default:
		return usageError{fmt.Sprintf("--key %q: want rsa2048 or p256", *key)}
	}
	switch testpki.Variant(*vari) {
	case testpki.Normal, testpki.Expired, testpki.Expiring, testpki.Reserve:
		opts.Spec.Variant = testpki.Variant(*vari)
	default:
		return usageError{fmt.Sprintf("--variant %q: want normal, expired, expiring or reserve", *vari)}
	}
	k, err := vcard.ParseKind(*kind)
	if err != nil {
		return usageError{fmt.Sprintf("--kind %q: want piv or idprime", *kind)}
	}
	opts.Kind = k
	if opts.WithSigning && k != vcard.KindIDPrime {
		return usageError{"--with-signing is for --kind idprime (a PIV card always has its signing key)"}
	}
	if k == vcard.KindIDPrime && opts.Spec.Key != testpki.RSA2048 {
		return usageError{"--kind idprime: --key rsa2048 only"}
	}
	if k == vcard.KindIDPrime && opts.MgmtKey != "" {
		return usageError{"--kind idprime: no --mgmt-key (a PIV notion)"}
	}
	if *serial > 0xFFFFFFFF {
		return usageError{"--serial: too large"}
	}
	opts.Serial = uint32(*serial)
	if err := vcard.Provision(opts); err != nil {
		if errors.Is(err, vcard.ErrExists) {
			return fmt.Errorf("%w (use --force to replace it)", err)
		}
		return err
	}
	card, err := vcard.Load(opts.Dir)
	if err != nil {
		return err
	}
	in := card.Info()
	fmt.Fprintf(stdout, "%s card %d for %s (%s) in %s\n", in.Kind, in.Serial, in.Holder, in.HSAID, opts.Dir)
	// Test cards: printing the PIN and PUK is the point of init.
	fmt.Fprintf(stdout, "PIN %s\nPUK %s\n", vcard.DefaultPIN, vcard.DefaultPUK)
	if in.HasSignPIN {
		fmt.Fprintf(stdout, "signature PIN %s\n", vcard.DefaultSignPIN)
	}
	return nil
}

func cmdStatus(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("status", stderr)
	dir := fs.String("dir", "", "card state directory")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := needDir(*dir); err != nil {
		return err
	}
	card, err := vcard.Load(*dir)
	if err != nil {
		return err
	}
	in := card.Info()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(in)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "kind\t%s\n", in.Kind)
	fmt.Fprintf(tw, "holder\t%s\n", in.Holder)
	fmt.Fprintf(tw, "HSA-ID\t%s\n", in.HSAID)
	fmt.Fprintf(tw, "serial\t%d\n", in.Serial)
	fmt.Fprintf(tw, "version\t%s\n", in.Version)
	if in.Kind == vcard.KindIDPrime {
		fmt.Fprintf(tw, "card ID\t%s\n", in.CardID)
		fmt.Fprintf(tw, "PIN (11)\t%d of %d tries left%s\n", in.PINTries, in.PINMax, blocked(in.PINTries))
		if in.HasSignPIN {
			fmt.Fprintf(tw, "signature PIN (83)\t%d of %d tries left%s\n", in.SignPINTries, in.SignPINMax, blocked(in.SignPINTries))
		} else {
			fmt.Fprintf(tw, "signature PIN (83)\tnone (no signing key)\n")
		}
		fmt.Fprintf(tw, "PUK\t%d of %d tries left%s\n", in.PUKTries, in.PUKMax, blocked(in.PUKTries))
		for _, s := range in.Slots {
			fmt.Fprintf(tw, "%s\t%s, key %s, PIN %s\t%s\tuntil %s\n", s.Slot, s.Algorithm, s.KeyRef, s.PIN, s.Subject, s.NotAfter)
		}
		return tw.Flush()
	}
	fmt.Fprintf(tw, "PIN\t%d of %d tries left%s\n", in.PINTries, in.PINMax, blocked(in.PINTries))
	fmt.Fprintf(tw, "PUK\t%d of %d tries left%s\n", in.PUKTries, in.PUKMax, blocked(in.PUKTries))
	mk := in.MgmtAlgorithm
	switch {
	case in.MgmtDefault:
		mk += ", default key"
	case in.MgmtProtected:
		mk += ", PIN-protected"
	}
	fmt.Fprintf(tw, "management key\t%s\n", mk)
	for _, s := range in.Slots {
		fmt.Fprintf(tw, "slot %s\t%s, PIN %s\t%s\tuntil %s\n", s.Slot, s.Algorithm, s.PINPolicy, s.Subject, s.NotAfter)
	}
	return tw.Flush()
}

func blocked(n int) string {
	if n == 0 {
		return " (blocked)"
	}
	return ""
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	var opts vcard.RunOptions
	dir := fs.String("dir", "", "card state directory")
	trace := fs.String("trace", "", "append one line per APDU to FILE, - for stderr (no data)")
	fs.StringVar(&opts.VPCD, "vpcd", vcard.DefaultVPCD, "vpcd address")
	fs.DurationVar(&opts.Latency, "latency", 0, "delay added to every APDU")
	fs.DurationVar(&opts.SignLatency, "sign-latency", 0, "delay added to every signature")
	fs.IntVar(&opts.DropAfter, "drop-after", 0, "pull the card after N APDUs (0 = never)")
	profile := fs.String("profile", "", "timing profile: none or idprime-usb (a SITHS card on a USB reader, docs/performance.md); --latency and --sign-latency override it")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *profile != "" {
		p, ok := vcard.LookupProfile(*profile)
		if !ok {
			return usageError{fmt.Sprintf("--profile %q: want none or idprime-usb", *profile)}
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["latency"] {
			opts.Latency = p.Latency
		}
		if !set["sign-latency"] {
			opts.SignLatency = p.SignLatency
		}
	}
	if err := needDir(*dir); err != nil {
		return err
	}
	if opts.DropAfter < 0 || opts.Latency < 0 || opts.SignLatency < 0 {
		return usageError{"negative --drop-after or latency"}
	}
	lock, err := lockDir(*dir)
	if err != nil {
		return err
	}
	defer lock.Close()
	card, err := vcard.Load(*dir)
	if err != nil {
		return err
	}
	if *trace == "-" {
		opts.Trace = stderr
	} else if *trace != "" {
		f, err := os.OpenFile(*trace, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		opts.Trace = f
	}
	srv := vcard.NewServer(card, opts)

	// SIGUSR1 is caught before the control socket exists: whoever waits
	// for the socket may signal at once.
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)

	sockPath := filepath.Join(*dir, CtlSocket)
	_ = os.Remove(sockPath) // stale from a crash; the lock says nobody runs
	l, err := listenCtl(sockPath)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	defer os.Remove(sockPath)
	defer l.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go serveCtl(ctx, l, srv)

	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-usr1:
				reinsert(ctx, srv)
			}
		}
	}()

	fmt.Fprintf(stderr, "sithseid-vcard: %s card %d in vpcd %s (control %s)\n", card.Kind(), card.Serial(), opts.VPCD, sockPath)
	return srv.Run(ctx)
}

func reinsert(ctx context.Context, srv *vcard.Server) {
	srv.Remove()
	select {
	case <-ctx.Done():
	case <-time.After(300 * time.Millisecond):
	}
	srv.Insert()
}

// lockDir makes sure only one `run` serves a card directory.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "run.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("card in %s is already running", dir)
	}
	return f, nil
}

func listenCtl(path string) (net.Listener, error) {
	// The umask makes the socket 0600 from the start: no window in which
	// another user could connect.
	old := syscall.Umask(0o177)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// serveCtl answers one command line per connection with one line.
func serveCtl(ctx context.Context, l net.Listener, srv *vcard.Server) {
	go func() { <-ctx.Done(); l.Close() }()
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			line, err := bufio.NewReader(io.LimitReader(conn, 256)).ReadString('\n')
			if err != nil && line == "" {
				return
			}
			fmt.Fprintln(conn, ctlCommand(ctx, srv, strings.Fields(line)))
		}()
	}
}

func ctlCommand(ctx context.Context, srv *vcard.Server, f []string) string {
	if len(f) == 0 {
		return "error: empty command"
	}
	switch {
	case f[0] == "remove" && len(f) == 1:
		srv.Remove()
	case f[0] == "insert" && len(f) == 1:
		srv.Insert()
	case f[0] == "reinsert" && len(f) == 1:
		reinsert(ctx, srv)
	case f[0] == "stats" && len(f) == 1:
		b, _ := json.Marshal(srv.Stats())
		return string(b)
	case f[0] == "drop-after" && len(f) == 2:
		n, err := strconv.Atoi(f[1])
		if err != nil || n < 0 {
			return "error: drop-after wants a count"
		}
		srv.SetDropAfter(n)
	case f[0] == "drop-before-answer" && len(f) == 2:
		n, err := strconv.Atoi(f[1])
		if err != nil || n < 0 {
			return "error: drop-before-answer wants a count"
		}
		srv.SetDrop(n, vcard.DropBeforeAnswer)
	case f[0] == "mute" && len(f) == 1:
		srv.SetMute(true)
	case f[0] == "unmute" && len(f) == 1:
		srv.SetMute(false)
	default:
		return fmt.Sprintf("error: unknown command %q", strings.Join(f, " "))
	}
	return "ok"
}

func cmdCtl(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ctl", stderr)
	dir := fs.String("dir", "", "card state directory")
	asJSON := fs.Bool("json", false, "stats as JSON")
	// Flags may come after the command ("ctl --dir D stats --json").
	var rest []string
	for len(args) > 0 {
		if err := parse(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if err := needDir(*dir); err != nil {
		return err
	}
	if len(rest) == 0 {
		return usageError{"ctl: want remove, insert, reinsert, stats, drop-after N, drop-before-answer N, mute or unmute"}
	}
	conn, err := net.DialTimeout("unix", filepath.Join(*dir, CtlSocket), 2*time.Second)
	if err != nil {
		return fmt.Errorf("no card running in %s: %w", *dir, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintln(conn, strings.Join(rest, " ")); err != nil {
		return err
	}
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	reply = strings.TrimSpace(reply)
	if strings.HasPrefix(reply, "error: ") {
		return errors.New(strings.TrimPrefix(reply, "error: "))
	}
	if rest[0] == "stats" && !*asJSON {
		var st vcard.Stats
		if err := json.Unmarshal([]byte(reply), &st); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "apdus %d\nsignatures %d\nverifies %d\ninserted %d\nremoved %d\ndrops %d\npresent %t\n",
			st.APDUs, st.Signatures, st.Verifies, st.Inserted, st.Removed, st.Drops, st.Present)
		return nil
	}
	if reply != "ok" || rest[0] == "stats" {
		fmt.Fprintln(stdout, reply)
	}
	return nil
}
