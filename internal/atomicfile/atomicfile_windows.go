package atomicfile

import "os"

// On Windows the profile's ACLs keep the app's files private; links are
// refused by the Lstat checks of the portable code.

func privateDir(dir string) error { return nil }

func refuseLink(path string) error {
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSymlink != 0 {
		return ErrSymlink
	}
	return nil
}

func openAppend(path string) (*os.File, error) {
	if err := refuseLink(path); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
}

func openPrivate(path string) (*os.File, os.FileMode, error) {
	if err := refuseLink(path); err != nil {
		return nil, 0, err
	}
	f, err := os.Open(path)
	return f, 0, err
}
