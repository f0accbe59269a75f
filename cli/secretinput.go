package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/sithseid/sithseid/cardreader"
)

// maxSecretLen bounds a PIN, PUK or key line; anything longer is refused
// rather than truncated.
const maxSecretLen = 64

var errNoTerminal = errors.New("standard input is not a terminal: use --pin-stdin")

// secretSource hands out PINs and PUKs one at a time. Two kinds exist: a
// terminal without echo (asks, and asks twice for a new PIN), and lines
// from standard input (--pin-stdin: one line each, no confirmation).
type secretSource interface {
	// Secret asks for one value. label is shown on the terminal only.
	Secret(label string) (*cardreader.Secret, error)
	// NewSecret asks for a new value, twice on a terminal.
	NewSecret(label, again string) (*cardreader.Secret, error)
}

// lineSource reads one secret per line from r. It reads byte by byte,
// with no buffer of its own that would keep the bytes after the read, and
// into a slice that never grows (a grown slice leaves a copy behind); the
// Secret takes the bytes and no string is ever made of them. It reads no
// further than the line's end, so the next secret is still in r.
type lineSource struct {
	r   io.Reader
	one [1]byte
}

func newLineSource(r io.Reader) *lineSource { return &lineSource{r: r} }

var errNoMoreLines = errors.New("standard input ended before every PIN/PUK was given")

func (s *lineSource) Secret(string) (*cardreader.Secret, error) {
	defer clear(s.one[:])
	buf := make([]byte, 0, maxSecretLen+1)
	for {
		_, err := io.ReadFull(s.r, s.one[:])
		if err == io.EOF {
			if len(buf) == 0 {
				return nil, errNoMoreLines
			}
			break
		}
		if err != nil {
			clear(buf)
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		c := s.one[0]
		if c == '\n' {
			break
		}
		if len(buf) >= maxSecretLen {
			clear(buf[:cap(buf)])
			return nil, errors.New("a line on standard input is too long for a PIN or PUK")
		}
		buf = append(buf, c)
	}
	if n := len(buf); n > 0 && buf[n-1] == '\r' {
		buf[n-1] = 0
		buf = buf[:n-1]
	}
	return cardreader.NewSecret(buf), nil
}

func (s *lineSource) NewSecret(label, _ string) (*cardreader.Secret, error) { return s.Secret(label) }

// terminalSource reads from the controlling terminal without echo.
type terminalSource struct {
	fd       int
	prompts  io.Writer
	mismatch string // shown when the two entries of a new value differ
	tries    int    // how often to ask again after a mismatch
}

func newTerminalSource(in *os.File, prompts io.Writer, mismatch string) (*terminalSource, error) {
	fd := int(in.Fd())
	if !term.IsTerminal(fd) {
		return nil, errNoTerminal
	}
	return &terminalSource{fd: fd, prompts: prompts, mismatch: mismatch, tries: 3}, nil
}

func (s *terminalSource) Secret(label string) (*cardreader.Secret, error) {
	fmt.Fprintf(s.prompts, "%s: ", label)
	b, err := term.ReadPassword(s.fd)
	fmt.Fprintln(s.prompts)
	if err != nil {
		clear(b)
		return nil, fmt.Errorf("reading from the terminal: %w", err)
	}
	if len(b) > maxSecretLen {
		clear(b)
		return nil, errors.New("the value typed is too long for a PIN or PUK")
	}
	return cardreader.NewSecret(b), nil
}

func (s *terminalSource) NewSecret(label, again string) (*cardreader.Secret, error) {
	for i := 0; i < s.tries; i++ {
		first, err := s.Secret(label)
		if err != nil {
			return nil, err
		}
		second, err := s.Secret(again)
		if err != nil {
			first.Wipe()
			return nil, err
		}
		same := first.Equal(second)
		second.Wipe()
		if same {
			return first, nil
		}
		first.Wipe()
		fmt.Fprintln(s.prompts, s.mismatch)
	}
	return nil, errors.New("the new PIN was not typed the same way twice")
}
