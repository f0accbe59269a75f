// Package localapi is the local API between the agent and its clients (the
// ui process, the CLI, the URL handler): the wire types, the table of
// methods, the Client and the Server. The transport is localsocket's.
package localapi

// The local API: how the agent's clients (the ui process, the CLI, the URL
// handler) reach it.
//
// # Transport
//
// A Unix domain socket at $XDG_RUNTIME_DIR/sithseid/agent.sock (else
// os.TempDir()/sithseid-$UID/agent.sock), in a directory of mode 0700 that
// the user owns, the socket itself 0600; the agent checks the peer's uid on
// every connection (SO_PEERCRED on Linux, LOCAL_PEERCRED on macOS and the
// BSDs) and refuses, and logs, any other uid. On Windows a named pipe per
// user and session, \\.\pipe\sithseid-agent-<SID>-<session>, whose ACL
// admits only the user (see localsocket/localsocket_windows.go; untested here).
//
// # Frames
//
// Newline-delimited JSON objects of at most MaxFrameSize bytes, decoded
// strictly (unknown fields and trailing data refuse the frame and close the
// connection). Every frame has a type:
//
//	call    client → agent  id, method, params        starts an operation
//	reply   agent → client  id, result | error        ends it
//	prompt  agent → client  id, seq, prompt           asks the caller's user
//	answer  client → agent  id, seq, secret | approved | error
//	cancel  client → agent  id                        cancels an operation
//	event   agent → client  id, result (AgentEvent)   pushed to a subscription
//
// The id is chosen by the client, unique per connection. A frame that
// breaks the rules is answered with a reply carrying the error code
// "protocol" and the id 2^64-1 (no call's), and the connection is closed. A PIN prompt
// crosses the connection: the agent sends a prompt frame to the client that
// started the operation and waits for its answer frame, which carries the
// secret (base64). The agent holds the secret only for that operation and
// wipes it, and wipes the frame's bytes; frames are never logged.
//
// Methods: the table in methods.go, each defined once (name, params
// type, result type). TLSCheck (a helpdesk tool with its own trust
// anchors) runs in-process only.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strconv"
	"time"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
	"github.com/sithseid/sithseid/environment"
	"github.com/sithseid/sithseid/localsocket"
	"github.com/sithseid/sithseid/oob"
)

// MaxFrameSize bounds one frame of the local API. A status with several
// cards is a few kilobytes.
const MaxFrameSize = 256 << 10

// protocolErrorID is the id of the reply to a frame that broke the rules.
const protocolErrorID = ^uint64(0)

// frame types.
const (
	frameCall   = "call"
	frameReply  = "reply"
	framePrompt = "prompt"
	frameAnswer = "answer"
	frameCancel = "cancel"
	frameEvent  = "event"
)

// frame is one message of the local API, in either direction.
type frame struct {
	Type     string          `json:"type"`
	ID       uint64          `json:"id,omitempty"`
	Seq      uint64          `json:"seq,omitempty"`
	Method   string          `json:"method,omitempty"`
	Params   json.RawMessage `json:"params,omitempty"`
	Result   json.RawMessage `json:"result,omitempty"`
	Error    *WireError      `json:"error,omitempty"`
	Prompt   *wirePrompt     `json:"prompt,omitempty"`
	Secret   []byte          `json:"secret,omitempty"`
	Approved bool            `json:"approved,omitempty"`
	// EID is the HSA-ID of the eID the user picked in an approval
	// (app.LoginApproval.Choose), "" for the default.
	EID string `json:"eid,omitempty"`
}

// wipe zeroes the secret a frame carries, to its capacity: the base64
// decoder writes whole words, and its slice is longer than the secret.
func (f *frame) wipe() {
	clear(f.Secret[:cap(f.Secret)])
	f.Secret = nil
}

