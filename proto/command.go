package proto

import "sort"

//go:generate go run ./internal/gencmd -out commands_gen.go

// Flag is a set of command flags: Redis's (as COMMAND INFO reports them)
// plus shoal's own (FlagFanOut).
type Flag uint64

// Command flags, in the order Redis 7.0 lists them in COMMAND INFO.
const (
	FlagWrite Flag = 1 << iota
	FlagReadOnly
	FlagDenyOOM
	FlagModule
	FlagAdmin
	FlagPubSub
	FlagNoScript
	FlagBlocking
	FlagLoading
	FlagStale
	FlagSkipMonitor
	FlagSkipSlowlog
	FlagAsking
	FlagFast
	FlagNoAuth
	FlagNoMandatoryKeys
	FlagNoAsyncLoading
	FlagNoMulti
	FlagMovableKeys
	FlagAllowBusy
)

// FlagFanOut is shoal's own flag: the frontend sends the command to every
// shard and merges the replies (KEYS, SCAN, DBSIZE, FLUSHALL, FLUSHDB,
// RANDOMKEY). It never appears in COMMAND INFO.
const FlagFanOut Flag = 1 << 40

var flagNames = []struct {
	f    Flag
	name string
}{
	{FlagWrite, "write"},
	{FlagReadOnly, "readonly"},
	{FlagDenyOOM, "denyoom"},
	{FlagModule, "module"},
	{FlagAdmin, "admin"},
	{FlagPubSub, "pubsub"},
	{FlagNoScript, "noscript"},
	{FlagBlocking, "blocking"},
	{FlagLoading, "loading"},
	{FlagStale, "stale"},
	{FlagSkipMonitor, "skip_monitor"},
	{FlagSkipSlowlog, "skip_slowlog"},
	{FlagAsking, "asking"},
	{FlagFast, "fast"},
	{FlagNoAuth, "no_auth"},
	{FlagNoMandatoryKeys, "no_mandatory_keys"},
	{FlagNoAsyncLoading, "no_async_loading"},
	{FlagNoMulti, "no_multi"},
	{FlagMovableKeys, "movablekeys"},
	{FlagAllowBusy, "allow_busy"},
}

// FlagByName returns the flag Redis calls name ("write", "readonly", ...).
func FlagByName(name string) (Flag, bool) {
	for _, fn := range flagNames {
		if fn.name == name {
			return fn.f, true
		}
	}
	return 0, false
}

// Names returns Redis's names of the flags in f, in COMMAND INFO order
// (shoal's own flags are not included).
func (f Flag) Names() []string {
	var out []string
	for _, fn := range flagNames {
		if f&fn.f != 0 {
			out = append(out, fn.name)
		}
	}
	return out
}

// KeyFlag is a set of key-spec flags (Redis 7 key specs).
type KeyFlag uint32

// Key-spec flags, in the order Redis 7.0 lists them.
const (
	KeyRO KeyFlag = 1 << iota
	KeyRW
	KeyOW
	KeyRM
	KeyAccess
	KeyUpdate
	KeyInsert
	KeyDelete
	KeyNotKey
	KeyIncomplete
	KeyVariableFlags
)

var keyFlagNames = []struct {
	f    KeyFlag
	name string
}{
	{KeyRO, "RO"},
	{KeyRW, "RW"},
	{KeyOW, "OW"},
	{KeyRM, "RM"},
	{KeyAccess, "access"},
	{KeyUpdate, "update"},
	{KeyInsert, "insert"},
	{KeyDelete, "delete"},
	{KeyNotKey, "not_key"},
	{KeyIncomplete, "incomplete"},
	{KeyVariableFlags, "variable_flags"},
}

// KeyFlagByName returns the key-spec flag Redis calls name ("RW", "access", ...).
func KeyFlagByName(name string) (KeyFlag, bool) {
	for _, fn := range keyFlagNames {
		if fn.name == name {
			return fn.f, true
		}
	}
	return 0, false
}

