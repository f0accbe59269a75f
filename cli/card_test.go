package cli_test

import (
	"encoding/json"
	"github.com/sithseid/sithseid/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/rig"
	"github.com/sithseid/sithseid/internal/testpki"
)

func TestStatusJSON(t *testing.T) {
	card := insert(t, 0, testpki.CardSpec{})
	st := status(t)
	if len(st.Readers) != 2 {
		t.Fatalf("readers: %+v", st.Readers)
	}
	var seen bool
	for _, r := range st.Readers {
		if r.Name == card.Reader {
			seen = r.CardPresent
		} else if r.CardPresent {
			t.Errorf("reader %q: card present, want empty", r.Name)
		}
	}
	if !seen {
		t.Errorf("reader %q: no card present: %+v", card.Reader, st.Readers)
	}
	c := onlyCard(t, st)
	if c.Reader != card.Reader || c.Backend != "piv" {
		t.Errorf("card in %q via %q", c.Reader, c.Backend)
	}
	if c.CardNumber == "" || c.Holder.Name != "Anna Svensson" || c.Holder.HSAID != testpki.DefaultHSAID {
		t.Errorf("identity: %+v", c)
	}
	if c.Holder.PersonalNumber != "19900101-XXXX" {
		t.Errorf("personal number not masked: %q", c.Holder.PersonalNumber)
	}
	if c.PIN.Retries != 3 || c.PIN.Blocked || c.PUK == nil || c.PUK.Retries != 3 {
		t.Errorf("pin %+v puk %+v", c.PIN, c.PUK)
	}
	if len(c.Certificates) != 4 {
		t.Fatalf("certificates: %+v", c.Certificates)
	}
	logins := 0
	for _, ct := range c.Certificates {
		if ct.Login {
			logins++
			if ct.ID != "9a" || ct.Usage != "auth" || ct.Kind != "hsa" {
				t.Errorf("login certificate %+v", ct)
			}
		}
		if ct.Usage != "auth" && ct.Usage != "sign" {
			t.Errorf("usage %q", ct.Usage)
		}
		if ct.Subject == "" || ct.Issuer == "" || ct.NotAfter.IsZero() {
			t.Errorf("certificate fields: %+v", ct)
		}
		if strings.Contains(ct.Subject, testpki.DefaultPersonalNumber) {
			t.Errorf("unmasked personal number in subject %q", ct.Subject)
		}
	}
	if logins != 1 {
		t.Errorf("%d login certificates", logins)
	}
	// The raw JSON uses the documented names.
	r := sv(t, "", "status", "--json")
	for _, key := range []string{`"readers"`, `"cardPresent"`, `"cards"`, `"backend"`, `"cardNumber"`, `"hsaId"`, `"retries"`, `"blocked"`, `"certificates"`, `"usage"`, `"notAfter"`, `"login"`} {
		wantIn(t, r.stdout, key)
	}
	full := status(t, "--show-personal-number")
	if got := onlyCard(t, full).Holder.PersonalNumber; got != testpki.DefaultPersonalNumber {
		t.Errorf("--show-personal-number: %q", got)
	}
}

func TestStatusHumanSwedishAndEnglish(t *testing.T) {
	insert(t, 0, testpki.CardSpec{GivenName: "Karin", Surname: "Lind", Variant: testpki.Expiring})
	r := sv(t, "", "status")
	wantCode(t, r, 0)
	for _, s := range []string{"Karin Lind", "HSA-ID:", "3 försök kvar", "kort isatt", "går ut om 10 dagar", "inloggning: 9a"} {
		wantIn(t, r.stdout, s)
	}
	r = en(t, "", "status")
	wantCode(t, r, 0)
	for _, s := range []string{"Karin Lind", "3 tries left", "card inserted", "expires in 10 days"} {
		wantIn(t, r.stdout, s)
	}
	// --lang overrides the locale.
	r = sithseid(t, "en_US.UTF-8", "", "status", "--lang", "sv")
	wantIn(t, r.stdout, "försök kvar")
}

