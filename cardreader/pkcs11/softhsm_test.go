package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"github.com/sithseid/sithseid/internal/testkit/testenv"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// softHSMPath is Debian's SoftHSM2 module (package softhsm2).
const softHSMPath = "/usr/lib/softhsm/libsofthsm2.so"

// Test PINs of the SoftHSM tokens. The SO PIN plays the PUK.
const (
	testPIN = "123456"
	testPUK = "12345678"
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

// testMain points SoftHSM2 at a private token directory for this test
// binary (SOFTHSM2_CONF is read at C_Initialize).
func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "pkcs11-softhsm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	tokens := filepath.Join(dir, "tokens")
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.Setenv("SOFTHSM2_CONF", conf)
	return m.Run()
}

func secret(s string) *cardreader.Secret { return cardreader.NewSecret([]byte(s)) }

func requireSoftHSM(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(softHSMPath); err != nil {
		testenv.Missing(t, "SoftHSM2 not installed (%s): apt-get install softhsm2", softHSMPath)
	}
}

// tokenMu serialises token creation: C_InitToken takes SoftHSM's one free
// slot.
var tokenMu sync.Mutex

// newSoftHSMCard initialises a fresh SoftHSM token (C_InitToken with the
// SO PIN, C_InitPIN with the user PIN, from Go so no PIN is on a command
// line), imports the four credentials of a testpki card with C_CreateObject
// (certificate, private key and public key sharing CKA_ID 01..04) and opens
// it through a Backend.
func newSoftHSMCard(t *testing.T, key testpki.KeyType) (*Backend, *Card, *testpki.Card) {
	t.Helper()
	requireSoftHSM(t)
	pki, err := testpki.New(testpki.Options{Seed: "pkcs11"})
	if err != nil {
		t.Fatal(err)
	}
	tc, err := pki.IssueCard(testpki.CardSpec{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	b := New(Options{ModulePath: softHSMPath})
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	m, err := b.module()
	if err != nil {
		t.Fatal(err)
	}
	label := fmt.Sprintf("siths-%d", time.Now().UnixNano()%1e9)

	tokenMu.Lock()
	defer tokenMu.Unlock()
	slots, err := m.ctx.GetSlotList(true)
	if err != nil {
		t.Fatal(err)
	}
	free := -1
	for _, s := range slots {
		ti, err := m.ctx.GetTokenInfo(s)
		if err == nil && ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			free = int(s)
			break
		}
	}
	if free < 0 {
		t.Fatal("SoftHSM offers no free slot")
	}
	slot := uint(free)
	if err := m.ctx.InitToken(slot, testPUK, label); err != nil {
		t.Fatalf("C_InitToken: %v", err)
	}
	// SoftHSM renumbers the slot of a freshly initialised token: find it
	// by label.
	slots, err = m.ctx.GetSlotList(true)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range slots {
		ti, err := m.ctx.GetTokenInfo(s)
		if err == nil && strings.TrimRight(ti.Label, " ") == label {
			slot, found = s, true
		}
	}
	if !found {
		t.Fatalf("token %q not found after C_InitToken", label)
	}
	sh, err := m.ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	defer m.ctx.CloseSession(sh)
	if err := m.ctx.Login(sh, pkcs11.CKU_SO, testPUK); err != nil {
		t.Fatal(err)
	}
	if err := m.ctx.InitPIN(sh, testPIN); err != nil {
		t.Fatal(err)
	}
	if err := m.ctx.Logout(sh); err != nil {
		t.Fatal(err)
	}
	if err := m.ctx.Login(sh, pkcs11.CKU_USER, testPIN); err != nil {
		t.Fatal(err)
	}
	for i, cred := range tc.Credentials() {
		importCredential(t, m.ctx, sh, []byte{byte(i + 1)}, fmt.Sprintf("cred %d", i+1), cred)
	}
	if err := m.ctx.Logout(sh); err != nil {
		t.Fatal(err)
	}

	cards, err := b.Cards(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cards {
		if c.Token().Label == label {
			return b, c, tc
		}
	}
	t.Fatalf("Cards does not list token %q", label)
	return nil, nil, nil
}

func importCredential(t *testing.T, p *pkcs11.Ctx, sh pkcs11.SessionHandle, id []byte, label string, cred testpki.Credential) {
	t.Helper()
	common := func(class uint) []*pkcs11.Attribute {
		return []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, class),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
			pkcs11.NewAttribute(pkcs11.CKA_ID, id),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		}
	}
	certT := append(common(pkcs11.CKO_CERTIFICATE),
		pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
		pkcs11.NewAttribute(pkcs11.CKA_SUBJECT, cred.Cert.RawSubject),
		pkcs11.NewAttribute(pkcs11.CKA_ISSUER, cred.Cert.RawIssuer),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, cred.Cert.Raw),
	)
	var privT, pubT []*pkcs11.Attribute
	switch k := cred.Key.(type) {
	case *rsa.PrivateKey:
		k.Precompute()
		privT = append(common(pkcs11.CKO_PRIVATE_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
			pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
			pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS, k.N.Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE_EXPONENT, k.D.Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_PRIME_1, k.Primes[0].Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_PRIME_2, k.Primes[1].Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_EXPONENT_1, k.Precomputed.Dp.Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_EXPONENT_2, k.Precomputed.Dq.Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_COEFFICIENT, k.Precomputed.Qinv.Bytes()),
		)
		pubT = append(common(pkcs11.CKO_PUBLIC_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
			pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS, k.N.Bytes()),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}),
		)
	case *ecdsa.PrivateKey:
		d, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		q, err := k.PublicKey.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		p256 := []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07} // OID prime256v1
		privT = append(common(pkcs11.CKO_PRIVATE_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
			pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
			pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, p256),
			pkcs11.NewAttribute(pkcs11.CKA_VALUE, d),
		)
		pubT = append(common(pkcs11.CKO_PUBLIC_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
			pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, p256),
			// CKA_EC_POINT is the DER OCTET STRING of the point.
			pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, append([]byte{0x04, byte(len(q))}, q...)),
		)
	default:
		t.Fatalf("key type %T", cred.Key)
	}
	for _, tmpl := range [][]*pkcs11.Attribute{certT, privT, pubT} {
		if _, err := p.CreateObject(sh, tmpl); err != nil {
			t.Fatalf("C_CreateObject %s: %v", label, err)
		}
	}
}

