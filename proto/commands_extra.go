package proto

import "strconv"

// Commands and flags that redis-server 7.0.15 does not report, added by
// hand on top of the generated table. Their COMMAND INFO and COMMAND DOCS
// entries are built in Redis's format by the same encoder that a test
// checks against every generated entry.

// fanOutCommands are sent by the frontend to every shard.
var fanOutCommands = []string{"keys", "scan", "dbsize", "flushall", "flushdb", "randomkey"}

// shoalCommand is shoal's own admin command. Its subcommands (not in the
// table: shardd checks them) are replication's internal protocol
// (shardd/repl): SHOAL SYNC <next-index> <last-epoch> <listening-port>
// turns the connection into a replication stream; SHOAL ACK
// <applied-index> <logged-index> is what a replica sends on it; and the
// control plane's orders: SHOAL PROMOTE <epoch>, SHOAL FOLLOW <host>
// <port> <epoch>, SHOAL RETAIN <index>, plus SHOAL MAP and SHOAL HELP.
var shoalCommand = &CommandSpec{
	Name: "shoal", FullName: "shoal", Arity: -2,
	Flags:         FlagAdmin | FlagNoScript | FlagLoading | FlagStale,
	FlagNames:     []string{"admin", "noscript", "loading", "stale"},
	ACLCategories: []string{"@admin", "@slow", "@dangerous"},
	Summary:       "Administers the shoal cluster",
	Since:         "0.1.0",
	Group:         "server",
	Complexity:    "Depends on subcommand.",
}

// clientSetinfoCommand is CLIENT SETINFO, new in Redis 7.2 (go-redis sends
// it on every connection), described as Redis 7.2 does.
var clientSetinfoCommand = &CommandSpec{
	Name: "setinfo", FullName: "client|setinfo", Arity: 4,
	Flags:         FlagNoScript | FlagLoading | FlagStale,
	FlagNames:     []string{"noscript", "loading", "stale"},
	ACLCategories: []string{"@slow", "@connection"},
	Summary:       "Sets information specific to the client or connection.",
	Since:         "7.2.0",
	Group:         "connection",
	Complexity:    "O(1)",
	extraDocArgs: docArray(
		docMap("name", docBulk("attr"), "type", docBulk("oneof"), "arguments", docArray(
			docMap("name", docBulk("libname"), "type", docBulk("string"), "token", docBulk("lib-name")),
			docMap("name", docBulk("libver"), "type", docBulk("string"), "token", docBulk("lib-ver")),
		)),
	),
}

func init() {
	specs := append([]*CommandSpec(nil), generatedCommands...)
	for _, s := range specs {
		if s.Name == "client" {
			s.Subcommands = append(s.Subcommands, clientSetinfoCommand)
		}
		for _, f := range fanOutCommands {
			if s.Name == f {
				s.Flags |= FlagFanOut
			}
		}
	}
	specs = append(specs, shoalCommand)
	for _, s := range []*CommandSpec{shoalCommand, clientSetinfoCommand} {
		s.info = string(encodeInfoHead(nil, s))
		s.docs, s.docsPairs = encodeDocs(s)
	}
	registerCommands(specs)
}

// encodeInfoHead appends COMMAND INFO fields 1-9 of s in Redis 7.0's format.
func encodeInfoHead(dst []byte, s *CommandSpec) []byte {
	dst = AppendBulkString(dst, s.FullName)
	dst = AppendInt(dst, int64(s.Arity))
	dst = AppendArray(dst, len(s.FlagNames))
	for _, f := range s.FlagNames {
		dst = AppendStatus(dst, f)
	}
	dst = AppendInt(dst, int64(s.FirstKey))
	dst = AppendInt(dst, int64(s.LastKey))
	dst = AppendInt(dst, int64(s.Step))
	dst = AppendArray(dst, len(s.ACLCategories))
	for _, c := range s.ACLCategories {
		dst = AppendStatus(dst, c)
	}
	dst = AppendArray(dst, len(s.Tips))
	for _, t := range s.Tips {
		dst = AppendBulkString(dst, t)
	}
	dst = AppendArray(dst, len(s.KeySpecs))
	for i := range s.KeySpecs {
		dst = encodeKeySpec(dst, &s.KeySpecs[i])
	}
	return dst
}