// check refuses frames whose fields do not belong to their type, so that a
// confused or hostile peer is stopped at the first frame.
func (f *frame) check(fromClient bool) error {
	ok := false
	switch f.Type {
	case frameCall:
		ok = fromClient && f.ID != 0 && f.Method != "" && f.Result == nil && f.Error == nil && f.Prompt == nil && f.Secret == nil && f.Seq == 0
	case frameAnswer:
		ok = fromClient && f.ID != 0 && f.Seq != 0 && f.Method == "" && f.Params == nil && f.Result == nil && f.Prompt == nil
	case frameCancel:
		ok = fromClient && f.ID != 0 && f.Method == "" && f.Params == nil && f.Result == nil && f.Error == nil && f.Prompt == nil && f.Secret == nil
	case frameReply:
		ok = !fromClient && f.ID != 0 && f.Prompt == nil && f.Secret == nil
	case framePrompt:
		ok = !fromClient && f.ID != 0 && f.Seq != 0 && f.Prompt != nil && f.Secret == nil
	case frameEvent:
		ok = !fromClient && f.ID != 0 && f.Result != nil && f.Secret == nil
	}
	if !ok {
		return fmt.Errorf("%w: unexpected %q frame", ErrProtocol, f.Type)
	}
	return nil
}

// wirePrompt is a prompt frame's question.
type wirePrompt struct {
	Kind string `json:"kind"` // pin, newPin, puk, approve
	// PIN is the PIN a pin, newPin or puk prompt is about: identification
	// or signature.
	PIN        string             `json:"pin,omitempty"`
	Retries    int                `json:"retries"`
	Holder     string             `json:"holder,omitempty"`
	HSAID      string             `json:"hsaId,omitempty"`
	CardNumber string             `json:"cardNumber,omitempty"`
	Approval   *app.LoginApproval `json:"approval,omitempty"`
}

const promptApprove = "approve"

var promptKinds = map[app.PromptKind]string{app.PromptPIN: "pin", app.PromptNewPIN: "newPin", app.PromptPUK: "puk"}

func promptKindToWire(k app.PromptKind) string { return promptKinds[k] }

func promptKindFromWire(s string) (app.PromptKind, bool) {
	for k, v := range promptKinds {
		if v == s {
			return k, true
		}
	}
	return 0, false
}

// ErrProtocol: a frame broke the local API's rules (malformed, too large,
// unknown fields, out of place). The connection is closed.
var ErrProtocol = errors.New("local API protocol error")

// ErrAgentRunning: another agent already answers on the local API address
// of this session.
var ErrAgentRunning = errors.New("an agent is already running in this session")

// ErrNoAgent: no agent answers on the local API address.
var ErrNoAgent = errors.New("no agent running")

// ErrPeerRefused: a local API connection came from another user.
var ErrPeerRefused = localsocket.ErrPeerRefused

// errUnknownMethod: a call named no method of the local API.
var ErrUnknownMethod = errors.New("unknown method")

// ErrTooManyCalls: the caller has as many calls in flight as the agent
// takes from one connection or from one process, or the agent as many as
// it takes in all (Server.MaxCallsPerConn, MaxCallsPerPeer, MaxCalls); the
// call was not started.
var ErrTooManyCalls = errors.New("too many local API calls in flight")

// lineReader reads newline-delimited frames of at most MaxFrameSize into a
// buffer it owns, so that the bytes of a frame carrying a secret can be
// wiped (bufio.Reader would keep them in its buffer).
type lineReader struct {
	r   io.Reader
	buf []byte
	n   int // valid bytes in buf
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: r, buf: make([]byte, 4096)}
}

// next returns the next line without its newline; the caller wipes it.
func (l *lineReader) next() ([]byte, error) {
	scanned := 0
	for {
		if i := bytes.IndexByte(l.buf[scanned:l.n], '\n'); i >= 0 {
			end := scanned + i
			line := bytes.Clone(l.buf[:end])
			rest := copy(l.buf, l.buf[end+1:l.n])
			clear(l.buf[rest:l.n])
			l.n = rest
			return line, nil
		}
		scanned = l.n
		if l.n > MaxFrameSize {
			clear(l.buf[:l.n])
			return nil, fmt.Errorf("%w: frame larger than %d bytes", ErrProtocol, MaxFrameSize)
		}
		if l.n == len(l.buf) {
			nb := make([]byte, min(2*len(l.buf), MaxFrameSize+2))
			copy(nb, l.buf[:l.n])
			clear(l.buf)
			l.buf = nb
		}
		m, err := l.r.Read(l.buf[l.n:])
		l.n += m
		if err != nil && m == 0 {
			clear(l.buf[:l.n])
			return nil, err
		}
	}
}

