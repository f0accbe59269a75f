package agent

import "github.com/sithseid/sithseid/localapi"
import "github.com/sithseid/sithseid/environment"
import "context"

// States returns the agent's state now and after every change, for a
// consumer in this process (the tray). Only the newest state waits in the
// channel: a slow reader skips intermediate ones and never holds the
// agent up. The channel closes when ctx ends or the agent stops.
func (a *Agent) States(ctx context.Context) <-chan localapi.State {
	out := make(chan localapi.State, 1)
	s := &subscriber{ch: make(chan localapi.Event, 64), overflow: make(chan struct{})}
	a.mu.Lock()
	st := a.snapshotLocked()
	a.subs[s] = struct{}{}
	a.mu.Unlock()
	out <- st
	go func() {
		defer close(out)
		defer func() {
			a.mu.Lock()
			delete(a.subs, s)
			a.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-a.done:
				return
			case <-s.overflow:
				// Sixty-four changes unread: cannot happen with this
				// goroutine draining, but a dropped subscriber must not
				// leave the consumer with a stale state.
				return
			case ev := <-s.ch:
				if ev.State == nil {
					continue
				}
				select { // replace the unread state with the newer one
				case <-out:
				default:
				}
				out <- *ev.State
			}
		}
	}()
	return out
}

// SetEnvironment makes env the environment of the logins and QR codes
// that start from now on (the tray's environment menu); a login running
// keeps the one it started with.
func (a *Agent) SetEnvironment(env environment.Environment) {
	a.envMu.Lock()
	a.opts.Environment = env
	a.envMu.Unlock()
	a.log.Info("environment set", "environment", env.Name)
}

// Environment is where logins go now.
func (a *Agent) Environment() environment.Environment {
	a.envMu.RLock()
	defer a.envMu.RUnlock()
	return a.opts.Environment
}

func (a *Agent) environment() environment.Environment { return a.Environment() }
