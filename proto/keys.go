package proto

// KeyRef is a key's argument position and its key-spec flags.
type KeyRef struct {
	Pos   int
	Flags KeyFlag
}

// keysProc is Redis's getkeys_proc for the commands shoal implements that
// have one: used when a command's key specs cannot be trusted
// (variable_flags) or fail on the given arguments.
type keysProc struct {
	kind                      uint8 // procGeneric or procSet
	store, count, first, step int   // genericGetKeys's arguments
}

const (
	procGeneric uint8 = iota + 1
	procSet
)

// keysProcs maps full names to Redis 7.0's getkeys_proc (db.c).
var keysProcs = map[string]keysProc{
	"set":         {kind: procSet},
	"zunion":      {kind: procGeneric, store: 0, count: 1, first: 2, step: 1},
	"zinter":      {kind: procGeneric, store: 0, count: 1, first: 2, step: 1},
	"zdiff":       {kind: procGeneric, store: 0, count: 1, first: 2, step: 1},
	"zunionstore": {kind: procGeneric, store: 1, count: 2, first: 3, step: 1},
	"zinterstore": {kind: procGeneric, store: 1, count: 2, first: 3, step: 1},
	"zdiffstore":  {kind: procGeneric, store: 1, count: 2, first: 3, step: 1},
	"sintercard":  {kind: procGeneric, store: 0, count: 1, first: 2, step: 1},
}

// HasKeys reports whether the command may take keys at all (Redis's
// doesCommandHaveKeys).
func (s *CommandSpec) HasKeys() bool { return s.getKeys.kind != 0 || s.hasKeySpecs }

// AppendKeys appends the positions in args (args[0] is the command name;
// for a subcommand, args[0] is the container's name) of the keys of the
// request, as Redis 7.0's getKeysFromCommandWithSpecs finds them: key specs
// first (negative last keys, keywords, key counts), then the command's
// getkeys function when the specs fail. It returns dst unchanged when the
// arguments are malformed (the command will reply with its own error).
// It does not allocate beyond growing dst.
func (s *CommandSpec) AppendKeys(dst []int, args [][]byte) []int {
	return findKeys(s, args, dst, func(pos int, _ KeyFlag) int { return pos })
}

// Keys is AppendKeys into a new slice.
func (s *CommandSpec) Keys(args [][]byte) []int { return s.AppendKeys(nil, args) }

// AppendKeyRefs is AppendKeys with the key flags too (COMMAND
// GETKEYSANDFLAGS).
func (s *CommandSpec) AppendKeyRefs(dst []KeyRef, args [][]byte) []KeyRef {
	return findKeys(s, args, dst, func(pos int, f KeyFlag) KeyRef { return KeyRef{pos, f} })
}

func findKeys[T any](s *CommandSpec, args [][]byte, dst []T, mk func(int, KeyFlag) T) []T {
	if s.hasKeySpecs && !s.varFlags {
		if out, ok := specKeys(s, args, dst, mk); ok {
			return out
		}
	}
	switch s.getKeys.kind {
	case procGeneric:
		return genericKeys(s.getKeys, args, dst, mk)
	case procSet:
		return setKeys(args, dst, mk)
	}
	return dst
}

