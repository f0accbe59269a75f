package cli_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/rig"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// status --json on every kind of card: the reader, the backend that
// serves it, the holder, the PIN and PUK, the certificates with one login
// certificate, and the documented JSON names.
func TestStatusJSON(t *testing.T) {
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		c11 := kindCLI{k}
		card := k.Insert(t, 0, testpki.CardSpec{}, vcard.RunOptions{})
		st := c11.status(t)
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
		if c.Reader != card.Reader || c.Backend != k.Backend {
			t.Errorf("card in %q via %q, want %q", c.Reader, c.Backend, k.Backend)
		}
		// A card that cannot remove certificates says so up front.
		if c.RemovalUnsupported != k.RemovalRefusedBeforePIN {
			t.Errorf("removalUnsupported %v, want %v", c.RemovalUnsupported, k.RemovalRefusedBeforePIN)
		}
		if c.CardNumber == "" || c.Holder.Name != "Anna Svensson" || c.Holder.HSAID != testpki.DefaultHSAID {
			t.Errorf("identity: %+v", c)
		}
		// The personal number, where the card carries it, is masked.
		if want := map[bool]string{true: "19900101-XXXX", false: ""}[k.PersonalNumber]; c.Holder.PersonalNumber != want {
			t.Errorf("personal number %q, want %q", c.Holder.PersonalNumber, want)
		}
		if c.PIN.Retries != 3 || c.PIN.Blocked {
			t.Errorf("pin %+v", c.PIN)
		}
		// A PUK is shown where the backend can use one.
		if k.Unblock != (c.PUK != nil) || c.PUK != nil && c.PUK.Retries != 3 {
			t.Errorf("puk %+v (the backend unblocks: %v)", c.PUK, k.Unblock)
		}
		if len(c.Certificates) != k.Certificates {
			t.Fatalf("certificates, want %d: %+v", k.Certificates, c.Certificates)
		}
		logins := 0
		for _, ct := range c.Certificates {
			if ct.Login {
				logins++
				if ct.ID != k.Login || ct.Usage != "auth" || ct.Kind != "hsa" {
					t.Errorf("login certificate %+v, want ID %q", ct, k.Login)
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
		r := c11.sv(t, "", "status", "--json")
		for _, key := range []string{`"readers"`, `"cardPresent"`, `"cards"`, `"backend"`, `"cardNumber"`, `"hsaId"`, `"retries"`, `"blocked"`, `"certificates"`, `"usage"`, `"notAfter"`, `"login"`} {
			wantIn(t, r.stdout, key)
		}
		want := ""
		if k.PersonalNumber {
			want = testpki.DefaultPersonalNumber
		}
		if got := onlyCard(t, c11.status(t, "--show-personal-number")).Holder.PersonalNumber; got != want {
			t.Errorf("--show-personal-number: %q, want %q", got, want)
		}
	})
}

func TestStatusHumanSwedishAndEnglish(t *testing.T) {
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		c11 := kindCLI{k}
		k.Insert(t, 0, testpki.CardSpec{GivenName: "Karin", Surname: "Lind", Variant: testpki.Expiring}, vcard.RunOptions{})
		r := c11.sv(t, "", "status")
		wantCode(t, r, 0)
		for _, s := range []string{"Karin Lind", "HSA-ID:", "3 försök kvar", "kort isatt", "går ut om 10 dagar", "inloggning: " + k.Login, "(" + k.Backend + ")"} {
			wantIn(t, r.stdout, s)
		}
		r = c11.en(t, "", "status")
		wantCode(t, r, 0)
		for _, s := range []string{"Karin Lind", "3 tries left", "card inserted", "expires in 10 days"} {
			wantIn(t, r.stdout, s)
		}
		// --lang overrides the locale.
		r = sithseid(t, "en_US.UTF-8", "", c11.args([]string{"status", "--lang", "sv"})...)
		wantIn(t, r.stdout, "försök kvar")
	})
}

