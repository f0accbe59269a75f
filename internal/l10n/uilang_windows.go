//go:build windows

package l10n

import "golang.org/x/sys/windows"

// systemUILanguages asks Windows for the user's preferred UI languages
// (Settings > Time & language > Language), most preferred first, as
// names such as "en-US" — the display language, not the regional format.
func systemUILanguages() []string {
	langs, err := windows.GetUserPreferredUILanguages(windows.MUI_LANGUAGE_NAME)
	if err != nil {
		return nil
	}
	return langs
}
