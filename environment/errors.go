package environment

// NotConfiguredError is ErrNotConfigured for a named environment.
type NotConfiguredError struct{ Name string }

func (e *NotConfiguredError) Error() string { return e.Name + ": " + ErrNotConfigured.Error() }
func (e *NotConfiguredError) Unwrap() error { return ErrNotConfigured }

// EnvironmentName names the environment for the user's message.
func (e *NotConfiguredError) EnvironmentName() string { return e.Name }