// The sequence of issue 3's Show list, through the CLI, on every kind of
// card: change, a wrong PIN, three wrong, unblock with the PUK (or, where
// the backend has no PUK, the clear refusal that spends no try).
func TestPINChangeBlockUnblock(t *testing.T) {
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		c11 := kindCLI{k}
		card := k.Insert(t, 0, testpki.CardSpec{}, vcard.RunOptions{})
		r := c11.sv(t, "123456\n24681357\n", "pin", "change", "--pin-stdin")
		wantCode(t, r, 0)
		wantIn(t, r.stdout, "PIN-koden är bytt")
		c11.wantRetries(t, card, 3, "after change")

		// The old PIN is wrong now.
		r = c11.sv(t, "123456\n97531864\n", "pin", "change", "--pin-stdin")
		wantCode(t, r, cli.ExitWrongPIN)
		wantIn(t, r.stderr, "Fel PIN-kod. 2 försök kvar.")
		c11.wantRetries(t, card, 2, "after a wrong PIN")
		// A weak new PIN is refused before the card is asked: no try spent.
		r = c11.sv(t, "24681357\n111111\n", "pin", "change", "--pin-stdin")
		wantCode(t, r, cli.ExitPINPolicy)
		wantIn(t, r.stderr, "en och samma siffra")
		// The birth date is known only from a card with the personal
		// number.
		if k.PersonalNumber {
			r = c11.sv(t, "24681357\n19900101\n", "pin", "change", "--pin-stdin")
			wantCode(t, r, cli.ExitPINPolicy)
			wantIn(t, r.stderr, "födelsedatum")
		}
		c11.wantRetries(t, card, 2, "a refused new PIN")

		r = c11.en(t, "000000\n97531864\n", "pin", "change", "--pin-stdin")
		wantCode(t, r, cli.ExitWrongPIN)
		wantIn(t, r.stderr, "One try left")
		r = c11.en(t, "000000\n97531864\n", "pin", "change", "--pin-stdin")
		wantCode(t, r, cli.ExitPINBlocked)
		c := c11.wantRetries(t, card, 0, "after three wrong PINs")
		if !c.PIN.Blocked || c.PIN.Retries != 0 {
			t.Fatalf("after three wrong PINs: %+v", c.PIN)
		}
		// Blocked: refused before asking.
		r = c11.sv(t, "24681357\n97531864\n", "pin", "change", "--pin-stdin")
		wantCode(t, r, cli.ExitPINBlocked)
		if !k.Unblock {
			// No PUK through this backend: a clear refusal, and neither
			// the PIN's nor the PUK's tries change on the card.
			r = c11.sv(t, "12345678\n97531864\n", "pin", "unblock", "--pin-stdin")
			wantCode(t, r, cli.ExitPUKBlocked)
			wantIn(t, r.stderr, "ingen PUK-kod")
			if pin, puk := card.State.PINRetries(); pin != 0 || puk != 3 {
				t.Fatalf("after the refused unblock: PIN %d, PUK %d tries left; want 0 and 3", pin, puk)
			}
			// Status names the way out there is: the ID administrator,
			// not a PUK the holder does not have.
			if ws := onlyCard(t, c11.status(t)).Warnings; !slices.ContainsFunc(ws, func(w app.Warning) bool { return w.Code == app.WarnPINBlockedNoPUK }) ||
				slices.ContainsFunc(ws, func(w app.Warning) bool { return w.Code == app.WarnPINBlocked }) {
				t.Errorf("warnings of a blocked card without a PUK: %+v", ws)
			}
			r = c11.sv(t, "", "status")
			wantIn(t, r.stdout, "PIN-koden är låst, och kortet har ingen PUK-kod du kan använda.")
			return
		}
		// With the way out.
		wantIn(t, r.stderr, "sithseid pin unblock")

		// A wrong PUK shows its tries left; a malformed one is not sent.
		r = c11.sv(t, "87654321\n97531864\n", "pin", "unblock", "--pin-stdin")
		wantCode(t, r, cli.ExitWrongPUK)
		wantIn(t, r.stderr, "Fel PUK-kod. 2 försök kvar.")
		r = c11.sv(t, "1234\n97531864\n", "pin", "unblock", "--pin-stdin")
		wantCode(t, r, cli.ExitPINPolicy)
		if c := onlyCard(t, c11.status(t)); c.PUK == nil || c.PUK.Retries != 2 {
			t.Fatalf("PUK after one wrong: %+v", c.PUK)
		}

		r = c11.sv(t, "12345678\n97531864\n", "pin", "unblock", "--pin-stdin")
		wantCode(t, r, 0)
		wantIn(t, r.stdout, "upplåst")
		c = c11.wantRetries(t, card, 3, "after unblock")
		if c.PIN.Blocked {
			t.Fatalf("after unblock: %+v", c.PIN)
		}
		// The new PIN works.
		wantCode(t, c11.sv(t, "97531864\n24681357\n", "pin", "change", "--pin-stdin"), 0)
	})
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

