//go:build unix

package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

func owner(st os.FileInfo) (uint32, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return s.Uid, true
}

func privateDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("not a directory: %w", ErrUnsafeDir)
	}
	uid, ok := owner(st)
	if !ok || int(uid) != os.Getuid() {
		return fmt.Errorf("owner uid %d: %w", uid, ErrUnsafeDir)
	}
	if st.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("mode %v: %w (%v)", st.Mode().Perm(), ErrUnsafeDir, err)
		}
	}
	return nil
}

// checkOpened refuses a file not ours or not regular and sets it to 0600;
// it returns the mode it had when that was looser.
func checkOpened(f *os.File) (os.FileMode, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if !st.Mode().IsRegular() {
		return 0, fmt.Errorf("not a regular file: %w", ErrUnsafeDir)
	}
	uid, ok := owner(st)
	if !ok || int(uid) != os.Getuid() {
		return 0, fmt.Errorf("owner uid %d: %w", uid, ErrUnsafeDir)
	}
	if st.Mode().Perm()&0o077 == 0 {
		return 0, nil
	}
	if err := f.Chmod(0o600); err != nil {
		return 0, err
	}
	return st.Mode().Perm(), nil
}

func symlinkErr(err error) error {
	// O_NOFOLLOW on a link: ELOOP (Linux, macOS; EMLINK on some BSDs).
	if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK) {
		return ErrSymlink
	}
	return err
}

func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, symlinkErr(err)
	}
	if _, err := checkOpened(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func openPrivate(path string) (*os.File, os.FileMode, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, 0, symlinkErr(err)
	}
	loosened, err := checkOpened(f)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, loosened, nil
}
