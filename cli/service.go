package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sithseid/sithseid/autostart"
	"github.com/sithseid/sithseid/localapi"
)

// autostartState reads the autostart entries; a test puts a Windows
// registry with the MSI's machine-wide Run value behind it.
var autostartState = autostart.State

// serviceStatus is "sithseid service status --json".
type serviceStatus struct {
	Installed bool              `json:"installed"`
	Entries   []autostart.Entry `json:"entries"`
	Running   bool              `json:"running"`
	PID       int               `json:"pid,omitempty"`
}

// service_ runs "sithseid service install|uninstall|status [--json]
// [--method systemd|xdg|launchagent|runkey]": the agent's autostart for
// this user (never a system service: the agent must run in the user's
// session to see the cards redirected into it).
func (r *runner) service_(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return r.usageService()
	}
	sub := args[0]
	fs := r.newFlagSet("service")
	method := fs.String("method", "", "systemd, xdg, launchagent or runkey (default: the platform's)")
	asJSON := fs.Bool("json", false, "JSON output")
	if _, err := r.parse(fs, args[1:], 0); err != nil {
		return err
	}
	switch autostart.Method(*method) {
	case autostart.Auto, autostart.Systemd, autostart.XDG, autostart.LaunchAgent, autostart.RunKey:
	default:
		return r.usageService()
	}
	o := autostart.Options{Method: autostart.Method(*method), Getenv: r.Getenv}
	var err error
	switch sub {
	case "install":
		err = r.serviceInstall(ctx, o, *asJSON)
	case "uninstall":
		err = r.serviceUninstall(ctx, o, *asJSON)
	case "status":
		err = r.serviceStatus(ctx, o, *asJSON)
	default:
		return r.usageService()
	}
	switch {
	case errors.Is(err, autostart.ErrMethod):
		fmt.Fprintln(r.Stderr, r.cat.T("err.autostart_method", *method))
		return errUsage
	case errors.Is(err, autostart.ErrNoHome):
		return errors.New(r.cat.T("err.no_home"))
	}
	return err
}

func (r *runner) usageService() error {
	fmt.Fprintln(r.Stderr, r.cat.T("usage.service"))
	return errUsage
}

func (r *runner) methodName(m autostart.Method) string {
	return r.cat.T("autostart." + string(m))
}

func (r *runner) writeJSON(v any) error {
	enc := json.NewEncoder(r.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (r *runner) serviceInstall(ctx context.Context, o autostart.Options, asJSON bool) error {
	e, err := autostart.Install(ctx, o)
	if err != nil {
		return err
	}
	if asJSON {
		return r.writeJSON(e)
	}
	if e.Changed {
		fmt.Fprintln(r.Stdout, r.cat.T("service.installed", r.methodName(e.Method), e.Path))
	} else {
		fmt.Fprintln(r.Stdout, r.cat.T("service.already_installed", r.methodName(e.Method), e.Path))
	}
	if _, running := r.agentPID(ctx); !running {
		fmt.Fprintln(r.Stdout, r.cat.T("service.next_login"))
	}
	return nil
}

func (r *runner) serviceUninstall(ctx context.Context, o autostart.Options, asJSON bool) error {
	removed, err := autostart.Uninstall(ctx, o)
	if err != nil {
		return err
	}
	if asJSON {
		if removed == nil {
			removed = []autostart.Entry{}
		}
		return r.writeJSON(removed)
	}
	if len(removed) == 0 {
		fmt.Fprintln(r.Stdout, r.cat.T("service.not_installed"))
		return nil
	}
	for _, e := range removed {
		fmt.Fprintln(r.Stdout, r.cat.T("service.uninstalled", r.methodName(e.Method), e.Path))
	}
	return nil
}

func (r *runner) serviceStatus(ctx context.Context, o autostart.Options, asJSON bool) error {
	entries, err := autostartState(ctx, o)
	if err != nil {
		return err
	}
	st := serviceStatus{Installed: anyStarts(entries), Entries: entries}
	if st.Entries == nil {
		st.Entries = []autostart.Entry{}
	}
	st.PID, st.Running = r.agentPID(ctx)
	if asJSON {
		return r.writeJSON(st)
	}
	if !st.Installed {
		fmt.Fprintln(r.Stdout, r.cat.T("service.not_installed"))
	}
	r.printEntries(entries)
	if st.Running {
		fmt.Fprintln(r.Stdout, r.cat.T("service.running", st.PID))
	} else {
		fmt.Fprintln(r.Stdout, r.cat.T("service.not_running"))
	}
	return nil
}

// printEntries lists the autostart entries and, where there are two
// kinds (Windows: the MSI's machine-wide Run value and the user's own),
// which one starts the agent.
func (r *runner) printEntries(entries []autostart.Entry) {
	machineInForce := false
	for _, e := range entries {
		machineInForce = machineInForce || (e.MachineWide && e.InForce)
	}
	for _, e := range entries {
		fmt.Fprintln(r.Stdout, r.cat.T("service.entry", r.methodName(e.Method), e.Path))
		switch {
		case e.Disabled:
			fmt.Fprintln(r.Stdout, r.cat.T("service.entry_disabled"))
		case e.InForce && len(entries) > 1:
			fmt.Fprintln(r.Stdout, r.cat.T("service.entry_in_force"))
		case !e.MachineWide && machineInForce:
			fmt.Fprintln(r.Stdout, r.cat.T("service.entry_redundant"))
		}
	}
}

// agentPID asks this session's agent (the invocation's XDG_RUNTIME_DIR)
// for its process id.
func (r *runner) agentPID(ctx context.Context) (int, bool) {
	addr, err := localapi.Address(r.Getenv)
	if err != nil {
		return 0, false
	}
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := localapi.DialAddress(dctx, addr)
	if err != nil {
		return 0, false
	}
	defer c.Close()
	info, err := c.Ping(dctx)
	if err != nil {
		return 0, false
	}
	return info.PID, true
}

// anyStarts: some entry starts the agent (one turned off in Task Manager
// does not).
func anyStarts(entries []autostart.Entry) bool {
	for _, e := range entries {
		if !e.Disabled {
			return true
		}
	}
	return false
}
