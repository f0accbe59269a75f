package idprime

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sithseid/sithseid/cardreader"
)

// In-process tests: the session's transmit seam answers from a script, so
// the APDUs of each operation and the mapping of each answer are checked
// exactly, without PC/SC.

var (
	testKeyOnce sync.Once
	testKey     *rsa.PrivateKey
	testCertV   *x509.Certificate
)

func testCert(t testing.TB) *x509.Certificate {
	testKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idprime test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			panic(err)
		}
		testKey = k
		testCertV, _ = x509.ParseCertificate(der)
	})
	return testCertV
}

type step struct{ cmd, resp string }

const (
	selApplet = "00 A4 04 0C 0B A0 00 00 00 18 80 00 00 00 06 62"
	ok        = "90 00"
)

// script answers APDUs in order; "*" matches any command, a response
// "short" has no status word, "pcsc:removed" is a PC/SC error.
type script struct {
	t        testing.TB
	steps    []step
	i        int
	resets   int
	releases int
	buffers  [][]byte // the buffers as transmitted, not copies
}

func (sc *script) tx(apdu []byte) ([]byte, error) {
	sc.t.Helper()
	sc.buffers = append(sc.buffers, apdu)
	if sc.i >= len(sc.steps) {
		sc.t.Fatalf("unexpected APDU % X", apdu)
	}
	st := sc.steps[sc.i]
	sc.i++
	if st.cmd != "*" && !bytes.Equal(apdu, h(st.cmd)) {
		sc.t.Fatalf("APDU %d: % X\nwant       %s", sc.i, apdu, st.cmd)
	}
	switch st.resp {
	case "short":
		return []byte{0x90}, nil
	case "pcsc:removed":
		return nil, cardreader.FromPCSC(0x80100069)
	}
	return h(st.resp), nil
}

func (sc *script) done() {
	sc.t.Helper()
	if sc.i != len(sc.steps) {
		sc.t.Errorf("%d of %d APDUs sent", sc.i, len(sc.steps))
	}
}

// scripted returns a Card whose sessions answer from steps.
func scripted(t testing.TB, steps ...step) (*Card, *script) {
	sc := &script{t: t, steps: steps}
	c := &Card{reader: "scripted", mu: new(sync.Mutex)}
	c.connect = func(context.Context) (*session, error) {
		return &session{tx: sc.tx, release: func(reset bool) {
			sc.releases++
			if reset {
				sc.resets++
			}
		}}, nil
	}
	return c, sc
}

// fileSteps selects fid and reads content in 256-byte chunks.
func fileSteps(fid uint16, content []byte) []step {
	n := len(content)
	out := []step{{fmt.Sprintf("00 A4 08 00 02 %04X 00", fid), fmt.Sprintf("6F 04 80 02 %04X 9000", n)}}
	for off := 0; off < n; off += 256 {
		le := min(256, n-off)
		out = append(out, step{fmt.Sprintf("00 B0 %04X %02X", off, byte(le)), fmt.Sprintf("%X 9000", content[off:off+le])})
	}
	return out
}

func steps(parts ...any) []step {
	var out []step
	for _, p := range parts {
		switch v := p.(type) {
		case step:
			out = append(out, v)
		case []step:
			out = append(out, v...)
		}
	}
	return out
}

func secret(s string) *cardreader.Secret { return cardreader.NewSecret([]byte(s)) }

// pinBlock is s as hex, padded with 00 to 16 bytes.
func pinBlock(s string) string {
	b := make([]byte, 16)
	copy(b, s)
	return fmt.Sprintf("%X", b)
}

var ctx = context.Background()

