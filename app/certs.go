package app

import (
	"context"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/sithseid/sithseid/cardreader"
)

// ErrConfirmLogin: removing the login certificate needs an explicit
// confirmation (RemoveOptions.ConfirmLogin), since the card cannot log in
// without it afterwards.
var ErrConfirmLogin = errors.New("removing the login certificate needs confirmation")

// ErrNothingExpired: RemoveExpired found no expired certificate.
var ErrNothingExpired = errors.New("no expired certificates on the card")

// ExportFormat is how certificates are written: "pem" or "der".
type ExportFormat string

const (
	PEM ExportFormat = "pem"
	DER ExportFormat = "der"
)

// ExportedFile is one certificate written by Export.
type ExportedFile struct {
	CertID string `json:"certId"`
	Path   string `json:"path"`
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Export writes every certificate of the selected card to dir, one file
// each, named after the card number, kind, usage and ID. Existing files are
// not overwritten: the call fails before writing anything.
func (s *Service) Export(ctx context.Context, sel Selector, dir string, format ExportFormat) ([]ExportedFile, error) {
	if format == "" {
		format = PEM
	}
	if format != PEM && format != DER {
		return nil, fmt.Errorf("export format %q: want pem or der", format)
	}
	s.mu.Lock()
	oc, err := s.selectCard(ctx, sel)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if oc.idErr != nil {
		return nil, oc.idErr
	}
	type file struct {
		path string
		data []byte
		id   string
	}
	var files []file
	for _, c := range oc.identity.Certificates {
		base := strings.Join([]string{oc.identity.CardNumber, string(c.Kind), string(c.Usage), c.ID}, "-")
		base = strings.Trim(unsafeName.ReplaceAllString(base, "_"), "-_")
		data := c.Cert.Raw
		if format == PEM {
			data = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
		}
		files = append(files, file{path: filepath.Join(dir, base+"."+string(format)), data: data, id: c.ID})
	}
	for _, f := range files {
		if _, err := os.Lstat(f.path); err == nil {
			return nil, fmt.Errorf("exporting certificates: %w", &os.PathError{Op: "export", Path: f.path, Err: os.ErrExist})
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("exporting certificates: %w", err)
	}
	var out []ExportedFile
	for _, f := range files {
		// O_EXCL: never follow or replace a file that appeared meanwhile.
		w, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return out, fmt.Errorf("exporting certificates: %w", err)
		}
		_, err = w.Write(f.data)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return out, fmt.Errorf("exporting certificates: %w", err)
		}
		out = append(out, ExportedFile{CertID: f.id, Path: f.path})
	}
	return out, nil
}

// RemoveOptions tunes certificate removal.
type RemoveOptions struct {
	// ConfirmLogin allows removing the login certificate.
	ConfirmLogin bool
	// ManagementKey is a PIV management key given by policy or an
	// administrator (hex bytes inside the secret); nil means the card's
	// PIN-protected key, then the default key.
	ManagementKey *cardreader.Secret
}

// RemoveCertificate removes certificate certID from the selected card. It
// asks for the PIN (PKCS#11 login, or the PIV card's PIN-protected
// management key) after checking the certificate exists, that the card can
// remove certificates at all (cardreader.RemovalSupported, else
// cardreader.ErrRemovalUnsupported with no prompt) and, for the login
// certificate, that removal was confirmed.
func (s *Service) RemoveCertificate(ctx context.Context, sel Selector, certID string, opts RemoveOptions, prompt Prompt) error {
	_, err := s.removeCertificates(ctx, sel, func(id cardreader.Identity) ([]string, error) {
		c, ok := id.Certificate(strings.ToLower(certID))
		if !ok {
			return nil, fmt.Errorf("%q: %w", certID, cardreader.ErrCertificateNotFound)
		}
		return []string{c.ID}, nil
	}, opts, prompt)
	return err
}

// RemoveExpired removes every expired certificate from the selected card in
// one step (one PIN entry) and returns their IDs.
func (s *Service) RemoveExpired(ctx context.Context, sel Selector, opts RemoveOptions, prompt Prompt) ([]string, error) {
	return s.removeCertificates(ctx, sel, func(id cardreader.Identity) ([]string, error) {
		var ids []string
		for _, c := range id.Expired(s.now()) {
			ids = append(ids, c.ID)
		}
		if len(ids) == 0 {
			return nil, ErrNothingExpired
		}
		return ids, nil
	}, opts, prompt)
}

