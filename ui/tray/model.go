package tray

import (
	"strings"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/localapi"
)

// Icon names a tray icon: one per state the agent can be in. The names are
// the files in icons/ (ICO on Windows, PNG elsewhere).
type Icon string

const (
	IconReady       Icon = "ready"
	IconBusy        Icon = "busy"
	IconExpiring    Icon = "expiring"
	IconPINBlocked  Icon = "pinblocked"
	IconNoCard      Icon = "nocard"
	IconNoReader    Icon = "noreader"
	IconServiceDown Icon = "servicedown"
)

// Icons lists every icon, for tests and the generator.
var Icons = []Icon{IconReady, IconBusy, IconExpiring, IconPINBlocked, IconNoCard, IconNoReader, IconServiceDown}

// Environments the menu offers, in order, when policy lets the user switch:
// every environment (environment.Names, the one list).
var Environments = environment.Names

// View is what the tray shows: the agent's published state and the
// environment logins go to.
type View struct {
	State localapi.State
	// Environment is the active environment's name (PROD, QA, TEST, DEMO).
	Environment string
	// CanSwitch: policy lets the user pick another environment; the Miljö
	// submenu shows only then.
	CanSwitch bool
	// DemoOff: DEMO is turned off on this computer (an installed package
	// without policy's allowDemo); the submenu leaves it out.
	DemoOff bool
}

// ActionKind is a menu click, forwarded to the agent.
type ActionKind string

const (
	ActionStatus      ActionKind = "status"
	ActionQR          ActionKind = "qr"
	ActionPINChange   ActionKind = "pin"
	ActionPINUnblock  ActionKind = "unblock"
	ActionCerts       ActionKind = "certs"
	ActionEnvironment ActionKind = "environment"
	ActionSettings    ActionKind = "settings"
	ActionAbout       ActionKind = "about"
	ActionQuit        ActionKind = "quit"
)

// Action is one click: what was picked and the data it needs.
type Action struct {
	Kind ActionKind
	// Handoff is the login request the QR is for (ActionQR).
	Handoff string
	// Environment is the one picked (ActionEnvironment).
	Environment string
}

// Item is one menu entry as shown.
type Item struct {
	Label   string
	Enabled bool
	Visible bool
	Checked bool
}

// Menu is the whole tray as it should look for a View: the icon, the
// tooltip and every entry. The systray binding applies it; tests read it.
type Menu struct {
	Icon    Icon
	Tooltip string
	// Holder and HSAID are information lines (never enabled). Holder says
	// "Inget kort" or "Ingen kortläsare" when so.
	Holder, HSAID Item
	// EIDs list a card's SITHS eIDs, one information line each
	// (organisation, HSA-ID, valid until), on a card with several
	// organisations' eIDs; HSAID is hidden then. Unused lines are hidden.
	EIDs       [MaxEIDs]Item
	QR         Item
	PINChange  Item
	PINUnblock Item
	Certs      Item
	// Environment is the submenu's own entry; Environments its choices,
	// in the order of the package variable Environments.
	Environment  Item
	Environments []Item
	Settings     Item
	About        Item
	Quit         Item
	// Handoff is the newest pending login request (the QR entry's).
	Handoff string
}

