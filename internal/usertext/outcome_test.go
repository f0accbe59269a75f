package usertext

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/localapi"
)

// A change whose answer was lost says that its outcome is not known and
// how to find out (never the plain "removed, try again"), in sv and en,
// in-process and after crossing the local API; a card that does not
// answer and one held by another program say so, also when
// cardreader.Open joined them with other backends' "not mine".
func TestExplainOutcomeUnknownAndCardState(t *testing.T) {
	lost := fmt.Errorf("changing PIN: %w: %w", cardreader.ErrNoAnswer, cardreader.ErrCardRemoved)
	notMine := fmt.Errorf("idprime: %w", cardreader.ErrUnsupportedCard)
	for _, tc := range []struct {
		err    error
		class  Class
		sv, en []string
		// code and sentinel: what the local API sends, and what the
		// client's error then unwraps to.
		code     string
		sentinel error
	}{
		{fmt.Errorf("%w: %w", app.ErrPINChangeOutcomeUnknown, lost), CardRemoved,
			[]string{"Det går inte att veta om den nya PIN-koden gäller", "prova den nya PIN-koden", "Byt PIN-kod"},
			[]string{"not known whether the new PIN took effect", "try the new PIN", "Change PIN"},
			"pinChangeOutcomeUnknown", app.ErrPINChangeOutcomeUnknown},
		{fmt.Errorf("%w: %w", app.ErrPINUnblockOutcomeUnknown, lost), CardRemoved,
			[]string{"låstes upp", "Det går inte att veta", "PUK-koden"},
			[]string{"unblocked", "not known", "PUK"},
			"pinUnblockOutcomeUnknown", app.ErrPINUnblockOutcomeUnknown},
		{fmt.Errorf("removing certificate 9c: %w: %w", app.ErrRemovalOutcomeUnknown, lost), CardRemoved,
			[]string{"certifikatet togs bort", "Det går inte att veta", "finns kvar"},
			[]string{"certificate was being removed", "not known", "still there"},
			"removalOutcomeUnknown", app.ErrRemovalOutcomeUnknown},
		{errors.Join(notMine, fmt.Errorf("piv: %w", cardreader.ErrCardUnresponsive)), NoCard,
			[]string{"Kortet svarar inte."}, []string{"The card does not respond."},
			"cardUnresponsive", cardreader.ErrCardUnresponsive},
		{errors.Join(notMine, fmt.Errorf("piv: %w", cardreader.ErrCardBusy)), NoCard,
			[]string{"Kortet används av ett annat program."}, []string{"The card is in use by another program."},
			"cardBusy", cardreader.ErrCardBusy},
	} {
		// Through the agent: the wire code must keep what it is.
		if code := localapi.ToWire(tc.err).Code; code != tc.code {
			t.Errorf("%v: wire code %q, want %q", tc.err, code, tc.code)
		}
		for _, err := range []error{tc.err, tc.sentinel} {
			for _, lang := range []l10n.Lang{l10n.Swedish, l10n.English} {
				msg, hint, class := Explain(l10n.MustLoad(lang), err)
				want := tc.sv
				if lang == l10n.English {
					want = tc.en
				}
				for _, w := range want {
					if !strings.Contains(msg+" "+hint, w) {
						t.Errorf("%v (%s): %q / %q lacks %q", err, lang, msg, hint, w)
					}
				}
				if class != tc.class {
					t.Errorf("%v (%s): class %v, want %v", err, lang, class, tc.class)
				}
			}
		}
	}
}
