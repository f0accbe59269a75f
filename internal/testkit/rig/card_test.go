package rig

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/ebfe/scard"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
	"github.com/sithseid/sithseid/internal/testkit/vcard"
)

// selectPIV connects to reader in-process and SELECTs the PIV application
// (NIST SP 800-73-4 Part 2 §3.1.1), returning the status word.
func selectPIV(t *testing.T, reader string) ([]byte, error) {
	t.Helper()
	ctx, err := scard.EstablishContext()
	if err != nil {
		return nil, err
	}
	defer ctx.Release()
	card, err := ctx.Connect(reader, scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		return nil, err
	}
	defer card.Disconnect(scard.LeaveCard)
	resp, err := card.Transmit([]byte{0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00})
	if err != nil {
		return nil, err
	}
	return resp[len(resp)-2:], nil
}

func waitStates(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := readerStates()
		if err == nil && slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("readers %q (err %v), want %q", got, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestInsertCard(t *testing.T) {
	p := Require(t)
	r0, r1 := p.Reader(0), p.Reader(1)
	rsa := p.InsertCard(t, 0, vcard.ProvisionOptions{}, vcard.RunOptions{})
	ec := p.InsertCard(t, 1, vcard.ProvisionOptions{Spec: testpki.CardSpec{Key: testpki.P256}, PIN: "24681357"}, vcard.RunOptions{})
	if rsa.PIN != vcard.DefaultPIN || rsa.PUK != vcard.DefaultPUK || ec.PIN != "24681357" {
		t.Fatalf("codes: %q/%q and %q", rsa.PIN, rsa.PUK, ec.PIN)
	}
	if rsa.Reader != r0 || ec.Reader != r1 || rsa.Dir == ec.Dir {
		t.Fatalf("cards: %+v %+v", rsa, ec)
	}
	// Present at once: InsertCard waited for pcscd.
	got, err := readerStates()
	if want := []string{r0 + "\tpresent", r1 + "\tpresent"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("readers right after InsertCard: %q (err %v), want %q", got, err, want)
	}
	for _, c := range []*Card{rsa, ec} {
		sw, err := selectPIV(t, c.Reader)
		if err != nil || !bytes.Equal(sw, []byte{0x90, 0x00}) {
			t.Fatalf("SELECT PIV in %s: % X, %v", c.Reader, sw, err)
		}
		if n := c.Server.Stats().APDUs; n != 1 {
			t.Errorf("card in %s counted %d APDUs, want 1", c.Reader, n)
		}
	}

	rsa.Pull(t)
	waitStates(t, r0+"\tempty", r1+"\tpresent")
	if _, err := selectPIV(t, r0); err == nil {
		t.Fatal("SELECT worked on a pulled card")
	}
	rsa.Reinsert(t)
	waitStates(t, r0+"\tpresent", r1+"\tpresent")
	if sw, err := selectPIV(t, r0); err != nil || !bytes.Equal(sw, []byte{0x90, 0x00}) {
		t.Fatalf("SELECT PIV after reinsertion: % X, %v", sw, err)
	}

	// The drop fault pulls the card after the next APDU.
	ec.Server.SetDropAfter(1)
	if _, err := selectPIV(t, r1); err != nil {
		t.Fatalf("SELECT before the drop: %v", err)
	}
	waitStates(t, r0+"\tpresent", r1+"\tempty")
	ec.Reinsert(t)
	waitStates(t, r0+"\tpresent", r1+"\tpresent")

	if err := ec.Stop(); err != nil {
		t.Fatal(err)
	}
	waitStates(t, r0+"\tpresent", r1+"\tempty")
}

// TestInsertIDPrimeCard runs the IDPrime kind through the same rig: its ATR
// reaches PC/SC clients, its applet answers SELECT, and the drop fault and
// the counters work as for a PIV card.
func TestInsertIDPrimeCard(t *testing.T) {
	p := Require(t)
	c := p.InsertCard(t, 0, vcard.ProvisionOptions{Kind: vcard.KindIDPrime, WithSigning: true}, vcard.RunOptions{})
	if c.State.Kind() != vcard.KindIDPrime || c.PIN != vcard.DefaultPIN {
		t.Fatalf("card %q, PIN %q", c.State.Kind(), c.PIN)
	}
	ctx, err := scard.EstablishContext()
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Release()
	card, err := ctx.Connect(c.Reader, scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		t.Fatal(err)
	}
	st, err := card.Status()
	if err != nil || !bytes.Equal(st.Atr, c.State.ATR()) {
		t.Fatalf("ATR through pcscd % X (%v), want % X", st.Atr, err, c.State.ATR())
	}
	c.Server.SetDropAfter(1)
	resp, err := card.Transmit([]byte{0x00, 0xA4, 0x04, 0x0C, 0x0B, 0xA0, 0x00, 0x00, 0x00, 0x18, 0x80, 0x00, 0x00, 0x00, 0x06, 0x62})
	if err != nil || !bytes.Equal(resp, []byte{0x90, 0x00}) {
		t.Fatalf("SELECT of the IDPrime applet: % X, %v", resp, err)
	}
	card.Disconnect(scard.LeaveCard)
	if s := c.Server.Stats(); s.APDUs != 1 {
		t.Errorf("card counted %d APDUs, want 1", s.APDUs)
	}
	waitStates(t, p.Reader(0)+"\tempty", p.Reader(1)+"\tempty")
	if s := c.Server.Stats(); s.Drops != 1 {
		t.Errorf("drops %d, want 1", s.Drops)
	}
	c.Reinsert(t)
	waitStates(t, p.Reader(0)+"\tpresent", p.Reader(1)+"\tempty")
	if pin, puk := c.State.PINRetries(); pin != 3 || puk != 3 {
		t.Errorf("tries %d %d", pin, puk)
	}
	if n, ok := c.State.SignPINRetries(); !ok || n != 3 {
		t.Errorf("signature PIN tries %d %t", n, ok)
	}
}