// Names returns Redis's names of the flags in f, in Redis's order.
func (f KeyFlag) Names() []string {
	var out []string
	for _, fn := range keyFlagNames {
		if f&fn.f != 0 {
			out = append(out, fn.name)
		}
	}
	return out
}

// SearchType is how a key spec finds its first key.
type SearchType uint8

// Begin-search types of a key spec.
const (
	SearchUnknown SearchType = iota
	SearchIndex              // at a fixed argument index
	SearchKeyword            // after a keyword
)

// FindType is how a key spec finds the keys after the first.
type FindType uint8

// Find-keys types of a key spec.
const (
	FindUnknown FindType = iota
	FindRange            // a range of arguments
	FindKeynum           // a count argument followed by that many keys
)

// KeySpec is one Redis 7 key specification (COMMAND INFO's key specs).
type KeySpec struct {
	Notes string
	Flags KeyFlag

	Search    SearchType
	Index     int    // SearchIndex: argument index of the first key
	Keyword   string // SearchKeyword: the keyword
	StartFrom int    // SearchKeyword: where to start looking (negative: from the end, backwards)

	Find      FindType
	LastKey   int // FindRange: last key relative to the first, negative: from the end
	KeyStep   int // FindRange and FindKeynum: distance between keys
	Limit     int // FindRange: with LastKey -1, only 1/Limit of the remaining arguments
	KeyNumIdx int // FindKeynum: index of the count, relative to the first key position
	FirstKey  int // FindKeynum: index of the first key, relative to the first key position
}

// CommandSpec describes one command or subcommand exactly as redis-server
// 7.0.15 reports it in COMMAND INFO and COMMAND DOCS, plus shoal's flags.
// Specs are shared and immutable: never modify one.
type CommandSpec struct {
	Name     string // lower case; for a subcommand the part after '|' ("get")
	FullName string // "get", "config|get": the name Redis uses in error texts
	Arity    int    // N: exactly N arguments (name included); -N: at least N
	Flags    Flag
	// FlagNames are Redis's flag names as COMMAND INFO lists them.
	FlagNames               []string
	FirstKey, LastKey, Step int // legacy key range (COMMAND INFO fields 4-6)
	ACLCategories           []string
	Tips                    []string
	KeySpecs                []KeySpec
	Subcommands             []*CommandSpec // in COMMAND INFO order
	Parent                  *CommandSpec   // the container of a subcommand

	Summary, Since, Group, Complexity string // from COMMAND DOCS

	// info is the raw RESP of COMMAND INFO entry fields 1-9 (name to key
	// specs), without the "*10" header and the subcommands field.
	info string
	// docs is the raw RESP of the COMMAND DOCS map's pairs except
	// "subcommands"; docsPairs counts them.
	docs      string
	docsPairs int
	// extraDocArgs is the raw "arguments" docs value of a hand-written spec.
	extraDocArgs string

	subs        *nameTable
	getKeys     keysProc
	hasKeySpecs bool // a key spec not marked not_key
	varFlags    bool // a key spec marked variable_flags
}

// IsContainer reports a command with subcommands (CONFIG, CLIENT, ...).
func (s *CommandSpec) IsContainer() bool { return len(s.Subcommands) > 0 }

// Sub returns the subcommand named sub (any case), or nil.
func (s *CommandSpec) Sub(sub []byte) *CommandSpec {
	if s.subs == nil {
		return nil
	}
	return s.subs.lookup(sub)
}

// CheckArity reports whether nargs arguments (the command name included)
// satisfy s's arity, as Redis checks it.
func CheckArity(s *CommandSpec, nargs int) bool {
	return (s.Arity > 0 && s.Arity == nargs) || (s.Arity < 0 && nargs >= -s.Arity)
}

// maxNameLen bounds the command and subcommand names Lookup accepts (the
// longest in the table is far shorter; checked at init).
const maxNameLen = 32

var (
	commandTable  []*CommandSpec // top level, sorted by name
	commandByName *nameTable     // top level
)

