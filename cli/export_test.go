package cli

// CommandNames lists the commands of the table, for the help test.
func CommandNames() []string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return names
}

// CommandHelpID is the translation ID of the named command's usage.
func CommandHelpID(name string) string {
	for _, c := range commands {
		if c.name == name {
			return c.help
		}
	}
	return ""
}
