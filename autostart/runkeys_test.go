package autostart

import (
	"errors"
	"testing"
)

// fakeRunKeys is the registry's Run and StartupApproved\Run values.
type fakeRunKeys struct {
	user, machine                 string // "" = no value
	userApproved, machineApproved []byte
	err                           error
}

func (f fakeRunKeys) Run(machine bool) (string, bool, error) {
	if f.err != nil {
		return "", false, f.err
	}
	v := f.user
	if machine {
		v = f.machine
	}
	return v, v != "", nil
}

func (f fakeRunKeys) Approved(machine bool) []byte {
	if machine {
		return f.machineApproved
	}
	return f.userApproved
}

// The MSI's machine-wide Run value starts the agent: the state says so
// (it used to read HKCU only, so "service status" and Settings said
// autostart was off). Both entries are listed, and the one in force marked.
func TestRunKeyStateShowsMachineWide(t *testing.T) {
	const cmd = `"C:\Program Files\SITHS eID\sithseid.exe" agent`
	disabled := []byte{3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	enabled := []byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	type want struct {
		method            Method
		inForce, disabled bool
	}
	for _, tc := range []struct {
		name string
		keys fakeRunKeys
		want []want
	}{
		{"MSI only", fakeRunKeys{machine: cmd}, []want{{MachineRunKey, true, false}}},
		{"per-user only", fakeRunKeys{user: cmd}, []want{{RunKey, true, false}}},
		{"both", fakeRunKeys{user: cmd, machine: cmd, userApproved: enabled},
			[]want{{MachineRunKey, true, false}, {RunKey, false, false}}},
		{"machine-wide turned off in Task Manager", fakeRunKeys{user: cmd, machine: cmd, machineApproved: disabled},
			[]want{{MachineRunKey, false, true}, {RunKey, true, false}}},
		{"both turned off", fakeRunKeys{user: cmd, machine: cmd, machineApproved: disabled, userApproved: []byte{7}},
			[]want{{MachineRunKey, false, true}, {RunKey, false, true}}},
		{"none", fakeRunKeys{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runKeyEntries(tc.keys)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d entries %+v, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				e := got[i]
				if e.Method != w.method || e.InForce != w.inForce || e.Disabled != w.disabled || e.Command != cmd {
					t.Errorf("entry %d = %+v, want %+v", i, e, w)
				}
				if e.MachineWide != (w.method == MachineRunKey) {
					t.Errorf("entry %d: MachineWide %v", i, e.MachineWide)
				}
				wantPath := RunKeyPath + `\SITHS eID`
				if e.MachineWide {
					wantPath = MachineRunKeyPath + `\SITHS eID`
				}
				if e.Path != wantPath {
					t.Errorf("entry %d: path %q, want %q", i, e.Path, wantPath)
				}
			}
		})
	}
	if _, err := runKeyEntries(fakeRunKeys{err: errors.New("access denied")}); err == nil {
		t.Error("a registry error was swallowed")
	}
}