// wipe zeroes what is buffered.
func (l *lineReader) wipe() { clear(l.buf) }

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// fields, names in another case than the field's or given twice
// (checkNames), and trailing data.
//
// It makes no copy of data that it cannot wipe: checkNames parses data in
// place, and json.Unmarshal (unlike a json.Decoder, whose read buffer
// would keep the frame, a secret's base64 in it, until the collector
// reused the memory) decodes from data itself. A secret's only copy is its
// decoded []byte, which the frame's wipe zeroes. (A string with JSON
// escapes is unescaped into a scratch copy first; base64 needs none, and
// the Client writes none.)
func decodeStrict(data []byte, v any) error {
	if err := checkNames(data, reflect.TypeOf(v)); err != nil {
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	// Unknown fields were refused by checkNames; Unmarshal refuses
	// trailing data other than white space.
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	return nil
}

// readFrame reads and strictly decodes one frame, wiping its raw bytes.
func readFrame(l *lineReader, fromClient bool) (frame, error) {
	line, err := l.next()
	if err != nil {
		return frame{}, err
	}
	defer clear(line)
	var f frame
	if err := decodeStrict(line, &f); err != nil {
		f.wipe()
		return frame{}, err
	}
	if err := f.check(fromClient); err != nil {
		f.wipe()
		return frame{}, err
	}
	return f, nil
}

// encodeFrame marshals f with its newline. The caller wipes the result when
// f carries a secret.
//
// A secret never passes through json.Marshal, whose encoder buffers live
// in a sync.Pool, out of reach of a wipe: the frame is marshalled without
// it, and the secret's base64 is written straight into the one buffer
// returned, as the frame's last member.
func encodeFrame(f *frame) ([]byte, error) {
	secret := f.Secret
	if secret != nil {
		g := *f
		g.Secret = nil
		f = &g
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	size := len(b) + 1
	if secret != nil {
		size += len(`,"secret":""`) + base64.StdEncoding.EncodedLen(len(secret))
	}
	if size-1 > MaxFrameSize {
		return nil, fmt.Errorf("%w: frame larger than %d bytes", ErrProtocol, MaxFrameSize)
	}
	if secret == nil {
		return append(b, '\n'), nil
	}
	out := make([]byte, 0, size)
	out = append(out, b[:len(b)-1]...) // without its closing brace
	out = append(out, `,"secret":"`...)
	n := len(out) + base64.StdEncoding.EncodedLen(len(secret))
	base64.StdEncoding.Encode(out[len(out):n], secret)
	out = append(out[:n], "\"}\n"...)
	return out, nil
}

// WireError is an error as it crosses the local API: a stable code, the
// data a typed error carries, and the agent's message (for logs).
type WireError struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
	// Retries for wrongPIN and wrongPUK.
	Retries int `json:"retries,omitempty"`
	// Reason for pinPolicy (cardreader.PINPolicyReason).
	Reason int `json:"reason,omitempty"`
	// PIN names the PIN the error is about when it is not the
	// identification PIN (cardreader.PINSignature): a blocked signature
	// PIN is not "the PIN is blocked" (the card still logs in).
	PIN cardreader.PINRef `json:"pin,omitempty"`
}

// wireSentinels maps error codes to the sentinels they stand for, so that
// errors.Is works the same on either side of the local API.
var wireSentinels = []struct {
	code string
	err  error
}{
	// Before cardRemoved, which they match too: the change may have
	// happened.
	{"pinChangeOutcomeUnknown", app.ErrPINChangeOutcomeUnknown},
	{"pinUnblockOutcomeUnknown", app.ErrPINUnblockOutcomeUnknown},
	{"removalOutcomeUnknown", app.ErrRemovalOutcomeUnknown},
	{"noService", cardreader.ErrNoService},
	{"noReader", cardreader.ErrNoReader},
	{"noCard", cardreader.ErrNoCard},
	{"cardRemoved", cardreader.ErrCardRemoved},
	{"cardChanged", cardreader.ErrCardChanged},
	// Before unsupportedCard: cardreader.Open joins every backend's
	// answer, and "the card is busy" or "does not answer" from the one
	// that serves it is the truth, not the others' "not mine".
	{"cardBusy", cardreader.ErrCardBusy},
	{"cardUnresponsive", cardreader.ErrCardUnresponsive},
	{"unsupportedCard", cardreader.ErrUnsupportedCard},
	{"pinBlocked", cardreader.ErrPINBlocked},
	{"pukBlocked", cardreader.ErrPUKBlocked},
	{"noPUK", cardreader.ErrNoPUK},
	{"noSignaturePIN", cardreader.ErrNoSignaturePIN},
	{"removalUnsupported", cardreader.ErrRemovalUnsupported},
	{"unknownPIN", app.ErrUnknownPIN},
	{"certificateNotFound", cardreader.ErrCertificateNotFound},
	{"managementKey", cardreader.ErrManagementKey},
	{"ambiguousCard", cardreader.ErrAmbiguousCard},
	{"cancelled", app.ErrCancelled},
	{"samePIN", app.ErrSamePIN},
	{"newPINRejected", cardreader.ErrNewPINRejected},
	{"confirmLogin", app.ErrConfirmLogin},
	{"nothingExpired", app.ErrNothingExpired},
	{"badLink", app.ErrBadLink},
	{"noLoginCertificate", app.ErrNoLoginCertificate},
	{"noSuchEID", app.ErrNoSuchEID},
	{"confirmEIDRemoval", app.ErrConfirmEIDRemoval},
	{"loginCertificateExpired", app.ErrLoginCertificateExpired},
	{"environmentTurnedOff", environment.ErrTurnedOff}, // before environmentNotConfigured, which it matches too
	{"environmentNotConfigured", environment.ErrNotConfigured},
	{"unknownEnvironment", environment.ErrUnknown},
	{"expired", oob.ErrExpired},
	{"alreadyCompleted", oob.ErrAlreadyCompleted},
	{"rateLimited", oob.ErrRateLimited},
	{"malformedReply", oob.ErrMalformedReply},
	{"protocol", ErrProtocol},
	{"unknownMethod", ErrUnknownMethod},
	{"tooManyCalls", ErrTooManyCalls},
	{"tooManyConnections", ErrTooManyConnections},
	{"handoffNotFound", ErrHandoffNotFound},
	{"handoffRateLimited", ErrHandoffRateLimited},
	{"endUserIpMismatch", oob.ErrEndUserIPMismatch},
	{"timeout", context.DeadlineExceeded},
}

// toWire turns an error into its wire form.
func ToWire(err error) *WireError {
	if err == nil {
		return nil
	}
	we := &WireError{Code: "failed", Message: err.Error()}
	var (
		wrongPIN *cardreader.WrongPINError
		wrongPUK *cardreader.WrongPUKError
		policy   *cardreader.PINPolicyError
		pinErr   *app.PINError
	)
	if errors.As(err, &pinErr) && pinErr.PIN != "" && pinErr.PIN != cardreader.PINIdentification {
		we.PIN = pinErr.PIN
	}
	switch {
	case errors.As(err, &wrongPIN) && wrongPIN.Retries == 0:
		// The third wrong PIN blocked it: say blocked, as the card's
		// status will from now on (WrongPINError matches ErrPINBlocked).
		we.Code = "pinBlocked"
		return we
	case errors.As(err, &wrongPUK) && wrongPUK.Retries == 0:
		we.Code = "pukBlocked"
		return we
	case errors.As(err, &wrongPIN):
		we.Code, we.Retries = "wrongPIN", wrongPIN.Retries
		return we
	case errors.As(err, &wrongPUK):
		we.Code, we.Retries = "wrongPUK", wrongPUK.Retries
		return we
	case errors.As(err, &policy):
		we.Code, we.Reason = "pinPolicy", int(policy.Reason)
		return we
	case errors.Is(err, context.Canceled):
		we.Code = "cancelled"
		return we
	}
	for _, s := range wireSentinels {
		if errors.Is(err, s.err) {
			we.Code = s.code
			return we
		}
	}
	return we
}

// AgentError is an error the agent returned. It unwraps to the sentinel or
// typed error its code stands for (cardreader.ErrPINBlocked,
// *cardreader.WrongPINError, …), so callers test it as they would test the
// Service's errors.
type AgentError struct {
	Code    string
	Message string
	err     error
}

func (e *AgentError) Error() string {
	if e.Message != "" {
		return "agent: " + e.Message
	}
	return "agent: " + e.Code
}

func (e *AgentError) Unwrap() error { return e.err }

// fromWire turns a wire error back into a Go error.
func fromWire(we *WireError) error {
	if we == nil {
		return nil
	}
	e := &AgentError{Code: we.Code, Message: we.Message}
	switch we.Code {
	case "wrongPIN":
		e.err = &cardreader.WrongPINError{Retries: we.Retries}
	case "wrongPUK":
		e.err = &cardreader.WrongPUKError{Retries: we.Retries}
	case "pinPolicy":
		e.err = &cardreader.PINPolicyError{Reason: cardreader.PINPolicyReason(we.Reason)}
	default:
		for _, s := range wireSentinels {
			if s.code == we.Code {
				e.err = s.err
				break
			}
		}
	}
	if we.PIN != "" && e.err != nil {
		// Which PIN, as the Service says it (*app.PINError).
		e.err = &app.PINError{PIN: we.PIN, Err: e.err}
	}
	return e
}

// Parameters and results of the methods.

type SelectParams struct {
	Reader     string `json:"reader,omitempty"`
	CardNumber string `json:"cardNumber,omitempty"`
}

func (p SelectParams) Selector() app.Selector {
	return app.Selector{Reader: p.Reader, CardNumber: p.CardNumber}
}

func wireSelect(s app.Selector) SelectParams {
	return SelectParams{Reader: s.Reader, CardNumber: s.CardNumber}
}

type StatusParams struct {
	Select             SelectParams `json:"select"`
	ShowPersonalNumber bool         `json:"showPersonalNumber,omitempty"`
	ExpiryWarningNs    int64        `json:"expiryWarningNs,omitempty"`
}

type selectOnlyParams struct {
	Select SelectParams `json:"select"`
}

// pinParams are pin.change's and pin.unblock's: the card, and which of its
// PINs ("identification", the default, or "signature").
type PINParams struct {
	Select SelectParams      `json:"select"`
	PIN    cardreader.PINRef `json:"pin,omitempty"`
}

type CertRemoveParams struct {
	Select       SelectParams `json:"select"`
	CertID       string       `json:"certId,omitempty"`
	ConfirmLogin bool         `json:"confirmLogin,omitempty"`
}

// EIDRemoveParams names the eID to remove by its HSA-ID; ConfirmLogin
// says the user confirmed (app.RemoveEID).
type EIDRemoveParams struct {
	Select       SelectParams `json:"select"`
	HSAID        string       `json:"hsaId"`
	ConfirmLogin bool         `json:"confirmLogin,omitempty"`
}

type LoginParams struct {
	Select SelectParams `json:"select"`
	// Link or Handoff (the id of a queued handoff) names the order.
	Link    string `json:"link,omitempty"`
	Handoff string `json:"handoff,omitempty"`
	// Approve asks the caller for an approval prompt before the PIN.
	Approve bool `json:"approve,omitempty"`
	// HSAID is the SITHS eID to log in as (app.LoginRequest.HSAID).
	HSAID string `json:"hsaId,omitempty"`
}

type HandoffParams struct {
	URL string `json:"url"`
}

type ExportParams struct {
	Select SelectParams `json:"select"`
	Dir    string       `json:"dir"`
	Format string       `json:"format,omitempty"`
}

type QRParams struct {
	Link    string `json:"link,omitempty"`
	Handoff string `json:"handoff,omitempty"`
	Size    int    `json:"size,omitempty"`
}

// HandoffReceipt is the agent's answer to a handoff: queued under ID.
type HandoffReceipt struct {
	ID     string `json:"id"`
	Queued int    `json:"queued"`
}

// AgentInfo answers a ping.
type AgentInfo struct {
	PID     int    `json:"pid"`
	Version string `json:"version,omitempty"`
	Started string `json:"started"`
}

type RemovedResult struct {
	Removed []string `json:"removed"`
}

func nsDuration(ns int64) time.Duration { return time.Duration(ns) }

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// Listen takes this session's local API address for an agent
// (localsocket.Listen). Where an agent answers already it returns an error
// wrapping ErrAgentRunning; a stale socket is replaced; something that
// accepts connections but does not answer as an agent is left alone.
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	return localsocket.Listen(addr, func(addr string) error {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		info, err := pingAddress(pctx, addr)
		switch {
		case err == nil:
			return fmt.Errorf("%w (pid %d, %s)", ErrAgentRunning, info.PID, addr)
		case !errors.Is(err, ErrNoAgent):
			return fmt.Errorf("%w (%s does not answer: %v)", ErrAgentRunning, addr, err)
		}
		return nil
	})
}

// Address is this session's local API address (localsocket.Path), the
// environment read through getenv.
func Address(getenv func(string) string) (string, error) { return localsocket.Path(getenv) }
