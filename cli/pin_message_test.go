package cli_test

import (
	"testing"

	"github.com/sithseid/sithseid/cli"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// A current PIN or a PUK of the wrong form says so (the current PIN, the
// PUK, its form), not "the new PIN cannot be used", and spends no try.
func TestPINWrongFormMessage(t *testing.T) {
	card := insert(t, 0, testpki.CardSpec{})
	for _, old := range []string{"1234", "abcdef"} {
		r := sv(t, old+"\n24681357\n", "pin", "change", "--pin-stdin")
		wantCode(t, r, cli.ExitPINPolicy)
		wantIn(t, r.stderr, "Den nuvarande PIN-koden har fel form")
		wantIn(t, r.stderr, "6–8 siffror")
		wantNotIn(t, r.stderr, "nya PIN-koden")
	}
	r := en(t, "1234\n24681357\n", "pin", "change", "--pin-stdin")
	wantCode(t, r, cli.ExitPINPolicy)
	wantIn(t, r.stderr, "The current PIN has the wrong form")
	for _, puk := range []string{"1234", "abcdefgh"} {
		r := sv(t, puk+"\n24681357\n", "pin", "unblock", "--pin-stdin")
		wantCode(t, r, cli.ExitPINPolicy)
		wantIn(t, r.stderr, "PUK-koden har fel form")
		wantNotIn(t, r.stderr, "nya PIN-koden")
	}
	if pin, puk := card.State.PINRetries(); pin != 3 || puk != 3 {
		t.Errorf("tries spent on codes of the wrong form: PIN %d, PUK %d left", pin, puk)
	}
}
