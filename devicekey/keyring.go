// Package devicekey keeps the installation's device key: in the OS keyring,
// else in a file of mode 0600 in the user's configuration directory.
package devicekey

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/sithseid/sithseid/internal/atomicfile"
)

// Keyring entry of the device key: service and user as the OS keyring
// shows them (Secret Service attributes, Windows credential target,
// macOS keychain service/account).
const (
	DeviceKeyService = "SITHS eID"
	DeviceKeyUser    = "device-key"
	// DeviceKeyFile is the fallback's file name in the user's config dir.
	DeviceKeyFile = "device-key.pem"
	// DefaultKeyringTimeout bounds each keyring call.
	DefaultKeyringTimeout = 3 * time.Second
)

// KeySource says where the device key is kept.
type Source string

const (
	KeyInKeyring Source = "keyring"
	KeyInFile    Source = "file"
)

// ErrKeyringTimeout: the keyring did not answer in time (a D-Bus session
// whose Secret Service hangs, a locked keychain waiting for the user).
var ErrKeyringTimeout = errors.New("keyring did not answer in time")

// DeviceKeyStore keeps the installation's device key for the identity
// service: an ECDSA P-256 key created on first use. It lives in the OS
// keyring (Secret Service on Linux, Credential Manager on Windows, the
// login keychain on macOS, through github.com/zalando/go-keyring). Where
// the keyring cannot be reached (headless hosts and VDI images without a
// Secret Service) the key is kept in a file in the user's config directory
// with mode 0600, and a warning saying so is logged each time.
//
// Every keyring call runs in a goroutine bounded by Timeout: a blocked
// D-Bus must not hang the agent's start. A call that times out is left to
// finish (go-keyring cannot be cancelled) and its result is dropped.
type Store struct {
	// Dir holds the fallback file; "" means os.UserConfigDir()/sithseid.
	Dir string
	// Timeout per keyring call; 0 means DefaultKeyringTimeout.
	Timeout time.Duration
	// Log receives the fallback warning; nil discards.
	Log *slog.Logger
	// Service and User override the keyring entry (tests); "" means the
	// constants above.
	Service, User string
}

func (s *Store) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (s *Store) entry() (string, string) {
	svc, user := s.Service, s.User
	if svc == "" {
		svc = DeviceKeyService
	}
	if user == "" {
		user = DeviceKeyUser
	}
	return svc, user
}

// FallbackPath is the fallback file.
func (s *Store) FallbackPath() (string, error) {
	dir := s.Dir
	if dir == "" {
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("finding the user's configuration directory: %w", err)
		}
		dir = filepath.Join(d, "sithseid")
	}
	return filepath.Join(dir, DeviceKeyFile), nil
}

// DeviceKey returns the device key, creating it on first use, and where it
// is kept. Order: the keyring; a key already in the fallback file (made
// while the keyring was away: the same installation keeps the same key);
// else a new key, stored in the keyring, or in the file when the keyring
// cannot take it.
func (s *Store) DeviceKey(ctx context.Context) (*ecdsa.PrivateKey, Source, error) {
	svc, user := s.entry()
	path, err := s.FallbackPath()
	if err != nil {
		return nil, "", err
	}
	enc, kerr := s.call(ctx, func() (string, error) { return keyring.Get(svc, user) })
	if kerr == nil {
		k, err := decodeDeviceKey(enc)
		if err != nil {
			return nil, "", fmt.Errorf("device key in the keyring: %w", err)
		}
		return k, KeyInKeyring, nil
	}
	if ctx.Err() != nil {
		return nil, "", ctx.Err()
	}
	keyringUp := errors.Is(kerr, keyring.ErrNotFound)
	if k, err := s.readDeviceKeyFile(path); err == nil {
		s.warnFallback(path, kerr)
		return k, KeyInFile, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, "", err
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	if keyringUp {
		enc, err := encodeDeviceKey(k)
		if err != nil {
			return nil, "", err
		}
		_, kerr = s.call(ctx, func() (string, error) { return "", keyring.Set(svc, user, enc) })
		if kerr == nil {
			s.log().Info("device key created in the keyring")
			return k, KeyInKeyring, nil
		}
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
	}
	if err := writeDeviceKeyFile(path, k); err != nil {
		return nil, "", err
	}
	s.warnFallback(path, kerr)
	return k, KeyInFile, nil
}

// Delete removes the device key from the keyring and the fallback file
// (a reset; the identity service then sees a new installation).
func (s *Store) Delete(ctx context.Context) error {
	svc, user := s.entry()
	_, kerr := s.call(ctx, func() (string, error) { return "", keyring.Delete(svc, user) })
	if errors.Is(kerr, keyring.ErrNotFound) {
		kerr = nil
	}
	path, err := s.FallbackPath()
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return kerr
}

func (s *Store) warnFallback(path string, why error) {
	s.log().Warn("no usable OS keyring: the device key is kept in a file instead",
		"file", path, "keyringErr", why)
}

// call runs f with the timeout; a call still running when it expires is
// abandoned.
func (s *Store) call(ctx context.Context, f func() (string, error)) (string, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultKeyringTimeout
	}
	type result struct {
		v   string
		err error
	}
	ch := make(chan result, 1) // buffered: an abandoned call does not block
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-t.C:
		return "", fmt.Errorf("after %v: %w", timeout, ErrKeyringTimeout)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// The keyring holds base64 PKCS#8 DER (about 190 characters: well under
// the Windows credential blob limit of 2560 bytes).
func encodeDeviceKey(k *ecdsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

func decodeDeviceKey(s string) (*ecdsa.PrivateKey, error) {
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	return parseDeviceKeyDER(der)
}

func parseDeviceKeyDER(der []byte) (*ecdsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 key")
	}
	return ek, nil
}

// readDeviceKeyFile reads the fallback file: never through a link, never
// one of another user's; a file group or world could read is set to 0600
// and logged (the key may have been read: the log says so).
func (s *Store) readDeviceKeyFile(path string) (*ecdsa.PrivateKey, error) {
	b, loosened, err := atomicfile.ReadPrivate(path)
	if err != nil {
		return nil, err
	}
	if loosened != 0 {
		s.log().Warn("device key file was readable by others: mode set to 0600",
			"file", path, "mode", loosened.String())
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PEM private key", path)
	}
	k, err := parseDeviceKeyDER(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

func writeDeviceKeyFile(path string, k *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}