func TestSoftHSMCardsAndCertificates(t *testing.T) {
	b, card, tc := newSoftHSMCard(t, testpki.RSA2048)
	ctx := context.Background()
	if card.Reader() != "" {
		t.Errorf("SoftHSM slot has Reader() %q, want \"\" (no PC/SC reader)", card.Reader())
	}
	if card.Backend() != cardreader.BackendPKCS11 || b.Name() != cardreader.BackendPKCS11 {
		t.Errorf("backend names %q %q", card.Backend(), b.Name())
	}
	id, err := card.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := "SoftHSM project/SoftHSM v2/" + card.Token().Serial; id != want || card.Token().Serial == "" {
		t.Errorf("ID = %q, want %q", id, want)
	}
	certs, err := card.Certificates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	creds := tc.Credentials()
	if len(certs) != len(creds) {
		t.Fatalf("%d certificates, want %d", len(certs), len(creds))
	}
	for i, c := range certs {
		if want := fmt.Sprintf("%02x", i+1); c.ID != want {
			t.Errorf("cert %d ID %q, want %q", i, c.ID, want)
		}
		if want := fmt.Sprintf("cred %d", i+1); c.Label != want {
			t.Errorf("cert %d label %q, want %q", i, c.Label, want)
		}
		if !c.Cert.Equal(creds[i].Cert) {
			t.Errorf("cert %s is %s, want %s", c.ID, c.Cert.Subject, creds[i].Cert.Subject)
		}
	}
	// SoftHSM slots are not readers: Open by reader name finds nothing.
	_, err = b.Open(ctx, cardreader.Reader{Name: "Virtual PCD 00 00", CardPresent: true})
	if !errors.Is(err, cardreader.ErrUnsupportedCard) {
		t.Errorf("Open(reader) = %v, want ErrUnsupportedCard", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := card.Certificates(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Certificates(canceled) = %v", err)
	}
}

func TestSoftHSMPIN(t *testing.T) {
	_, card, _ := newSoftHSMCard(t, testpki.RSA2048)
	ctx := context.Background()
	st, err := card.PINStatus(ctx)
	if err != nil || st != (cardreader.PINStatus{Retries: 3}) {
		t.Fatalf("PINStatus = %+v, %v; want 3 tries", st, err)
	}
	if err := card.VerifyPIN(ctx, secret(testPIN)); err != nil {
		t.Fatalf("VerifyPIN(right) = %v", err)
	}
	var wrong *cardreader.WrongPINError
	if err := card.VerifyPIN(ctx, secret("000000")); !errors.As(err, &wrong) {
		t.Fatalf("VerifyPIN(wrong) = %v, want *WrongPINError", err)
	}
	// SoftHSM sets CKF_USER_PIN_COUNT_LOW after a wrong PIN (so 2 tries)
	// and clears it on a good login, but it never sets FINAL_TRY or LOCKED:
	// the PIN cannot be blocked. Lockout is shown against the virtual PIV
	// card through OpenSC (internal/opensctest).
	if wrong.Retries != 2 {
		t.Errorf("after one wrong PIN: %d tries, want 2 (CKF_USER_PIN_COUNT_LOW)", wrong.Retries)
	}
	for range 3 {
		_ = card.VerifyPIN(ctx, secret("000000"))
	}
	if st, err := card.PINStatus(ctx); err != nil || st.Blocked {
		t.Errorf("SoftHSM after four wrong PINs: %+v, %v (it never locks)", st, err)
	}
	t.Log("SoftHSM never locks the PIN: lockout is tested with OpenSC in front of the virtual PIV card")
	if err := card.VerifyPIN(ctx, secret(testPIN)); err != nil {
		t.Fatalf("VerifyPIN(right) = %v", err)
	}
	if st, err := card.PINStatus(ctx); err != nil || st.Retries != 3 {
		t.Errorf("after a good PIN: %+v, %v; want 3 tries", st, err)
	}

	// Change PIN: a wrong old PIN is refused, the right one works.
	if err := card.ChangePIN(ctx, secret("000000"), secret("24681357")); !errors.As(err, &wrong) {
		t.Fatalf("ChangePIN(wrong old) = %v, want *WrongPINError", err)
	}
	if err := card.ChangePIN(ctx, secret(testPIN), secret("24681357")); err != nil {
		t.Fatalf("ChangePIN = %v", err)
	}
	if err := card.VerifyPIN(ctx, secret("24681357")); err != nil {
		t.Errorf("new PIN refused: %v", err)
	}
	if err := card.VerifyPIN(ctx, secret(testPIN)); !errors.As(err, &wrong) {
		t.Errorf("old PIN still accepted: %v", err)
	}
	// A new PIN the token refuses outright (SoftHSM: 4..255 bytes).
	if err := card.ChangePIN(ctx, secret("24681357"), secret("1")); !errors.Is(err, ErrPINRejected) {
		t.Errorf("ChangePIN(too short) = %v, want ErrPINRejected", err)
	}

	// Unblock with the SO PIN as PUK (PUKAuto: SoftHSM is not OpenSC).
	pst, err := card.PUKStatus(ctx)
	if err != nil || pst.Retries != 3 || pst.Blocked {
		t.Fatalf("PUKStatus = %+v, %v", pst, err)
	}
	var wrongPUK *cardreader.WrongPUKError
	if err := card.UnblockPIN(ctx, secret("87654321"), secret("13572468")); !errors.As(err, &wrongPUK) {
		t.Fatalf("UnblockPIN(wrong PUK) = %v, want *WrongPUKError", err)
	}
	if err := card.UnblockPIN(ctx, secret(testPUK), secret("13572468")); err != nil {
		t.Fatalf("UnblockPIN = %v", err)
	}
	if err := card.VerifyPIN(ctx, secret("13572468")); err != nil {
		t.Errorf("PIN set by unblock refused: %v", err)
	}

	// The PUK policy can be overridden: PUKNone says the token has none.
	none := &Card{mod: card.mod, puk: PUKNone, slot: card.slot, token: card.token}
	if _, err := none.PUKStatus(ctx); !errors.Is(err, cardreader.ErrNoPUK) || !errors.Is(err, ErrUnblockUnsupported) {
		t.Errorf("PUKStatus(PUKNone) = %v, want ErrNoPUK", err)
	}
	if err := none.UnblockPIN(ctx, secret(testPUK), secret("13572468")); !errors.Is(err, cardreader.ErrNoPUK) {
		t.Errorf("UnblockPIN(PUKNone) = %v, want ErrNoPUK", err)
	}
}

func verify(t *testing.T, pub crypto.PublicKey, digest, sig []byte, opts crypto.SignerOpts) {
	t.Helper()
	var err error
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			err = rsa.VerifyPSS(k, opts.HashFunc(), digest, sig, pss)
		} else {
			err = rsa.VerifyPKCS1v15(k, opts.HashFunc(), digest, sig)
		}
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, sig) {
			err = errors.New("ECDSA signature does not verify")
		}
	}
	if err != nil {
		t.Errorf("signature does not verify with the certificate: %v", err)
	}
}

