package localapi

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/sithseid/sithseid/app"
)

// Method is one method of the local API, defined once: its name and the
// types of its params and result. The agent decodes the params strictly
// (Decode); clients call it through Call.
type Method[P, R any] struct{ Name string }

// None is the params or the result of a method that has none (on the wire:
// {} for params, no result).
type None struct{}

// The methods of the local API.
var (
	MethodPing          = Method[None, AgentInfo]{"ping"}
	MethodStatus        = Method[StatusParams, app.Status]{"status"}
	MethodSubscribe     = Method[None, None]{"subscribe"}
	MethodPINChange     = Method[PINParams, None]{"pin.change"}
	MethodPINUnblock    = Method[PINParams, None]{"pin.unblock"}
	MethodCertRemove    = Method[CertRemoveParams, None]{"cert.remove"}
	MethodRemoveExpired = Method[CertRemoveParams, RemovedResult]{"cert.removeExpired"}
	MethodExport        = Method[ExportParams, []app.ExportedFile]{"cert.export"}
	MethodLogin         = Method[LoginParams, app.LoginResult]{"login"}
	MethodQR            = Method[QRParams, app.QRHandover]{"qr"}
	MethodHandoff       = Method[HandoffParams, HandoffReceipt]{"handoff"}
	MethodDiagnostics   = Method[DiagnosticsParams, None]{"diag"}
)

// MethodEIDRemove removes one organisation's SITHS eID (issue 15).
var MethodEIDRemove = Method[EIDRemoveParams, RemovedResult]{"eid.remove"}

// Decode decodes a call's params strictly: unknown fields and trailing
// data are a protocol error, and so are params their type's check refuses
// (a relative path). Absent params are {}.
func (m Method[P, R]) Decode(raw json.RawMessage) (P, error) {
	var p P
	if raw == nil {
		raw = json.RawMessage("{}")
	}
	if err := decodeStrict(raw, &p); err != nil {
		return p, err
	}
	if c, ok := any(p).(interface{ check() error }); ok {
		return p, c.check()
	}
	return p, nil
}

// Result is what the agent replies for r: nothing for None.
func (m Method[P, R]) Result(r R) any {
	if _, none := any(r).(None); none {
		return nil
	}
	return r
}

// Handlers answer the agent's questions during a call: PIN prompts,
// a login's approval, a subscription's events.
type Handlers struct {
	Prompt  app.Prompt
	Approve func(context.Context, app.LoginApproval) error
	// Event receives a subscription's events; false stops it.
	Event func(Event) bool

	// eid is the eID picked in this call's approval
	// (app.LoginApproval.Choose), sent with the approval's and the PIN's
	// answers.
	eid *eidPick
}

// eidPick is an eID picked in an approval window, which may change it
// until the PIN is given (from the window's goroutine).
type eidPick struct {
	mu    sync.Mutex
	hsaID string
}

func (p *eidPick) set(hsaID string) {
	p.mu.Lock()
	p.hsaID = hsaID
	p.mu.Unlock()
}

func (p *eidPick) get() string {
	if p == nil {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hsaID
}

// Call runs m at the agent with params p and returns its result; h
// answers what the agent asks on the way.
func Call[P, R any](ctx context.Context, c *Client, m Method[P, R], p P, h Handlers) (R, error) {
	var r R
	err := c.call(ctx, m.Name, p, &r, h)
	return r, err
}

// DiagnosticsParams are diag's: the archive the agent writes (an absolute
// path; the agent runs as the same user).
type DiagnosticsParams struct {
	Path string `json:"path"`
}

// The agent writes into these paths: they must be absolute (the client
// makes them so).
func (p ExportParams) check() error {
	if !filepath.IsAbs(p.Dir) {
		return fmt.Errorf("%w: export directory %q is not absolute", ErrProtocol, p.Dir)
	}
	return nil
}

func (p DiagnosticsParams) check() error {
	if !filepath.IsAbs(p.Path) {
		return fmt.Errorf("%w: diagnostics path %q is not absolute", ErrProtocol, p.Path)
	}
	return nil
}
