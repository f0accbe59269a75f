package cli

import "github.com/sithseid/sithseid/startup"

// Fail reports err, a failure of main's before any command ran (the
// window program of "sithseid ui" is not installed, internal/uiexe), as
// Run reports a failed command: a sentence and a hint in the user's
// language (e.Args may hold --lang) on e.Stderr, the error in the log. It
// returns the exit code.
func Fail(e Env, cmd string, err error) int {
	s := startup.Start(startup.Env{Getenv: e.Getenv, Log: e.Log, LogToFile: e.LogToFile})
	defer s.Close()
	langFlag, _ := splitLang(e.Args)
	cat := s.Catalog(langFlag)
	s.Log.Info("command failed", "cmd", cmd, "err", err)
	return report(e.Stderr, cat, s.Settings.Helpdesk, err)
}