// specKeys is Redis 7.0's getKeysUsingKeySpecs. ok is false for an invalid
// or incomplete spec (Redis then falls back to the getkeys function).
func specKeys[T any](s *CommandSpec, args [][]byte, dst []T, mk func(int, KeyFlag) T) (_ []T, ok bool) {
	argc := len(args)
	start := len(dst)
	for i := range s.KeySpecs {
		ks := &s.KeySpecs[i]
		if ks.Flags&KeyNotKey != 0 {
			continue
		}
		first := 0
		switch ks.Search {
		case SearchIndex:
			first = ks.Index
		case SearchKeyword:
			startIdx, endIdx := ks.StartFrom, argc-1
			if ks.StartFrom <= 0 {
				startIdx, endIdx = argc+ks.StartFrom, 1
			}
			for j := startIdx; j != endIdx; {
				if j >= argc || j < 1 {
					break
				}
				if equalFoldCString(args[j], ks.Keyword) {
					first = j + 1
					break
				}
				if startIdx <= endIdx {
					j++
				} else {
					j--
				}
			}
			if first == 0 {
				continue
			}
		default:
			return dst[:start], false
		}
		var last, step int
		switch ks.Find {
		case FindRange:
			step = ks.KeyStep
			switch {
			case ks.LastKey >= 0:
				last = first + ks.LastKey
			case ks.Limit == 0:
				last = argc + ks.LastKey
			default:
				last = first + ((argc-first)/ks.Limit + ks.LastKey)
			}
		case FindKeynum:
			step = ks.KeyStep
			idx := first + ks.KeyNumIdx
			if ks.KeyNumIdx >= argc || idx >= argc {
				return dst[:start], false
			}
			n, ok := parseInt(args[idx])
			if !ok || n < 0 {
				return dst[:start], false
			}
			first += ks.FirstKey
			last = first + int(int32(n)) - 1 // C's (int) cast
		default:
			return dst[:start], false
		}
		if last >= argc || last < first || first >= argc || step <= 0 {
			return dst[:start], false
		}
		for j := first; j <= last; j += step {
			dst = append(dst, mk(j, ks.Flags))
		}
		if ks.Flags&KeyIncomplete != 0 {
			return dst[:start], false
		}
	}
	return dst, true
}

// genericKeys is Redis's genericGetKeys: a key count at p.count, keys from
// p.first, and a destination key at p.store (listed last) when non-zero.
func genericKeys[T any](p keysProc, args [][]byte, dst []T, mk func(int, KeyFlag) T) []T {
	argc := len(args)
	if p.count >= argc {
		return dst
	}
	num := atoi(args[p.count])
	if num < 1 || num > (argc-p.first)/p.step {
		return dst
	}
	for i := 0; i < num; i++ {
		dst = append(dst, mk(p.first+i*p.step, 0))
	}
	if p.store != 0 {
		dst = append(dst, mk(p.store, 0))
	}
	return dst
}

// setKeys is Redis's setGetKeys: the key is argument 1; its flags depend on
// a GET option.
func setKeys[T any](args [][]byte, dst []T, mk func(int, KeyFlag) T) []T {
	if len(args) < 2 {
		return dst
	}
	for i := 3; i < len(args); i++ {
		a := cString(args[i])
		if len(a) == 3 && (a[0]|0x20) == 'g' && (a[1]|0x20) == 'e' && (a[2]|0x20) == 't' {
			return append(dst, mk(1, KeyRW|KeyAccess|KeyUpdate))
		}
	}
	return append(dst, mk(1, KeyOW|KeyUpdate))
}

// equalFoldCString is C's strcasecmp(arg, kw) == 0 (arg ends at a NUL).
func equalFoldCString(arg []byte, kw string) bool {
	arg = cString(arg)
	if len(arg) != len(kw) {
		return false
	}
	for i := range arg {
		a, b := arg[i], kw[i]
		if a >= 'A' && a <= 'Z' {
			a += 'a' - 'A'
		}
		if b >= 'A' && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// atoi is glibc's atoi: (int)strtol(s, NULL, 10). Leading white space, a
// sign, then digits up to the first other byte; overflow saturates to the
// long range before the cast to a 32-bit int.
func atoi(b []byte) int {
	b = cString(b)
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	var v uint64
	overflow := false
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if v > (1<<63)/10+1 {
			overflow = true
			continue
		}
		v = v*10 + uint64(b[i]-'0')
	}
	var l int64
	switch {
	case !neg && (overflow || v > 1<<63-1):
		l = 1<<63 - 1
	case neg && (overflow || v > 1<<63):
		l = -1 << 63
	case neg:
		l = -int64(v)
	default:
		l = int64(v)
	}
	return int(int32(l))
}