// nameTable finds specs by case-insensitive name without allocating: an
// open-addressing table (load factor at most 1/4) whose hash is computed in
// the loop that lower-cases the name. It is faster than a map[string]
// lookup, whose string hash dominated the cost.
type nameTable struct {
	slots []*CommandSpec
	mask  uint32
}

const fnvOffset, fnvPrime = 2166136261, 16777619

// hashName is FNV-1a; command names are short, so the per-byte chain is
// cheaper than word-wise hashing (which stalls on store forwarding after
// the byte-wise lower-casing).
func hashName(name string) uint32 {
	h := uint32(fnvOffset)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint32(name[i])) * fnvPrime
	}
	return h
}

func newNameTable(specs []*CommandSpec) *nameTable {
	size := 8
	for size < 4*len(specs) {
		size *= 2
	}
	t := &nameTable{slots: make([]*CommandSpec, size), mask: uint32(size - 1)}
	for _, s := range specs {
		i := hashName(s.Name) & t.mask
		for t.slots[i] != nil {
			if t.slots[i].Name == s.Name {
				panic("proto: duplicate command " + s.FullName)
			}
			i = (i + 1) & t.mask
		}
		t.slots[i] = s
	}
	return t
}

func (t *nameTable) lookup(name []byte) *CommandSpec {
	if len(name) > maxNameLen {
		return nil
	}
	var buf [maxNameLen]byte
	h := uint32(fnvOffset)
	for i, c := range name {
		if c-'A' < 26 {
			c += 'a' - 'A'
		}
		buf[i] = c
		h = (h ^ uint32(c)) * fnvPrime // hashName, fused with lower-casing
	}
	lower := buf[:len(name)]
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := t.slots[i]
		if s == nil || s.Name == string(lower) {
			return s
		}
	}
}

// Lookup returns the top-level command named name (any case, as Redis's
// command table), or nil. It does not allocate.
func Lookup(name []byte) *CommandSpec { return commandByName.lookup(name) }

// LookupString is Lookup for a string name.
func LookupString(name string) *CommandSpec {
	if len(name) > maxNameLen {
		return nil
	}
	var buf [maxNameLen]byte
	n := copy(buf[:], name)
	return commandByName.lookup(buf[:n])
}

// LookupSub returns the subcommand sub of the container command name (any
// case), or nil.
func LookupSub(name, sub []byte) *CommandSpec {
	c := Lookup(name)
	if c == nil {
		return nil
	}
	return c.Sub(sub)
}

// LookupCommand finds the spec for a request as Redis's lookupCommand does:
// for a container with at least one more argument, the subcommand named by
// args[1] (nil when there is none); else the top-level command.
func LookupCommand(args [][]byte) *CommandSpec {
	if len(args) == 0 {
		return nil
	}
	c := Lookup(args[0])
	if c == nil || len(args) == 1 || !c.IsContainer() {
		return c
	}
	return c.Sub(args[1])
}

// LookupFullName finds "get" or "config|get" (any case), as COMMAND INFO
// and COMMAND DOCS resolve their arguments.
func LookupFullName(name []byte) *CommandSpec {
	for i, c := range name {
		if c == '|' {
			base := Lookup(name[:i])
			if base == nil {
				return nil
			}
			rest := name[i+1:]
			for _, c2 := range rest {
				if c2 == '|' {
					return nil
				}
			}
			return base.Sub(rest)
		}
	}
	return Lookup(name)
}

// Resolve looks a request up and checks it as Redis's processCommand does
// before running it: an unknown command or subcommand, then the arity. The
// error is an Error carrying Redis's exact text (write it with AppendError).
func Resolve(args [][]byte) (*CommandSpec, error) {
	if len(args) == 0 {
		return nil, Error(ErrUnknownCommand(args))
	}
	c := LookupCommand(args)
	if c == nil {
		if base := Lookup(args[0]); base != nil && base.IsContainer() {
			return nil, Error(ErrUnknownSubcommand(args))
		}
		return nil, Error(ErrUnknownCommand(args))
	}
	if !CheckArity(c, len(args)) {
		return nil, Error(ErrWrongArity(c.FullName))
	}
	return c, nil
}

