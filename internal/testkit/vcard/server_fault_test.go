package vcard

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// runFaultServer runs a PIV card against a fake vpcd and returns it with
// the card's connection, powered on and with PIV selected.
func runFaultServer(t *testing.T) (*Server, *Card, net.Conn) {
	t.Helper()
	v := newFakeVPCD(t)
	card := newCard(t, testpki.RSA2048, "")
	srv := NewServer(card, RunOptions{VPCD: v.l.Addr().String(), MinRemoved: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return")
		}
	})
	c := v.accept(t)
	send(t, c, []byte{0x01}) // power on
	send(t, c, h("00A4040005A000000308"))
	if r, err := recv(t, c); err != nil || !bytes.HasSuffix(r, h("9000")) {
		t.Fatalf("SELECT: %x %v", r, err)
	}
	return srv, card, c
}

// changePIN is CHANGE REFERENCE DATA for the PIV card PIN: old, new.
func changePIN(old, new string) []byte {
	return append(append(h("0024008010"), padRef(old)...), padRef(new)...)
}

// The drop fault in its two modes: after the answer (the client has it,
// then the card is gone) and before it (the command executed, the PIN
// changed, and the connection ends with no answer).
func TestServerDropModes(t *testing.T) {
	for _, mode := range []DropMode{DropAfterAnswer, DropBeforeAnswer} {
		t.Run(mode.String(), func(t *testing.T) {
			srv, card, c := runFaultServer(t)
			srv.SetDrop(1, mode)
			send(t, c, changePIN(DefaultPIN, "24681357"))
			r, err := recv(t, c)
			answered := err == nil && bytes.Equal(r, h("9000"))
			if answered != (mode == DropAfterAnswer) {
				t.Fatalf("answer %x %v", r, err)
			}
			if mode == DropAfterAnswer {
				if _, err := recv(t, c); err == nil {
					t.Fatal("the connection lives on after the drop")
				}
			}
			if !card.PINIs([]byte("24681357")) {
				t.Fatal("the command did not execute")
			}
			st := srv.Stats()
			if st.Drops != 1 || st.WantIn || (st.Unanswered == 1) != (mode == DropBeforeAnswer) {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// A mute card answers every APDU with one byte and executes nothing,
// until it is told to answer again.
func TestServerMute(t *testing.T) {
	srv, card, c := runFaultServer(t)
	srv.SetMute(true)
	send(t, c, changePIN(DefaultPIN, "24681357"))
	if r, err := recv(t, c); err != nil || len(r) != 1 {
		t.Fatalf("mute answer %x %v", r, err)
	}
	if !card.PINIs([]byte(DefaultPIN)) {
		t.Fatal("a mute card executed the command")
	}
	srv.SetMute(false)
	send(t, c, changePIN(DefaultPIN, "24681357"))
	if r, err := recv(t, c); err != nil || !bytes.Equal(r, h("9000")) || !card.PINIs([]byte("24681357")) {
		t.Fatalf("after unmute: %x %v", r, err)
	}
	if st := srv.Stats(); st.Unanswered != 1 || !st.Present {
		t.Fatalf("stats %+v", st)
	}
}

// A held APDU is signalled, neither executed nor answered, and the card
// waits until the reader's side closes.
func TestServerHold(t *testing.T) {
	srv, card, c := runFaultServer(t)
	held := srv.HoldAt(1)
	send(t, c, changePIN(DefaultPIN, "24681357"))
	select {
	case <-held:
	case <-time.After(5 * time.Second):
		t.Fatal("the held APDU was not signalled")
	}
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var b [1]byte
	if _, err := c.Read(b[:]); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a held APDU was answered: %v", err)
	}
	if !card.PINIs([]byte(DefaultPIN)) {
		t.Fatal("a held APDU was executed")
	}
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().Removed == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the card did not notice the reader going: %+v", srv.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
