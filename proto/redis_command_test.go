package proto

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// handWritten are the specs redis-server 7.0.15 does not have.
var handWritten = map[string]bool{"shoal": true, "client|setinfo": true}

func allSpecs() []*CommandSpec {
	var out []*CommandSpec
	for _, s := range commandTable {
		out = append(out, s)
		out = append(out, s.Subcommands...)
	}
	return out
}

func commandReply(args ...string) []byte {
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	return AppendCommandReply(nil, b)
}

// canonical re-encodes a COMMAND INFO or COMMAND DOCS reply with every
// container's subcommands sorted by name: Redis lists them in the order of
// a randomly seeded hash table, which differs between server processes.
func canonical(t *testing.T, raw []byte, docs bool) []byte {
	t.Helper()
	v, err := ParseReply(raw)
	if err != nil || v.Kind != KindArray {
		return raw
	}
	var sortInfo func(e *Value)
	sortInfo = func(e *Value) {
		if e.Kind != KindArray || len(e.Array) != 10 {
			return
		}
		subs := e.Array[9].Array
		for i := range subs {
			sortInfo(&subs[i])
		}
		sort.Slice(subs, func(i, j int) bool { return string(subs[i].Array[0].Str) < string(subs[j].Array[0].Str) })
	}
	var sortDocs func(m *Value)
	sortDocs = func(m *Value) { // a flattened map name -> docs
		type pair struct{ k, v Value }
		var pairs []pair
		for i := 0; i+1 < len(m.Array); i += 2 {
			d := m.Array[i+1]
			for j := 0; j+1 < len(d.Array); j += 2 {
				if string(d.Array[j].Str) == "subcommands" {
					sortDocs(&d.Array[j+1])
				}
			}
			pairs = append(pairs, pair{m.Array[i], d})
		}
		sort.SliceStable(pairs, func(i, j int) bool { return string(pairs[i].k.Str) < string(pairs[j].k.Str) })
		for i, p := range pairs {
			m.Array[2*i], m.Array[2*i+1] = p.k, p.v
		}
	}
	if docs {
		// Only subcommand maps are sorted: the top level keeps the
		// order of the request.
		for i := 1; i < len(v.Array); i += 2 {
			d := v.Array[i]
			for j := 0; j+1 < len(d.Array); j += 2 {
				if string(d.Array[j].Str) == "subcommands" {
					sortDocs(&d.Array[j+1])
				}
			}
		}
	} else {
		for i := range v.Array {
			sortInfo(&v.Array[i])
		}
	}
	return AppendValue(nil, v)
}

func mustParse(t *testing.T, raw []byte) Value {
	t.Helper()
	v, err := ParseReply(raw)
	if err != nil {
		t.Fatalf("parse %.200q: %v", raw, err)
	}
	return v
}

// TestCommandTableMatchesRedis checks every command and subcommand against
// the live COMMAND INFO: arity, flags, key positions, categories, tips, and
// the raw entry byte for byte.
func TestCommandTableMatchesRedis(t *testing.T) {
	c := testutil.DialRaw(t, testutil.StartRedis(t))
	for _, s := range allSpecs() {
		if handWritten[s.FullName] {
			continue
		}
		raw := c.Do("COMMAND", "INFO", s.FullName)
		v := mustParse(t, raw)
		if len(v.Array) != 1 || v.Array[0].Kind != KindArray {
			t.Errorf("%s: redis has no such command: %q", s.FullName, raw)
			continue
		}
		e := v.Array[0].Array
		var flagNames []string
		for _, f := range e[2].Array {
			flagNames = append(flagNames, string(f.Str))
		}
		switch {
		case string(e[0].Str) != s.FullName:
			t.Errorf("%s: name %q", s.FullName, e[0].Str)
		case int(e[1].Int) != s.Arity:
			t.Errorf("%s: arity %d, redis %d", s.FullName, s.Arity, e[1].Int)
		case int(e[3].Int) != s.FirstKey || int(e[4].Int) != s.LastKey || int(e[5].Int) != s.Step:
			t.Errorf("%s: keys %d %d %d, redis %d %d %d", s.FullName, s.FirstKey, s.LastKey, s.Step, e[3].Int, e[4].Int, e[5].Int)
		case !slices.Equal(flagNames, s.FlagNames) || !slices.Equal(flagNames, s.Flags.Names()):
			t.Errorf("%s: flags %v (%v), redis %v", s.FullName, s.FlagNames, s.Flags.Names(), flagNames)
		}
		entry := AppendInfoEntry(nil, s)
		if s.Name == "client" {
			// Redis 7.0.15 has no CLIENT SETINFO: compare without it.
			trimmed := *s
			trimmed.Subcommands = slices.DeleteFunc(slices.Clone(s.Subcommands), func(x *CommandSpec) bool { return handWritten[x.FullName] })
			entry = AppendInfoEntry(nil, &trimmed)
		}
		if want := canonical(t, raw, false)[len("*1\r\n"):]; !bytes.Equal(entry, want) {
			t.Errorf("%s: COMMAND INFO entry differs:\nredis %q\nshoal %q", s.FullName, want, entry)
		}
	}
}

