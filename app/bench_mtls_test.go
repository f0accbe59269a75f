package app_test

import (
	"bytes"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// BenchmarkMTLS: a mutual-TLS GET to nginx (ssl_verify_client on) with
// the card's login key, on the IDPrime card (the native backend) and on a
// PIV card, each figure against curl with OpenSSL's pkcs11 engine over
// OpenSC's module doing the same work from the same starting point:
//
//   - in the agent: the handshake the agent makes with a card it has
//     opened and a signer it holds (mtls.Client, as a login's completion
//     uses it): fresh (a full handshake, the card signs) and resumed (a new
//     connection resuming the session). curl's same work is a transfer
//     inside a process that has loaded OpenSC and logged in: its second
//     and third transfers with --no-sessionid (each a full handshake) and
//     its second transfer with its session cache (resumed).
//   - whole process: "bin/sithseid tls-check --pin-stdin --ca ROOT URL"
//     (the shipped binary, no agent: start, open the card, read it, the
//     PIN's tries, VERIFY, sign, GET) against a curl process making one
//     transfer.
func BenchmarkMTLS(b *testing.B) {
	once(b, "mtls", func(b *testing.B) {
		bin := shippedBinary(b)
		for _, k := range []struct {
			kind cardkind.Kind
			name string
			id   string // the login key's PKCS#11 ID as OpenSC names it
		}{{cardkind.IDPrime, "idprime", "%00%01"}, {cardkind.PIV, "piv", "%01"}} {
			mtlsFigures(b, bin, k.kind, k.name, k.id)
		}
	})
}

func mtlsFigures(b *testing.B, bin string, k cardkind.Kind, name, id string) {
	r := startMTLSBench(b, k)
	defer func() { _ = r.card.Stop() }()
	cl, _ := r.client()
	h := r.handshakes(cl)
	cl.CloseIdleConnections()
	p := "mtls_" + name + "_"
	fr, rs := ms(median(h.fresh)), ms(median(h.resumed))
	report(b, p+"in_agent_fresh_ms", fr, "ms")
	report(b, p+"in_agent_fresh_apdus", float64(h.freshAPDUs), "apdus")
	report(b, p+"in_agent_fresh_signatures", float64(h.freshSigs), "count")
	report(b, p+"in_agent_resumed_ms", rs, "ms")
	report(b, p+"in_agent_resumed_signatures", float64(h.resumedSigs), "count")

	// The shipped binary's whole process.
	ca := filepath.Join(b.TempDir(), "root.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.pki.Root.Cert.Raw}), 0o600); err != nil {
		b.Fatal(err)
	}
	env, _ := shippedEnv(b)
	env = append(env, "SITHSEID_NO_AGENT=1")
	var whole []time.Duration
	var wholeAPDUs int64
	for range benchReps {
		cmd := exec.Command(bin, "tls-check", "--pin-stdin", "--ca", ca, r.ngx.URL+"/")
		cmd.Env = env
		cmd.Stdin = strings.NewReader(vcard.DefaultPIN + "\n")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		before, start := r.card.Server.Stats().APDUs, time.Now()
		if err := cmd.Run(); err != nil || !strings.Contains(out.String(), "200") {
			b.Fatalf("sithseid tls-check: %v\n%s", err, out.String())
		}
		whole, wholeAPDUs = append(whole, time.Since(start)), r.card.Server.Stats().APDUs-before
	}
	wh := ms(median(whole))
	report(b, p+"whole_process_ms", wh, "ms")
	report(b, p+"whole_process_apdus", float64(wholeAPDUs), "apdus")

	// curl: one transfer (its whole process), three with --no-sessionid
	// (the second and third: full handshakes in a warm process), two with
	// its session cache (the second resumes).
	one := curlRuns(b, r.card, r.pki, r.ngx.URL, id, 1, false)
	full := curlRuns(b, r.card, r.pki, r.ngx.URL, id, 3, true)
	res := curlRuns(b, r.card, r.pki, r.ngx.URL, id, 2, false)
	pp := "peer_" + name + "_curl_pkcs11_"
	cf := ms(median(append(full.transfers[1], full.transfers[2]...)))
	cr := ms(median(res.transfers[1]))
	cw := ms(median(one.process))
	report(b, pp+"in_process_fresh_ms", cf, "ms")
	report(b, pp+"resumed_ms", cr, "ms")
	report(b, pp+"whole_process_one_transfer_ms", cw, "ms")
	report(b, pp+"whole_process_one_transfer_apdus", float64(one.apdus), "apdus")
	report(b, p+"in_agent_fresh_vs_curl_in_process_fresh_ms_ratio", fr/cf, "ratio")
	report(b, p+"in_agent_resumed_vs_curl_resumed_ms_ratio", rs/cr, "ratio")
	report(b, p+"whole_process_vs_curl_whole_process_ms_ratio", wh/cw, "ratio")
	report(b, p+"whole_process_vs_curl_whole_process_apdus_ratio", float64(wholeAPDUs)/float64(one.apdus), "ratio")
}

// curlRun are benchReps curl processes' figures: each transfer's
// time_total (by position), each process's wall time, and the APDUs the
// card saw in the last process.
type curlRun struct {
	transfers [][]time.Duration
	process   []time.Duration
	apdus     int64
}

// curlRuns runs curl with the pkcs11 engine benchReps times, n transfers
// each ("Connection: close": every transfer a new connection; with
// noSession each one a full handshake, else the later ones resume from
// curl's session cache), with the key and certificate whose PKCS#11 ID
// is id (URI-encoded: OpenSC names the PIV authentication key %01, an
// IDPrime card's first key %00%01).
func curlRuns(b *testing.B, card *rig.Card, pki *testpki.PKI, url, id string, n int, noSession bool) curlRun {
	const engine = "/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so"
	module := testenv.OpenSCModule
	for _, f := range []string{engine, module} {
		if _, err := os.Stat(f); err != nil {
			b.Fatalf("%s missing (scripts/setup installs libengine-pkcs11-openssl and opensc): %v", f, err)
		}
	}
	dir := b.TempDir()
	conf := filepath.Join(dir, "openssl.cnf")
	if err := os.WriteFile(conf, []byte(`openssl_conf = init
[init]
engines = engines
[engines]
pkcs11 = pkcs11
[pkcs11]
engine_id = pkcs11
dynamic_path = `+engine+`
MODULE_PATH = `+module+`
init = 0
`), 0o600); err != nil {
		b.Fatal(err)
	}
	ca := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.Root.Cert.Raw}), 0o600); err != nil {
		b.Fatal(err)
	}
	// The test card's public test PIN (README), as the PIN benchmarks give
	// the peers theirs; curl's output is shown only with [PIN] in its place.
	key := "pkcs11:id=" + id + ";type=private?pin-value=" + vcard.DefaultPIN
	cert := "pkcs11:id=" + id + ";type=cert"
	args := []string{"-sS", "--engine", "pkcs11", "--key-type", "ENG", "--key", key,
		"--cert-type", "ENG", "--cert", cert, "--cacert", ca, "-H", "Connection: close", "-w", "%{http_code} %{time_total}\n"}
	if noSession {
		args = append(args, "--no-sessionid")
	}
	for range n {
		args = append(args, "-o", "/dev/null", url+"/")
	}
	run := curlRun{transfers: make([][]time.Duration, n)}
	for range benchReps {
		cmd := exec.Command("curl", args...)
		// OpenSC's file cache off: the same cold start as ours.
		cmd.Env = append(append(rig.Current().Env(), "OPENSSL_CONF="+conf), openscConf(b, false)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		before, start := card.Server.Stats().APDUs, time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("curl with the pkcs11 engine: %v\n%s", err, strings.ReplaceAll(errb.String(), vcard.DefaultPIN, "[PIN]"))
		}
		run.process, run.apdus = append(run.process, time.Since(start)), card.Server.Stats().APDUs-before
		f := strings.Fields(out.String())
		if len(f) != 2*n {
			b.Fatalf("curl: %q %s", out.String(), errb.String())
		}
		for i := range n {
			if f[2*i] != "200" {
				b.Fatalf("curl: %q", out.String())
			}
			sec, err := strconv.ParseFloat(f[2*i+1], 64)
			if err != nil {
				b.Fatal(err)
			}
			run.transfers[i] = append(run.transfers[i], time.Duration(sec*float64(time.Second)))
		}
	}
	return run
}
