package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/internal/testkit/cardkind"
	"github.com/sithseid/sithseid/internal/testkit/testpki"
)

// On a kind that cannot remove certificates, removing the login
// certificate (confirmed) and removing the expired ones answer
// cardreader.ErrRemovalUnsupported, the clear "not supported, use the
// vendor's module" refusal, and leave the card as it was: every
// certificate there, no PIN try spent. Where the backend knows it without
// the card (the native IDPrime backend), the holder is never asked for a
// PIN; a PKCS#11 module only learns it after the login. Kinds that can
// remove are covered by the removal tests of their own.
func TestRemovalUnsupported(t *testing.T) {
	cardkind.Run(t, func(t *testing.T, k cardkind.Kind) {
		if k.Remove {
			t.Skipf("%s cards can remove certificates", k.Name)
		}
		f := setup(t, k, testpki.CardSpec{Variant: testpki.Expired}) // for RemoveExpired
		ctx := context.Background()
		for _, tc := range []struct {
			name   string
			remove func(app.Prompt) error
		}{
			{"login certificate", func(p app.Prompt) error {
				return f.svc.RemoveCertificate(ctx, app.Selector{}, k.Login, app.RemoveOptions{ConfirmLogin: true}, p)
			}},
			{"expired", func(p app.Prompt) error {
				_, err := f.svc.RemoveExpired(ctx, app.Selector{}, app.RemoveOptions{ConfirmLogin: true}, p)
				return err
			}},
		} {
			rec := &recorder{Answers: []string{f.card.PIN}}
			err := tc.remove(rec.Prompt)
			if !errors.Is(err, cardreader.ErrRemovalUnsupported) {
				t.Errorf("%s: %v, want ErrRemovalUnsupported", tc.name, err)
			}
			if asked := len(rec.Asked) != 0; asked == k.RemovalRefusedBeforePIN {
				t.Errorf("%s: PIN prompts %+v (refused before the prompt: %v)", tc.name, rec.Asked, k.RemovalRefusedBeforePIN)
			}
			st, err := f.service(t).Status(ctx, app.StatusOptions{})
			if err != nil || len(st.Cards) != 1 {
				t.Fatalf("status: %+v %v", st, err)
			}
			if n := len(st.Cards[0].Certificates); n != k.Certificates {
				t.Errorf("%s: %d certificates left, want %d", tc.name, n, k.Certificates)
			}
			if pin, puk := f.card.State.PINRetries(); pin != 3 || puk != 3 {
				t.Errorf("%s: PIN %d PUK %d tries left, want 3 and 3", tc.name, pin, puk)
			}
		}
	})
}
