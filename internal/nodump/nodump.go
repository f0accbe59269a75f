// Package nodump keeps a process that holds PINs in memory from leaving
// that memory on disk or to other processes of the user: no core dump when
// it crashes, and, where the system has the switch, no debugger or
// /proc/PID/mem reader of the same user (issue 14, item 4).
//
// # What each system gets
//
//   - Linux: RLIMIT_CORE 0 (no core file; also inherited by the processes
//     it starts) and prctl(PR_SET_DUMPABLE, 0): no core, not even through
//     a core_pattern pipe to systemd-coredump or apport, and /proc/PID/mem,
//     maps and ptrace are refused to every user but root. A process is
//     dumpable again after it execs another program, so each process that
//     handles a PIN (the agent, the window process) calls Apply itself.
//   - macOS and the BSDs: RLIMIT_CORE 0. (macOS's ptrace(PT_DENY_ATTACH)
//     would also refuse debuggers, but it kills a process already being
//     traced and breaks crash reporting; it is not used.)
//   - Windows: nothing a process can set for itself. Windows Error
//     Reporting writes a crash dump only where LocalDumps is configured in
//     the registry (HKLM\SOFTWARE\Microsoft\Windows\Windows Error
//     Reporting\LocalDumps, an administrator's setting); another process
//     of the same user can read the memory with OpenProcess, as on every
//     system without a switch like Linux's. Apply returns nil.
package nodump

// Apply switches off core dumps of this process and, on Linux, makes it
// undumpable (see the package doc). It returns the first error; the
// caller logs it and goes on: the process works either way.
func Apply() error { return apply() }
