// Package oob implements the out-of-band login protocol (docs/protocol.md):
// its messages, strict parsing of the sithseid: URL and of every server
// reply, the authenticator client, and the animated QR payload.
package oob
