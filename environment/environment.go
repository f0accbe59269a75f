// Package environment names the identity-service environments (PROD, QA,
// TEST, DEMO): their endpoints and trust anchors.
package environment

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/sithseid/sithseid/assets"
)

// Environment is one identity-service environment: where the service is and
// which trust anchors its TLS certificates must chain to. Nothing else is
// trusted: a TLS-inspecting proxy or a wrong server is refused.
type Environment struct {
	Name string // PROD, QA, TEST, DEMO
	// ServiceURL is the base of the authenticator API (https).
	ServiceURL string
	// TrustAnchors are PEM certificates.
	TrustAnchors []byte
	// Placeholder marks an environment whose endpoints and anchors are not
	// yet configured in this build: policy must supply them.
	Placeholder bool
	// TurnedOff marks an environment this computer does not allow (DEMO
	// without policy's allowDemo in an installed package): it has no
	// endpoint or anchors, and Service and Roots return *TurnedOffError.
	TurnedOff bool
	// Proxy is how the service is reached (ProxyFunc; nil: directly),
	// for mtls.Options.Proxy. startup sets it from policy's proxy key
	// and the invocation's HTTPS_PROXY/NO_PROXY.
	Proxy func(*http.Request) (*url.URL, error)
}

// TurnOff returns e turned off: no endpoint, no anchors.
func (e Environment) TurnOff() Environment {
	return Environment{Name: e.Name, TurnedOff: true}
}

// Environment names.
const (
	PROD = "PROD"
	QA   = "QA"
	TEST = "TEST"
	DEMO = "DEMO"
)

// Names is the one list of environments, in menu order.
var Names = []string{PROD, QA, TEST, DEMO}

// DemoServiceURL is where "sithseid-idp serve" listens by default.
const DemoServiceURL = "https://127.0.0.1:8443"

// ErrNotConfigured: the environment has no endpoints or trust
// anchors in this build and none were given by policy.
var ErrNotConfigured = errors.New("environment not configured")

// ErrUnknown: a name other than PROD, QA, TEST or DEMO.
var ErrUnknown = errors.New("unknown environment")

// Builtin returns the environments compiled into the product.
// PROD, QA and TEST are placeholders until Inera's endpoints and the SITHS
// root certificates are added (docs/admin.md says how policy supplies
// them); DEMO is the local reference service with the test PKI's root.
func Builtin() map[string]Environment {
	demo, err := fs.ReadFile(assets.Trust(), "demo-root.pem")
	if err != nil {
		panic(err) // embedded at build time; a test reads it
	}
	return map[string]Environment{
		PROD: {Name: PROD, Placeholder: true},
		QA:   {Name: QA, Placeholder: true},
		TEST: {Name: TEST, Placeholder: true},
		DEMO: {Name: DEMO, ServiceURL: DemoServiceURL, TrustAnchors: demo},
	}
}

// Lookup returns the built-in environment name (any case).
func Lookup(name string) (Environment, error) {
	envs := Builtin()
	e, ok := envs[strings.ToUpper(name)]
	if !ok {
		names := make([]string, 0, len(envs))
		for n := range envs {
			names = append(names, n)
		}
		sort.Strings(names)
		return Environment{}, fmt.Errorf("%q (want one of %s): %w", name, strings.Join(names, ", "), ErrUnknown)
	}
	return e, nil
}

// Roots parses the trust anchors.
func (e Environment) Roots() (*x509.CertPool, error) {
	if e.TurnedOff {
		return nil, &TurnedOffError{Name: e.Name}
	}
	if len(e.TrustAnchors) == 0 {
		return nil, fmt.Errorf("%s: no trust anchors: %w", e.Name, ErrNotConfigured)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(e.TrustAnchors) {
		return nil, fmt.Errorf("%s: trust anchors are not PEM certificates", e.Name)
	}
	return pool, nil
}

// Service returns the environment's service URL, checked.
func (e Environment) Service() (*url.URL, error) {
	if e.TurnedOff {
		return nil, &TurnedOffError{Name: e.Name}
	}
	if e.ServiceURL == "" {
		return nil, fmt.Errorf("%s: no service URL: %w", e.Name, ErrNotConfigured)
	}
	u, err := url.Parse(e.ServiceURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%s: service URL %q is not an https URL", e.Name, e.ServiceURL)
	}
	return u, nil
}