// The sequence of issue 3's Show list, through the CLI: change, a wrong
// PIN, three wrong, unblock with the PUK.
func TestPINChangeBlockUnblock(t *testing.T) {
	insert(t, 0, testpki.CardSpec{})
	r := sv(t, "123456\n24681357\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, 0)
	wantIn(t, r.stdout, "PIN-koden är bytt")
	if c := onlyCard(t, status(t)); c.PIN.Retries != 3 {
		t.Fatalf("after change: %+v", c.PIN)
	}

	// The old PIN is wrong now.
	r = sv(t, "123456\n97531864\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, cli.ExitWrongPIN)
	wantIn(t, r.stderr, "Fel PIN-kod. 2 försök kvar.")
	if c := onlyCard(t, status(t)); c.PIN.Retries != 2 {
		t.Fatalf("after a wrong PIN: %+v", c.PIN)
	}
	// A weak new PIN is refused before the card is asked: no try spent.
	r = sv(t, "24681357\n111111\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, cli.ExitPINPolicy)
	wantIn(t, r.stderr, "en och samma siffra")
	r = sv(t, "24681357\n19900101\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, cli.ExitPINPolicy)
	wantIn(t, r.stderr, "födelsedatum")
	if c := onlyCard(t, status(t)); c.PIN.Retries != 2 {
		t.Fatalf("a refused new PIN spent a try: %+v", c.PIN)
	}

	r = en(t, "000000\n97531864\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, cli.ExitWrongPIN)
	wantIn(t, r.stderr, "One try left")
	r = en(t, "000000\n97531864\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, cli.ExitPINBlocked)
	c := onlyCard(t, status(t))
	if !c.PIN.Blocked || c.PIN.Retries != 0 {
		t.Fatalf("after three wrong PINs: %+v", c.PIN)
	}
	// Blocked: refused before asking, with the way out.
	r = sv(t, "24681357\n97531864\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, cli.ExitPINBlocked)
	wantIn(t, r.stderr, "sithseid pin unblock")

	// A wrong PUK shows its tries left; a malformed one is not sent.
	r = sv(t, "87654321\n97531864\n", "pin", "unblock", "--pin-stdin")
	wantCode(t, r, cli.ExitWrongPUK)
	wantIn(t, r.stderr, "Fel PUK-kod. 2 försök kvar.")
	r = sv(t, "1234\n97531864\n", "pin", "unblock", "--pin-stdin")
	wantCode(t, r, cli.ExitPINPolicy)
	if c := onlyCard(t, status(t)); c.PUK == nil || c.PUK.Retries != 2 {
		t.Fatalf("PUK after one wrong: %+v", c.PUK)
	}

	r = sv(t, "12345678\n97531864\n", "pin", "unblock", "--pin-stdin")
	wantCode(t, r, 0)
	wantIn(t, r.stdout, "upplåst")
	c = onlyCard(t, status(t))
	if c.PIN.Retries != 3 || c.PIN.Blocked {
		t.Fatalf("after unblock: %+v", c.PIN)
	}
	// The new PIN works.
	wantCode(t, sv(t, "97531864\n24681357\n", "pin", "change", "--pin-stdin"), 0)
}

func TestStdinRunsOut(t *testing.T) {
	insert(t, 0, testpki.CardSpec{})
	r := sv(t, "123456\n", "pin", "change", "--pin-stdin")
	if r.code == 0 {
		t.Fatalf("a change with no new PIN succeeded: %s", r)
	}
	if c := onlyCard(t, status(t)); c.PIN.Retries != 3 {
		t.Fatalf("PIN tries spent: %+v", c.PIN)
	}
	// Without --pin-stdin and no terminal: a clear refusal.
	r = sv(t, "123456\n24681357\n", "pin", "change")
	wantCode(t, r, cli.ExitUsage)
	wantIn(t, r.stderr, "--pin-stdin")
}

func TestCertsListExportRemove(t *testing.T) {
	insert(t, 0, testpki.CardSpec{Key: testpki.P256})
	r := sv(t, "", "certs", "--json")
	wantCode(t, r, 0)
	var certs []struct {
		ID    string `json:"id"`
		Usage string `json:"usage"`
		Login bool   `json:"login"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &certs); err != nil || len(certs) != 4 {
		t.Fatalf("certs --json: %v %s", err, r.stdout)
	}
	r = en(t, "", "certs")
	wantCode(t, r, 0)
	wantIn(t, r.stdout, "[login]")

	dir := t.TempDir()
	r = sv(t, "", "certs", "--export", dir)
	wantCode(t, r, 0)
	files, _ := filepath.Glob(filepath.Join(dir, "*.pem"))
	if len(files) != 4 {
		t.Fatalf("exported %v", files)
	}
	for _, f := range files {
		out, err := exec.Command("openssl", "x509", "-in", f, "-noout", "-subject").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Anna Svensson") {
			t.Errorf("openssl x509 %s: %v %s", f, err, out)
		}
	}
	// A second export refuses to overwrite.
	r = sv(t, "", "certs", "--export", dir)
	if r.code == 0 {
		t.Fatalf("export overwrote: %s", r)
	}
	wantIn(t, r.stderr, "finns redan")
	der := t.TempDir()
	wantCode(t, sv(t, "", "certs", "--export", der, "--format", "der"), 0)
	files, _ = filepath.Glob(filepath.Join(der, "*.der"))
	if len(files) != 4 {
		t.Fatalf("DER export %v", files)
	}
	if out, err := exec.Command("openssl", "x509", "-inform", "DER", "-in", files[0], "-noout").CombinedOutput(); err != nil {
		t.Errorf("openssl DER: %v %s", err, out)
	}

	// The login certificate needs --yes; nothing is asked without it.
	r = sv(t, "", "cert", "remove", "9a", "--pin-stdin")
	wantCode(t, r, cli.ExitConfirm)
	wantIn(t, r.stderr, "--yes")
	r = sv(t, "123456\n", "cert", "remove", "ff", "--pin-stdin")
	wantCode(t, r, cli.ExitConfirm)
	wantIn(t, r.stderr, "inget certifikat")

	r = sv(t, "123456\n", "cert", "remove", "9c", "--pin-stdin")
	wantCode(t, r, 0)
	c := onlyCard(t, status(t))
	if len(c.Certificates) != 3 {
		t.Fatalf("after removing 9c: %+v", c.Certificates)
	}
	for _, ct := range c.Certificates {
		if ct.ID == "9c" {
			t.Fatal("9c still listed")
		}
	}
	// A wrong PIN removes nothing and says so.
	r = sv(t, "000000\n", "cert", "remove", "82", "--pin-stdin")
	wantCode(t, r, cli.ExitWrongPIN)
	if c := onlyCard(t, status(t)); len(c.Certificates) != 3 || c.PIN.Retries != 2 {
		t.Fatalf("after a wrong PIN: %d certs, %+v", len(c.Certificates), c.PIN)
	}
	r = sv(t, "123456\n", "cert", "remove", "9a", "--yes", "--pin-stdin")
	wantCode(t, r, 0)
	c = onlyCard(t, status(t))
	for _, w := range c.Warnings {
		if w.Code == "noLoginCertificate" {
			return
		}
	}
	t.Fatalf("no warning about the missing login certificate: %+v", c.Warnings)
}

func TestRemoveExpired(t *testing.T) {
	insert(t, 0, testpki.CardSpec{Variant: testpki.Expired})
	c := onlyCard(t, status(t))
	expired := 0
	for _, w := range c.Warnings {
		if w.Code == "certificateExpired" {
			expired++
		}
	}
	if expired != 4 {
		t.Fatalf("warnings %+v", c.Warnings)
	}
	// Every certificate is expired, the login one too: confirmation first.
	wantCode(t, sv(t, "123456\n", "cert", "remove-expired", "--pin-stdin"), cli.ExitConfirm)
	r := sv(t, "123456\n", "cert", "remove-expired", "--yes", "--pin-stdin")
	wantCode(t, r, 0)
	if n := strings.Count(r.stdout, "borttaget"); n != 4 {
		t.Fatalf("removed %d:\n%s", n, r)
	}
	if c := onlyCard(t, status(t)); len(c.Certificates) != 0 {
		t.Fatalf("left %+v", c.Certificates)
	}
	wantCode(t, sv(t, "123456\n", "cert", "remove-expired", "--pin-stdin"), cli.ExitConfirm)
}

func TestTwoCardsSelection(t *testing.T) {
	a := insert(t, 0, testpki.CardSpec{})
	b := insert(t, 1, testpki.CardSpec{GivenName: "Bo", Surname: "Ek", HSAID: "SE2321000016-B0EK", PersonalNumber: "198505057771"})
	st := status(t)
	if len(st.Cards) != 2 {
		t.Fatalf("cards: %+v", st.Cards)
	}
	var bo string
	for _, c := range st.Cards {
		if c.Holder.HSAID == "SE2321000016-B0EK" {
			bo = c.CardNumber
			if c.Reader != b.Reader {
				t.Errorf("Bo's card in %q", c.Reader)
			}
		}
	}
	if bo == "" {
		t.Fatal("Bo's card not listed")
	}
	// Two cards and no choice: refused before any PIN is read.
	r := sv(t, "123456\n24681357\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, cli.ExitNoCard)
	wantIn(t, r.stderr, "--card")
	// By card number (spaces allowed, as printed on the card).
	spaced := bo[:4] + " " + bo[4:]
	wantCode(t, sv(t, "123456\n24681357\n", "pin", "change", "--pin-stdin", "--card", spaced), 0)
	for _, c := range status(t).Cards {
		want := 3
		if c.CardNumber == bo && c.PIN.Retries != want {
			t.Errorf("Bo's card %+v", c.PIN)
		}
	}
	// By exact reader name; a substring is not a reader name.
	wantCode(t, sv(t, "", "status", "--reader", a.Reader), 0)
	if st := status(t, "--reader", a.Reader); len(st.Cards) != 1 || st.Cards[0].Reader != a.Reader {
		t.Fatalf("--reader: %+v", st.Cards)
	}
	wantCode(t, sv(t, "", "status", "--json", "--reader", "Virtual"), cli.ExitNoCard)
	wantCode(t, sv(t, "", "status", "--card", "1234"), cli.ExitNoCard)
}

func TestNoCard(t *testing.T) {
	// The previous test's cards are out; pcscd notices within ~400 ms.
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if len(status(t).Cards) == 0 {
			break
		}
	}
	r := sv(t, "", "status")
	wantCode(t, r, 0)
	wantIn(t, r.stdout, "inget kort")
	r = sv(t, "123456\n24681357\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, cli.ExitNoCard)
	wantIn(t, r.stderr, "Sätt i ditt SITHS-kort")
}

func TestUsageAndVersion(t *testing.T) {
	wantCode(t, sv(t, "", "frobnicate"), cli.ExitUsage)
	wantCode(t, sv(t, "", "pin"), cli.ExitUsage)
	wantCode(t, sv(t, "", "cert", "remove"), cli.ExitUsage)
	r := sv(t, "", "version")
	wantCode(t, r, 0)
	wantIn(t, r.stdout, "sithseid test")
	r = en(t, "", "help", "exit-codes")
	wantCode(t, r, 0)
	wantIn(t, r.stdout, "PIN blocked")
	_ = os.Getenv
}

// The card pulled after each APDU of "status": a clean answer (the reader
// shown empty, or a typed error) within 2 s, never a hang or a crash, and the
// card reads normally once back. The same for every card operation, with
// the PIN counter checked, is in cardreader/piv's pull tests.
func TestStatusCardPulled(t *testing.T) {
	card := insert(t, 0, testpki.CardSpec{})
	for k := 1; k <= 20; k++ {
		card.Server.SetDropAfter(k)
		start := time.Now()
		r := sv(t, "", "status", "--json")
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("k=%d: took %v", k, d)
		}
		card.Server.SetDropAfter(0)
		switch r.code {
		case 0, cli.ExitCardRemoved, cli.ExitNoCard:
		default:
			t.Fatalf("k=%d: %s", k, r)
		}
		if !card.Server.Stats().WantIn {
			card.Reinsert(t)
		}
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if st := status(t); len(st.Cards) == 1 {
				if c := st.Cards[0]; c.PIN.Retries != 3 || len(c.Certificates) != 4 {
					t.Fatalf("k=%d: card after reinsertion: %+v", k, c)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("k=%d: card not readable after reinsertion\n%s", k, rig.Current().LogTail(1500))
			}
		}
	}
}

// The same card through OpenSC's PKCS#11 module (how real SITHS cards are
// reached): status, PIN tries, change and a wrong PIN. OpenSC refuses the
// PUK on a PIV card, which the CLI reports as "no PUK" rather than failing
// obscurely.
func TestPKCS11BackendThroughOpenSC(t *testing.T) {
	const module = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
	if _, err := os.Stat(module); err != nil {
		testenv.Missing(t, "OpenSC not installed (scripts/setup installs it)")
	}
	insert(t, 0, testpki.CardSpec{})
	p11 := []string{"--backend", "pkcs11", "--pkcs11-module", module}
	st := status(t, p11...)
	c := onlyCard(t, st)
	if c.Backend != "pkcs11" || c.Holder.HSAID != testpki.DefaultHSAID || c.PIN.Retries != 3 {
		t.Fatalf("status through PKCS#11: %+v", c)
	}
	login := 0
	for _, ct := range c.Certificates {
		if ct.Login {
			login++
		}
	}
	if len(c.Certificates) != 4 || login != 1 {
		t.Fatalf("certificates through PKCS#11: %+v", c.Certificates)
	}
	wantCode(t, sv(t, "123456\n24681357\n", append([]string{"pin", "change", "--pin-stdin"}, p11...)...), 0)
	r := sv(t, "123456\n97531864\n", append([]string{"pin", "change", "--pin-stdin"}, p11...)...)
	wantCode(t, r, cli.ExitWrongPIN)
	wantIn(t, r.stderr, "2 försök kvar")
	// The PIV backend sees the same card and the same counter.
	if c := onlyCard(t, status(t)); c.Backend != "piv" || c.PIN.Retries != 2 {
		t.Fatalf("through PIV afterwards: %+v", c)
	}
	r = sv(t, "12345678\n97531864\n", append([]string{"pin", "unblock", "--pin-stdin"}, p11...)...)
	wantCode(t, r, cli.ExitPUKBlocked)
	wantIn(t, r.stderr, "ingen PUK-kod")
}
