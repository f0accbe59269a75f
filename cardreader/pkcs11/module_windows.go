package pkcs11

// defaultModulePaths on Windows: bare DLL names, found by LoadLibrary in
// System32 where SafeNet Authentication Client and OpenSC install them.
func defaultModulePaths() []string {
	return []string{
		"eTPKCS11.dll",
		"opensc-pkcs11.dll",
	}
}
