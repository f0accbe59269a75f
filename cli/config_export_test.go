package cli

import "github.com/sithseid/sithseid/startup"

// SetPolicyForTest makes the CLI (every role: startup) read its system
// policy from file and dir until restore is called.
func SetPolicyForTest(file, dir string) (restore func()) { return startup.SetPolicyForTest(file, dir) }
