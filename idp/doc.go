// Package idp is the reference identity service: the relying-party API, the
// authenticator API (mutual TLS), an OCSP responder for the test PKI and a
// demo login page. It serves tests, the demo and integrators; it is not
// shipped to clinicians.
package idp