// TestContainersHaveAllRedisSubcommands checks that no subcommand Redis
// lists for our containers is missing.
func TestContainersHaveAllRedisSubcommands(t *testing.T) {
	c := testutil.DialRaw(t, testutil.StartRedis(t))
	for _, s := range commandTable {
		if !s.IsContainer() || handWritten[s.FullName] {
			continue
		}
		v := mustParse(t, c.Do("COMMAND", "INFO", s.Name))
		for _, sub := range v.Array[0].Array[9].Array {
			name := string(sub.Array[0].Str)
			if LookupFullName([]byte(name)) == nil {
				t.Errorf("missing %s", name)
			}
		}
	}
}

// TestEncodeInfoHead checks the encoder used for hand-written commands
// against every entry read from Redis.
func TestEncodeInfoHead(t *testing.T) {
	for _, s := range allSpecs() {
		if got := string(encodeInfoHead(nil, s)); got != s.info {
			t.Errorf("%s:\n got %q\nwant %q", s.FullName, got, s.info)
		}
	}
}

// TestCommandReplyMatchesRedis compares AppendCommandReply with Redis for
// COMMAND queries about the table's commands, byte for byte.
func TestCommandReplyMatchesRedis(t *testing.T) {
	c := testutil.DialRaw(t, testutil.StartRedis(t))
	queries := [][]string{
		{"COMMAND", "INFO", "get", "set", "zadd"},
		{"COMMAND", "DOCS", "get"},
		{"COMMAND", "GETKEYS", "set", "a", "b"},
		{"COMMAND", "GETKEYS", "zunionstore", "d", "2", "a", "b"},
		{"command", "info", "GET", "nosuch", "config|get", "CONFIG|GET", "object|encoding|x", "config|nosuch"},
		{"COMMAND", "INFO", "config", "object", "pubsub", "command"},
		{"COMMAND", "DOCS", "object", "nosuch", "config|get", "SET"},
		{"COMMAND", "DOCS", "nosuch"},
		{"COMMAND", "HELP"},
		{"COMMAND", "HELP", "x"},
		{"COMMAND", "COUNT", "x"},
		{"COMMAND", "nosuch"},
		{"COMMAND", "GETKEYS"},
		{"COMMAND", "GETKEYS", "get"},
		{"COMMAND", "GETKEYS", "nosuch", "a", "b"},
		{"COMMAND", "GETKEYS", "ping", "a", "b"},
		{"COMMAND", "GETKEYS", "set", "a"},
		{"COMMAND", "GETKEYS", "zunion", "0", "a"},
		{"COMMAND", "GETKEYS", "zunionstore", "d", "0", "a"},
		{"COMMAND", "GETKEYS", "zunionstore", "d", "02", "a", "b"},
		{"COMMAND", "GETKEYS", "zunionstore", "d", "4294967297", "a"},
		{"COMMAND", "GETKEYS", "object", "encoding", "k"},
		{"COMMAND", "GETKEYS", "config", "get", "x"},
		{"COMMAND", "GETKEYS", "blpop", "a", "b", "0"},
		{"COMMAND", "GETKEYS", "mset", "a", "1", "b", "2"},
		{"COMMAND", "GETKEYS", "sintercard", "2", "a", "b", "LIMIT", "3"},
		{"COMMAND", "GETKEYSANDFLAGS", "set", "a", "b", "get"},
		{"COMMAND", "GETKEYSANDFLAGS", "set", "a", "b", "EX", "1"},
		{"COMMAND", "GETKEYSANDFLAGS", "lmove", "a", "b", "LEFT", "RIGHT"},
		{"COMMAND", "GETKEYSANDFLAGS", "zunionstore", "d", "02", "a", "b"},
		{"COMMAND", "LIST", "x"},
		{"COMMAND", "LIST", "FILTERBY", "foo", "bar"},
		{"COMMAND", "LIST", "FILTERBY", "module", "x"},
		{"COMMAND", "LIST", "FILTERBY", "aclcat", "@connection"},
	}
	for _, s := range commandTable {
		if s.Name == "client" || handWritten[s.FullName] {
			continue
		}
		queries = append(queries, []string{"COMMAND", "INFO", s.Name}, []string{"COMMAND", "DOCS", s.Name})
	}
	for _, q := range queries {
		want := c.Do(q...)
		got := commandReply(q...)
		if sub := strings.ToLower(q[1]); sub == "info" || sub == "docs" {
			want = canonical(t, want, sub == "docs")
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%q:\nredis %.500q\nshoal %.500q", q, want, got)
		}
	}
}

