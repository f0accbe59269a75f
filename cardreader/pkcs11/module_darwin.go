package pkcs11

// defaultModulePaths on macOS: SafeNet Authentication Client, then the
// OpenSC installer's location.
func defaultModulePaths() []string {
	return []string{
		"/usr/local/lib/libeTPkcs11.dylib",
		"/Library/OpenSC/lib/opensc-pkcs11.so",
	}
}