func TestSoftHSMSignRSA(t *testing.T) {
	_, card, tc := newSoftHSMCard(t, testpki.RSA2048)
	ctx := context.Background()
	pin := secret(testPIN)
	defer pin.Wipe()
	s, err := card.signer(ctx, "01", pin)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Public().(*rsa.PublicKey).Equal(tc.HSAAuth.Cert.PublicKey) {
		t.Fatal("Public() is not the certificate's key")
	}
	if !s.SupportsPSS() || s.pss != pkcs11.CKM_RSA_PKCS_PSS {
		t.Fatalf("SoftHSM has CKM_RSA_PKCS_PSS, signer uses %#x", s.pss)
	}
	digest := sha256.Sum256([]byte("SITHS eID"))
	for _, tt := range []struct {
		name string
		pss  uint
		opts crypto.SignerOpts
	}{
		{"PKCS1v15", 0, crypto.SHA256},
		{"PSS-mechanism", pkcs11.CKM_RSA_PKCS_PSS, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}},
		{"PSS-mechanism-auto-salt", pkcs11.CKM_RSA_PKCS_PSS, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: crypto.SHA256}},
		{"PSS-host-padding", pkcs11.CKM_RSA_X_509, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.pss != 0 {
				s.pss = tt.pss
			}
			sig, err := s.Sign(rand.Reader, digest[:], tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			verify(t, s.Public(), digest[:], sig, tt.opts)
		})
	}

	// Concurrent signs on one card are serialised and all verify.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
			if err == nil {
				err = rsa.VerifyPKCS1v15(s.Public().(*rsa.PublicKey), crypto.SHA256, digest[:], sig)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent sign: %v", err)
		}
	}

	// A wrong PIN is a typed error, a canceled context stops before the
	// token, an unknown ID has no certificate.
	bad, err := card.Signer(ctx, "01", secret("000000"))
	if err != nil {
		t.Fatal(err)
	}
	var wrong *cardreader.WrongPINError
	if _, err := bad.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.As(err, &wrong) {
		t.Errorf("Sign(wrong PIN) = %v, want *WrongPINError", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.SignContext(cctx, rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, context.Canceled) {
		t.Errorf("SignContext(canceled) = %v", err)
	}
	if _, err := card.Signer(ctx, "7f", pin); !errors.Is(err, cardreader.ErrCertificateNotFound) {
		t.Errorf("Signer(unknown) = %v, want ErrCertificateNotFound", err)
	}
	if _, err := s.Sign(rand.Reader, digest[:20], crypto.SHA256); err == nil {
		t.Error("Sign accepted a digest of the wrong length")
	}
}

func TestSoftHSMSignECDSA(t *testing.T) {
	_, card, tc := newSoftHSMCard(t, testpki.P256)
	ctx := context.Background()
	pin := secret(testPIN)
	defer pin.Wipe()
	for i, cred := range tc.Credentials() {
		id := fmt.Sprintf("%02x", i+1)
		s, err := card.Signer(ctx, id, pin)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Public().(*ecdsa.PublicKey).Equal(cred.Cert.PublicKey) {
			t.Fatalf("%s: Public() is not the certificate's key", id)
		}
		if s.(cardreader.PSSCapable).SupportsPSS() {
			t.Errorf("%s: an ECDSA signer claims PSS", id)
		}
		digest := sha256.Sum256([]byte("SITHS eID " + id))
		sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		verify(t, s.Public(), digest[:], sig, crypto.SHA256)
	}
}

func TestSoftHSMRemoveCertificate(t *testing.T) {
	_, card, _ := newSoftHSMCard(t, testpki.RSA2048)
	ctx := context.Background()
	pin := secret(testPIN)
	defer pin.Wipe()
	r, err := card.RemoveObjects(ctx, "02", cardreader.RemoveAuth{PIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	if r != (Removed{Certificates: 1, PrivateKeys: 1, PublicKeys: 1}) {
		t.Errorf("removed %+v, want the certificate and both keys", r)
	}
	certs, err := card.Certificates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range certs {
		ids = append(ids, c.ID)
	}
	if got := strings.Join(ids, ","); got != "01,03,04" {
		t.Errorf("certificates after removal: %s, want 01,03,04", got)
	}
	if _, err := card.Signer(ctx, "02", pin); !errors.Is(err, cardreader.ErrCertificateNotFound) {
		t.Errorf("Signer(removed) = %v", err)
	}
	if err := card.RemoveCertificate(ctx, "02", cardreader.RemoveAuth{PIN: pin}); !errors.Is(err, cardreader.ErrCertificateNotFound) {
		t.Errorf("second removal = %v, want ErrCertificateNotFound", err)
	}
	var wrong *cardreader.WrongPINError
	if err := card.RemoveCertificate(ctx, "03", cardreader.RemoveAuth{PIN: secret("000000")}); !errors.As(err, &wrong) {
		t.Errorf("removal with a wrong PIN = %v, want *WrongPINError", err)
	}
}

func TestModuleErrors(t *testing.T) {
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "no-such-module.so")
	b := New(Options{ModulePath: missing})
	defer b.Close()
	_, err := b.Open(ctx, cardreader.Reader{Name: "Virtual PCD 00 00"})
	var me *ModuleError
	if !errors.Is(err, cardreader.ErrUnsupportedCard) || !errors.Is(err, ErrNoModule) || !errors.As(err, &me) || me.Path != missing {
		t.Errorf("Open with a missing module = %v", err)
	}
	if _, err := b.Cards(ctx); !errors.Is(err, ErrNoModule) {
		t.Errorf("Cards with a missing module = %v", err)
	}
	if err := b.Load(); !errors.Is(err, ErrNoModule) {
		t.Errorf("Load with a missing module = %v", err)
	}

	notLib := filepath.Join(t.TempDir(), "not-a-module.so")
	if err := os.WriteFile(notLib, []byte("this is not a shared object\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := New(Options{ModulePath: notLib}).Load(); !errors.Is(err, ErrModuleLoad) {
		t.Errorf("Load of a non-library = %v, want ErrModuleLoad", err)
	}
	// A shared object that is no PKCS#11 module (no C_GetFunctionList).
	if libc, _ := filepath.Glob("/usr/lib/*-linux-gnu/libc.so.6"); len(libc) > 0 {
		if err := New(Options{ModulePath: libc[0]}).Load(); !errors.Is(err, ErrModuleLoad) {
			t.Errorf("Load of libc = %v, want ErrModuleLoad", err)
		}
	}

	// The first existing candidate wins; none existing is ErrNoModule.
	if _, err := acquireFirst([]string{missing, missing + "2"}); !errors.Is(err, ErrNoModule) || !strings.Contains(err.Error(), missing+"2") {
		t.Errorf("acquireFirst(none) = %v", err)
	}
	requireSoftHSM(t)
	m, err := acquireFirst([]string{missing, softHSMPath})
	if err != nil {
		t.Fatal(err)
	}
	if m.path != softHSMPath || m.isOpenSC() {
		t.Errorf("acquireFirst picked %q (%q)", m.path, m.info.ManufacturerID)
	}
	if err := m.release(); err != nil {
		t.Error(err)
	}
}

func TestModuleSharedAndFinalized(t *testing.T) {
	requireSoftHSM(t)
	ctx := context.Background()
	b1 := New(Options{ModulePath: softHSMPath})
	b2 := New(Options{ModulePath: softHSMPath})
	if err := b1.Load(); err != nil {
		t.Fatal(err)
	}
	if err := b2.Load(); err != nil {
		t.Fatal(err)
	}
	if b1.mod != b2.mod || b1.ModulePath() != softHSMPath {
		t.Fatal("two Backends on one path do not share the module")
	}
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b1.Cards(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Cards after Close = %v, want ErrClosed", err)
	}
	if _, err := b2.Cards(ctx); err != nil {
		t.Errorf("the other Backend broke when one closed: %v", err)
	}
	if err := b2.Close(); err != nil {
		t.Fatalf("last Close (C_Finalize) = %v", err)
	}
	registry.mu.Lock()
	_, still := registry.loaded[softHSMPath]
	registry.mu.Unlock()
	if still {
		t.Error("module still registered after the last Close")
	}
	// Initialise again after C_Finalize.
	b3 := New(Options{ModulePath: softHSMPath})
	defer b3.Close()
	if _, err := b3.Cards(ctx); err != nil {
		t.Errorf("re-initialised module: %v", err)
	}
}