// All returns every top-level command, sorted by name. The slice is a
// copy; the specs are shared and must not be modified.
func All() []*CommandSpec {
	return append([]*CommandSpec(nil), commandTable...)
}

// ErrWrongArity returns Redis 7.0's arity error for the command whose full
// name is fullName ("get", "config|get"): "ERR wrong number of arguments
// for 'get' command". Redis prints the lower-case table name, so pass
// CommandSpec.FullName.
func ErrWrongArity(fullName string) string {
	return "ERR wrong number of arguments for '" + fullName + "' command"
}

// cString is what C's "%s" prints of an argument: the bytes up to a NUL.
func cString(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// mapCRLF replaces CR and LF by spaces, as Redis does in error texts.
func mapCRLF(s []byte) string {
	for i, c := range s {
		if c == '\r' || c == '\n' {
			s[i] = ' '
		}
	}
	return string(s)
}

// ErrUnknownCommand returns Redis 7.0's text for an unknown command:
// "ERR unknown command 'foo', with args beginning with: 'a' 'b' " (the
// name and the arguments cut to 128 bytes in total, at a NUL byte like C
// strings, CR and LF turned into spaces).
func ErrUnknownCommand(args [][]byte) string {
	var name []byte
	if len(args) > 0 {
		name = args[0]
	}
	var rest []byte
	for i := 1; i < len(args) && len(rest) < 128; i++ {
		rest = append(rest, '\'')
		rest = append(rest, truncate(cString(args[i]), 128-len(rest)+1)...)
		rest = append(rest, '\'', ' ')
	}
	b := []byte("ERR unknown command '")
	b = append(b, truncate(cString(name), 128)...)
	b = append(b, "', with args beginning with: "...)
	b = append(b, rest...)
	return mapCRLF(b)
}

// ErrUnknownSubcommand returns Redis 7.0's text for an unknown subcommand
// of a container: "ERR unknown subcommand 'x'. Try CONFIG HELP." (args[0]
// is printed upper-cased, as the client typed it).
func ErrUnknownSubcommand(args [][]byte) string {
	var sub []byte
	if len(args) > 1 {
		sub = args[1]
	}
	b := []byte("ERR unknown subcommand '")
	b = append(b, truncate(cString(sub), 128)...)
	b = append(b, "'. Try "...)
	if len(args) > 0 {
		for _, c := range cString(args[0]) { // C's toupper: ASCII only
			if c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			b = append(b, c)
		}
	}
	b = append(b, " HELP."...)
	return mapCRLF(b)
}

// registerCommands builds the lookup maps from the generated table and the
// hand-written extras. It panics on an inconsistent table (a programming
// error caught by any test).
func registerCommands(specs []*CommandSpec) {
	for _, s := range specs {
		if len(s.Name) > maxNameLen {
			panic("proto: command name too long: " + s.Name)
		}
		prepareSpec(s)
		if len(s.Subcommands) > 0 {
			for _, sub := range s.Subcommands {
				if len(sub.Name) > maxNameLen {
					panic("proto: subcommand name too long: " + sub.FullName)
				}
				sub.Parent = s
				prepareSpec(sub)
			}
			s.subs = newNameTable(s.Subcommands)
		}
	}
	commandByName = newNameTable(specs)
	commandTable = append([]*CommandSpec(nil), specs...)
	sort.Slice(commandTable, func(i, j int) bool { return commandTable[i].Name < commandTable[j].Name })
}

func prepareSpec(s *CommandSpec) {
	for _, ks := range s.KeySpecs {
		if ks.Flags&KeyNotKey == 0 {
			s.hasKeySpecs = true
		}
		if ks.Flags&KeyVariableFlags != 0 {
			s.varFlags = true
		}
	}
	if p, ok := keysProcs[s.FullName]; ok {
		s.getKeys = p
	}
}