// Build maps a view to the menu, in the catalogue's language. It is the
// only place that decides what the tray shows.
func Build(v View, cat *l10n.Catalog) Menu {
	st := v.State
	card := st.Card
	state, icon, headline := describe(st, cat)
	if card != nil && !st.ServiceDown && st.Busy == "" && card.Environment.Mismatches(v.Environment) {
		// The card belongs to another environment than the app's (the
		// agent tells it from the issuer): say so before anything the
		// card itself says, as the windows' header does, with the
		// attention badge (a ready icon would hide it).
		state, icon = cat.T("tray.state.prod_card", strings.ToUpper(v.Environment)), IconExpiring
		if card.Environment == localapi.CardEnvTest {
			state = cat.T("tray.state.test_card", "PROD")
		}
	}
	m := Menu{
		Icon:        icon,
		Tooltip:     cat.T("tray.tooltip", state),
		Holder:      info(headline),
		HSAID:       info(""),
		QR:          action(cat.T("tray.menu.qr"), len(st.Handoffs) > 0),
		PINChange:   action(cat.T("tray.menu.pin_change"), card != nil && !card.PIN.Blocked),
		PINUnblock:  action(cat.T("tray.menu.pin_unblock"), card != nil),
		Certs:       action(cat.T("tray.menu.certs"), card != nil),
		Environment: action(cat.T("tray.menu.environment", v.Environment), v.CanSwitch),
		Settings:    action(cat.T("tray.menu.settings"), true),
		About:       action(cat.T("tray.menu.about"), true),
		Quit:        action(cat.T("tray.menu.quit"), true),
	}
	m.Environment.Visible = v.CanSwitch
	for _, e := range Environments {
		offered := v.CanSwitch && !(v.DemoOff && e == environment.DEMO)
		it := action(e, offered)
		it.Visible = offered
		it.Checked = strings.EqualFold(e, v.Environment)
		m.Environments = append(m.Environments, it)
	}
	if card != nil {
		name := card.Holder.Name
		if name == "" {
			name = cat.T("tray.menu.holder_unknown")
		}
		if st.Cards > 1 {
			name = cat.T("tray.menu.holder_of", name, st.Cards)
		}
		m.Holder = info(name)
		m.HSAID = info(card.Holder.HSAID)
		m.HSAID.Visible = card.Holder.HSAID != ""
		if len(card.EIDs) > 1 {
			m.HSAID.Visible = false
			for i, e := range card.EIDs {
				if i < MaxEIDs {
					m.EIDs[i] = info(eidLine(e, cat))
				}
			}
		}
	} else {
		m.HSAID.Visible = false
	}
	if n := len(st.Handoffs); n > 0 {
		m.Handoff = st.Handoffs[n-1].ID
	}
	return m
}

func info(label string) Item { return Item{Label: label, Visible: true} }
func action(label string, enabled bool) Item {
	return Item{Label: label, Enabled: enabled, Visible: true}
}

// describe says the state in words (for the tooltip), picks its icon, and
// gives the menu's first line when no card can be shown. The order is the
// order of what matters most: a dead service hides everything else, a
// running operation shows while it runs, then what the card says.
func describe(st localapi.State, cat *l10n.Catalog) (state string, icon Icon, headline string) {
	present := false
	for _, r := range st.Readers {
		present = present || r.CardPresent
	}
	switch {
	case st.ServiceDown:
		headline = cat.T("tray.menu.service_down")
	case len(st.Readers) == 0:
		headline = cat.T("tray.menu.no_reader")
	case st.Card == nil && present:
		headline = cat.T("tray.menu.unreadable")
	case st.Card == nil:
		headline = cat.T("tray.menu.no_card")
	}
	switch {
	case st.ServiceDown:
		return cat.T("tray.state.service_down"), IconServiceDown, headline
	case st.Busy != "":
		return cat.T("tray.state.busy"), IconBusy, headline
	case len(st.Readers) == 0:
		return cat.T("tray.state.no_reader"), IconNoReader, headline
	case st.Card == nil && present:
		return cat.T("tray.state.unreadable"), IconNoCard, headline
	case st.Card == nil:
		return cat.T("tray.state.no_card"), IconNoCard, headline
	case st.Card.PIN.Blocked:
		return cat.T("tray.state.pin_blocked"), IconPINBlocked, headline
	}
	// Expired certificates are left to the status window: an old pair
	// that has run out is common and harmless, and a warning icon for it
	// forever would teach people to ignore the icon.
	expiring, org := -1, ""
	for _, w := range st.Card.Warnings {
		if w.Code == app.WarnCertificateExpiring && (expiring < 0 || w.Days < expiring) {
			expiring, org = w.Days, w.Organisation
		}
	}
	if expiring >= 0 && org != "" && len(st.Card.EIDs) > 1 {
		// Several organisations' eIDs: say whose expires.
		return cat.T("tray.state.expiring_org", org, expiring), IconExpiring, headline
	}
	if expiring >= 0 {
		return cat.T("tray.state.expiring", expiring), IconExpiring, headline
	}
	return cat.T("tray.state.ready"), IconReady, headline
}
