// Package backends wires the concrete card backends into an app.Service:
// IDPrime (real SITHS cards, natively) and PIV through PC/SC, then PKCS#11
// with the configured or default module (loaded only when a card needs
// it). The agent and the CLI's in-process mode build their service here;
// the ui process never does (the agent owns every card operation).
package backends

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"log/slog"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/cardreader/idprime"
	"github.com/sithseid/sithseid/cardreader/piv"
	"github.com/sithseid/sithseid/cardreader/pkcs11"
	"github.com/sithseid/sithseid/config"
)

// Options says which backends and how.
type Options struct {
	// Preference is the backend setting: auto (""), idprime, piv, pkcs11.
	Preference string
	// PKCS11Module is the module path; "" tries the defaults.
	PKCS11Module string
	// ManagementKeyFile is policy's PIV management key file.
	ManagementKeyFile string
	// EIDPreferences (the user's default eID per card; nil = none) and
	// DefaultOrganisation (policy's defaultOrganisation): which eID of a
	// card with several organisations' eIDs is the default (issue 15).
	EIDPreferences      *config.EIDPreferences
	DefaultOrganisation string
	Log                 *slog.Logger
	// DeviceKey is the installation's device key (logins).
	DeviceKey func(context.Context) (*ecdsa.PrivateKey, error)
}

// Service builds the Service; done unloads the PKCS#11 module.
func Service(o Options) (svc *app.Service, done func(), err error) {
	cache := cardreader.NewIdentityCache(cardreader.DefaultIdentityCacheSize)
	p11 := pkcs11.New(pkcs11.Options{ModulePath: o.PKCS11Module})
	opts := app.Options{
		// IDPrime (real SITHS cards, natively), PIV, then PKCS#11 (a
		// vendor module, the fallback or the policy's choice).
		Backends: []cardreader.Backend{
			idprime.New(idprime.Options{Cache: cache}),
			piv.New(piv.Options{Cache: cache}),
			p11,
		},
		Preference:        o.Preference,
		Readers:           cardreader.ListReaders,
		Cache:             cache,
		Log:               o.Log,
		ManagementKeyFile: o.ManagementKeyFile,
		DeviceKey:         o.DeviceKey,

		DefaultOrganisation: o.DefaultOrganisation,
	}
	if o.EIDPreferences != nil {
		opts.EIDPreferences = o.EIDPreferences
	}
	if o.Preference == cardreader.PreferPKCS11 {
		// Reader-less tokens (SoftHSM) only when PKCS#11 is asked for.
		opts.Tokens = func(ctx context.Context) ([]cardreader.Card, error) {
			cards, err := p11.Cards(ctx)
			out := make([]cardreader.Card, len(cards))
			for i, c := range cards {
				out[i] = c
			}
			return out, err
		}
		opts.Readers = func(ctx context.Context) ([]cardreader.Reader, error) {
			rs, err := cardreader.ListReaders(ctx)
			if err != nil && (errors.Is(err, cardreader.ErrNoService) || errors.Is(err, cardreader.ErrNoReader)) {
				return nil, nil // a token without PC/SC is still a card
			}
			return rs, err
		}
	}
	svc, err = app.NewService(opts)
	if err != nil {
		_ = p11.Close()
		return nil, nil, err
	}
	return svc, func() { _ = p11.Close() }, nil
}

// PKCS11Defaults are the module paths tried when none is configured.
func PKCS11Defaults() []string { return pkcs11.DefaultModulePaths() }