// TestCommandListMatchesRedis compares COMMAND LIST filters, restricted to
// the table's commands (Redis has more, in hash order).
func TestCommandListMatchesRedis(t *testing.T) {
	c := testutil.DialRaw(t, testutil.StartRedis(t))
	names := func(raw []byte) []string {
		var out []string
		for _, e := range mustParse(t, raw).Array {
			out = append(out, string(e.Str))
		}
		sort.Strings(out)
		return out
	}
	inTable := func(ss []string) []string {
		return slices.DeleteFunc(ss, func(s string) bool { return LookupFullName([]byte(s)) == nil || handWritten[s] })
	}
	for _, q := range [][]string{
		{"COMMAND", "LIST"},
		{"COMMAND", "LIST", "FILTERBY", "ACLCAT", "connection"},
		{"COMMAND", "LIST", "FILTERBY", "aclcat", "SortedSet"},
		{"COMMAND", "LIST", "FILTERBY", "pattern", "z*"},
		{"COMMAND", "LIST", "FILTERBY", "pattern", "CLIENT|*"},
		{"COMMAND", "LIST", "FILTERBY", "pattern", "*[gs]et*"},
		{"COMMAND", "LIST", "FILTERBY", "pattern", "?pop"},
		{"COMMAND", "LIST", "FILTERBY", "pattern", "[^a-h]*x*"},
	} {
		want := inTable(names(c.Do(q...)))
		got := inTable(names(commandReply(q...)))
		if !slices.Equal(got, want) {
			t.Errorf("%q:\nredis %q\nshoal %q", q, want, got)
		}
	}
}

