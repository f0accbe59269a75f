package autostart

// Windows has two Run keys that start the agent at logon: the per-user
// HKCU one ("sithseid service install") and the machine-wide HKLM one the
// MSI writes for every user. Explorer runs the machine-wide values before
// the per-user ones, and a second agent in the session exits at once
// (exit 15), so when both are there the machine-wide entry is the one in
// force. Either can be turned off in Task Manager's Startup apps, which
// records it under Explorer\StartupApproved\Run (HKCU for per-user
// values, HKLM for machine-wide ones): the first byte of the binary value
// is even when enabled (02, 06) and odd when disabled (03, 07).
//
// The logic is here, without a build tag, so it is tested on every
// platform with the registry faked.

// MachineRunKeyPath is the machine-wide Run key, as shown to people.
const MachineRunKeyPath = `HKLM\Software\Microsoft\Windows\CurrentVersion\Run`

// MachineRunKey names the MSI's machine-wide Run value in Entry.Method.
const MachineRunKey Method = "machine-runkey"

// RunKeys reads the "SITHS eID" Run values and Task Manager's switches
// for them; the registry on Windows, a fake in tests.
type RunKeys interface {
	// Run returns the value of the per-user (machine=false) or
	// machine-wide Run key; ok=false when there is none.
	Run(machine bool) (cmd string, ok bool, err error)
	// Approved returns the StartupApproved\Run value's bytes for the
	// entry (nil when there is none: enabled).
	Approved(machine bool) []byte
}

// approvedEnabled reads a StartupApproved value: absent or an even first
// byte is enabled.
func approvedEnabled(b []byte) bool { return len(b) == 0 || b[0]&1 == 0 }

// runKeyEntries lists both Run entries, machine-wide first, the first
// enabled one marked in force.
func runKeyEntries(r RunKeys) ([]Entry, error) {
	var out []Entry
	inForce := false
	for _, machine := range []bool{true, false} {
		cmd, ok, err := r.Run(machine)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		e := Entry{Method: RunKey, Path: RunKeyPath + `\` + RunKeyValue, Command: cmd}
		if machine {
			e = Entry{Method: MachineRunKey, Path: MachineRunKeyPath + `\` + RunKeyValue, Command: cmd, MachineWide: true}
		}
		e.Disabled = !approvedEnabled(r.Approved(machine))
		if !e.Disabled && !inForce {
			e.InForce, inForce = true, true
		}
		out = append(out, e)
	}
	return out, nil
}