func (s *Service) removeCertificates(ctx context.Context, sel Selector, pick func(cardreader.Identity) ([]string, error), opts RemoveOptions, prompt Prompt) ([]string, error) {
	// The lock for the card phases only, never over the prompt; the PIN
	// goes to the card selected here and no other (ErrCardChanged).
	s.mu.Lock()
	oc, err := s.selectCard(ctx, sel)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	// A card with no certificates left has nothing to remove: pick says so.
	if oc.idErr != nil && !errors.Is(oc.idErr, cardreader.ErrNoCertificates) {
		return nil, oc.idErr
	}
	ids, err := pick(oc.identity)
	if err != nil {
		return nil, err
	}
	// A card that cannot remove certificates at all (an IDPrime card on
	// the native backend) says so before the holder types a PIN for
	// nothing, and before asking to confirm the login certificate's end.
	if !cardreader.RemovalSupported(oc.card) {
		return nil, fmt.Errorf("removing certificate %s: %w", strings.Join(ids, ", "), cardreader.ErrRemovalUnsupported)
	}
	for _, id := range ids {
		if c, _ := oc.identity.Certificate(id); c.Login && !opts.ConfirmLogin {
			return nil, ErrConfirmLogin
		}
	}
	s.mu.Lock()
	st, err := onCard(s, ctx, oc.card.PINStatus)
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("reading PIN tries left: %w", err)
	}
	if st.Blocked {
		return nil, cardreader.ErrPINBlocked
	}
	pin, err := prompt(ctx, oc.request(PromptPIN, st.Retries))
	if err != nil {
		return nil, err
	}
	defer pin.Wipe()
	s.mu.Lock()
	defer s.mu.Unlock()
	auth := cardreader.RemoveAuth{PIN: pin, ManagementKey: opts.ManagementKey}
	if auth.ManagementKey == nil && s.opts.ManagementKeyFile != "" && oc.card.Backend() == cardreader.BackendPIV {
		key, err := readManagementKeyFile(s.opts.ManagementKeyFile)
		if err != nil {
			return nil, err
		}
		defer key.Wipe()
		auth.ManagementKey = key
	}
	var removed []string
	for _, id := range ids {
		if _, err := onCard(s, ctx, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, withOutcome(ErrRemovalOutcomeUnknown, oc.card, oc.card.RemoveCertificate(ctx, id, auth))
		}); err != nil {
			s.cache.Invalidate(cardreader.CacheKey(oc.card.Backend(), s.cardID(ctx, oc.card)))
			return removed, fmt.Errorf("removing certificate %s: %w", id, err)
		}
		removed = append(removed, id)
		s.log.Info("certificate removed", "reader", oc.card.Reader(), "card", oc.identity.CardNumber, "cert", id)
	}
	s.cache.Invalidate(cardreader.CacheKey(oc.card.Backend(), s.cardID(ctx, oc.card)))
	return removed, nil
}

func (s *Service) cardID(ctx context.Context, c cardreader.Card) string {
	id, err := onCard(s, ctx, c.ID)
	if err != nil {
		return ""
	}
	return id
}

// ErrBadManagementKey: a management key that is not 16, 24 or 32 bytes of
// hex (3DES is 24; AES-128, -192 and -256 are 16, 24 and 32).
var ErrBadManagementKey = errors.New("a PIV management key is 32, 48 or 64 hex digits")

// ParseManagementKey decodes a PIV management key written in hex (spaces,
// colons and a trailing newline allowed) into a new Secret, and wipes
// hexKey. Neither the text nor the key is ever printed.
func ParseManagementKey(hexKey *cardreader.Secret) (*cardreader.Secret, error) {
	defer hexKey.Wipe()
	src := hexKey.Bytes()
	digits := make([]byte, 0, len(src))
	defer func() { clear(digits[:cap(digits)]) }()
	for _, c := range src {
		switch {
		case c == ' ' || c == ':' || c == '\n' || c == '\r' || c == '\t':
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
			digits = append(digits, c)
		default:
			return nil, ErrBadManagementKey
		}
	}
	switch len(digits) {
	case 32, 48, 64:
	default:
		return nil, ErrBadManagementKey
	}
	key := make([]byte, len(digits)/2)
	if _, err := hex.Decode(key, digits); err != nil {
		clear(key)
		return nil, ErrBadManagementKey
	}
	return cardreader.NewSecret(key), nil
}

// readManagementKeyFile reads and parses the policy's management key file.
// A file others may write is refused: whoever writes it chooses the key
// that authorises deleting certificates.
func readManagementKeyFile(path string) (*cardreader.Secret, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("the policy's management key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("the policy's management key file: %w", err)
	}
	if fi.Mode().Perm()&0o022 != 0 || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("the policy's management key file %s: writable by others or not a file: %w", path, ErrBadManagementKey)
	}
	buf := make([]byte, 256)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		clear(buf)
		return nil, fmt.Errorf("the policy's management key file: %w", err)
	}
	if n == len(buf) {
		clear(buf)
		return nil, fmt.Errorf("the policy's management key file %s: too long: %w", path, ErrBadManagementKey)
	}
	return ParseManagementKey(cardreader.NewSecret(buf[:n]))
}
