package testpki

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// DefaultSeed is the seed used when Options.Seed is empty.
const DefaultSeed = "sithseid-test"

// KeyType names a key algorithm and size of card and server keys.
type KeyType string

// Key types.
const (
	RSA2048 KeyType = "rsa2048"
	P256    KeyType = "p256"
)

// Variant names the validity profile of a card's certificates.
type Variant string

// Variants.
const (
	// Normal: LoA3, valid 5 years, started 90 days before Now.
	Normal Variant = "normal"
	// Expired: LoA3, 5 years that ended 90 days before Now.
	Expired Variant = "expired"
	// Expiring: LoA3, 5 years that end 10 days after Now.
	Expiring Variant = "expiring"
	// Reserve: a reserve card (reservkort), LoA2, valid 14 days from a day before Now.
	Reserve Variant = "reserve"
)

// Validity periods of the profile.
const (
	PersonValidity  = 5*365*24*time.Hour + 24*time.Hour // five years, one leap day
	ReserveValidity = 14 * 24 * time.Hour
	ExpiringIn      = 10 * 24 * time.Hour
	ServerValidity  = 365 * 24 * time.Hour
	backdate        = 90 * 24 * time.Hour
)

// The CAs' validity is fixed so that their certificates are byte-identical
// whatever Options.Now is; it spans any Now a test will plausibly use.
var (
	caNotBefore = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	caNotAfter  = time.Date(2049, 12, 31, 23, 59, 59, 0, time.UTC)
)

// Names of the test CAs. They mirror the naming of SITHS's TEST environment
// so that code and people recognise their roles, with a TEST suffix and an
// organisation that is clearly not Inera's.
const (
	RootCAName      = "SITHS e-id Root CA v2 TEST"
	HSAPersonCAName = "SITHS e-id Person HSA-id 3 CA v1 TEST"
	// HSAPersonCA2Name issues the extra eIDs of a card with several
	// organisations' eIDs (CardSpec.EIDs), so a relying party can accept
	// one organisation's eID and not the other's.
	HSAPersonCA2Name  = "SITHS e-id Person HSA-id 3 CA v2 TEST"
	PNPersonCAName    = "SITHS e-id Person ID 3 CA v1 TEST"
	FunctionCAName    = "SITHS e-id Function CA v1 TEST"
	caOrganization    = "sithseid test PKI (not Inera)"
	defaultOrgForCard = "Region Test"
)

// Options configure New. The zero value works.
type Options struct {
	// Seed makes everything deterministic: the same seed gives byte-identical
	// CA certificates and keys. "" means DefaultSeed.
	Seed string
	// Now is the reference time of card and server certificates; zero means
	// time.Now(). CA certificates do not depend on it. It is truncated to
	// whole seconds (the resolution of X.509 times).
	Now time.Time
	// OCSPURL, when set, goes into the Authority Information Access (OCSP)
	// of every certificate issued by the issuing CAs, e.g.
	// "http://127.0.0.1:8080/ocsp".
	OCSPURL string
}

// Credential is a certificate with its private key and issuing chain.
type Credential struct {
	Cert *x509.Certificate
	// Key is a *rsa.PrivateKey or *ecdsa.PrivateKey.
	Key crypto.Signer
	// Chain holds the issuing CA certificate(s), the leaf's issuer first,
	// the root excluded. Empty for the root itself.
	Chain []*x509.Certificate
}

// CA is a certificate authority of the test PKI.
type CA struct {
	Credential
}

// PKI is a root, three issuing CAs, and the options they were built with.
type PKI struct {
	Root        *CA // self-signed root
	HSAPersonCA *CA // issues the HSA-ID pair of person certificates
	// HSAPersonCA2 issues the HSA-ID pairs of a card's extra eIDs.
	HSAPersonCA2 *CA
	PNPersonCA   *CA // issues the personal-number pair of person certificates
	FunctionCA   *CA // issues server (function) certificates for local TLS services

	seed    string
	now     time.Time
	ocspURL string
	rev     *revocations
}

