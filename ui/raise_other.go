//go:build !unix

package ui

import (
	"context"

	"fyne.io/fyne/v2"
)

// raiseOnRequest: on Windows the agent raises the window itself
// (agent/raise_windows.go: it holds the right to give the foreground away
// right after the user's click, which this process lacks); elsewhere
// windows are not asked to raise (agent/raise_other.go).
func raiseOnRequest(context.Context, fyne.Window) {}