func TestScriptedOpen(t *testing.T) {
	t.Run("select", func(t *testing.T) {
		c, sc := scripted(t, step{selApplet, ok})
		if err := c.open(ctx); err != nil {
			t.Fatal(err)
		}
		sc.done()
		if sc.resets != 0 || sc.releases != 1 {
			t.Errorf("releases %d resets %d", sc.releases, sc.resets)
		}
	})
	t.Run("P2=00 after 6A86", func(t *testing.T) {
		c, sc := scripted(t, step{selApplet, "6A86"}, step{"00 A4 04 00 0B A0 00 00 00 18 80 00 00 00 06 62 00", ok})
		if err := c.open(ctx); err != nil {
			t.Fatal(err)
		}
		sc.done()
	})
	for _, code := range []string{"6A82", "6D00", "6E00"} {
		t.Run("refused "+code, func(t *testing.T) {
			c, sc := scripted(t, step{selApplet, code})
			if err := c.open(ctx); !errors.Is(err, cardreader.ErrUnsupportedCard) {
				t.Fatalf("err = %v", err)
			}
			sc.done()
		})
	}
	t.Run("foreign ATR: no APDU", func(t *testing.T) {
		c, sc := scripted(t)
		conn := c.connect
		c.connect = func(ctx context.Context) (*session, error) {
			s, err := conn(ctx)
			s.atr = h("3B 8D 80 01 80 73 C0 21 C0 57 53 49 54 48 53 76 63 6B")
			return s, err
		}
		if err := c.open(ctx); !errors.Is(err, cardreader.ErrUnsupportedCard) {
			t.Fatalf("err = %v", err)
		}
		sc.done()
	})
	t.Run("foreign ATR from the caller: not even a connect", func(t *testing.T) {
		_, err := New(Options{}).Open(ctx, cardreader.Reader{Name: "no such reader", ATR: h("3B 8D 80 01 80 73 C0 21 C0 57 53 49 54 48 53 76 63 6B")})
		if !errors.Is(err, cardreader.ErrUnsupportedCard) {
			t.Fatalf("err = %v", err)
		}
	})
}

// cplcAnswer is a CPLC with fabricator 4090, IC type 7C93, IC serial
// number serial and IC batch 0A0B, and its status word.
func cplcAnswer(serial string) string {
	return "9F7F2A 4090 7C93 1291 3045 0400 0000" + serial + "0A0B" + strings.Repeat("00", 24) + " 9000"
}

const getCPLC = "00 CA 9F 7F 2D"

func TestScriptedID(t *testing.T) {
	cardid := fileSteps(fidCardID, h("0102030405060708 0102030405060708"))
	for _, tc := range []struct {
		name  string
		steps []step
		want  string
	}{
		// The chip's identity: fabricator, IC type, IC serial, batch.
		{"CPLC", steps(step{selApplet, ok}, step{getCPLC, cplcAnswer("11223344")}), "cplc:40907c93112233440a0b"},
		// No CPLC, none with a serial, or another answer: the cardid file.
		{"CPLC refused", steps(step{selApplet, ok}, step{getCPLC, "6A88"}, cardid), "cardid:01020304050607080102030405060708"},
		{"CPLC without a serial", steps(step{selApplet, ok}, step{getCPLC, cplcAnswer("00000000")}, cardid), "cardid:01020304050607080102030405060708"},
		{"CPLC without its tag", steps(step{selApplet, ok}, step{getCPLC, "0102 9000"}, cardid), "cardid:01020304050607080102030405060708"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, sc := scripted(t, tc.steps...)
			id, err := c.ID(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if id != tc.want {
				t.Errorf("ID = %q, want %q", id, tc.want)
			}
			sc.done()
		})
	}
	t.Run("card gone at the CPLC", func(t *testing.T) {
		c, sc := scripted(t, step{selApplet, ok}, step{getCPLC, "pcsc:removed"})
		if _, err := c.ID(ctx); !errors.Is(err, cardreader.ErrCardRemoved) {
			t.Fatalf("err = %v, want ErrCardRemoved", err)
		}
		sc.done()
	})
}

func TestScriptedCertificates(t *testing.T) {
	der := testCert(t).Raw
	comp := compressed(der, len(der))
	idx := indexFile(
		indexRecord(0x0201, 16, "cardid", "", 3),
		indexRecord(0x0204, 86, "cmapfile", "mscp", 1),
		indexRecord(0x0206, len(comp), "kxc00", "mscp", 1),
		indexRecord(0x0207, len(der), "ksc01", "mscp", 1),
		indexRecord(0x0208, 0, "kxc02", "mscp", 1),
	)
	c, sc := scripted(t, steps(step{selApplet, ok}, fileSteps(fidIndex, idx), fileSteps(0x0206, comp), fileSteps(0x0207, der),
		step{"00 A4 08 00 02 0208 00", "6F 04 80 02 0000 9000"})...)
	certs, err := c.Certificates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sc.done()
	if len(certs) != 2 || certs[0].ID != "kxc00" || certs[1].ID != "ksc01" {
		t.Fatalf("certificates %+v", certs)
	}
	for _, ce := range certs {
		if !bytes.Equal(ce.Cert.Raw, der) || ce.Label == "" {
			t.Errorf("%s: label %q, DER equal %v", ce.ID, ce.Label, bytes.Equal(ce.Cert.Raw, der))
		}
	}
}

