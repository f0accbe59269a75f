//go:build unix

package ui

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"fyne.io/fyne/v2"
)

// raiseOnRequest shows and focuses w whenever the agent asks (its menu
// entry clicked while the window is open): agent.raiseProcess sends
// SIGWINCH, which is ignored by default, so nothing dies of it.
func raiseOnRequest(ctx context.Context, w fyne.Window) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				fyne.Do(func() {
					w.Show()
					w.RequestFocus()
				})
			}
		}
	}()
}
