package cli

import (
	"context"
	"fmt"

	"github.com/sithseid/sithseid/internal/atomicfile"
)

// qr writes the current animated QR code of an order to a PNG file, for
// finishing the login on the phone.
func (r *runner) qr(ctx context.Context, args []string) error {
	var cf cardFlags
	fs := r.flagSet("qr", &cf)
	envName := fs.String("env", "", "environment: PROD, QA, TEST or DEMO")
	service := fs.String("service", "", "identity service URL (trust anchors stay the environment's)")
	out := fs.String("out", "", "PNG file to write")
	size := fs.Int("size", 320, "image size in pixels")
	pos, err := r.parse(fs, args, 1)
	if err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return errUsage
	}
	env, err := r.environment(*envName, *service)
	if err != nil {
		return err
	}
	svc, done, err := r.service(&cf)
	if err != nil {
		return err
	}
	defer done()
	h, err := svc.QR(ctx, pos[0], env, *size)
	if err != nil {
		return err
	}
	// Never through a link planted at --out (attack review, files).
	if err := atomicfile.WriteOutput(*out, h.PNG); err != nil {
		return err
	}
	fmt.Fprintln(r.Stdout, r.cat.T("qr.written", *out, int(h.ValidFor.Seconds())))
	return nil
}
