package cli

import (
	"context"
	"fmt"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/environment"
)

// environment is the invocation's environment (startup.Session.Environment:
// --env, SITHSEID_ENV, the configuration; --service, SITHSEID_SERVICE_URL).
func (r *runner) environment(name, service string) (environment.Environment, error) {
	return r.s.Environment(name, service)
}

func (r *runner) login(ctx context.Context, args []string) error {
	var cf cardFlags
	fs := r.flagSet("login", &cf)
	envName := fs.String("env", "", "environment: PROD, QA, TEST or DEMO")
	service := fs.String("service", "", "identity service URL (trust anchors stay the environment's)")
	hsaID := fs.String("hsa-id", "", "the SITHS eID to log in with (a card with several organisations' eIDs)")
	pos, err := r.parse(fs, args, 1)
	if err != nil {
		return err
	}
	env, err := r.environment(*envName, *service)
	if err != nil {
		return err
	}
	prompt, err := r.prompt(&cf)
	if err != nil {
		return err
	}
	// The agent logs in to its own environment: a login to another one
	// (--env, --service) runs in-process.
	svc, done, err := r.operationsUnless(ctx, &cf, *envName != "" || *service != "")
	if err != nil {
		return err
	}
	defer done()
	res, err := svc.Login(ctx, app.LoginRequest{
		Link:   pos[0],
		Select: cf.selector(),
		Env:    env,
		Prompt: prompt,
		HSAID:  *hsaID,
		Approve: func(_ context.Context, a app.LoginApproval) error {
			// Who asks, and what for, before the PIN: typing the PIN is
			// the approval.
			fmt.Fprintln(r.Stderr, r.cat.T("login.asks", a.RelyingParty))
			if a.Text != "" {
				fmt.Fprintln(r.Stderr, r.cat.T("login.text", a.Text))
			}
			fmt.Fprintln(r.Stderr, r.cat.T("login.as", a.Holder, a.HSAID, a.CardNumber))
			for _, e := range a.EIDs {
				if e.HSAID == a.HSAID {
					fmt.Fprintln(r.Stderr, r.cat.T("login.eid_org", e.Organisation))
				}
			}
			// Where it was started, as the identity service saw it
			// (docs/protocol.md §8.1), and whose login to approve.
			if o := a.Origin; o != nil && o.EndUserIPMatch {
				fmt.Fprintln(r.Stderr, r.cat.T("login.origin_same", o.EndUserIP))
			} else if o != nil {
				fmt.Fprintln(r.Stderr, r.cat.T("login.origin_other_cli", o.EndUserIP))
			}
			fmt.Fprintln(r.Stderr, r.cat.T("login.only_yours_cli"))
			return nil
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(r.Stdout, r.cat.T("login.done", res.RelyingParty, res.HSAID))
	if res.Redirect != "" {
		fmt.Fprintln(r.Stdout, r.cat.T("login.redirect", res.Redirect))
	}
	return nil
}
