package proto

// AppendCommandReply appends the reply to a COMMAND request (args[0] is
// "COMMAND" in any case) exactly as redis-server 7.0.15 would answer it for
// the commands in this table: COMMAND, COMMAND COUNT, COMMAND INFO
// [name ...] (unknown names give a null bulk), COMMAND DOCS [name ...]
// (unknown names are skipped), COMMAND LIST [FILTERBY MODULE|ACLCAT|PATTERN
// arg], COMMAND GETKEYS / GETKEYSANDFLAGS cmd arg..., COMMAND HELP, and
// Redis's errors for unknown subcommands and wrong arities. Listings follow
// the table's order (sorted by name) where Redis follows its hash table's.
func AppendCommandReply(dst []byte, args [][]byte) []byte {
	spec, err := Resolve(args)
	if err != nil {
		return AppendError(dst, err.Error())
	}
	root := spec
	if spec.Parent != nil {
		root = spec.Parent
	}
	if root.Name != "command" {
		return AppendError(dst, "ERR not a COMMAND request")
	}
	if spec.Parent == nil { // COMMAND
		dst = AppendArray(dst, len(commandTable))
		for _, s := range commandTable {
			dst = appendInfoEntry(dst, s)
		}
		return dst
	}
	switch spec.Name {
	case "count":
		return AppendInt(dst, int64(len(commandTable)))
	case "info":
		if len(args) == 2 {
			dst = AppendArray(dst, len(commandTable))
			for _, s := range commandTable {
				dst = appendInfoEntry(dst, s)
			}
			return dst
		}
		dst = AppendArray(dst, len(args)-2)
		for _, name := range args[2:] {
			if s := LookupFullName(name); s != nil {
				dst = appendInfoEntry(dst, s)
			} else {
				dst = AppendNullBulk(dst)
			}
		}
		return dst
	case "docs":
		if len(args) == 2 {
			dst = AppendArray(dst, 2*len(commandTable))
			for _, s := range commandTable {
				dst = AppendBulkString(dst, s.FullName)
				dst = appendDocs(dst, s)
			}
			return dst
		}
		found := 0
		for _, name := range args[2:] {
			if LookupFullName(name) != nil {
				found++
			}
		}
		dst = AppendArray(dst, 2*found)
		for _, name := range args[2:] {
			if s := LookupFullName(name); s != nil {
				dst = AppendBulkString(dst, s.FullName)
				dst = appendDocs(dst, s)
			}
		}
		return dst
	case "list":
		return appendCommandList(dst, args)
	case "getkeys", "getkeysandflags":
		return appendGetKeys(dst, args[2:], spec.Name == "getkeysandflags")
	case "help":
		return append(dst, commandHelpReply...)
	}
	return AppendError(dst, ErrUnknownSubcommand(args))
}

// AppendInfoEntry appends s's COMMAND INFO entry (with its subcommands).
func AppendInfoEntry(dst []byte, s *CommandSpec) []byte { return appendInfoEntry(dst, s) }

func appendInfoEntry(dst []byte, s *CommandSpec) []byte {
	dst = append(dst, "*10\r\n"...)
	dst = append(dst, s.info...)
	dst = AppendArray(dst, len(s.Subcommands))
	for _, sub := range s.Subcommands {
		dst = appendInfoEntry(dst, sub)
	}
	return dst
}

// AppendDocs appends s's COMMAND DOCS map (with its subcommands).
func AppendDocs(dst []byte, s *CommandSpec) []byte { return appendDocs(dst, s) }

func appendDocs(dst []byte, s *CommandSpec) []byte {
	pairs := s.docsPairs
	if len(s.Subcommands) > 0 {
		pairs++
	}
	dst = AppendArray(dst, 2*pairs)
	dst = append(dst, s.docs...)
	if len(s.Subcommands) > 0 {
		dst = AppendBulkString(dst, "subcommands")
		dst = AppendArray(dst, 2*len(s.Subcommands))
		for _, sub := range s.Subcommands {
			dst = AppendBulkString(dst, sub.FullName)
			dst = appendDocs(dst, sub)
		}
	}
	return dst
}

