// Package diag writes the diagnostics archive helpdesk asks for: versions,
// readers, card status, configuration and logs; never a PIN or PUK,
// personal numbers masked.
package diag

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/atomicfile"
	"github.com/sithseid/sithseid/logfile"
)

// DiagOptions says what a diagnostics archive collects. Every field is
// optional: what is missing is left out and said so in errors.txt.
type Options struct {
	// Version is the build's version string.
	Version string
	// Config is the loaded configuration (effective values with sources).
	Config *config.Config
	// Service reads the card status (personal numbers masked).
	Service *app.Service
	// Readers lists readers and ATRs; nil means cardreader.ListReaders.
	Readers app.ReaderLister
	// LogFiles are the log files to include, newest first; nil means the
	// rotated files in LogDir.
	LogFiles []string
	// LogDir is where the log files are; "" means LogDir().
	LogDir string
	// Problems are findings of the caller's (a configuration that did not
	// load), added to errors.txt.
	Problems []string
	// PKCS11Module is the module path in use ("" = the defaults), and
	// PKCS11Defaults the paths tried by default on this OS.
	PKCS11Module   string
	PKCS11Defaults []string
	// StepTimeout bounds each card or PC/SC step; 0 means 20 s.
	StepTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DiagSummary is summary.json in the archive.
type Summary struct {
	Product   string    `json:"product"`
	Version   string    `json:"version"`
	Created   time.Time `json:"created"`
	GoVersion string    `json:"goVersion"`
	OS        string    `json:"os"`
	Arch      string    `json:"arch"`
	OSRelease string    `json:"osRelease,omitempty"`
	Kernel    string    `json:"kernel,omitempty"`
	Session   struct {
		Desktop     string `json:"desktop,omitempty"`
		SessionType string `json:"sessionType,omitempty"`
		// VDI: set when the session looks like Citrix or VMware Horizon.
		VDI string `json:"vdi,omitempty"`
	} `json:"session"`
	Modules []string `json:"modules,omitempty"`
	// Files lists the archive's files with what each holds.
	Files map[string]string `json:"files"`
}

// WriteDiagnostics writes a zip archive to w for helpdesk: summary.json
// (versions, OS, session), readers.json (readers, ATRs), status.json (the
// cards, personal numbers masked), config.json (effective values with
// their sources, policy sources, warnings), environment.json, pkcs11.json,
// the log files under logs/, and errors.txt for what could not be
// collected.
//
// No PIN or PUK is ever held by this code. As a last line of defence every
// file is scrubbed before it goes into the archive: anything that looks
// like a personal number is masked (MaskPersonalNumbers), whatever wrote
// it.
func Write(ctx context.Context, w io.Writer, opts Options) error {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	step := opts.StepTimeout
	if step <= 0 {
		step = 20 * time.Second
	}
	zw := zip.NewWriter(w)
	d := &diagWriter{zw: zw, created: now(), problems: append([]string(nil), opts.Problems...)}
	sum := Summary{
		Product:   "SITHS eID",
		Version:   opts.Version,
		Created:   d.created.UTC(),
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		Files:     map[string]string{},
	}
	sum.OSRelease, sum.Kernel = osRelease()
	sum.Session.Desktop = os.Getenv("XDG_CURRENT_DESKTOP")
	sum.Session.SessionType = os.Getenv("XDG_SESSION_TYPE")
	sum.Session.VDI = vdiHint(os.Getenv)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			sum.Modules = append(sum.Modules, m.Path+" "+m.Version)
		}
	}

	// Readers and ATRs.
	list := opts.Readers
	if list == nil {
		list = cardreader.ListReaders
	}
	sctx, cancel := context.WithTimeout(ctx, step)
	readers, err := list(sctx)
	cancel()
	type readerJSON struct {
		Name        string `json:"name"`
		CardPresent bool   `json:"cardPresent"`
		ATR         string `json:"atr,omitempty"`
	}
	rj := []readerJSON{}
	for _, r := range readers {
		rj = append(rj, readerJSON{Name: r.Name, CardPresent: r.CardPresent, ATR: hex.EncodeToString(r.ATR)})
	}
	d.json("readers.json", "PC/SC readers and the ATR of each card", map[string]any{"readers": rj, "error": errString(err)}, sum.Files)
	if err != nil {
		d.problem("readers", err)
	}

	// Card status.
	if opts.Service != nil {
		sctx, cancel := context.WithTimeout(ctx, step)
		st, err := opts.Service.Status(sctx, app.StatusOptions{})
		cancel()
		d.json("status.json", "the cards as 'sithseid status --json' shows them (personal numbers masked)", map[string]any{"status": st, "error": errString(err)}, sum.Files)
		if err != nil {
			d.problem("status", err)
		}
	} else {
		d.problem("status", errors.New("not collected (no card service)"))
	}

	// Configuration and environment.
	if c := opts.Config; c != nil {
		d.json("config.json", "effective configuration with the source of each value", map[string]any{
			"entries":       c.Entries(),
			"policySources": c.PolicySources(),
			"userFile":      c.UserFile(),
			"warnings":      c.Warnings(),
		}, sum.Files)
		env, err := c.Environment()
		ej := map[string]any{
			"name":        env.Name,
			"serviceURL":  env.ServiceURL,
			"placeholder": env.Placeholder,
			"canSwitch":   c.CanSwitchEnvironment(),
			"error":       errString(err),
		}
		if len(env.TrustAnchors) > 0 {
			sumA := sha256.Sum256(env.TrustAnchors)
			ej["trustAnchorsSHA256"] = hex.EncodeToString(sumA[:])
			ej["trustAnchors"] = string(env.TrustAnchors)
		}
		d.json("environment.json", "the effective environment: service URL, trust anchors", ej, sum.Files)
	} else {
		d.problem("config", errors.New("not collected (no configuration)"))
	}

	// PKCS#11 module.
	mods := []map[string]any{}
	paths := opts.PKCS11Defaults
	if opts.PKCS11Module != "" {
		paths = []string{opts.PKCS11Module}
	}
	for _, p := range paths {
		m := map[string]any{"path": p}
		if fi, err := os.Stat(p); err == nil {
			m["exists"], m["size"], m["modified"] = true, fi.Size(), fi.ModTime().UTC()
		} else {
			m["exists"] = false
		}
		mods = append(mods, m)
	}
	d.json("pkcs11.json", "the PKCS#11 module configured, or the defaults tried", map[string]any{"configured": opts.PKCS11Module, "modules": mods}, sum.Files)

	// Logs.
	logs := opts.LogFiles
	if logs == nil {
		dir, err := opts.LogDir, error(nil)
		if dir == "" {
			dir, err = logfile.Dir()
		}
		if err == nil {
			logs = logfile.Files(dir)
		}
	}
	if len(logs) == 0 {
		d.problem("logs", errors.New("no log files found"))
	}
	for _, p := range logs {
		b, err := os.ReadFile(p)
		if err != nil {
			d.problem("log "+p, err)
			continue
		}
		d.file("logs/"+filepath.Base(p), b)
		sum.Files["logs/"+filepath.Base(p)] = "log file"
	}

	if len(d.problems) > 0 {
		d.file("errors.txt", []byte(strings.Join(d.problems, "\n")+"\n"))
		sum.Files["errors.txt"] = "what could not be collected"
	}
	sum.Files["summary.json"] = "versions, OS, session"
	d.json("summary.json", "", sum, nil)
	if d.err != nil {
		return d.err
	}
	return zw.Close()
}

