package store

// commandTable maps lower-case command names to their handlers. Each data
// type's file registers its own commands.
func commandTable() map[string]Cmd {
	m := make(map[string]Cmd, 256)
	registerStrings(m)
	registerKeys(m)
	registerHashes(m)
	registerLists(m)
	registerSets(m)
	registerZSets(m)
	return m
}

// register adds a handler and panics on a duplicate name (a programming
// error, caught by every test).
func register(m map[string]Cmd, name string, h Cmd) {
	if _, dup := m[name]; dup {
		panic("store: command registered twice: " + name)
	}
	m[name] = h
}
