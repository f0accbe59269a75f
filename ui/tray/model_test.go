package tray

import (
	"strings"
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/internal/l10n"
	"github.com/sithseid/sithseid/localapi"
)

var (
	sv = l10n.MustLoad(l10n.Swedish)
	en = l10n.MustLoad(l10n.English)
)

func reader(present bool) []app.ReaderStatus {
	return []app.ReaderStatus{{Name: "Virtual PCD 00 00", CardPresent: present}}
}

func card(mod func(*localapi.CardSummary)) *localapi.CardSummary {
	c := &localapi.CardSummary{
		Reader:     "Virtual PCD 00 00",
		CardNumber: "9752269000000123",
		Holder:     app.HolderStatus{Name: "Anna Andersson", HSAID: "SE2321000016-1234"},
		PIN:        app.SecretStatus{Retries: 3},
		PUK:        &app.SecretStatus{Retries: 3},
	}
	if mod != nil {
		mod(c)
	}
	return c
}

// The state decides the icon, the tooltip and the first lines; the card
// decides which operations are offered.
func TestBuildStates(t *testing.T) {
	for _, tc := range []struct {
		name     string
		st       localapi.State
		icon     Icon
		tooltip  string // Swedish
		holder   string
		hsaid    string // "" means hidden
		pin, puk bool   // enabled
	}{
		{"no reader", localapi.State{}, IconNoReader, "SITHS eID: ingen kortläsare", "Ingen kortläsare", "", false, false},
		{"no card", localapi.State{Readers: reader(false)}, IconNoCard, "SITHS eID: inget kort i läsaren", "Inget kort", "", false, false},
		{"unreadable", localapi.State{Readers: reader(true)}, IconNoCard, "SITHS eID: kortet kunde inte läsas", "Kortet kunde inte läsas", "", false, false},
		{"ready", localapi.State{Readers: reader(true), Card: card(nil), Cards: 1}, IconReady,
			"SITHS eID: kortet är klart att använda", "Anna Andersson", "SE2321000016-1234", true, true},
		{"two cards", localapi.State{Readers: reader(true), Card: card(nil), Cards: 2}, IconReady,
			"SITHS eID: kortet är klart att använda", "Anna Andersson (2 kort)", "SE2321000016-1234", true, true},
		{"pin blocked", localapi.State{Readers: reader(true), Cards: 1, Card: card(func(c *localapi.CardSummary) {
			c.PIN = app.SecretStatus{Retries: 0, Blocked: true}
		})}, IconPINBlocked, "SITHS eID: PIN-koden är låst", "Anna Andersson", "SE2321000016-1234", false, true},
		{"expiring", localapi.State{Readers: reader(true), Cards: 1, Card: card(func(c *localapi.CardSummary) {
			c.Warnings = []app.Warning{{Code: app.WarnCertificateExpiring, CertID: "9c", Days: 14}, {Code: app.WarnCertificateExpiring, CertID: "9a", Days: 9}}
		})}, IconExpiring, "SITHS eID: ett certifikat går ut om 9 dagar", "Anna Andersson", "SE2321000016-1234", true, true},
		{"only an old expired pair", localapi.State{Readers: reader(true), Cards: 1, Card: card(func(c *localapi.CardSummary) {
			c.Warnings = []app.Warning{{Code: app.WarnCertificateExpired, CertID: "82", Days: 400}}
		})}, IconReady, "SITHS eID: kortet är klart att använda", "Anna Andersson", "SE2321000016-1234", true, true},
		{"busy", localapi.State{Readers: reader(true), Card: card(nil), Cards: 1, Busy: "pin.change"}, IconBusy,
			"SITHS eID: arbetar med kortet …", "Anna Andersson", "SE2321000016-1234", true, true},
		{"service down", localapi.State{ServiceDown: true}, IconServiceDown,
			"SITHS eID: smartkortstjänsten svarar inte", "Smartkortstjänsten svarar inte", "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := Build(View{State: tc.st, Environment: "PROD"}, sv)
			if m.Icon != tc.icon || m.Tooltip != tc.tooltip {
				t.Errorf("icon %s tooltip %q, want %s %q", m.Icon, m.Tooltip, tc.icon, tc.tooltip)
			}
			if m.Holder.Label != tc.holder || m.Holder.Enabled || !m.Holder.Visible {
				t.Errorf("holder line %+v, want %q shown and disabled", m.Holder, tc.holder)
			}
			if (tc.hsaid != "") != m.HSAID.Visible || (tc.hsaid != "" && m.HSAID.Label != tc.hsaid) || m.HSAID.Enabled {
				t.Errorf("HSA-ID line %+v, want %q", m.HSAID, tc.hsaid)
			}
			if m.PINChange.Enabled != tc.pin || m.PINUnblock.Enabled != tc.puk || m.Certs.Enabled != (tc.st.Card != nil) {
				t.Errorf("pin %v unblock %v certs %v, want %v %v %v", m.PINChange.Enabled, m.PINUnblock.Enabled, m.Certs.Enabled, tc.pin, tc.puk, tc.st.Card != nil)
			}
			if !m.Settings.Enabled || !m.About.Enabled || !m.Quit.Enabled {
				t.Error("settings, about and quit are always there")
			}
		})
	}
}

