// Package logfile is the product's log: a size-rotated file per user, in
// JSON, with personal numbers and secrets redacted.
package logfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/sithseid/sithseid/internal/atomicfile"
	"sync"
)

// Log file defaults: 1 MiB per file, the current file and four rotated
// ones, so a user's logs never exceed 5 MiB (50 VDI sessions on a host
// share its disk).
const (
	LogFileName     = "sithseid.log"
	DefaultLogSize  = 1 << 20
	DefaultLogFiles = 5
)

// Dir is the user's log directory: $XDG_STATE_HOME/sithseid/log on
// Linux (XDG Base Directory Specification 0.8: "state data ... logs"),
// %LOCALAPPDATA%\sithseid\logs on Windows, ~/Library/Logs/sithseid on
// macOS.
func Dir() (string, error) {
	return logDir(runtime.GOOS, os.Getenv)
}

// DirEnv is Dir with the variables read through getenv.
func DirEnv(getenv func(string) string) (string, error) {
	return logDir(runtime.GOOS, getenv)
}

func logDir(goos string, getenv func(string) string) (string, error) {
	home := getenv("HOME")
	switch goos {
	case "windows":
		if d := getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "sithseid", "logs"), nil
		}
		return "", errors.New("LOCALAPPDATA is not set")
	case "darwin":
		if home == "" {
			return "", errors.New("HOME is not set")
		}
		return filepath.Join(home, "Library", "Logs", "sithseid"), nil
	}
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "sithseid", "log"), nil
	}
	if home == "" {
		return "", errors.New("neither XDG_STATE_HOME nor HOME is set")
	}
	return filepath.Join(home, ".local", "state", "sithseid", "log"), nil
}

// RotatingFile is an io.Writer to a log file that rotates by size:
// when a write would take the file past MaxSize, NAME.(n-1) becomes NAME.n
// (the oldest is dropped), NAME becomes NAME.1 and a new NAME starts.
// Files are created with mode 0600. Safe for concurrent use within one
// process; a single write is never split across files.
type RotatingFile struct {
	path     string
	maxSize  int64
	maxFiles int

	mu   sync.Mutex
	f    *os.File
	size int64
}

// OpenRotatingFile opens (appends to) path. maxSize <= 0 and maxFiles <= 0
// mean the defaults; maxFiles counts the current file.
func OpenRotatingFile(path string, maxSize int64, maxFiles int) (*RotatingFile, error) {
	if maxSize <= 0 {
		maxSize = DefaultLogSize
	}
	if maxFiles <= 0 {
		maxFiles = DefaultLogFiles
	}
	// The directory made 0700 (or refused when not ours) and the file
	// opened without following a link: an attack review found a planted
	// link's target chmodded and a world-writable directory used as it was.
	if err := atomicfile.PrivateDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	w := &RotatingFile{path: path, maxSize: maxSize, maxFiles: maxFiles}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *RotatingFile) open() error {
	// Not through a link, ours, and 0600 (a file of an older build or
	// another umask is tightened).
	f, err := atomicfile.OpenAppend(w.path)
	if err != nil {
		return fmt.Errorf("opening log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening log file: %w", err)
	}
	w.f, w.size = f, st.Size()
	return nil
}

// Path is the current log file.
func (w *RotatingFile) Path() string { return w.path }

