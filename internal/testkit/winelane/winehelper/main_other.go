//go:build !windows

// Command winehelper is the Windows lane's test helper (see main.go); it
// is built for Windows only.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "winehelper: a Windows program (scripts/wine-lane builds it)")
	os.Exit(2)
}
