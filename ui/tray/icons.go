package tray

import "io/fs"

// IconData returns the icon's bytes in the platform's format (ICO on
// Windows, PNG elsewhere).
func IconData(i Icon) []byte {
	b, err := fs.ReadFile(iconFS, "icons/"+string(i)+iconExt)
	if err != nil {
		panic("tray: no icon " + string(i) + iconExt) // embedded; a test reads each
	}
	return b
}
