// Package testpki mints SITHS-profile certificates for tests and the demo: a
// root, the person CAs of a SITHS-like TEST environment, per-card certificate
// pairs and server certificates. Deterministic for a given seed.
//
// Nothing here is fit for production: keys are derived from a public seed.
//
// # Hierarchy
//
//	SITHS e-id Root CA v2 TEST                 (RootCAName, self-signed)
//	├── SITHS e-id Person HSA-id 3 CA v1 TEST  (HSAPersonCA: the HSA-ID pair)
//	├── SITHS e-id Person ID 3 CA v1 TEST      (PNPersonCA: the personal-number pair)
//	├── SITHS e-id Function CA v1 TEST         (FunctionCA: TLS servers)
//	└── SITHS e-id Person HSA-id 3 CA v2 TEST  (HSAPersonCA2: extra eIDs, CardSpec.EIDs)
//
// The names mirror SITHS's TEST environment so that people reading a log
// recognise each CA's role; the organisation says it is not Inera's. All CA
// keys are RSA-2048 and every certificate is signed with PKCS #1 v1.5 and
// SHA-256 (RFC 8017 §8.2), which is deterministic. CA certificates are valid
// from 2015 to 2049 whatever Options.Now is, so they are byte-identical for a
// seed. Issuing CAs have pathLenConstraint 0; the person CAs carry both LoA
// policies, the function CA none.
//
// # Card certificates
//
// A card holds two pairs, like a SITHS card (design notes, "Cards"): the
// HSA-ID pair from HSAPersonCA and the personal-number pair from
// PNPersonCA. Each certificate of a card has its own key of CardSpec.Key.
// A card may carry more organisations' SITHS eIDs (CardSpec.EIDs): each one
// more HSA-ID pair, O= its organisation, serialNumber its HSA-ID, issued by
// HSAPersonCA2 so that a relying party can trust one organisation's eIDs and
// not another's.
//
//   - Subject: C=SE, O=Organization, CN="GivenName Surname", serialNumber,
//     givenName, surname. serialNumber (X.520 2.5.4.5) is the HSA-ID in the
//     HSA-ID pair and the 12-digit personal number in the personal-number
//     pair, as in SITHS: it is the holder's identifier, the name is not.
//   - Authentication certificates: KeyUsage digitalSignature (plus
//     keyEncipherment for RSA keys), EKU clientAuth and Microsoft smart card
//     logon. Signing certificates: KeyUsage contentCommitment
//     (nonRepudiation) only and no EKU. This KeyUsage difference is how
//     clients tell the two certificates of a pair apart; IsAuthentication
//     and IsSigning apply the rule.
//   - Card number: in every card certificate as a SubjectAltName otherName
//     (RFC 5280 §4.2.1.6) of type CardNumberOID whose value is a UTF8String
//     of digits. Real SITHS certificates carry the card number differently;
//     this placement is the test profile's choice. Read it with
//     ParseCardNumber.
//   - Assurance: certificate policy PolicyLoA3 on ordinary cards, PolicyLoA2
//     on reserve cards (reservkort). LoA reads it back.
//   - Revocation: with Options.OCSPURL, every issued certificate names that
//     responder in Authority Information Access (RFC 5280 §4.2.2.1).
//
// The test profile's OIDs live under 1.3.6.1.4.1.32473.7; 32473 is the
// enterprise number IANA reserves for documentation (RFC 5612), so they can
// never clash with a real PKI's.
//
// # Validity, relative to Options.Now
//
//	Normal    5 years, from 90 days before Now                       LoA3
//	Expired   5 years, ended 90 days before Now                      LoA3
//	Expiring  5 years, ending exactly 10 days after Now              LoA3
//	Reserve   14 days, from 1 day before Now                         LoA2
//	Server    1 year, from 1 day before Now (ServerCert)
//
// # Determinism
//
// The same Seed gives byte-identical CA certificates and keys; the same Seed
// and Now give byte-identical card and server certificates
// (testdata/golden.txt holds their SHA-256). Go 1.26's rsa.GenerateKey and
// ecdsa.GenerateKey ignore their random source, so keys are derived here
// from an HMAC-SHA256 counter-mode stream keyed by the seed and bound to a
// purpose ("ca/root", "card/<HSA-ID>/…/hsa-auth", …): P-256 keys from a
// reduced scalar, RSA keys from an incremental prime search. Serial numbers
// come from the same stream. Derived keys are cached process-wide, so only
// the first use of a key pays for it (tens of milliseconds for RSA-2048).
//
// # Files
//
// WriteDir writes root.pem and cas.pem, so that
//
//	openssl verify -CAfile root.pem -untrusted cas.pem leaf.pem
//
// and nginx's ssl_client_certificate accept the certificates.
package testpki