// TestGetKeysMatchesRedis asks Redis and the table for the keys of random
// argument lists of every command (COMMAND GETKEYSANDFLAGS), covering
// negative last keys, key counts, keywords, fallbacks and arity errors.
func TestGetKeysMatchesRedis(t *testing.T) {
	c := testutil.DialRaw(t, testutil.StartRedis(t))
	seed := uint64(7)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	vocab := []string{"k", "1", "2", "3", "0", "-1", "02", " 2", "2x", "4294967298", "GET", "get", "LIMIT", "STORE", "WEIGHTS", "x", ""}
	var queries [][]string
	for _, s := range allSpecs() {
		if handWritten[s.FullName] {
			continue
		}
		base := []string{s.FullName}
		if s.Parent != nil {
			base = []string{s.Parent.Name, s.Name}
		}
		arity := max(s.Arity, -s.Arity)
		for range 30 {
			n := max(arity-1+rng.IntN(7), 1)
			args := append([]string(nil), base...)
			for len(args) < n {
				args = append(args, vocab[rng.IntN(len(vocab))])
			}
			queries = append(queries, append([]string{"COMMAND", "GETKEYSANDFLAGS"}, args...))
		}
	}
	// Pipeline the queries.
	for i := 0; i < len(queries); i += 200 {
		batch := queries[i:min(i+200, len(queries))]
		for _, q := range batch {
			if err := c.Send(q...); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range batch {
			want, err := c.Read()
			if err != nil {
				t.Fatal(err)
			}
			if got := commandReply(q...); !bytes.Equal(got, want) {
				t.Errorf("%q:\nredis %q\nshoal %q", q, want, got)
			}
		}
	}
}

// TestCommandDocsParses checks that COMMAND DOCS (what redis-cli 7 asks at
// startup for its hints) parses and has the shape redis-cli reads: a map
// from name to a map with summary, since, group, complexity and, for
// containers, subcommands of the same shape.
func TestCommandDocsParses(t *testing.T) {
	v := mustParse(t, commandReply("COMMAND", "DOCS"))
	if v.Kind != KindArray || len(v.Array) != 2*len(commandTable) {
		t.Fatalf("COMMAND DOCS: %v entries", len(v.Array))
	}
	var check func(name string, doc Value)
	check = func(name string, doc Value) {
		if doc.Kind != KindArray || len(doc.Array)%2 != 0 {
			t.Fatalf("%s: docs not a map", name)
		}
		fields := map[string]Value{}
		for i := 0; i < len(doc.Array); i += 2 {
			fields[string(doc.Array[i].Str)] = doc.Array[i+1]
		}
		for _, f := range []string{"summary", "since", "group", "complexity"} {
			if fields[f].Kind != KindBulk {
				t.Errorf("%s: %s is %v", name, f, fields[f].Kind)
			}
		}
		if subs, ok := fields["subcommands"]; ok {
			for i := 0; i < len(subs.Array); i += 2 {
				check(string(subs.Array[i].Str), subs.Array[i+1])
			}
		}
		if args, ok := fields["arguments"]; ok {
			for _, a := range args.Array {
				if a.Kind != KindArray || len(a.Array) < 4 || string(a.Array[0].Str) != "name" {
					t.Errorf("%s: bad argument %v", name, a)
				}
			}
		}
	}
	for i := 0; i < len(v.Array); i += 2 {
		check(string(v.Array[i].Str), v.Array[i+1])
	}
	// The full COMMAND and COMMAND INFO listings parse too.
	for _, q := range [][]string{{"COMMAND"}, {"COMMAND", "INFO"}, {"COMMAND", "INFO", "shoal", "client|setinfo", "client"}} {
		v := mustParse(t, commandReply(q...))
		for _, e := range v.Array {
			if e.Kind != KindArray || len(e.Array) != 10 {
				t.Errorf("%q: entry %v", q, e)
			}
		}
	}
	if got := string(commandReply("COMMAND", "COUNT")); got != fmt.Sprintf(":%d\r\n", len(commandTable)) {
		t.Errorf("COMMAND COUNT = %q", got)
	}
	if !strings.Contains(string(commandReply("COMMAND", "LIST")), "client|setinfo") {
		t.Error("COMMAND LIST lacks client|setinfo")
	}
}

// TestGlobMatchesRedis compares GlobMatch with KEYS (stringmatchlen,
// case-sensitive) for random patterns over awkward key names.
func TestGlobMatchesRedis(t *testing.T) {
	c := testutil.DialRaw(t, testutil.StartRedis(t))
	keys := []string{"a", "b", "ab", "abc", "A", "aXb", "a-b", "\x90", "\xff", "[", "]", "\\", "*", "?", "^",
		"hello", "hallo", "hxllo", "h\\llo", "a]b", "-", "aa", "aaa", "ba"}
	for _, k := range keys {
		c.Do("SET", k, "1")
	}
	seed := uint64(11)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 4))
	alphabet := []string{"a", "b", "*", "?", "[", "]", "^", "-", "\\", "\x90", "\xff", "A", "h", "l"}
	patterns := []string{"h?llo", "h*llo", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "[", "[a", "\\", "a\\", "[\\]]", "[]]", "*[", "[^]"}
	for range 600 {
		var b strings.Builder
		for range 1 + rng.IntN(6) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		if p := b.String(); p != "*" {
			patterns = append(patterns, p)
		}
	}
	for _, p := range patterns {
		v := mustParse(t, c.Do("KEYS", p))
		var want []string
		for _, e := range v.Array {
			want = append(want, string(e.Str))
		}
		sort.Strings(want)
		var got []string
		for _, k := range keys {
			if GlobMatch([]byte(p), []byte(k), false) {
				got = append(got, k)
			}
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("pattern %q: redis %q, shoal %q", p, want, got)
		}
	}
}
