// Package app holds the use cases and state of SITHS eID: the agent's
// lifecycle, the local API (server and client), configuration and policy,
// environments, logging, diagnostics and the card and login operations
// themselves.
//
// Its API speaks the domain (cards, holders, orders), never Fyne or PC/SC
// types, so that the tray, the windows and the CLI are thin clients of it.
package app
