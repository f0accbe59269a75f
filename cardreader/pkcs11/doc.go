// Package pkcs11 is the cardreader backend for cards used through a PKCS#11
// module: the real SITHS IDPrime cards through Thales SafeNet Authentication
// Client or OpenSC, and SoftHSM2 in tests. It uses github.com/miekg/pkcs11.
package pkcs11
