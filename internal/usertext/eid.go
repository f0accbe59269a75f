package usertext

import (
	"strings"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/internal/l10n"
)

// EIDRemoval is the confirmation of removing an eID (issue 15), sentence
// by sentence: which organisation and HSA-ID and which certificates, what
// its being the card's default or only valid LoA3 eID means, and the
// regions' own reminder to check that it is the right one. The CLI and the
// certificates window say the same.
func EIDRemoval(c *l10n.Catalog, n app.EIDRemovalNotice) []string {
	lines := []string{c.T("eid.remove_ask", n.EID.Organisation, n.EID.HSAID, strings.Join(n.EID.CertIDs, ", "))}
	switch {
	case n.Default && n.NextDefault != "":
		lines = append(lines, c.T("eid.remove_default", n.NextDefault))
	case n.Default:
		lines = append(lines, c.T("eid.remove_default_last"))
	}
	if n.OnlyLoA3 {
		lines = append(lines, c.T("eid.remove_only_loa3"))
	}
	return append(lines, c.T("eid.remove_check"))
}