// New builds the test PKI. CA keys are derived from the seed and cached
// process-wide, so only the first call per seed pays for key generation.
func New(opts Options) (*PKI, error) {
	p := &PKI{seed: opts.Seed, now: opts.Now, ocspURL: opts.OCSPURL, rev: &revocations{}}
	if p.seed == "" {
		p.seed = DefaultSeed
	}
	if p.now.IsZero() {
		p.now = time.Now()
	}
	p.now = p.now.UTC().Truncate(time.Second)

	rootKey, err := deriveKey(p.seed, "ca/root", RSA2048)
	if err != nil {
		return nil, fmt.Errorf("deriving root key: %w", err)
	}
	rootTmpl := p.caTemplate("ca/root", RootCAName, -1)
	rootTmpl.MaxPathLen = 1
	p.Root, err = p.newCA(rootTmpl, rootKey, nil)
	if err != nil {
		return nil, fmt.Errorf("creating root CA: %w", err)
	}

	for _, ic := range []struct {
		dst      **CA
		purpose  string
		name     string
		policies []asn1.ObjectIdentifier
	}{
		{&p.HSAPersonCA, "ca/hsa-person", HSAPersonCAName, []asn1.ObjectIdentifier{PolicyLoA3, PolicyLoA2}},
		{&p.PNPersonCA, "ca/pn-person", PNPersonCAName, []asn1.ObjectIdentifier{PolicyLoA3, PolicyLoA2}},
		{&p.FunctionCA, "ca/function", FunctionCAName, nil},
		{&p.HSAPersonCA2, "ca/hsa-person-2", HSAPersonCA2Name, []asn1.ObjectIdentifier{PolicyLoA3, PolicyLoA2}},
	} {
		key, err := deriveKey(p.seed, ic.purpose, RSA2048)
		if err != nil {
			return nil, fmt.Errorf("deriving %s key: %w", ic.name, err)
		}
		tmpl := p.caTemplate(ic.purpose, ic.name, 0)
		tmpl.Policies = policyOIDs(ic.policies...)
		ca, err := p.newCA(tmpl, key, p.Root)
		if err != nil {
			return nil, fmt.Errorf("creating %s: %w", ic.name, err)
		}
		*ic.dst = ca
	}
	return p, nil
}

// Seed returns the seed in use (DefaultSeed when Options.Seed was empty).
func (p *PKI) Seed() string { return p.seed }

// Now returns the reference time in use, truncated to seconds.
func (p *PKI) Now() time.Time { return p.now }

func (p *PKI) caTemplate(purpose, cn string, maxPathLen int) *x509.Certificate {
	t := &x509.Certificate{
		SerialNumber: deriveSerial(p.seed, purpose),
		Subject: pkix.Name{
			Country:      []string{"SE"},
			Organization: []string{caOrganization},
			CommonName:   cn,
		},
		NotBefore:             caNotBefore,
		NotAfter:              caNotAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            maxPathLen,
		MaxPathLenZero:        maxPathLen == 0,
	}
	return t
}

// newCA signs tmpl with parent's key (self-signed when parent is nil).
func (p *PKI) newCA(tmpl *x509.Certificate, key crypto.Signer, parent *CA) (*CA, error) {
	tmpl.SubjectKeyId = keyID(key.Public())
	var (
		cred Credential
		err  error
	)
	if parent == nil {
		cred, err = sign(tmpl, tmpl, key, key, nil)
	} else {
		cred, err = parent.issue(tmpl, key)
	}
	if err != nil {
		return nil, err
	}
	return &CA{cred}, nil
}

// issue signs tmpl, which carries key's public half, with the CA's key.
func (ca *CA) issue(tmpl *x509.Certificate, key crypto.Signer) (Credential, error) {
	var chain []*x509.Certificate
	if !isSelfSigned(ca.Cert) {
		chain = append([]*x509.Certificate{ca.Cert}, ca.Chain...)
	}
	return sign(tmpl, ca.Cert, key, ca.Key, chain)
}

func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer)
}

