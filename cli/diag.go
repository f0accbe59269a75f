package cli

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/sithseid/sithseid/cardreader/pkcs11"
	"github.com/sithseid/sithseid/diag"
	"github.com/sithseid/sithseid/logfile"
)

// diag runs "diag --out FILE.zip": the archive helpdesk asks for (see
// diag.Write for what it holds; never a PIN or PUK, personal
// numbers masked).
func (r *runner) diag(ctx context.Context, args []string) error {
	var cf cardFlags
	fs := r.flagSet("diag", &cf)
	out := fs.String("out", "", "archive to write (.zip)")
	if _, err := r.parse(fs, args, 0); err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return errUsage
	}
	opts := diag.Options{Version: r.Version, PKCS11Defaults: pkcs11.DefaultModulePaths()}
	// A configuration that does not load is itself a finding: the archive
	// is still written, with the error in errors.txt.
	cfg, cfgErr := r.loadConfig()
	if cfgErr == nil {
		opts.Config = cfg
		s := cfg.Effective()
		if cf.backend == "" {
			cf.backend = s.Backend
		}
		if cf.module == "" {
			cf.module = s.PKCS11Module
		}
	} else {
		opts.Problems = append(opts.Problems, "configuration: "+cfgErr.Error())
	}
	opts.PKCS11Module = cf.module
	if dir, err := logfile.DirEnv(r.Getenv); err == nil {
		opts.LogDir = dir
	}
	svc, done, err := r.service(&cf)
	if err != nil {
		opts.Problems = append(opts.Problems, "card service: "+err.Error())
	} else {
		defer done()
		opts.Service = svc
	}
	abs, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	if err := diag.WriteFile(ctx, abs, opts); err != nil {
		return err
	}
	fmt.Fprintln(r.Stdout, r.cat.T("diag.written", abs))
	return nil
}
