package tray

import "errors"

// ErrNoHost: this session has no tray host to show an icon in (Linux: no
// session bus). The agent runs without a tray; the application menu's
// "SITHS eID" entry ("sithseid ui status") is the way in.
var ErrNoHost = errors.New("no tray host in this session")
