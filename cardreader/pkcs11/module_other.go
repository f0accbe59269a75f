//go:build !linux && !windows && !darwin

package pkcs11

// defaultModulePaths on the BSDs: OpenSC from ports or pkgsrc.
func defaultModulePaths() []string {
	return []string{
		"/usr/local/lib/opensc-pkcs11.so",
		"/usr/pkg/lib/opensc-pkcs11.so",
	}
}
