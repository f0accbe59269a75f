// Package cardreader talks to smart cards through PC/SC.
//
// # Monitor
//
// A Monitor watches readers and cards with SCardGetStatusChange and blocks
// while nothing happens: no polling and no APDUs while idle.
//
// # Cards
//
// Card is the abstraction over the two backends: cardreader/piv for PIV cards
// (the virtual SITHS card, YubiKey-style tokens) and cardreader/pkcs11 for
// every card with a PKCS#11 module (the real SITHS IDPrime cards). A card is
// opened for one operation and closed again: never held while idle.
//
// # Identity
//
// The SITHS identity (holder, HSA-ID, personal number, card number) is read
// from the certificates on the card.
//
// This package returns data and typed errors. It never logs and never imports
// Fyne or the app package.
package cardreader