func encodeKeySpec(dst []byte, ks *KeySpec) []byte {
	n := 6
	if ks.Notes != "" {
		n += 2
	}
	dst = AppendArray(dst, n)
	if ks.Notes != "" {
		dst = AppendBulkString(dst, "notes")
		dst = AppendBulkString(dst, ks.Notes)
	}
	dst = AppendBulkString(dst, "flags")
	names := ks.Flags.Names()
	dst = AppendArray(dst, len(names))
	for _, f := range names {
		dst = AppendStatus(dst, f)
	}
	dst = AppendBulkString(dst, "begin_search")
	dst = AppendArray(dst, 4)
	dst = AppendBulkString(dst, "type")
	switch ks.Search {
	case SearchIndex:
		dst = AppendBulkString(dst, "index")
		dst = AppendBulkString(dst, "spec")
		dst = AppendArray(dst, 2)
		dst = AppendBulkString(dst, "index")
		dst = AppendInt(dst, int64(ks.Index))
	case SearchKeyword:
		dst = AppendBulkString(dst, "keyword")
		dst = AppendBulkString(dst, "spec")
		dst = AppendArray(dst, 4)
		dst = AppendBulkString(dst, "keyword")
		dst = AppendBulkString(dst, ks.Keyword)
		dst = AppendBulkString(dst, "startfrom")
		dst = AppendInt(dst, int64(ks.StartFrom))
	default:
		dst = AppendBulkString(dst, "unknown")
		dst = AppendBulkString(dst, "spec")
		dst = AppendArray(dst, 0)
	}
	dst = AppendBulkString(dst, "find_keys")
	dst = AppendArray(dst, 4)
	dst = AppendBulkString(dst, "type")
	switch ks.Find {
	case FindRange:
		dst = AppendBulkString(dst, "range")
		dst = AppendBulkString(dst, "spec")
		dst = AppendArray(dst, 6)
		dst = AppendBulkString(dst, "lastkey")
		dst = AppendInt(dst, int64(ks.LastKey))
		dst = AppendBulkString(dst, "keystep")
		dst = AppendInt(dst, int64(ks.KeyStep))
		dst = AppendBulkString(dst, "limit")
		dst = AppendInt(dst, int64(ks.Limit))
	case FindKeynum:
		dst = AppendBulkString(dst, "keynum")
		dst = AppendBulkString(dst, "spec")
		dst = AppendArray(dst, 6)
		dst = AppendBulkString(dst, "keynumidx")
		dst = AppendInt(dst, int64(ks.KeyNumIdx))
		dst = AppendBulkString(dst, "firstkey")
		dst = AppendInt(dst, int64(ks.FirstKey))
		dst = AppendBulkString(dst, "keystep")
		dst = AppendInt(dst, int64(ks.KeyStep))
	default:
		dst = AppendBulkString(dst, "unknown")
		dst = AppendBulkString(dst, "spec")
		dst = AppendArray(dst, 0)
	}
	return dst
}

// encodeDocs builds the COMMAND DOCS map pairs (without subcommands) of a
// hand-written spec: summary, since, group, complexity, arguments.
func encodeDocs(s *CommandSpec) (string, int) {
	var b []byte
	pairs := 0
	for _, kv := range [][2]string{
		{"summary", s.Summary}, {"since", s.Since}, {"group", s.Group}, {"complexity", s.Complexity},
	} {
		b = AppendBulkString(b, kv[0])
		b = AppendBulkString(b, kv[1])
		pairs++
	}
	if s.extraDocArgs != "" {
		b = AppendBulkString(b, "arguments")
		b = append(b, s.extraDocArgs...)
		pairs++
	}
	return string(b), pairs
}

// Tiny RESP builders for hand-written docs.

func docBulk(s string) string { return string(AppendBulkString(nil, s)) }

func docArray(elems ...string) string {
	b := AppendArray(nil, len(elems))
	for _, e := range elems {
		b = append(b, e...)
	}
	return string(b)
}

// docMap takes key, raw value, key, raw value, ...
func docMap(kv ...string) string {
	b := []byte("*" + strconv.Itoa(len(kv)) + "\r\n")
	for i := 0; i < len(kv); i += 2 {
		b = AppendBulkString(b, kv[i])
		b = append(b, kv[i+1]...)
	}
	return string(b)
}