// Files lists the log files that exist, newest first.
func (w *RotatingFile) Files() []string {
	var out []string
	for i := 0; i < w.maxFiles; i++ {
		p := w.name(i)
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func (w *RotatingFile) name(i int) string {
	if i == 0 {
		return w.path
	}
	return w.path + "." + strconv.Itoa(i)
}

// Write appends p, rotating first when p would not fit.
func (w *RotatingFile) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, os.ErrClosed
	}
	if w.size > 0 && w.size+int64(len(p)) > w.maxSize {
		if err := w.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	return n, err
}

func (w *RotatingFile) rotate() error {
	if err := w.f.Close(); err != nil {
		return err
	}
	w.f = nil
	_ = os.Remove(w.name(w.maxFiles - 1))
	for i := w.maxFiles - 2; i >= 0; i-- {
		if err := os.Rename(w.name(i), w.name(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return w.open()
}

// Close closes the file.
func (w *RotatingFile) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// Options configures Open. The zero value logs at info level to
// Dir()/sithseid.log.
type Options struct {
	Dir      string     // "" = LogDir()
	Level    slog.Level // also settable later through the returned Log's Level
	MaxSize  int64
	MaxFiles int
}

// Log is the product's logger: JSON lines into a RotatingFile, personal
// numbers masked.
type Log struct {
	*slog.Logger
	Level *slog.LevelVar
	File  *RotatingFile
}

// Open opens the log file and returns the logger.
func Open(opts Options) (*Log, error) {
	dir := opts.Dir
	if dir == "" {
		d, err := Dir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	f, err := OpenRotatingFile(filepath.Join(dir, LogFileName), opts.MaxSize, opts.MaxFiles)
	if err != nil {
		return nil, err
	}
	lv := new(slog.LevelVar)
	lv.Set(opts.Level)
	h := NewRedactingHandler(slog.NewJSONHandler(f, &slog.HandlerOptions{Level: lv, ReplaceAttr: millis}))
	return &Log{Logger: slog.New(h), Level: lv, File: f}, nil
}

// millis writes the record's time to the millisecond in local time with
// its offset: enough to line a log up with pcscd's, and no long digit runs.
func millis(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
		return slog.String(slog.TimeKey, a.Value.Time().Format("2006-01-02T15:04:05.000Z07:00"))
	}
	return a
}

// Close closes the log file.
func (l *Log) Close() error { return l.File.Close() }

// RedactingHandler masks anything that looks like a Swedish personal
// identity number (see MaskPersonalNumbers) in the message and every
// attribute before the wrapped handler sees it. The code never logs an
// unmasked number on purpose; this is defence in depth against an error
// string or a certificate subject that carries one.
type RedactingHandler struct {
	next slog.Handler
}

// NewRedactingHandler wraps next.
func NewRedactingHandler(next slog.Handler) *RedactingHandler {
	return &RedactingHandler{next: next}
}

// Enabled implements slog.Handler.
func (h *RedactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *RedactingHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, MaskPersonalNumbers(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *RedactingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redactAttr(a)
	}
	return &RedactingHandler{next: h.next.WithAttrs(red)}
}

// WithGroup implements slog.Handler.
func (h *RedactingHandler) WithGroup(name string) slog.Handler {
	return &RedactingHandler{next: h.next.WithGroup(MaskPersonalNumbers(name))}
}

func redactAttr(a slog.Attr) slog.Attr {
	a.Key = MaskPersonalNumbers(a.Key)
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(MaskPersonalNumbers(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, ga := range g {
			red[i] = redactAttr(ga)
		}
		a.Value = slog.GroupValue(attrs(red)...)
	case slog.KindInt64, slog.KindUint64:
		// A personal number stored as a number.
		s := v.String()
		if m := MaskPersonalNumbers(s); m != s {
			a.Value = slog.StringValue(m)
		}
	case slog.KindAny:
		// Errors, Stringers, structs: judge their printed form, which is
		// what a text or JSON handler would write.
		s := fmt.Sprintf("%+v", v.Any())
		if err, ok := v.Any().(error); ok {
			s = err.Error()
		}
		if m := MaskPersonalNumbers(s); m != s {
			a.Value = slog.StringValue(m)
		} else {
			a.Value = v
		}
	default:
		a.Value = v
	}
	return a
}

func attrs(as []any) []slog.Attr {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = a.(slog.Attr)
	}
	return out
}

// MaskPersonalNumbers replaces every run that looks like a Swedish
// personal identity number or coordination number in its 12-digit form
// (YYYYMMDDNNNN, also YYYYMMDD-NNNN and YYYYMMDD+NNNN; Skatteverket SKV 704)
// with the date and XXXX, as PersonalNumber.Masked does: "19900101-XXXX".
// A run counts when it is not part of a longer digit run and its first
// eight digits are a plausible date (day + 60 for a coordination number).
// The checksum is not required: a mistyped number is still personal data.
func MaskPersonalNumbers(s string) string {
	var out []byte // nil until the first match
	last := 0
	for i := 0; i < len(s); {
		if !isDigit(s[i]) || (i > 0 && isDigit(s[i-1])) {
			i++
			continue
		}
		end, ok := matchPersonalNumber(s, i)
		if !ok {
			i++
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(s))
		}
		out = append(out, s[last:i]...)
		out = append(out, s[i:i+8]...)
		out = append(out, "-XXXX"...)
		last, i = end, end
	}
	if out == nil {
		return s
	}
	return string(append(out, s[last:]...))
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// matchPersonalNumber reports whether a personal number starts at s[i]
// (a digit not preceded by one) and where it ends.
func matchPersonalNumber(s string, i int) (int, bool) {
	j := i
	for j < len(s) && j-i < 8 && isDigit(s[j]) {
		j++
	}
	if j-i != 8 {
		return 0, false
	}
	if j < len(s) && (s[j] == '-' || s[j] == '+') {
		j++
	}
	k := j
	for k < len(s) && isDigit(s[k]) {
		k++
	}
	if k-j != 4 {
		return 0, false
	}
	y, _ := strconv.Atoi(s[i : i+4])
	m, _ := strconv.Atoi(s[i+4 : i+6])
	d, _ := strconv.Atoi(s[i+6 : i+8])
	if y < 1850 || y > 2099 || m < 1 || m > 12 {
		return 0, false
	}
	if d > 60 {
		d -= 60 // coordination number
	}
	if d < 1 || d > 31 {
		return 0, false
	}
	return k, true
}

var _ io.Writer = (*RotatingFile)(nil)

// Files lists the log files present in dir (the current one first), as
// [RotatingFile.Files] would for the default log there; nothing is opened.
func Files(dir string) []string {
	f := &RotatingFile{path: filepath.Join(dir, LogFileName), maxFiles: DefaultLogFiles}
	return f.Files()
}
