// Package mutesock is an agent socket that takes a connection and answers
// nothing, as a wedged or stopped agent would: tests of the local API's
// probe and of the CLI falling back to its own process read what such a
// socket was sent.
package mutesock

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// Listen listens on the Unix socket path until the test ends and takes
// one connection. The channel gets the lines it read once the peer closed
// its end, or once within of the accept passed (with a "read error:" line
// last), or one "accept:" line when no connection came.
func Listen(t *testing.T, path string, within time.Duration) <-chan []string {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan []string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- []string{"accept: " + err.Error()}
			return
		}
		defer conn.Close()
		_ = conn.SetReadDeadline(time.Now().Add(within))
		var lines []string
		sc := bufio.NewScanner(conn)
		for sc.Scan() { // until the peer's end (EOF) or the deadline
			lines = append(lines, sc.Text())
		}
		if sc.Err() != nil {
			lines = append(lines, "read error: "+sc.Err().Error())
		}
		got <- lines
	}()
	return got
}
