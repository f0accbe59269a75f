package usertext

import (
	"fmt"
	"strings"
	"testing"

	mpkcs11 "github.com/miekg/pkcs11"

	"github.com/sithseid/sithseid/cardreader/pkcs11"
	"github.com/sithseid/sithseid/internal/l10n"
)

// A new PIN the PKCS#11 token refuses before trying it (CKR_PIN_LEN_RANGE,
// CKR_DATA_INVALID …, as the backend wraps it) has a sentence of its own
// in both languages, says no try was used, and is a PIN-policy exit, not
// "Something went wrong: CKR_DATA_INVALID" (issue 14 item 9).
func TestExplainNewPINRejected(t *testing.T) {
	err := fmt.Errorf("changing PIN: %w", fmt.Errorf("%w (%w)", pkcs11.ErrPINRejected, mpkcs11.Error(mpkcs11.CKR_DATA_INVALID)))
	for _, tc := range []struct {
		lang      l10n.Lang
		msg, hint string
	}{
		{l10n.Swedish, "Kortet tog inte emot den nya koden: kortet godtar inte dess längd eller tecken. Inget försök förbrukades.", "Välj en annan ny kod"},
		{l10n.English, "The card did not accept the new code: it does not take its length or its characters. No try was used.", "Choose another new code"},
	} {
		msg, hint, class := Explain(l10n.MustLoad(tc.lang), err)
		if msg != tc.msg || !strings.HasPrefix(hint, tc.hint) || class != PINPolicy {
			t.Errorf("%s: %q %q %v; want %q, a hint %q…, PINPolicy", tc.lang, msg, hint, class, tc.msg, tc.hint)
		}
		if strings.Contains(msg+hint, "CKR_") {
			t.Errorf("%s: the PKCS#11 code reached the sentence: %q %q", tc.lang, msg, hint)
		}
	}
}
