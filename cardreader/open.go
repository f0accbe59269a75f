package cardreader

import (
	"context"
	"errors"
	"fmt"
)

// Backend preferences (policy key or --backend flag).
const (
	PreferAuto    = "auto"
	PreferIDPrime = BackendIDPrime
	PreferPIV     = BackendPIV
	PreferPKCS11  = BackendPKCS11
)

// Preferences lists every backend preference OrderBackends takes, for
// configuration checks and help texts.
var Preferences = []string{PreferAuto, PreferIDPrime, PreferPIV, PreferPKCS11}

// ErrUnknownPreference: a backend preference other than auto, idprime, piv
// or pkcs11.
var ErrUnknownPreference = errors.New("unknown backend preference")

// OrderBackends applies a preference to backends, which are in the
// default order (IDPrime first, which costs no APDU on a card whose ATR is
// not an IDPrime's; then PIV; then PKCS#11). "auto" or "" keeps the order;
// "idprime", "piv" or "pkcs11" keeps only that backend.
func OrderBackends(preference string, backends []Backend) ([]Backend, error) {
	switch preference {
	case "", PreferAuto:
		return backends, nil
	case PreferIDPrime, PreferPIV, PreferPKCS11:
		var out []Backend
		for _, b := range backends {
			if b.Name() == preference {
				out = append(out, b)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("backend %q not available: %w", preference, ErrUnsupportedCard)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%q: %w", preference, ErrUnknownPreference)
}

// Open returns the card in reader from the first backend that serves it,
// trying backends in order (pass IDPrime, PIV, then PKCS#11, after
// OrderBackends). A backend that answers ErrUnsupportedCard passes the card
// on; an error that no backend can get past (the card or the service is
// gone) ends the search at once.
func Open(ctx context.Context, reader Reader, backends ...Backend) (Card, error) {
	if len(backends) == 0 {
		return nil, fmt.Errorf("opening card in %q: no backend: %w", reader.Name, ErrUnsupportedCard)
	}
	var errs []error
	for _, b := range backends {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := b.Open(ctx, reader)
		if err == nil {
			return c, nil
		}
		if errors.Is(err, ErrCardRemoved) || errors.Is(err, ErrNoCard) ||
			errors.Is(err, ErrNoReader) || errors.Is(err, ErrNoService) ||
			errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("opening card in %q: %w", reader.Name, err)
		}
		errs = append(errs, fmt.Errorf("%s: %w", b.Name(), err))
	}
	return nil, fmt.Errorf("opening card in %q: %w", reader.Name, errors.Join(errs...))
}