func TestScriptedReadBinary(t *testing.T) {
	// ID reads the cardid file here: the card refuses the CPLC first.
	t.Run("6Cxx resends with the card's Le", func(t *testing.T) {
		c, sc := scripted(t, step{selApplet, ok}, step{getCPLC, "6A88"}, step{"00 A4 08 00 02 0201 00", "6C 08"}, step{"00 A4 08 00 02 0201 08", "6F 04 80 02 00 04 9000"},
			step{"00 B0 0000 04", "01020304 9000"})
		id, err := c.ID(ctx)
		if err != nil || id != "cardid:01020304" {
			t.Fatalf("ID %q, %v", id, err)
		}
		sc.done()
	})
	t.Run("61xx collected", func(t *testing.T) {
		c, sc := scripted(t, step{selApplet, ok}, step{getCPLC, "6A88"}, step{"00 A4 08 00 02 0201 00", "6F 04 80 02 00 04 9000"},
			step{"00 B0 0000 04", "0102 6102"}, step{"00 C0 0000 02", "0304 9000"})
		id, err := c.ID(ctx)
		if err != nil || id != "cardid:01020304" {
			t.Fatalf("ID %q, %v", id, err)
		}
		sc.done()
	})
	t.Run("6282 ends the file early", func(t *testing.T) {
		c, sc := scripted(t, step{selApplet, ok}, step{getCPLC, "6A88"}, step{"00 A4 08 00 02 0201 00", "6F 04 80 02 00 10 9000"},
			step{"00 B0 0000 10", "01020304 6282"})
		id, err := c.ID(ctx)
		if err != nil || id != "cardid:01020304" {
			t.Fatalf("ID %q, %v", id, err)
		}
		sc.done()
	})
	t.Run("empty chunk is an error, not a loop", func(t *testing.T) {
		c, _ := scripted(t, step{selApplet, ok}, step{getCPLC, "6A88"}, step{"00 A4 08 00 02 0201 00", "6F 04 80 02 00 10 9000"}, step{"00 B0 0000 10", "9000"})
		if _, err := c.ID(ctx); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("file not found", func(t *testing.T) {
		c, _ := scripted(t, step{selApplet, ok}, step{getCPLC, "6A88"}, step{"00 A4 08 00 02 0201 00", "6A82"})
		_, err := c.ID(ctx)
		var ce *cardreader.CardError
		if !errors.As(err, &ce) || ce.SW != 0x6A82 {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestScriptedRemoved(t *testing.T) {
	for _, resp := range []string{"short", "pcsc:removed"} {
		t.Run(resp, func(t *testing.T) {
			c, _ := scripted(t, step{selApplet, ok}, step{"00 20 00 11", resp})
			if _, err := c.PINStatus(ctx); !errors.Is(err, cardreader.ErrCardRemoved) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	t.Run("during SELECT", func(t *testing.T) {
		c, _ := scripted(t, step{selApplet, "short"})
		if err := c.open(ctx); !errors.Is(err, cardreader.ErrCardRemoved) || errors.Is(err, cardreader.ErrUnsupportedCard) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestScriptedPINStatus(t *testing.T) {
	for _, tc := range []struct {
		op      string
		ref     string
		resp    string
		want    cardreader.PINStatus
		wantErr error
	}{
		{"pin", "11", "63C3", cardreader.PINStatus{Retries: 3}, nil},
		{"pin", "11", "63C0", cardreader.PINStatus{Retries: 0, Blocked: true}, nil},
		{"pin", "11", "6983", cardreader.PINStatus{Retries: 0, Blocked: true}, nil},
		{"pin", "11", "9000", cardreader.PINStatus{Retries: -1}, nil},
		{"sig", "83", "63C2", cardreader.PINStatus{Retries: 2}, nil},
		{"sig", "83", "6A88", cardreader.PINStatus{}, cardreader.ErrNoSignaturePIN},
		{"puk", "12", "63C3", cardreader.PINStatus{Retries: 3}, nil},
		{"puk", "12", "6983", cardreader.PINStatus{Blocked: true}, nil},
		{"puk", "12", "6A88", cardreader.PINStatus{}, cardreader.ErrNoPUK},
	} {
		t.Run(tc.op+" "+tc.resp, func(t *testing.T) {
			c, sc := scripted(t, step{selApplet, ok}, step{"00 20 00 " + tc.ref, tc.resp})
			var st cardreader.PINStatus
			var err error
			switch tc.op {
			case "pin":
				st, err = c.PINStatus(ctx)
			case "sig":
				st, err = c.SignaturePINStatus(ctx)
			case "puk":
				st, err = c.PUKStatus(ctx)
			}
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && st != tc.want {
				t.Errorf("status %+v, want %+v", st, tc.want)
			}
			sc.done()
			if sc.resets != 0 {
				t.Error("reset after a status read")
			}
		})
	}
	t.Run("other status", func(t *testing.T) {
		c, _ := scripted(t, step{selApplet, ok}, step{"00 20 00 11", "6F00"})
		_, err := c.PINStatus(ctx)
		var ce *cardreader.CardError
		if !errors.As(err, &ce) || ce.SW != 0x6F00 {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestScriptedVerifyPIN(t *testing.T) {
	for _, tc := range []struct {
		name    string
		steps   []step
		wantErr error
		retries int
		reset   bool
	}{
		{"right", []step{{"00 20 00 11", "63C3"}, {"00 20 00 11 10 " + pinBlock("123456"), ok}}, nil, 0, true},
		{"wrong", []step{{"00 20 00 11", "63C3"}, {"00 20 00 11 10 " + pinBlock("123456"), "63C2"}}, &cardreader.WrongPINError{}, 2, true},
		{"last try", []step{{"00 20 00 11", "63C1"}, {"00 20 00 11 10 " + pinBlock("123456"), "63C0"}}, cardreader.ErrPINBlocked, 0, true},
		{"blocked: not presented", []step{{"00 20 00 11", "6983"}}, cardreader.ErrPINBlocked, 0, false},
		{"blocked on VERIFY", []step{{"00 20 00 11", "9000"}, {"00 20 00 11 10 " + pinBlock("123456"), "6983"}}, cardreader.ErrPINBlocked, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, sc := scripted(t, append([]step{{selApplet, ok}}, tc.steps...)...)
			err := c.VerifyPIN(ctx, secret("123456"))
			switch want := tc.wantErr.(type) {
			case nil:
				if err != nil {
					t.Fatal(err)
				}
			case *cardreader.WrongPINError:
				var we *cardreader.WrongPINError
				if !errors.As(err, &we) || we.Retries != tc.retries {
					t.Fatalf("err = %v", err)
				}
			default:
				if !errors.Is(err, want) {
					t.Fatalf("err = %v, want %v", err, want)
				}
			}
			sc.done()
			if (sc.resets == 1) != tc.reset {
				t.Errorf("resets %d", sc.resets)
			}
			for _, b := range sc.buffers {
				if len(b) > 5 && b[1] == insVerify && !allZero(b) {
					t.Errorf("VERIFY buffer not zeroed: % X", b)
				}
			}
			if err != nil && strings.Contains(err.Error(), "123456") {
				t.Errorf("PIN in error %q", err)
			}
		})
	}
	for _, pin := range []string{"12345", "123456789", "12345a", ""} {
		t.Run("form "+pin, func(t *testing.T) {
			c, sc := scripted(t)
			var pe *cardreader.PINPolicyError
			if err := c.VerifyPIN(ctx, secret(pin)); !errors.As(err, &pe) {
				t.Fatalf("err = %v", err)
			}
			if sc.releases != 0 {
				t.Error("card opened for a malformed PIN")
			}
		})
	}
}

func TestScriptedChangeAndUnblock(t *testing.T) {
	t.Run("ChangePIN", func(t *testing.T) {
		c, sc := scripted(t, step{selApplet, ok}, step{"00 24 00 11 20 " + pinBlock("123456") + pinBlock("24681357"), ok})
		if err := c.ChangePIN(ctx, secret("123456"), secret("24681357")); err != nil {
			t.Fatal(err)
		}
		sc.done()
		if sc.resets != 1 {
			t.Error("no reset")
		}
		for _, b := range sc.buffers {
			if b[1] == insChangeRef && !allZero(b) {
				t.Error("CHANGE buffer not zeroed")
			}
		}
	})
	t.Run("ChangeSignaturePIN without one", func(t *testing.T) {
		// No tries read before the change (the caller read them before
		// the prompt, issue 17): the card's 6A88 says it has none.
		c, sc := scripted(t, step{selApplet, ok}, step{"00 24 00 83 20 " + pinBlock("123456") + pinBlock("24681357"), "6A88"})
		if err := c.ChangeSignaturePIN(ctx, secret("123456"), secret("24681357")); !errors.Is(err, cardreader.ErrNoSignaturePIN) {
			t.Fatalf("err = %v", err)
		}
		sc.done()
	})
	t.Run("UnblockPIN", func(t *testing.T) {
		c, sc := scripted(t, step{selApplet, ok}, step{"00 2C 00 11 20 " + pinBlock("12345678") + pinBlock("24681357"), ok})
		if err := c.UnblockPIN(ctx, secret("12345678"), secret("24681357")); err != nil {
			t.Fatal(err)
		}
		sc.done()
	})
	t.Run("UnblockPIN wrong PUK", func(t *testing.T) {
		c, _ := scripted(t, step{selApplet, ok}, step{"00 2C 00 11 20 " + pinBlock("12345678") + pinBlock("24681357"), "63C2"})
		var we *cardreader.WrongPUKError
		if err := c.UnblockPIN(ctx, secret("12345678"), secret("24681357")); !errors.As(err, &we) || we.Retries != 2 {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("UnblockPIN PUK blocked: refused by the card", func(t *testing.T) {
		// The PUK's tries are read by the caller before the prompt (issue
		// 17); a PUK blocked since is refused by the card, nothing spent.
		c, sc := scripted(t, step{selApplet, ok}, step{"00 2C 00 11 20 " + pinBlock("12345678") + pinBlock("24681357"), "6983"})
		if err := c.UnblockPIN(ctx, secret("12345678"), secret("24681357")); !errors.Is(err, cardreader.ErrPUKBlocked) {
			t.Fatalf("err = %v", err)
		}
		sc.done()
	})
	t.Run("UnblockPIN no PUK", func(t *testing.T) {
		c, _ := scripted(t, step{selApplet, ok}, step{"00 2C 00 11 20 " + pinBlock("12345678") + pinBlock("24681357"), "6A88"})
		if err := c.UnblockPIN(ctx, secret("12345678"), secret("24681357")); !errors.Is(err, cardreader.ErrNoPUK) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("UnblockSignaturePIN", func(t *testing.T) {
		c, sc := scripted(t, step{selApplet, ok}, step{"00 20 00 83", "6983"},
			step{"00 2C 00 83 20 " + pinBlock("12345678") + pinBlock("24681357"), ok})
		if err := c.UnblockSignaturePIN(ctx, secret("12345678"), secret("24681357")); err != nil {
			t.Fatal(err)
		}
		sc.done()
	})
	t.Run("UnblockSignaturePIN without one: no PUK spent", func(t *testing.T) {
		c, sc := scripted(t, step{selApplet, ok}, step{"00 20 00 83", "6A88"})
		if err := c.UnblockSignaturePIN(ctx, secret("12345678"), secret("24681357")); !errors.Is(err, cardreader.ErrNoSignaturePIN) {
			t.Fatalf("err = %v", err)
		}
		sc.done()
	})
	for _, puk := range []string{"1234567", "123456789", "1234567a"} {
		t.Run("PUK form "+puk, func(t *testing.T) {
			c, sc := scripted(t)
			var pe *cardreader.PINPolicyError
			if err := c.UnblockPIN(ctx, secret(puk), secret("24681357")); !errors.As(err, &pe) {
				t.Fatalf("err = %v", err)
			}
			if sc.releases != 0 {
				t.Error("card opened")
			}
		})
	}
}

func TestRemoveCertificate(t *testing.T) {
	c, sc := scripted(t)
	if err := c.RemoveCertificate(ctx, "kxc00", cardreader.RemoveAuth{}); !errors.Is(err, cardreader.ErrRemovalUnsupported) {
		t.Fatalf("err = %v", err)
	}
	if sc.releases != 0 {
		t.Error("card opened")
	}
	if cardreader.RemovalSupported(c) {
		t.Error("RemovalSupported: true")
	}
}

// signerSteps are the APDUs of Signer for kxc00 with keys listed in 0005.
func signerSteps(t testing.TB, keyRefs []byte) []step {
	der := testCert(t).Raw
	idx := indexFile(indexRecord(0x0201, 16, "cardid", "", 3), indexRecord(0x0206, len(der), "kxc00", "mscp", 1))
	s := steps(step{selApplet, ok}, fileSteps(fidIndex, idx), fileSteps(0x0206, der))
	if keyRefs == nil {
		return append(s, step{"00 A4 08 00 02 0005 00", "6A82"})
	}
	return append(s, fileSteps(fidKeyRefs, keyRefs)...)
}

func TestScriptedSign(t *testing.T) {
	testCert(t)
	msg := []byte("to be signed")
	for _, tc := range []struct {
		name string
		opts crypto.SignerOpts
		alg  string
	}{
		{"PKCS1 SHA-256", crypto.SHA256, "42"},
		{"PKCS1 SHA-384", crypto.SHA384, "52"},
		{"PKCS1 SHA-512", crypto.SHA512, "62"},
		{"PKCS1 SHA-1 DigestInfo", crypto.SHA1, "02"},
		{"PSS SHA-256 EqualsHash", &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash}, "45"},
		{"PSS SHA-384 Auto", &rsa.PSSOptions{Hash: crypto.SHA384, SaltLength: rsa.PSSSaltLengthAuto}, "55"},
		{"PSS SHA-512 48", &rsa.PSSOptions{Hash: crypto.SHA512, SaltLength: 64}, "65"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hf := tc.opts.HashFunc()
			hh := hf.New()
			hh.Write(msg)
			digest := hh.Sum(nil)
			var sig []byte
			var err error
			if pss, ok := tc.opts.(*rsa.PSSOptions); ok {
				sig, err = rsa.SignPSS(rand.Reader, testKey, hf, digest, &rsa.PSSOptions{SaltLength: hf.Size(), Hash: pss.Hash})
			} else {
				sig, err = rsa.SignPKCS1v15(nil, testKey, hf, digest)
			}
			if err != nil {
				t.Fatal(err)
			}
			data := digest
			if tc.alg == "02" {
				data = append(append([]byte(nil), digestInfoPrefix[crypto.SHA1]...), digest...)
			}
			pso := fmt.Sprintf("00 2A 90 A0 %02X 90 %02X %X 00", len(data)+2, len(data), data)
			c, sc := scripted(t, steps(signerSteps(t, h("01 57 00 00 00 00 00 01")),
				step{selApplet, ok}, step{"00 20 00 11 10 " + pinBlock("123456"), ok},
				step{"00 22 41 B6 06 80 01 " + tc.alg + " 84 01 57", ok},
				step{pso, fmt.Sprintf("%X 9000", data)},
				step{"00 2A 9E 9A 00", fmt.Sprintf("%X 9000", sig)})...)
			s, err := c.Signer(ctx, "kxc00", secret("123456"))
			if err != nil {
				t.Fatal(err)
			}
			if !s.(cardreader.PSSCapable).SupportsPSS() {
				t.Error("SupportsPSS false")
			}
			got, err := s.Sign(rand.Reader, digest, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			sc.done()
			if sc.resets != 1 {
				t.Errorf("resets %d", sc.resets)
			}
			pub := s.Public().(*rsa.PublicKey)
			if _, ok := tc.opts.(*rsa.PSSOptions); ok {
				err = rsa.VerifyPSS(pub, hf, digest, got, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
			} else {
				err = rsa.VerifyPKCS1v15(pub, hf, digest, got)
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
}

func TestScriptedSigner(t *testing.T) {
	t.Run("no 0005: 0x56 + container, cmapfile checked", func(t *testing.T) {
		digest := sha256.Sum256([]byte("x"))
		sig, _ := rsa.SignPKCS1v15(nil, testKey, crypto.SHA256, digest[:])
		c, sc := scripted(t, steps(signerSteps(t, nil), fileSteps(fidCMap, cmapRecord("c0", 1)),
			step{selApplet, ok}, step{"00 20 00 11 10 " + pinBlock("123456"), ok},
			step{"00 22 41 B6 06 80 01 42 84 01 56", ok},
			step{fmt.Sprintf("00 2A 90 A0 22 90 20 %X 00", digest), ok}, // an empty 9000 is taken
			step{"00 2A 9E 9A 00", fmt.Sprintf("%X 9000", sig)})...)
		s, err := c.Signer(ctx, "kxc00", secret("123456"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Sign(nil, digest[:], crypto.SHA256); err != nil {
			t.Fatal(err)
		}
		sc.done()
	})
	t.Run("no 0005, container empty", func(t *testing.T) {
		c, _ := scripted(t, steps(signerSteps(t, nil), fileSteps(fidCMap, cmapRecord("", 0)))...)
		if _, err := c.Signer(ctx, "kxc00", secret("123456")); !errors.Is(err, cardreader.ErrCertificateNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("signing key under the signature PIN", func(t *testing.T) {
		digest := sha256.Sum256([]byte("x"))
		c, sc := scripted(t, steps(signerSteps(t, h("01 57 00 00 00 00 00 02")),
			step{selApplet, ok}, step{"00 20 00 83 10 " + pinBlock("123456"), "63C1"})...)
		s, err := c.Signer(ctx, "kxc00", secret("123456"))
		if err != nil {
			t.Fatal(err)
		}
		var we *cardreader.WrongPINError
		if _, err := s.Sign(nil, digest[:], crypto.SHA256); !errors.As(err, &we) || we.Retries != 1 {
			t.Fatalf("err = %v", err)
		}
		sc.done()
		if sc.resets != 1 {
			t.Error("no reset after a wrong PIN")
		}
	})
	t.Run("0005 without the container", func(t *testing.T) {
		c, _ := scripted(t, signerSteps(t, h("01 57 05 00 00 00 00 01"))...)
		if _, err := c.Signer(ctx, "kxc00", secret("123456")); !errors.Is(err, cardreader.ErrCertificateNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unknown certificate", func(t *testing.T) {
		c, _ := scripted(t, signerSteps(t, nil)[:5]...)
		if _, err := c.Signer(ctx, "ksc03", secret("123456")); !errors.Is(err, cardreader.ErrCertificateNotFound) {
			t.Fatalf("err = %v", err)
		}
		if _, err := c.Signer(ctx, "9a", secret("123456")); !errors.Is(err, cardreader.ErrCertificateNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("security status not satisfied", func(t *testing.T) {
		digest := sha256.Sum256([]byte("x"))
		c, _ := scripted(t, steps(signerSteps(t, h("01 57 00 00 00 00 00 01")),
			step{selApplet, ok}, step{"*", ok}, step{"*", ok}, step{"*", "6982"})...)
		s, err := c.Signer(ctx, "kxc00", secret("123456"))
		if err != nil {
			t.Fatal(err)
		}
		var ce *cardreader.CardError
		if _, err := s.Sign(nil, digest[:], crypto.SHA256); !errors.As(err, &ce) || ce.SW != swSecurityStatus {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("wrong echo", func(t *testing.T) {
		digest := sha256.Sum256([]byte("x"))
		c, _ := scripted(t, steps(signerSteps(t, h("01 57 00 00 00 00 00 01")),
			step{selApplet, ok}, step{"*", ok}, step{"*", ok}, step{"*", "0102 9000"})...)
		s, err := c.Signer(ctx, "kxc00", secret("123456"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Sign(nil, digest[:], crypto.SHA256); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestAlgorithmFor(t *testing.T) {
	rsaPub := testCert(t).PublicKey.(*rsa.PublicKey)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d256 := make([]byte, 32)
	d1 := make([]byte, 20)
	d384 := make([]byte, 48)
	for _, tc := range []struct {
		name    string
		pub     crypto.PublicKey
		digest  []byte
		opts    crypto.SignerOpts
		alg     byte
		dataLen int
		wantErr string
	}{
		{"PKCS1 SHA-256", rsaPub, d256, crypto.SHA256, 0x42, 32, ""},
		{"PKCS1 SHA-1", rsaPub, d1, crypto.SHA1, 0x02, 35, ""},
		{"PKCS1 MD5SHA1", rsaPub, make([]byte, 36), crypto.MD5SHA1, 0x02, 36, ""},
		{"PKCS1 raw", rsaPub, make([]byte, 51), crypto.Hash(0), 0x02, 51, ""},
		{"PKCS1 MD5", rsaPub, make([]byte, 16), crypto.MD5, 0, 0, "no DigestInfo"},
		{"wrong digest length", rsaPub, d1, crypto.SHA256, 0, 0, "20-byte digest"},
		{"PSS SHA-1", rsaPub, d1, &rsa.PSSOptions{Hash: crypto.SHA1}, 0, 0, "SHA-256, SHA-384 or SHA-512 only"},
		{"PSS salt 20", rsaPub, d256, &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 20}, 0, 0, "salt length 20"},
		{"PSS salt 32", rsaPub, d256, &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 32}, 0x45, 32, ""},
		{"PSS SHA-384 auto", rsaPub, d384, &rsa.PSSOptions{Hash: crypto.SHA384}, 0x55, 48, ""},
		{"ECDSA P-256", &ecKey.PublicKey, d256, crypto.SHA256, 0x44, 32, ""},
		{"ECDSA SHA-1 padded to 24", &ecKey.PublicKey, d1, crypto.SHA1, 0x44, 24, ""},
		{"ECDSA with PSS", &ecKey.PublicKey, d256, &rsa.PSSOptions{Hash: crypto.SHA256}, 0, 0, "RSA-PSS options"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alg, data, err := algorithmFor(tc.pub, tc.digest, tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || alg != tc.alg || len(data) != tc.dataLen {
				t.Fatalf("alg %02X, %d bytes, %v; want %02X, %d", alg, len(data), err, tc.alg, tc.dataLen)
			}
		})
	}
	// The SHA-1 DigestInfo is the one crypto/rsa builds.
	d := sha1.Sum([]byte("x"))
	_, info, _ := algorithmFor(rsaPub, d[:], crypto.SHA1)
	sig, _ := rsa.SignPKCS1v15(nil, testKey, crypto.Hash(0), info)
	if err := rsa.VerifyPKCS1v15(rsaPub, crypto.SHA1, d[:], sig); err != nil {
		t.Errorf("SHA-1 DigestInfo: %v", err)
	}
	_ = sha512.New
}

func TestECDSADER(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d := sha256.Sum256([]byte("x"))
	r, s, _ := ecdsa.Sign(rand.Reader, k, d[:])
	raw := make([]byte, 64)
	r.FillBytes(raw[:32])
	s.FillBytes(raw[32:])
	der, err := ecdsaDER(raw)
	if err != nil || !ecdsa.VerifyASN1(&k.PublicKey, d[:], der) {
		t.Fatalf("%v", err)
	}
	if _, err := ecdsaDER(raw[:63]); err == nil {
		t.Error("odd length taken")
	}
}

// Open with the identity cache and PC/SC's event counter (scripted): the
// opening session reads the ID, the tries and, for a card whose identity
// is not cached, the certificates, which Certificates then answers once
// without an APDU. A refusal while reading them leaves Open good and
// Certificates reads again (and says why); a card gone is Open's error.
func TestScriptedOpenReadsCertificates(t *testing.T) {
	der := testCert(t).Raw
	comp := compressed(der, len(der))
	idx := indexFile(indexRecord(0x0206, len(comp), "kxc00", "mscp", 1))
	opening := steps(step{selApplet, ok}, step{getCPLC, cplcAnswer("11223344")},
		step{"00 20 00 11", "63C3"}, step{"00 20 00 12", "63C3"}, step{"00 20 00 83", "6A88"})
	card := func(t *testing.T, cache *cardreader.IdentityCache, st ...step) (*Card, *script) {
		c, sc := scripted(t, st...)
		c.opts.Cache = cache
		c.events = func(string) (uint32, bool) { return 1, true }
		c.facts = new(sync.Map)
		return c, sc
	}
	t.Run("read with the ID and tries", func(t *testing.T) {
		c, sc := card(t, cardreader.NewIdentityCache(0), steps(opening, fileSteps(fidIndex, idx), fileSteps(0x0206, comp))...)
		if err := c.open(ctx); err != nil {
			t.Fatal(err)
		}
		certs, err := c.Certificates(ctx)
		if err != nil || len(certs) != 1 || !bytes.Equal(certs[0].Cert.Raw, der) {
			t.Fatalf("certificates %+v, %v", certs, err)
		}
		sc.done() // and nothing after the opening session
		if sc.releases != 1 {
			t.Errorf("%d sessions, want 1", sc.releases)
		}
	})
	t.Run("not read for a cached card", func(t *testing.T) {
		cache := cardreader.NewIdentityCache(0)
		cache.Put(cardreader.CacheKey(cardreader.BackendIDPrime, "cplc:40907c93112233440a0b"), cardreader.Identity{HSAID: "x"})
		c, sc := card(t, cache, opening...)
		if err := c.open(ctx); err != nil {
			t.Fatal(err)
		}
		sc.done()
	})
	t.Run("refused: Certificates reads again", func(t *testing.T) {
		c, sc := card(t, cardreader.NewIdentityCache(0), steps(opening, step{"00 A4 08 00 02 0101 00", "6A82"},
			step{selApplet, ok}, fileSteps(fidIndex, idx), fileSteps(0x0206, comp))...)
		if err := c.open(ctx); err != nil {
			t.Fatalf("a refused certificate read failed Open: %v", err)
		}
		if certs, err := c.Certificates(ctx); err != nil || len(certs) != 1 {
			t.Fatalf("certificates %+v, %v", certs, err)
		}
		sc.done()
	})
	t.Run("card gone", func(t *testing.T) {
		c, sc := card(t, cardreader.NewIdentityCache(0), steps(opening, step{"00 A4 08 00 02 0101 00", "pcsc:removed"})...)
		if err := c.open(ctx); !errors.Is(err, cardreader.ErrCardRemoved) {
			t.Fatalf("err = %v, want ErrCardRemoved", err)
		}
		sc.done()
	})
}
