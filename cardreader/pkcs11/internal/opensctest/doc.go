// Package opensctest tests the PKCS#11 backend through OpenSC's
// opensc-pkcs11.so in front of the virtual PIV card (internal/testkit/vcard) in a
// private pcscd (internal/testkit/rig). It is its own test binary because
// libpcsclite reads PCSCLITE_CSOCK_NAME once per process, so its TestMain
// must start the rig before OpenSC's C_Initialize; it has no non-test code.
package opensctest
