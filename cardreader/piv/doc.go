// Package piv is the cardreader backend for PIV cards (NIST SP 800-73-4),
// through github.com/go-piv/piv-go/v2.
package piv
