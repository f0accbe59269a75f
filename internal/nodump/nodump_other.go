//go:build !unix

package nodump

// apply: Windows has no per-process switch (see the package doc).
func apply() error { return nil }
