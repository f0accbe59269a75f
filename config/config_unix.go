//go:build !windows && !darwin

package config

// readSystemPolicy reads /etc/sithseid/policy.json, then the drop-ins in
// /etc/sithseid/policy.d/*.json in lexical order (a later file wins key by
// key). Configuration management tools own one drop-in each.
func (c *Config) readSystemPolicy() error {
	return c.readPolicyFiles(LinuxPolicyFile, LinuxPolicyDir)
}