// certs on every kind of card: list, export in PEM and DER (read back by
// openssl), and removal: a choice and a wrong PIN on cards whose backend
// removes, the clear refusal that changes nothing on the others.
func TestCertsListExportRemove(t *testing.T) {
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		c11 := kindCLI{k}
		card := k.Insert(t, 0, testpki.CardSpec{Key: keyOr(k, testpki.P256)}, vcard.RunOptions{})
		r := c11.sv(t, "", "certs", "--json")
		wantCode(t, r, 0)
		var certs []struct {
			ID    string `json:"id"`
			Usage string `json:"usage"`
			Login bool   `json:"login"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &certs); err != nil || len(certs) != k.Certificates {
			t.Fatalf("certs --json, want %d: %v %s", k.Certificates, err, r.stdout)
		}
		r = c11.en(t, "", "certs")
		wantCode(t, r, 0)
		wantIn(t, r.stdout, "[login]")

		dir := t.TempDir()
		r = c11.sv(t, "", "certs", "--export", dir)
		wantCode(t, r, 0)
		files, _ := filepath.Glob(filepath.Join(dir, "*.pem"))
		if len(files) != k.Certificates {
			t.Fatalf("exported %v", files)
		}
		for _, f := range files {
			out, err := exec.Command("openssl", "x509", "-in", f, "-noout", "-subject").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Anna Svensson") {
				t.Errorf("openssl x509 %s: %v %s", f, err, out)
			}
		}
		// A second export refuses to overwrite.
		r = c11.sv(t, "", "certs", "--export", dir)
		if r.code == 0 {
			t.Fatalf("export overwrote: %s", r)
		}
		wantIn(t, r.stderr, "finns redan")
		der := t.TempDir()
		wantCode(t, c11.sv(t, "", "certs", "--export", der, "--format", "der"), 0)
		files, _ = filepath.Glob(filepath.Join(der, "*.der"))
		if len(files) != k.Certificates {
			t.Fatalf("DER export %v", files)
		}
		if out, err := exec.Command("openssl", "x509", "-inform", "DER", "-in", files[0], "-noout").CombinedOutput(); err != nil {
			t.Errorf("openssl DER: %v %s", err, out)
		}

		// An unknown ID: nothing is asked.
		r = c11.sv(t, "123456\n", "cert", "remove", "ff", "--pin-stdin")
		wantCode(t, r, cli.ExitConfirm)
		wantIn(t, r.stderr, "inget certifikat")
		if !k.Remove {
			certsRemovalRefused(t, c11, card)
			return
		}
		certsRemove(t, c11)
	})
}

// certsRemovalRefused: a backend that cannot remove certificates says so
// and where it can be done, in both languages, with no raw status word,
// and neither a certificate nor a PIN try goes.
func certsRemovalRefused(t *testing.T, c11 kindCLI, card *rig.Card) {
	t.Helper()
	k := c11.k
	r := c11.sv(t, "123456\n", "cert", "remove", k.Login, "--yes", "--pin-stdin")
	wantCode(t, r, cli.ExitFailure)
	wantIn(t, r.stderr, "Thales SAC")
	wantIn(t, r.stderr, "ID-administratör")
	r = c11.en(t, "123456\n", "cert", "remove", k.Login, "--yes", "--pin-stdin")
	wantCode(t, r, cli.ExitFailure)
	wantIn(t, r.stderr, "PKCS#11 module (Thales SAC)")
	if strings.Contains(r.stderr, "CKR_") {
		t.Errorf("a raw PKCS#11 return value shown:\n%s", r.stderr)
	}
	if c := onlyCard(t, c11.status(t)); len(c.Certificates) != k.Certificates || c.PIN.Retries != 3 {
		t.Fatalf("after the refused removal: %d certificates, PIN %+v", len(c.Certificates), c.PIN)
	}
	if pin, _ := card.State.PINRetries(); pin != 3 {
		t.Fatalf("after the refused removal: the card has %d PIN tries left", pin)
	}
}

// certsRemove: the login certificate needs --yes; another goes with the
// PIN; a wrong PIN removes nothing; without the login certificate, status
// warns.
func certsRemove(t *testing.T, c11 kindCLI) {
	t.Helper()
	k := c11.k
	var others []string
	for _, ct := range onlyCard(t, c11.status(t)).Certificates {
		if !ct.Login {
			others = append(others, ct.ID)
		}
	}
	if len(others) < 2 {
		t.Fatalf("the removal test needs two certificates besides the login one: %v", others)
	}
	r := c11.sv(t, "", "cert", "remove", k.Login, "--pin-stdin")
	wantCode(t, r, cli.ExitConfirm)
	wantIn(t, r.stderr, "--yes")

	r = c11.sv(t, "123456\n", "cert", "remove", others[0], "--pin-stdin")
	wantCode(t, r, 0)
	c := onlyCard(t, c11.status(t))
	if len(c.Certificates) != k.Certificates-1 {
		t.Fatalf("after removing %s: %+v", others[0], c.Certificates)
	}
	for _, ct := range c.Certificates {
		if ct.ID == others[0] {
			t.Fatalf("%s still listed", others[0])
		}
	}
	// A wrong PIN removes nothing and says so.
	r = c11.sv(t, "000000\n", "cert", "remove", others[1], "--pin-stdin")
	wantCode(t, r, cli.ExitWrongPIN)
	if c := onlyCard(t, c11.status(t)); len(c.Certificates) != k.Certificates-1 || c.PIN.Retries != 2 {
		t.Fatalf("after a wrong PIN: %d certs, %+v", len(c.Certificates), c.PIN)
	}
	r = c11.sv(t, "123456\n", "cert", "remove", k.Login, "--yes", "--pin-stdin")
	wantCode(t, r, 0)
	c = onlyCard(t, c11.status(t))
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
		before := card.Server.Stats()
		card.Server.SetDropAfter(k)
		start := time.Now()
		r := sv(t, "", "status", "--json")
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("k=%d: took %v", k, d)
		}
		switch r.code {
		case 0, cli.ExitCardRemoved, cli.ExitNoCard:
		default:
			t.Fatalf("k=%d: %s", k, r)
		}
		// The card records its drop after the k-th reply is on the wire:
		// when that reply was status's last (k=16 on this card), status
		// can return before the card counts itself out. A k-th APDU means
		// a drop: wait for it to be counted before asking whether the
		// card is out.
		if card.Server.Stats().APDUs-before.APDUs >= int64(k) {
			for deadline := time.Now().Add(2 * time.Second); card.Server.Stats().Drops == before.Drops; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("k=%d: the %d-th APDU went by and the card did not drop: %+v", k, k, card.Server.Stats())
				}
			}
		}
		card.Server.SetDropAfter(0)
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