// sign creates the certificate. All CA keys are RSA and sign with PKCS #1
// v1.5 and SHA-256 (RFC 8017 §8.2), which is deterministic, so the DER is a
// pure function of the template and the keys.
func sign(tmpl, parent *x509.Certificate, key, parentKey crypto.Signer, chain []*x509.Certificate) (Credential, error) {
	if _, ok := parentKey.(*rsa.PrivateKey); !ok {
		return Credential{}, fmt.Errorf("issuer key is %T, want RSA for deterministic signatures", parentKey)
	}
	tmpl.SignatureAlgorithm = x509.SHA256WithRSA
	der, err := x509.CreateCertificate(nil, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return Credential{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Credential{}, err
	}
	return Credential{Cert: cert, Key: key, Chain: chain}, nil
}

// keyID is the subject key identifier: the leftmost 160 bits of the SHA-256
// of the subjectPublicKey bit string (RFC 7093 §2 method 1).
func keyID(pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil
	}
	h := sha256.Sum256(spki.PublicKey.Bytes)
	return h[:20]
}

// policyOIDs converts to x509.OID: since Go 1.24 (GODEBUG x509usepolicies=1)
// CreateCertificate encodes Certificate.Policies and ignores PolicyIdentifiers.
func policyOIDs(ids ...asn1.ObjectIdentifier) []x509.OID {
	var out []x509.OID
	for _, id := range ids {
		ints := make([]uint64, len(id))
		for i, n := range id {
			ints[i] = uint64(n)
		}
		oid, err := x509.OIDFromInts(ints)
		if err != nil {
			panic(err) // the profile's OIDs are constants
		}
		out = append(out, oid)
	}
	return out
}

// Roots returns a pool holding just the root certificate.
func (p *PKI) Roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.Root.Cert)
	return pool
}

// Intermediates returns a pool holding the three issuing CA certificates.
func (p *PKI) Intermediates() *x509.CertPool {
	pool := x509.NewCertPool()
	for _, ca := range p.IssuingCAs() {
		pool.AddCert(ca.Cert)
	}
	return pool
}

// IssuingCAs returns HSAPersonCA, PNPersonCA, FunctionCA and HSAPersonCA2,
// in that order.
func (p *PKI) IssuingCAs() []*CA {
	return []*CA{p.HSAPersonCA, p.PNPersonCA, p.FunctionCA, p.HSAPersonCA2}
}

// TLSCertificate returns the leaf, its chain and its key for crypto/tls.
func (c Credential) TLSCertificate() tls.Certificate {
	tc := tls.Certificate{PrivateKey: c.Key, Leaf: c.Cert}
	tc.Certificate = append(tc.Certificate, c.Cert.Raw)
	for _, ca := range c.Chain {
		tc.Certificate = append(tc.Certificate, ca.Raw)
	}
	return tc
}

// CertPEM returns the leaf certificate as a PEM "CERTIFICATE" block.
func (c Credential) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
}

// ChainPEM returns the chain (issuer first, root excluded) as PEM blocks.
func (c Credential) ChainPEM() []byte {
	return certsPEM(c.Chain)
}

// FullChainPEM returns the leaf followed by its chain, the layout nginx's
// ssl_certificate expects.
func (c Credential) FullChainPEM() []byte {
	return append(c.CertPEM(), c.ChainPEM()...)
}

// KeyPEM returns the private key as a PKCS #8 "PRIVATE KEY" PEM block.
func (c Credential) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func certsPEM(certs []*x509.Certificate) []byte {
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return b
}

// WriteDir writes to dir, creating it if needed:
//
//	root.pem  the root certificate
//	cas.pem   the issuing CA certificates
//	crl.pem   CRLs of the root and the issuing CAs (see CRL), for nginx's
//	          ssl_crl, which wants one for every CA of the chain
//
// for nginx (ssl_client_certificate / ssl_trusted_certificate),
// openssl verify -CAfile root.pem -untrusted cas.pem, and other tools.
// Call it again after Revoke to refresh crl.pem.
func (p *PKI) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var cas []*x509.Certificate
	for _, ca := range p.IssuingCAs() {
		cas = append(cas, ca.Cert)
	}
	var crls []byte
	for _, ca := range append([]*CA{p.Root}, p.IssuingCAs()...) {
		crl, err := p.CRLPEM(ca)
		if err != nil {
			return fmt.Errorf("creating CRL of %s: %w", ca.Cert.Subject.CommonName, err)
		}
		crls = append(crls, crl...)
	}
	files := map[string][]byte{
		"root.pem": p.Root.CertPEM(),
		"cas.pem":  certsPEM(cas),
		"crl.pem":  crls,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
