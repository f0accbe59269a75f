package cardreader

import (
	"context"
	"errors"
	"fmt"
)

// Backend preferences (policy key or --backend flag).
const (
	PreferAuto   = "auto"
	PreferPIV    = BackendPIV
	PreferPKCS11 = BackendPKCS11
)

// ErrUnknownPreference: a backend preference other than auto, piv or pkcs11.
var ErrUnknownPreference = errors.New("unknown backend preference")

// OrderBackends applies a preference to backends, which are in the
// default order (PIV first, then PKCS#11). "auto" or "" keeps the order;
// "piv" or "pkcs11" keeps only that backend.
func OrderBackends(preference string, backends []Backend) ([]Backend, error) {
	switch preference {
	case "", PreferAuto:
		return backends, nil
	case PreferPIV, PreferPKCS11:
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
// trying backends in order (pass PIV first, then PKCS#11, after
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