// WriteDiagnosticsFile writes the archive to path (mode 0600; an existing
// file is replaced only once the new archive is complete).
func WriteFile(ctx context.Context, path string, opts Options) error {
	var buf bytes.Buffer
	if err := Write(ctx, &buf, opts); err != nil {
		return err
	}
	// A path the user named: its directory is left as it is, a link at
	// path is refused.
	if err := atomicfile.WriteOutput(path, buf.Bytes()); err != nil {
		return &OutputError{Path: path, Err: err}
	}
	return nil
}

// OutputError: the archive could not be written at Path (a missing
// folder, a read-only place, a link refused). Err is the file system's
// error; the archive itself was collected.
type OutputError struct {
	Path string
	Err  error
}

func (e *OutputError) Error() string {
	return "writing the diagnostics archive " + e.Path + ": " + e.Err.Error()
}

func (e *OutputError) Unwrap() error { return e.Err }

type diagWriter struct {
	zw       *zip.Writer
	created  time.Time
	problems []string
	err      error
}

func (d *diagWriter) problem(what string, err error) {
	d.problems = append(d.problems, what+": "+err.Error())
}

func (d *diagWriter) json(name, about string, v any, files map[string]string) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		d.problem(name, err)
		return
	}
	d.file(name, append(b, '\n'))
	if files != nil {
		files[name] = about
	}
}

// file adds name with its contents scrubbed of personal numbers.
func (d *diagWriter) file(name string, b []byte) {
	if d.err != nil {
		return
	}
	hdr := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: d.created}
	hdr.SetMode(0o600)
	fw, err := d.zw.CreateHeader(hdr)
	if err != nil {
		d.err = err
		return
	}
	_, d.err = io.WriteString(fw, logfile.MaskPersonalNumbers(string(b)))
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// osRelease is the OS's name and version and its kernel version, read
// from this machine.
func osRelease() (release, kernel string) {
	return osInfo(systemOS())
}

// vdiHint names the VDI product a session runs in, from variables their
// agents set (Citrix: SESSIONNAME ICA-*, CITRIX_*; Horizon: ViewClient_*).
func vdiHint(getenv func(string) string) string {
	switch {
	case strings.HasPrefix(getenv("SESSIONNAME"), "ICA"), getenv("CITRIX_SESSION_ID") != "":
		return "Citrix"
	case getenv("ViewClient_Machine_Name") != "", getenv("ViewClient_Type") != "":
		return fmt.Sprintf("VMware Horizon (%s)", getenv("ViewClient_Type"))
	}
	return ""
}
