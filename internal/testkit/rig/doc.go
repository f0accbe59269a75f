// Package rig gives a test binary its own PC/SC stack: a private pcscd with
// two vpcd readers, and virtual SITHS cards in them.
//
// # Why
//
// go test runs packages in parallel. Tests that share one pcscd and one card
// interfere: a card serves one transaction at a time and PIN counters are
// shared state. So every test binary that touches cards starts its own pcscd, on its
// own Unix socket, with its own pair of vpcd TCP ports.
//
// # How
//
// StartPCSCD writes a reader.conf directory with one vpcd entry whose
// CHANNELID is a free even TCP port P, and runs
//
//	systemd-socket-activate -l DIR/pcscd.comm /usr/sbin/pcscd -f -c DIR/conf
//
// vpcd then listens on P ("Virtual PCD 00 00") and P+1 ("Virtual PCD 00 01")
// on all interfaces; virtual cards connect to 127.0.0.1. Clients reach this
// pcscd with PCSCLITE_CSOCK_NAME=DIR/pcscd.comm (see PCSCD.Env). Ports are
// reserved across processes with lock files, so parallel test binaries never
// pick the same pair.
//
// libpcsclite reads PCSCLITE_CSOCK_NAME once per process, at the first
// SCardEstablishContext. A package whose tests use PC/SC in-process therefore
// starts its pcscd from TestMain, before any PC/SC call:
//
//	func TestMain(m *testing.M) { os.Exit(rig.Main(m)) }
//
// and its tests call rig.Require(t) to get that pcscd (or skip when the
// machine has no pcscd at all).
//
// # The pid file
//
// Debian's pcscd 1.9.9 writes /run/pcscd/pcscd.pid even when socket-activated
// with its own socket, and deletes it when it exits. The system pcscd (the
// one on the default socket, see scripts/rig) relies on that file, so the rig
// puts it back after each private pcscd starts and stops.
//
// # Cards
//
// PCSCD.InsertCard provisions a virtual SITHS card (internal/testkit/vcard) in a
// test's temporary directory, runs it in one of the readers until the test
// ends, and returns once pcscd has powered it up:
//
//	p := rig.Require(t)
//	card := p.InsertCard(t, 0, vcard.ProvisionOptions{}, vcard.RunOptions{})
//	// card.Reader, card.PIN, card.PUK, card.Server.Stats(), card.State
//	card.Pull(t)     // out of the reader
//	card.Reinsert(t) // back, powered up
//
// Subprocess clients (opensc-tool, yubico-piv-tool, pkcs11-tool) reach a
// pcscd through Env. A test that wants a pcscd of its own, for example to
// kill and restart it, uses New(t); only subprocesses can talk to that one.
//
// pcscd is run without --apdu: it would log VERIFY PIN bytes.
package rig
