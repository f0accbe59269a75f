// Package ui is the "sithseid ui VIEW" process: one Fyne window, a thin
// client of the agent's local API, that exits when its window closes. The
// windows' contents are package views (which tests run headless); this
// package opens the real window with Fyne's GL driver and owns the
// process's lifetime. Only this package imports fyne.io/fyne/v2/app
// (internal/deptest checks it), so the agent and the CLI never load GL.
//
// The tray (package ui/tray, in the agent) starts these processes.
package ui
