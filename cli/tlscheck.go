package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/environment"
)

func (r *runner) tlsCheck(ctx context.Context, args []string) error {
	var cf cardFlags
	fs := r.flagSet("tls-check", &cf)
	envName := fs.String("env", "", "environment whose trust anchors to use")
	caFile := fs.String("ca", "", "PEM file of extra trust anchors for the server")
	tls12 := fs.Bool("tls12", false, "cap at TLS 1.2")
	asJSON := fs.Bool("json", false, "JSON output")
	hsaID := fs.String("hsa-id", "", "the SITHS eID whose key authenticates (a card with several organisations' eIDs)")
	pos, err := r.parse(fs, args, 1)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	anchors := 0
	// The environment in effect (--env, SITHSEID_ENV, else the configured
	// one, with the endpoints and anchors policy gives it) supplies the
	// trust anchors; --ca adds to them, or stands alone when the
	// environment has none and none was asked for by name.
	name := *envName
	env, err := r.environment(name, "")
	switch {
	case err == nil:
		name = env.Name
		if len(env.TrustAnchors) > 0 && roots.AppendCertsFromPEM(env.TrustAnchors) {
			anchors++
		}
	case *caFile == "" || name != "" || !errors.Is(err, environment.ErrNotConfigured):
		return err
	}
	if *caFile != "" {
		pemBytes, err := os.ReadFile(*caFile)
		if err != nil {
			return err
		}
		if !roots.AppendCertsFromPEM(pemBytes) {
			return fmt.Errorf("%s: no PEM certificates", *caFile)
		}
		anchors++
	}
	if anchors == 0 {
		return &environment.NotConfiguredError{Name: name}
	}
	prompt, err := r.prompt(&cf)
	if err != nil {
		return err
	}
	svc, done, err := r.service(&cf)
	if err != nil {
		return err
	}
	defer done()
	req := app.TLSCheckRequest{URL: pos[0], Select: cf.selector(), Roots: roots, Prompt: prompt, HSAID: *hsaID}
	if *tls12 {
		req.MaxVersion = tls.VersionTLS12
	}
	rep, err := svc.TLSCheck(ctx, req)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(r.Stdout, rep)
	}
	fmt.Fprintln(r.Stdout, r.cat.T("tls.ok", rep.Status, rep.URL, rep.Protocol, rep.CipherSuite, rep.Resumed, rep.Signatures))
	fmt.Fprintln(r.Stdout, r.cat.T("tls.server", rep.ServerSubject, rep.ServerIssuer))
	fmt.Fprintln(r.Stdout, r.cat.T("tls.client", rep.ClientSubject))
	return nil
}
