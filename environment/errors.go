package environment

import "errors"

// NotConfiguredError is ErrNotConfigured for a named environment.
type NotConfiguredError struct{ Name string }

func (e *NotConfiguredError) Error() string { return e.Name + ": " + ErrNotConfigured.Error() }
func (e *NotConfiguredError) Unwrap() error { return ErrNotConfigured }

// EnvironmentName names the environment for the user's message.
func (e *NotConfiguredError) EnvironmentName() string { return e.Name }

// ErrTurnedOff: the environment is turned off on this computer. DEMO, whose
// trust anchor comes from a public test seed, is off in the installed
// packages unless policy's allowDemo turns it on.
var ErrTurnedOff = errors.New("environment turned off on this computer")

// TurnedOffError is ErrTurnedOff for a named environment.
type TurnedOffError struct{ Name string }

func (e *TurnedOffError) Error() string {
	return e.Name + ": " + ErrTurnedOff.Error() + " (policy's allowDemo turns it on)"
}

// Unwrap is ErrTurnedOff and ErrNotConfigured: a role that runs on in an
// environment without endpoints (the agent, the window) runs on in one
// that is turned off, and its logins say why.
func (e *TurnedOffError) Unwrap() []error { return []error{ErrTurnedOff, ErrNotConfigured} }

// EnvironmentName names the environment for the user's message.
func (e *TurnedOffError) EnvironmentName() string { return e.Name }
