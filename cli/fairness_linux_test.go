package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sithseid/sithseid/localapi"
)

// TestAgentAnswersOthersUnderFlood: a program of the user's own holds
// subscriptions open on the shipped agent from 20 connections, 16 each (320
// calls, more than the agent's 256 in flight), and reads what comes. Its
// calls beyond its share (localapi.DefaultMaxCallsPerPeer) are refused
// tooManyCalls at once; while the rest stay open, another process
// (`sithseid service status --json`, which pings the agent) still finds
// the agent running, with its pid. On the old bounds (per connection and
// server-wide only) the flood took all 256 and the other process was
// told the agent is not running.
func TestAgentAnswersOthersUnderFlood(t *testing.T) {
	exe := shippedBinary(t)
	a := startSessionAgent(t, exe, map[string]string{"LANG": "C.UTF-8"})

	const conns, perConn = 20, localapi.DefaultMaxCallsPerConn
	type outcome struct{ running bool }
	outcomes := make(chan outcome, conns*perConn)
	for range conns {
		c, err := net.Dial("unix", a.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		var b strings.Builder
		for id := 1; id <= perConn; id++ {
			fmt.Fprintf(&b, `{"type":"call","id":%d,"method":"subscribe"}`+"\n", id)
		}
		if _, err := c.Write([]byte(b.String())); err != nil {
			t.Fatal(err)
		}
		go func() {
			seen := map[uint64]bool{}
			sc := bufio.NewScanner(c)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				var f struct {
					Type  string              `json:"type"`
					ID    uint64              `json:"id"`
					Error *localapi.WireError `json:"error"`
				}
				if json.Unmarshal(sc.Bytes(), &f) != nil || seen[f.ID] {
					continue
				}
				switch {
				case f.Type == "event":
					seen[f.ID] = true
					outcomes <- outcome{running: true}
				case f.Type == "reply" && f.Error != nil && f.Error.Code == "tooManyCalls":
					seen[f.ID] = true
					outcomes <- outcome{}
				}
			}
		}()
	}
	running, refused := 0, 0
	deadline := time.After(30 * time.Second)
	for running+refused < conns*perConn {
		select {
		case o := <-outcomes:
			if o.running {
				running++
			} else {
				refused++
			}
		case <-deadline:
			t.Fatalf("flood: %d subscriptions running, %d refused of %d", running, refused, conns*perConn)
		}
	}
	t.Logf("flood of %d subscriptions: %d running, %d refused", conns*perConn, running, refused)
	if running > localapi.DefaultMaxCallsPerPeer {
		t.Errorf("one process holds %d calls, want at most %d", running, localapi.DefaultMaxCallsPerPeer)
	}

	// Another process, while the flood stays open.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "service", "status", "--json")
	cmd.Env = os.Environ()
	for k, v := range a.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("service status: %v\n%s", err, out)
	}
	var st struct {
		Running bool `json:"running"`
		PID     int  `json:"pid"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("service status --json: %v\n%s", err, out)
	}
	if !st.Running || st.PID != a.cmd.Process.Pid {
		t.Fatalf("during the flood another process sees running %v pid %d, want the agent (pid %d)", st.Running, st.PID, a.cmd.Process.Pid)
	}
}
