package assets

import (
	"embed"
	"io/fs"
)

//go:embed translations/*.json
var translations embed.FS

// Translations holds one JSON file per language ("sv.json", "en.json"):
// an object of message IDs to text. The format is the one Fyne's lang
// package reads, so the windows and the CLI share one catalogue.
func Translations() fs.FS {
	sub, err := fs.Sub(translations, "translations")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

//go:embed trust/*.pem
var trust embed.FS

// Trust holds the trust anchors of the built-in environments as PEM files
// ("demo-root.pem": the test PKI's root, for the DEMO environment).
func Trust() fs.FS {
	sub, err := fs.Sub(trust, "trust")
	if err != nil {
		panic(err)
	}
	return sub
}
