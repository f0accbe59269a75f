package pkcs11

// defaultModulePaths on Linux: Thales SafeNet Authentication Client first
// (the SITHS IDPrime middleware), then OpenSC as Debian/Ubuntu, Fedora and
// the upstream default install it.
func defaultModulePaths() []string {
	return []string{
		"/usr/lib/libeTPkcs11.so",
		"/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
		"/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
		"/usr/lib64/opensc-pkcs11.so",
		"/usr/lib/opensc-pkcs11.so",
	}
}
