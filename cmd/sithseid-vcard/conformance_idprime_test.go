// Conformance of the IDPrime kind with OpenSC 0.23 (Debian 12), the one
// independent IDPrime implementation that runs here: its idprime driver
// and PKCS#15 emulation (pkcs15-tool), its PKCS#11 module (pkcs11-tool),
// and openssl to check the signatures. Each test has its own pcscd, card
// and cardid, and an opensc.conf with file caching off, so no test sees
// another's cached files.
package main_test

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// newIDPrimeCard is an IDPrime card (with the signing key when
// withSigning) in a pcscd of the test's own. Its card number, and with it
// its cardid, comes from the test's name.
func newIDPrimeCard(t *testing.T, withSigning bool, run vcard.RunOptions) *testCard {
	t.Helper()
	p := rig.New(t)
	opts := testpki.Options{Seed: "conformance-idprime-" + t.Name(), Now: time.Now().Truncate(time.Second)}
	spec := testpki.CardSpec{Key: testpki.RSA2048}
	pki, err := testpki.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pki.IssueCard(spec)
	if err != nil {
		t.Fatal(err)
	}
	card := p.InsertCard(t, 0, vcard.ProvisionOptions{Kind: vcard.KindIDPrime, WithSigning: withSigning, Spec: spec, PKI: opts}, run)
	home := t.TempDir()
	conf := filepath.Join(home, "opensc.conf")
	// No file cache: a test must read this card, not a file some earlier
	// card left under the same serial.
	if err := os.WriteFile(conf, []byte("app default {\n\tframework pkcs15 {\n\t\tuse_file_caching = false;\n\t}\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &testCard{pcscd: p, Card: card, want: want, home: home, env: []string{"OPENSC_CONF=" + conf}}
}

// idprimeIDs are the PKCS#15 IDs OpenSC gives an IDPrime card's keys and
// certificates: their order in the 0101 index, from 1 (kxc00, then ksc01).
var idprimeIDs = []string{"0001", "0002"}

// readCertificate reads certificate id through pkcs15-tool.
func readCertificate(t *testing.T, c *testCard, id string) *x509.Certificate {
	t.Helper()
	out := mustRun(t, c, "", "pkcs15-tool", "--reader", "0", "--read-certificate", id)
	i := strings.Index(out, "-----BEGIN")
	if i < 0 {
		t.Fatalf("pkcs15-tool --read-certificate %s: no PEM:\n%s", id, out)
	}
	blk, _ := pem.Decode([]byte(out[i:]))
	if blk == nil {
		t.Fatalf("pkcs15-tool --read-certificate %s: bad PEM:\n%s", id, out)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatalf("certificate %s: %v", id, err)
	}
	return cert
}

func TestIDPrimePKCS15ListCertificates(t *testing.T) {
	need(t, "pkcs15-tool", openscModule)
	for _, withSigning := range []bool{false, true} {
		t.Run(map[bool]string{false: "2024-card", true: "with-signing"}[withSigning], func(t *testing.T) {
			t.Parallel()
			c := newIDPrimeCard(t, withSigning, vcard.RunOptions{})
			want := []*x509.Certificate{c.want.HSAAuth.Cert}
			if withSigning {
				want = append(want, c.want.HSASign.Cert)
			}
			out := mustRun(t, c, "", "pkcs15-tool", "--reader", "0", "--list-certificates")
			if n := strings.Count(out, "X.509 Certificate"); n != len(want) {
				t.Fatalf("pkcs15-tool lists %d certificates, want %d:\n%s", n, len(want), out)
			}
			for i, w := range want {
				id := idprimeIDs[i]
				if !regexp.MustCompile(`(?m)^\s*ID\s*:\s*` + id + `\s*$`).MatchString(out) {
					t.Errorf("no certificate with ID %s:\n%s", id, out)
				}
				got := readCertificate(t, c, id)
				if !bytes.Equal(got.Raw, w.Raw) {
					t.Errorf("certificate %s read through OpenSC differs from the provisioned one (%q)", id, got.Subject)
				}
				if got.Subject.SerialNumber != c.want.Spec.HSAID || got.Subject.CommonName != "Anna Svensson" {
					t.Errorf("certificate %s subject %q, want the HSA-ID %s", id, got.Subject, c.want.Spec.HSAID)
				}
			}
			// The token: the cardid as serial (OpenSC prints its last 16 hex
			// digits), the tinfo label.
			l := mustRun(t, c, "", "pkcs11-tool", "--module", openscModule, "-L")
			serial := strings.ToLower(hex.EncodeToString(c.State.CardID()[8:]))
			if !strings.Contains(l, "serial num         : "+serial) || !strings.Contains(l, "token label        : SITHS eID") {
				t.Errorf("pkcs11-tool -L: want serial %s and label SITHS eID:\n%s", serial, l)
			}
			// The keys: the authentication key 56 under PIN 11; OpenSC 0.23
			// puts the signing key (57) under PIN 11 too, as it knows no
			// other PIN (0.24 reads PIN 83 from the 0005 file).
			keys := mustRun(t, c, "", "pkcs15-tool", "--reader", "0", "--list-keys")
			for i := range want {
				ref := fmt.Sprintf("(0x%02x)", 0x56+i)
				if !strings.Contains(keys, ref) {
					t.Errorf("no key with reference %s:\n%s", ref, keys)
				}
			}
			if n := strings.Count(keys, "Auth ID        : 11"); n != len(want) {
				t.Errorf("%d keys under auth ID 11, want %d (OpenSC 0.23 knows only PIN 11):\n%s", n, len(want), keys)
			}
		})
	}
}

// idprimeSign signs data with key id through OpenSC's PKCS#11 module,
// the PIN typed at the prompt.
func idprimeSign(t *testing.T, c *testCard, pin, mech, id string, data []byte) ([]byte, result) {
	t.Helper()
	dir := t.TempDir()
	in, sig := filepath.Join(dir, "data"), filepath.Join(dir, "sig")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	r := runToolTTY(t, c, "PIN: ", pin, "pkcs11-tool", "--module", openscModule, "--login", "--sign",
		"--id", id, "--mechanism", mech, "--input-file", in, "--output-file", sig)
	if r.err != nil {
		return nil, r
	}
	b, err := os.ReadFile(sig)
	if err != nil {
		t.Fatal(err)
	}
	return b, r
}

func TestIDPrimePKCS11SignOpenSSLVerify(t *testing.T) {
	need(t, "pkcs11-tool", "openssl", openscModule)
	t.Parallel()
	tr := &traceLog{}
	c := newIDPrimeCard(t, true, vcard.RunOptions{Trace: tr})
	data := []byte("SITHS eID IDPrime conformance")
	cert := c.want.HSAAuth.Cert
	for _, tc := range []struct{ mech, alg string }{{mechRSA, "42"}, {mechRSAPSS, "45"}} {
		before := c.State.Signatures()
		mark := tr.len()
		sig, r := idprimeSign(t, c, c.PIN, tc.mech, idprimeIDs[0], data)
		if r.err != nil {
			t.Fatalf("pkcs11-tool --sign -m %s: %v\n%s", tc.mech, r.err, r.out)
		}
		if err := opensslVerifyMech(t, c, cert, tc.mech, data, sig); err != nil {
			t.Errorf("%s signature: %v", tc.mech, err)
		}
		if err := opensslVerifyMech(t, c, cert, tc.mech, append(data, '!'), sig); err == nil {
			t.Errorf("%s signature verifies over other data", tc.mech)
		}
		if n := c.State.Signatures() - before; n != 1 {
			t.Errorf("%s: the card counted %d signatures, want 1", tc.mech, n)
		}
		// The exchange the contract describes: MSE SET, PSO HASH, PSO CDS.
		trace := strings.Join(tr.since(mark), "\n")
		for _, want := range []string{"ins=22 p1p2=41B6", "ins=2A p1p2=90A0", "ins=2A p1p2=9E9A"} {
			if !strings.Contains(trace, want) {
				t.Errorf("%s: no %s in the trace:\n%s", tc.mech, want, trace)
			}
		}
	}
	if err := opensslVerify(t, c, cert, data, nil); err == nil {
		t.Fatal("openssl verifies an empty signature: the check cannot fail")
	}

	// The signing key (57) is under PIN 83, which OpenSC 0.23 does not
	// know: it verifies PIN 11 and the card refuses the signature (6982).
	before := c.State.Signatures()
	mark := tr.len()
	_, r := idprimeSign(t, c, c.PIN, mechRSA, idprimeIDs[1], data)
	if r.err == nil {
		t.Fatalf("OpenSC 0.23 signed with the signing key under PIN 11:\n%s", r.out)
	}
	if !strings.Contains(r.out, "CKR_USER_NOT_LOGGED_IN") || !strings.Contains(strings.Join(tr.since(mark), "\n"), "p1p2=9E9A PSO capdu=5 rdata=0 sw=6982") {
		t.Errorf("signing-key refusal not as expected:\n%s", r.out)
	}
	if n := c.State.Signatures(); n != before {
		t.Errorf("the card signed %d times with PIN 83 unverified", n-before)
	}
	t.Logf("OpenSC 0.23 and the signing key (PIN 83): %s", regexp.MustCompile(`error: .*`).FindString(r.out))
}

// pkcs11PINFlags returns the PIN flags pkcs11-tool -L shows for the token.
func pkcs11PINFlags(t *testing.T, c *testCard) string {
	t.Helper()
	out := mustRun(t, c, "", "pkcs11-tool", "--module", openscModule, "-L")
	m := regexp.MustCompile(`token flags\s*:\s*(.*)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no token flags in pkcs11-tool -L:\n%s", out)
	}
	return m[1]
}

func TestIDPrimePINLifecycle(t *testing.T) {
	need(t, "pkcs11-tool", "pkcs15-tool", openscModule)
	t.Parallel()
	c := newIDPrimeCard(t, true, vcard.RunOptions{})
	const newPIN, wrongPIN, thirdPIN = "24681357", "11112222", "80604020"

	// pkcs11-tool --change-pin: the current PIN, the new one twice.
	r := runToolTTYSeq(t, c, []ttyAnswer{{"current PIN: ", c.PIN}, {"new PIN: ", newPIN}, {"new PIN again: ", newPIN}},
		"pkcs11-tool", "--module", openscModule, "--change-pin")
	if r.err != nil || !strings.Contains(r.out, "PIN successfully changed") {
		t.Fatalf("pkcs11-tool --change-pin: %v\n%s", r.err, r.out)
	}
	if !c.State.PINIs([]byte(newPIN)) || c.State.PINIs([]byte(c.PIN)) {
		t.Fatal("the card's PIN is not the one pkcs11-tool set")
	}
	if !c.State.SignPINIs([]byte(vcard.DefaultSignPIN)) {
		t.Error("changing PIN 11 touched the signature PIN")
	}

	// Tries: OpenSC 0.23 reports them as PKCS#11 token flags (none at 3
	// or 2 tries, "final user PIN try" at 1, "user PIN locked" at 0) and
	// in pkcs15-tool's messages; the card's counter must agree.
	login := func(pin string) result {
		return runToolTTY(t, c, "PIN: ", pin, "pkcs11-tool", "--module", openscModule, "--login", "--list-objects")
	}
	wantFlags := map[int]string{3: "", 2: "", 1: "final user PIN try", 0: "user PIN locked"}
	check := func(want int) {
		t.Helper()
		if pin, _ := c.State.PINRetries(); pin != want {
			t.Fatalf("the card has %d PIN tries left, want %d", pin, want)
		}
		flags := pkcs11PINFlags(t, c)
		for n, f := range wantFlags {
			if f == "" {
				continue
			}
			if strings.Contains(flags, f) != (n == want) {
				t.Errorf("at %d tries left pkcs11-tool -L flags are %q", want, flags)
			}
		}
	}
	check(3)
	for want := 2; want >= 1; want-- {
		if r := login(wrongPIN); r.err == nil || !strings.Contains(r.out, "CKR_PIN_INCORRECT") {
			t.Fatalf("wrong PIN: %v\n%s", r.err, r.out)
		}
		check(want)
	}
	if r := login(newPIN); r.err != nil {
		t.Fatalf("right PIN refused: %v\n%s", r.err, r.out)
	}
	check(3)
	// pkcs15-tool --change-pin with a wrong current PIN says the tries.
	for want := 2; want >= 0; want-- {
		r := runToolTTYSeq(t, c, []ttyAnswer{{"old PIN", wrongPIN}, {"new PIN", thirdPIN}, {"again", thirdPIN}},
			"pkcs15-tool", "--reader", "0", "--change-pin", "--auth-id", "11")
		if r.err == nil || !strings.Contains(r.out, fmt.Sprintf("tries left: %d", want)) {
			t.Fatalf("pkcs15-tool --change-pin with a wrong PIN, want %d tries left: %v\n%s", want, r.err, r.out)
		}
		check(want)
	}
	if r := login(newPIN); r.err == nil || !strings.Contains(r.out, "CKR_PIN_LOCKED") {
		t.Fatalf("login on a blocked PIN: %v\n%s", r.err, r.out)
	}

	// Unblock: OpenSC 0.23 has no PUK object for IDPrime, but pkcs15-tool
	// --unblock-pin sends RESET RETRY COUNTER (00 2C 00 11) with the PUK
	// and the new PIN, the contract's form.
	r = runToolTTYSeq(t, c, []ttyAnswer{{"PUK", c.PUK}, {"new PIN", thirdPIN}, {"again", thirdPIN}},
		"pkcs15-tool", "--reader", "0", "--unblock-pin", "--auth-id", "11")
	if r.err != nil {
		t.Fatalf("pkcs15-tool --unblock-pin: %v\n%s", r.err, r.out)
	}
	check(3)
	if !c.State.PINIs([]byte(thirdPIN)) {
		t.Fatal("the card's PIN is not the one --unblock-pin set")
	}
	if _, puk := c.State.PINRetries(); puk != 3 {
		t.Errorf("PUK tries %d after a right PUK, want 3", puk)
	}

	// The signature PIN (83): OpenSC 0.23 shows one PIN only, 11.
	pins := mustRun(t, c, "", "pkcs15-tool", "--reader", "0", "--list-pins")
	if strings.Count(pins, "Reference      :") != 1 || !strings.Contains(pins, "(0x11)") {
		t.Errorf("pkcs15-tool --list-pins, want PIN 11 only (OpenSC 0.23):\n%s", pins)
	}
	if tries, ok := c.State.SignPINRetries(); !ok || tries != 3 {
		t.Errorf("signature PIN tries %d (%t), want 3", tries, ok)
	}
	t.Logf("OpenSC 0.23 lists one PIN on a card with PIN 83:\n%s", pins)
}
