// Package atomicfile is the one writer of the files the app keeps or is
// asked to write: a file is written whole or not at all, mode 0600, and
// never through a symbolic link.
//
// # Why
//
// An attack review (files) found that a link planted at a path the app
// writes (qr --out, the log file, the device key, the user configuration)
// made the app overwrite or chmod the link's target, and that a
// pre-existing group- or world-writable directory was used as it was.
// So: a path that is a symbolic link is refused (ErrSymlink), files are
// written to a temporary file and renamed (rename replaces a name, it never
// follows one), appends and reads open with O_NOFOLLOW, and the app's own
// directories are made 0700 when they are ours or refused when they are
// not (ErrUnsafeDir).
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrSymlink: the path to write or read is a symbolic link; it is left alone.
var ErrSymlink = errors.New("is a symbolic link (refused, left untouched)")

// ErrUnsafeDir: a directory or file of the app's own is not the user's
// (another user could change it), or is not what it should be.
var ErrUnsafeDir = errors.New("not owned by this user or not private")

// WriteFile writes data to path, a file of the app's own: its directory is
// created 0700 or made private (PrivateDir), then the data goes through
// WriteOutput.
func WriteFile(path string, data []byte) error {
	if err := PrivateDir(filepath.Dir(path)); err != nil {
		return err
	}
	return WriteOutput(path, data)
}

// WriteOutput writes data to path, a file the user named (qr --out, diag
// --out), whose directory is the user's business and is not changed: a
// temporary file in the same directory, mode 0600, synced and renamed over
// path. A path that is a symbolic link is refused.
func WriteOutput(path string, data []byte) (err error) {
	if err := refuseSymlink(path); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	// Checked again: a link planted since the first look is replaced by
	// the rename, never followed, but it is not ours to replace.
	if err := refuseSymlink(path); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func refuseSymlink(path string) error {
	st, err := os.Lstat(path)
	if err == nil && st.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("writing %s: %w", path, ErrSymlink)
	}
	return nil
}

// PrivateDir makes dir, a directory of the app's own, exist with mode
// 0700: created if missing; tightened if it is ours and group or world
// can reach it; refused (ErrUnsafeDir) if it is not ours or not a
// directory. Windows: created if missing (its ACLs are the profile's).
func PrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := privateDir(dir); err != nil {
		return fmt.Errorf("directory %s: %w", dir, err)
	}
	return nil
}

// OpenAppend opens path, a file of the app's own (the log), for appending,
// created 0600: never through a symbolic link (ErrSymlink), refused if it
// is not the user's or not a regular file (ErrUnsafeDir), tightened to
// 0600 otherwise.
func OpenAppend(path string) (*os.File, error) {
	f, err := openAppend(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return f, nil
}

// ReadPrivate reads path, a secret of the app's own (the device key file):
// never through a symbolic link (ErrSymlink), refused if it is not the
// user's (ErrUnsafeDir). A file group or world can read is set to 0600;
// loosened then holds the mode it had (zero when it was already private),
// for the caller to log.
func ReadPrivate(path string) (data []byte, loosened os.FileMode, err error) {
	f, loosened, err := openPrivate(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, 0, err
		}
		return nil, 0, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	data, err = io.ReadAll(f)
	if err != nil {
		return nil, 0, fmt.Errorf("reading %s: %w", path, err)
	}
	return data, loosened, nil
}