// The QR entry is for a pending login request, the newest.
func TestBuildQR(t *testing.T) {
	st := localapi.State{Readers: reader(true), Card: card(nil), Cards: 1}
	if m := Build(View{State: st}, sv); m.QR.Enabled || m.Handoff != "" {
		t.Fatalf("QR without a pending login: %+v %q", m.QR, m.Handoff)
	}
	st.Handoffs = []localapi.PendingHandoff{{ID: "old"}, {ID: "new"}}
	m := Build(View{State: st}, sv)
	if !m.QR.Enabled || m.Handoff != "new" || m.QR.Label != "Logga in med mobilen (QR)" {
		t.Fatalf("QR with two pending: %+v %q", m.QR, m.Handoff)
	}
}

// The environment submenu shows only when policy allows a switch, with
// the active one checked.
func TestBuildEnvironments(t *testing.T) {
	m := Build(View{Environment: "PROD"}, sv)
	if m.Environment.Visible || m.Environment.Enabled {
		t.Fatalf("environment menu shown without permission: %+v", m.Environment)
	}
	for _, e := range m.Environments {
		if e.Visible {
			t.Fatalf("environment choice %q shown without permission", e.Label)
		}
	}
	m = Build(View{Environment: "TEST", CanSwitch: true}, sv)
	if !m.Environment.Visible || m.Environment.Label != "Miljö: TEST" {
		t.Fatalf("environment menu %+v", m.Environment)
	}
	var checked []string
	for i, e := range m.Environments {
		if e.Label != Environments[i] || !e.Visible || !e.Enabled {
			t.Fatalf("choice %d: %+v", i, e)
		}
		if e.Checked {
			checked = append(checked, e.Label)
		}
	}
	if strings.Join(checked, ",") != "TEST" {
		t.Fatalf("checked %v, want TEST", checked)
	}
	// DEMO turned off on this computer (an installed package without
	// policy's allowDemo): the submenu leaves it out, the others stay.
	m = Build(View{Environment: "TEST", CanSwitch: true, DemoOff: true}, sv)
	for i, e := range m.Environments {
		offered := Environments[i] != "DEMO"
		if e.Visible != offered || e.Enabled != offered {
			t.Fatalf("DEMO off, choice %q: %+v", Environments[i], e)
		}
	}
}

// Swedish first; English when the language is English; every label
// translated (no message ID shows).
func TestBuildLanguages(t *testing.T) {
	st := localapi.State{Readers: reader(true), Card: card(nil), Cards: 1, Handoffs: []localapi.PendingHandoff{{ID: "h"}}}
	want := map[*l10n.Catalog][]string{
		sv: {"Logga in med mobilen (QR)", "Byt PIN-kod", "Lås upp med PUK-kod", "Certifikat", "Miljö: DEMO", "Inställningar", "Om SITHS eID / Diagnostik", "Avsluta"},
		en: {"Log in with the mobile app (QR)", "Change PIN", "Unblock with PUK", "Certificates", "Environment: DEMO", "Settings", "About SITHS eID / Diagnostics", "Quit"},
	}
	for cat, labels := range want {
		m := Build(View{State: st, Environment: "DEMO", CanSwitch: true}, cat)
		got := []string{m.QR.Label, m.PINChange.Label, m.PINUnblock.Label, m.Certs.Label, m.Environment.Label, m.Settings.Label, m.About.Label, m.Quit.Label}
		if strings.Join(got, "|") != strings.Join(labels, "|") {
			t.Errorf("%s: %q, want %q", cat.Lang, got, labels)
		}
		for _, s := range append(got, m.Tooltip) {
			if strings.Contains(s, "tray.") || strings.Contains(s, "%!") {
				t.Errorf("%s: untranslated or misformatted %q", cat.Lang, s)
			}
		}
	}
	if m := Build(View{}, en); m.Holder.Label != "No card reader" || m.Tooltip != "SITHS eID: no card reader" {
		t.Errorf("English no reader: %q %q", m.Holder.Label, m.Tooltip)
	}
}

// Each notification kind the agent raises has words, in both languages,
// and carries what the user needs (reader, card, days) — never a PIN.
func TestPhrase(t *testing.T) {
	for _, cat := range []*l10n.Catalog{sv, en} {
		for _, n := range []localapi.Notification{
			{Kind: localapi.NotifyCardInserted, Reader: "Virtual PCD 00 00"},
			{Kind: localapi.NotifyCardRemoved, Reader: "Virtual PCD 00 00"},
			{Kind: localapi.NotifyPINBlocked, CardNumber: "9752269000000123"},
			{Kind: localapi.NotifyCertificateExpiring, CardNumber: "9752269000000123", Days: 7},
			{Kind: localapi.NotifyLoginRequested, Handoff: "abc"},
		} {
			m, ok := Phrase(n, cat)
			if !ok || m.Summary == "" || m.Body == "" {
				t.Errorf("%s %s: %+v %v", cat.Lang, n.Kind, m, ok)
				continue
			}
			text := m.Summary + " " + m.Body
			if strings.Contains(text, "notify.") || strings.Contains(text, "%!") {
				t.Errorf("%s %s: %q", cat.Lang, n.Kind, text)
			}
			for _, want := range []string{n.Reader, n.CardNumber} {
				if !strings.Contains(text, want) {
					t.Errorf("%s %s: %q lacks %q", cat.Lang, n.Kind, text, want)
				}
			}
			if n.Kind == localapi.NotifyCertificateExpiring && !strings.Contains(text, "7") {
				t.Errorf("%s: days missing from %q", cat.Lang, text)
			}
			if n.Kind == localapi.NotifyPINBlocked && !m.Urgent {
				t.Errorf("a blocked PIN is urgent")
			}
		}
	}
	if _, ok := Phrase(localapi.Notification{Kind: "somethingElse"}, sv); ok {
		t.Error("an unknown kind is phrased")
	}
}
