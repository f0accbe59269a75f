package agent

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/sithseid/sithseid/localapi"
	"github.com/sithseid/sithseid/ui/tray"
	"github.com/sithseid/sithseid/ui/viewname"
)

// A left click on the tray with two cards inserted opens the status window
// on the card the tray shows, also when that card's number is unknown (by
// its reader: an empty number is not "no card chosen"); with one card the
// window needs no --card.
func TestTrayLeftClickOpensStatusOnTrayCard(t *testing.T) {
	for _, tc := range []struct {
		name  string
		state localapi.State
		want  []string
	}{
		{"no number", localapi.State{Cards: 2, Card: &localapi.CardSummary{Reader: "Virtual PCD 00 01"}}, []string{viewname.Status, "--card", "reader:Virtual PCD 00 01"}},
		{"number", localapi.State{Cards: 2, Card: &localapi.CardSummary{Reader: "Virtual PCD 00 00", CardNumber: "1001"}}, []string{viewname.Status, "--card", "1001"}},
		{"one card", localapi.State{Cards: 1, Card: &localapi.CardSummary{Reader: "Virtual PCD 00 01"}}, []string{viewname.Status}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			launched := make(chan []string, 1)
			d := &agentDesktop{log: slog.New(slog.DiscardHandler), state: tc.state}
			d.launcher = NewViewLauncher(LauncherOptions{Executable: "sithseid-ui", Start: func(exe string, args []string) (func() error, error) {
				launched <- args
				return func() error { return nil }, nil
			}})
			d.act(tray.Action{Kind: tray.ActionStatus})
			select {
			case args := <-launched:
				if !slices.Equal(args, tc.want) {
					t.Fatalf("launched %q, want %q", args, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no window launched within 10 s")
			}
		})
	}
}