func appendCommandList(dst []byte, args [][]byte) []byte {
	const (
		noFilter = iota
		moduleFilter
		aclFilter
		patternFilter
	)
	filter, arg := noFilter, []byte(nil)
	for i := 2; i < len(args); i++ {
		more := len(args) - 1 - i
		if equalFoldCString(args[i], "filterby") && more == 2 {
			switch {
			case equalFoldCString(args[i+1], "module"):
				filter = moduleFilter
			case equalFoldCString(args[i+1], "aclcat"):
				filter = aclFilter
			case equalFoldCString(args[i+1], "pattern"):
				filter = patternFilter
			default:
				return AppendError(dst, "ERR syntax error")
			}
			arg = args[i+2]
			i += 2
		} else {
			return AppendError(dst, "ERR syntax error")
		}
	}
	match := func(s *CommandSpec) bool {
		switch filter {
		case moduleFilter:
			return false // no module commands
		case aclFilter:
			for _, c := range s.ACLCategories {
				if equalFoldCString(arg, c[1:]) {
					return true
				}
			}
			return false
		case patternFilter:
			return GlobMatch(arg, []byte(s.FullName), true)
		}
		return true
	}
	var names []string
	for _, s := range commandTable {
		if match(s) {
			names = append(names, s.FullName)
		}
		for _, sub := range s.Subcommands {
			if match(sub) {
				names = append(names, sub.FullName)
			}
		}
	}
	dst = AppendArray(dst, len(names))
	for _, n := range names {
		dst = AppendBulkString(dst, n)
	}
	return dst
}

func appendGetKeys(dst []byte, cmd [][]byte, withFlags bool) []byte {
	s := LookupCommand(cmd)
	switch {
	case s == nil:
		return AppendError(dst, "ERR Invalid command specified")
	case !s.HasKeys():
		return AppendError(dst, "ERR The command has no key arguments")
	case !CheckArity(s, len(cmd)):
		return AppendError(dst, "ERR Invalid number of arguments specified for command")
	}
	refs := s.AppendKeyRefs(nil, cmd)
	if len(refs) == 0 {
		if s.Flags&FlagNoMandatoryKeys != 0 {
			return AppendArray(dst, 0)
		}
		return AppendError(dst, "ERR Invalid arguments specified for command")
	}
	dst = AppendArray(dst, len(refs))
	for _, k := range refs {
		if !withFlags {
			dst = AppendBulk(dst, cmd[k.Pos])
			continue
		}
		dst = AppendArray(dst, 2)
		dst = AppendBulk(dst, cmd[k.Pos])
		names := k.Flags.Names()
		dst = AppendArray(dst, len(names))
		for _, n := range names {
			dst = AppendStatus(dst, n)
		}
	}
	return dst
}

// GlobMatch reports whether str matches the glob pattern exactly as Redis
// 7.0's stringmatchlen does (KEYS, SCAN MATCH, COMMAND LIST FILTERBY
// PATTERN): '*', '?', '[...]' with '^' negation and ranges, '\' escapes.
// Like stringmatchlen, "*" does not match the empty string: KEYS and SCAN
// treat a lone "*" as "everything" before matching, and so must callers.
func GlobMatch(pattern, str []byte, nocase bool) bool {
	skip := false
	return globMatch(pattern, str, nocase, &skip)
}

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func globMatch(p, s []byte, nocase bool, skipLonger *bool) bool {
	for len(p) > 0 && len(s) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 1 && p[1] == '*' {
				p = p[1:]
			}
			if len(p) == 1 {
				return true
			}
			for len(s) > 0 {
				if globMatch(p[1:], s, nocase, skipLonger) {
					return true
				}
				if *skipLonger {
					return false
				}
				s = s[1:]
			}
			*skipLonger = true
			return false
		case '?':
			s = s[1:]
		case '[':
			p = p[1:]
			not := len(p) > 0 && p[0] == '^'
			if not {
				p = p[1:]
			}
			match := false
			for {
				if len(p) >= 2 && p[0] == '\\' {
					p = p[1:]
					if p[0] == s[0] {
						match = true
					}
				} else if len(p) > 0 && p[0] == ']' {
					break
				} else if len(p) == 0 {
					// Unterminated class: step back so that the
					// increment below lands on the end.
					p = nil
					break
				} else if len(p) >= 3 && p[1] == '-' {
					// C compares plain (signed) chars here.
					start, end, c := int8(p[0]), int8(p[2]), int8(s[0])
					if start > end {
						start, end = end, start
					}
					if nocase {
						start, end, c = int8(lowerByte(byte(start))), int8(lowerByte(byte(end))), int8(lowerByte(byte(c)))
					}
					p = p[2:]
					if c >= start && c <= end {
						match = true
					}
				} else if nocase {
					if lowerByte(p[0]) == lowerByte(s[0]) {
						match = true
					}
				} else if p[0] == s[0] {
					match = true
				}
				p = p[1:]
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			s = s[1:]
		case '\\':
			if len(p) >= 2 {
				p = p[1:]
			}
			fallthrough
		default:
			if nocase {
				if lowerByte(p[0]) != lowerByte(s[0]) {
					return false
				}
			} else if p[0] != s[0] {
				return false
			}
			s = s[1:]
		}
		if len(p) > 0 {
			p = p[1:]
		}
		if len(s) == 0 {
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			break
		}
	}
	return len(p) == 0 && len(s) == 0
}
