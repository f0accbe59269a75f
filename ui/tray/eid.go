package tray

import (
	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/internal/l10n"
)

// MaxEIDs is how many of a card's SITHS eIDs the menu lists.
const MaxEIDs = 4

// eidLine is one eID in the menu: organisation, HSA-ID, valid until, and
// whether it is the card's default.
func eidLine(e app.EIDStatus, cat *l10n.Catalog) string {
	until := "–"
	if e.NotAfter != nil {
		until = e.NotAfter.Local().Format("2006-01-02")
	}
	key := "tray.menu.eid"
	if e.Default {
		key = "tray.menu.eid_default"
	}
	return cat.T(key, e.Organisation, e.HSAID, until)
}
