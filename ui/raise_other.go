//go:build !unix

package ui

import (
	"context"

	"fyne.io/fyne/v2"
)

// raiseOnRequest: the agent does not ask windows to raise on this system
// yet (agent/raise_other.go).
func raiseOnRequest(context.Context, fyne.Window) {}
