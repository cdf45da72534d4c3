package store

func registerStrings(m map[string]Cmd) {}
