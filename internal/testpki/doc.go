// Package testpki mints SITHS-profile certificates for tests and the demo: a
// root, the person CAs of a SITHS-like TEST environment, per-card certificate
// pairs and server certificates. Deterministic for a given seed.
package testpki
