package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"github.com/sithseid/sithseid/internal/atomicfile"
)

var organisationNumber = regexp.MustCompile(`^SE[0-9]{10}$`)

// checkOrganisationNumber accepts "" or "SE" and ten digits.
func checkOrganisationNumber(v any) error {
	if s := v.(string); s != "" && !organisationNumber.MatchString(s) {
		return errors.New(`want "SE" and the ten-digit organisation number, e.g. SE2321000016`)
	}
	return nil
}

// EIDPreferences is the user's default SITHS eID per card, for cards with
// several organisations' eIDs (issue 15): a JSON object from card number
// to HSA-ID in a file of its own beside the user's configuration
// (DefaultEIDPreferencesFile), written atomically with mode 0600. It
// implements app.EIDPreferences. The zero value remembers nothing.
type EIDPreferences struct {
	Path string
	mu   sync.Mutex
}

// DefaultEIDPreferencesFile is os.UserConfigDir()/sithseid/eids.json.
func DefaultEIDPreferencesFile() (string, error) {
	f, err := DefaultUserFile()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(f), "eids.json"), nil
}

// NewEIDPreferences returns the preferences kept in path ("" = the
// default file; nil when there is none).
func NewEIDPreferences(path string) *EIDPreferences {
	if path == "" {
		var err error
		if path, err = DefaultEIDPreferencesFile(); err != nil {
			return nil
		}
	}
	return &EIDPreferences{Path: path}
}

func (p *EIDPreferences) read() (map[string]string, error) {
	m := map[string]string{}
	if p == nil || p.Path == "" {
		return m, nil
	}
	b, err := os.ReadFile(p.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return map[string]string{}, fmt.Errorf("%s: %w", p.Path, err)
	}
	return m, nil
}

// DefaultEID returns the HSA-ID chosen for the card, "" for none.
func (p *EIDPreferences) DefaultEID(cardNumber string) string {
	if p == nil {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	m, _ := p.read()
	return m[cardNumber]
}

// SetDefaultEID remembers hsaID as the card's default eID.
func (p *EIDPreferences) SetDefaultEID(cardNumber, hsaID string) error {
	if p == nil || p.Path == "" {
		return errors.New("no file for the default eIDs")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	m, err := p.read()
	if err != nil {
		m = map[string]string{} // a broken file is replaced, not kept
	}
	if m[cardNumber] == hsaID {
		return nil
	}
	m[cardNumber] = hsaID
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(p.Path, append(b, '\n'))
}

// EIDPreferences returns the default-eID preferences kept beside the
// user's configuration file (eids.json), nil when c is nil or has none.
func (c *Config) EIDPreferences() *EIDPreferences {
	if c == nil || c.UserFile() == "" {
		return nil
	}
	return &EIDPreferences{Path: filepath.Join(filepath.Dir(c.UserFile()), "eids.json")}
}
