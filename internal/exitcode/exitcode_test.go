package exitcode

import (
	"errors"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/config"
	"github.com/sithseid/sithseid/internal/l10n"
)

// Configuration errors become a sentence in each language and their exit
// code: a locked key 11, a bad key or value 2.
func TestExplainConfig(t *testing.T) {
	sv, en := l10n.MustLoad(l10n.Swedish), l10n.MustLoad(l10n.English)
	for _, tc := range []struct {
		err          error
		code         int
		sv, en, hint string
	}{
		{&config.LockedError{Key: "logLevel", Reason: config.LockedByPolicy}, Confirm, "logLevel är låst av din organisations policy", "logLevel is locked by your organisation's policy", "IT"},
		{&config.LockedError{Key: "allowEnvironmentSwitch", Reason: config.LockedPolicyOnly}, Confirm, "kan bara sättas av IT", "can only be set by IT", "IT"},
		{&config.LockedError{Key: "environment", Reason: config.LockedNoSwitch}, Confirm, "tillåter inte byte av miljö", "does not allow switching environment", "IT"},
		{errors.Join(errors.New("x"), config.ErrUnknownKey), Usage, "Okänd inställning", "Unknown setting", "expiryWarningDays"},
		{&config.ValueError{Key: "backend", Value: `"x"`, Reason: "want one of"}, Usage, "Ogiltigt värde för backend", "Invalid value for backend", ""},
		{&config.FileError{Path: "/etc/sithseid/policy.json", Err: errors.New("bad")}, Failure, "/etc/sithseid/policy.json", "/etc/sithseid/policy.json", "IT"},
	} {
		for _, lc := range []struct {
			cat  *l10n.Catalog
			want string
		}{{sv, tc.sv}, {en, tc.en}} {
			msg, hint, code, ok := explainConfig(lc.cat, tc.err)
			if !ok || code != tc.code || !strings.Contains(msg, lc.want) || !strings.Contains(hint, tc.hint) {
				t.Errorf("%v (%s): %q %q %d %v", tc.err, lc.cat.Lang, msg, hint, code, ok)
			}
		}
	}
	if _, _, _, ok := explainConfig(en, errors.New("other")); ok {
		t.Error("explainConfig claims an unrelated error")
	}
}
