// Package mtls builds a *tls.Config and an *http.Client for mutual TLS from a
// crypto.Signer and its certificate chain. It knows nothing of cards: the
// card's key arrives as a crypto.Signer.
package mtls
