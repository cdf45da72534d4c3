package store

func registerKeys(m map[string]Cmd) {}
