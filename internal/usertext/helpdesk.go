package usertext

import (
	"strings"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/l10n"
)

// Helpdesk phrases policy's helpdesk (the helpdesk* keys) as one or two
// sentences: "Ring Servicecenter, +46 10 123 45 67. Öppet vardagar 07–17.
// Mer hjälp: https://…". It is "" when policy names no helpdesk.
func Helpdesk(c *l10n.Catalog, h config.Helpdesk) string {
	var parts []string
	switch {
	case h.Name != "" && h.Phone != "":
		parts = append(parts, c.T("helpdesk.call", h.Name, h.Phone))
	case h.Phone != "":
		parts = append(parts, c.T("helpdesk.phone", h.Phone))
	case h.Name != "":
		parts = append(parts, c.T("helpdesk.contact", h.Name))
	}
	if h.Hours != "" {
		parts = append(parts, c.T("helpdesk.hours", h.Hours))
	}
	if h.URL != "" {
		parts = append(parts, c.T("helpdesk.url", h.URL))
	}
	return strings.Join(parts, " ")
}

// WithHelpdesk appends Helpdesk(c, h) to hint (a blocked PIN's or a
// missing PUK's), as its own sentence.
func WithHelpdesk(c *l10n.Catalog, hint string, h config.Helpdesk) string {
	hd := Helpdesk(c, h)
	switch {
	case hd == "":
		return hint
	case hint == "":
		return hd
	}
	return hint + " " + hd
}
