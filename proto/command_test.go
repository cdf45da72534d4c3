package proto

import (
	"slices"
	"strings"
	"testing"
)

func bargs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// briefCommands is every command shoal implements (the team's list).
var briefCommands = strings.Fields(`
GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET MSETNX INCR DECR INCRBY DECRBY INCRBYFLOAT APPEND STRLEN GETRANGE SETRANGE SUBSTR
DEL UNLINK EXISTS TYPE EXPIRE PEXPIRE EXPIREAT PEXPIREAT EXPIRETIME PEXPIRETIME TTL PTTL PERSIST KEYS SCAN RANDOMKEY RENAME RENAMENX TOUCH COPY DBSIZE FLUSHDB FLUSHALL OBJECT
HSET HSETNX HGET HMGET HMSET HGETALL HDEL HEXISTS HLEN HKEYS HVALS HINCRBY HINCRBYFLOAT HSTRLEN HSCAN HRANDFIELD
LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LINSERT LREM LTRIM LPOS RPOPLPUSH LMOVE BLPOP BRPOP BLMOVE BRPOPLPUSH
SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE SINTER SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN
ZADD ZREM ZSCORE ZMSCORE ZINCRBY ZCARD ZCOUNT ZLEXCOUNT ZRANK ZREVRANK ZRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZREVRANGE ZRANGESTORE ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX ZPOPMIN ZPOPMAX BZPOPMIN BZPOPMAX ZRANDMEMBER ZSCAN ZUNION ZINTER ZDIFF ZUNIONSTORE ZINTERSTORE ZDIFFSTORE
MULTI EXEC DISCARD WATCH UNWATCH
SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH PUBSUB
PING ECHO QUIT HELLO AUTH SELECT CLIENT INFO CONFIG TIME SAVE BGSAVE LASTSAVE WAIT ROLE READONLY READWRITE COMMAND REPLICAOF SLAVEOF SHOAL`)

func TestTableHasEveryCommand(t *testing.T) {
	for _, name := range briefCommands {
		if LookupString(name) == nil {
			t.Errorf("%s missing", name)
		}
	}
	if got, want := len(All()), len(briefCommands); got != want {
		t.Errorf("table has %d commands, the list %d", got, want)
	}
	for _, full := range []string{"object|encoding", "object|help", "object|freq", "pubsub|channels", "pubsub|numsub",
		"pubsub|numpat", "pubsub|help", "client|id", "client|setname", "client|getname", "client|setinfo", "client|list",
		"client|info", "client|kill", "client|help", "config|get", "config|set", "config|resetstat", "config|help",
		"command|count", "command|info", "command|docs", "command|list", "command|getkeys", "command|help"} {
		if LookupFullName([]byte(full)) == nil {
			t.Errorf("%s missing", full)
		}
	}
	if generatedRedisVersion != "7.0.15" {
		t.Errorf("table generated from redis %s", generatedRedisVersion)
	}
}

func TestFlags(t *testing.T) {
	var fan []string
	for _, s := range All() {
		if s.Flags&FlagFanOut != 0 {
			fan = append(fan, s.Name)
		}
		if s.Flags&FlagMovableKeys != 0 && s.getKeys.kind == 0 {
			t.Errorf("%s has movable keys but no getkeys function", s.Name)
		}
		if s.varFlags && s.getKeys.kind == 0 {
			t.Errorf("%s has variable-flag key specs but no getkeys function", s.Name)
		}
		for _, ks := range s.KeySpecs {
			if ks.Flags&KeyIncomplete != 0 || ks.Search == SearchUnknown || ks.Find == FindUnknown {
				t.Errorf("%s has a key spec Keys cannot follow", s.Name)
			}
		}
	}
	slices.Sort(fan)
	if want := []string{"dbsize", "flushall", "flushdb", "keys", "randomkey", "scan"}; !slices.Equal(fan, want) {
		t.Errorf("fan-out commands %v, want %v", fan, want)
	}
	for name, f := range map[string]Flag{
		"get": FlagReadOnly | FlagFast, "set": FlagWrite | FlagDenyOOM, "blpop": FlagWrite | FlagBlocking,
		"bzpopmin": FlagBlocking, "subscribe": FlagPubSub, "save": FlagAdmin, "shoal": FlagAdmin,
		"keys": FlagReadOnly | FlagFanOut,
	} {
		if s := LookupString(name); s.Flags&f != f {
			t.Errorf("%s flags %v lack %v", name, s.Flags.Names(), f.Names())
		}
	}
	if f, ok := FlagByName("movablekeys"); !ok || f != FlagMovableKeys {
		t.Error("FlagByName")
	}
	if f, ok := KeyFlagByName("variable_flags"); !ok || f != KeyVariableFlags {
		t.Error("KeyFlagByName")
	}
	s := LookupString("shoal")
	if s.Arity != -2 || s.HasKeys() || s.FirstKey != 0 {
		t.Errorf("shoal: %+v", s)
	}
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"get", "get"}, {"GET", "get"}, {"gEt", "get"}, {"zrevrangebyscore", "zrevrangebyscore"},
		{"nosuch", ""}, {"", ""}, {"get\x00", ""}, {strings.Repeat("g", 100), ""}, {"config|get", ""},
	} {
		s := Lookup([]byte(tc.name))
		if got := ""; s != nil {
			got = s.FullName
			if got != tc.want {
				t.Errorf("Lookup(%q) = %s, want %q", tc.name, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("Lookup(%q) = nil, want %s", tc.name, tc.want)
		}
	}
	if s := LookupSub([]byte("CONFIG"), []byte("Get")); s == nil || s.FullName != "config|get" || s.Parent.Name != "config" {
		t.Errorf("LookupSub = %v", s)
	}
	if LookupSub([]byte("get"), []byte("x")) != nil || LookupSub([]byte("config"), []byte("nosuch")) != nil {
		t.Error("LookupSub found a non-subcommand")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"config", "get", "x"}, "config|get"}, {[]string{"CONFIG"}, "config"}, {[]string{"config", "x"}, ""},
		{[]string{"get", "k"}, "get"}, {[]string{"nosuch"}, ""}, {nil, ""},
	} {
		s := LookupCommand(bargs(tc.args...))
		if (s == nil && tc.want != "") || (s != nil && s.FullName != tc.want) {
			t.Errorf("LookupCommand(%q) = %v, want %q", tc.args, s, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"CONFIG|GET", "config|get"}, {"get", "get"}, {"config|get|x", ""}, {"get|x", ""}, {"|get", ""},
	} {
		s := LookupFullName([]byte(tc.in))
		if (s == nil && tc.want != "") || (s != nil && s.FullName != tc.want) {
			t.Errorf("LookupFullName(%q) = %v", tc.in, s)
		}
	}
	name := []byte("ZRangeByScore")
	if n := testing.AllocsPerRun(100, func() { Lookup(name) }); n != 0 {
		t.Errorf("Lookup allocates %v times", n)
	}
	sub := bargs("config", "GET", "x")
	if n := testing.AllocsPerRun(100, func() { LookupCommand(sub) }); n != 0 {
		t.Errorf("LookupCommand allocates %v times", n)
	}
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"GET", "k"}, ""},
		{[]string{"get"}, "ERR wrong number of arguments for 'get' command"},
		{[]string{"CONFIG"}, "ERR wrong number of arguments for 'config' command"},
		{[]string{"config", "GET"}, "ERR wrong number of arguments for 'config|get' command"},
		{[]string{"config", "nope", "x"}, "ERR unknown subcommand 'nope'. Try CONFIG HELP."},
		{[]string{"Client", "x\r\ny"}, "ERR unknown subcommand 'x  y'. Try CLIENT HELP."},
		{[]string{"foo", "a", "b"}, "ERR unknown command 'foo', with args beginning with: 'a' 'b' "},
		{[]string{"foo"}, "ERR unknown command 'foo', with args beginning with: "},
		{[]string{"f\x00oo", "a\x00b"}, "ERR unknown command 'f', with args beginning with: 'a' "},
		{[]string{"foo", strings.Repeat("x", 130)}, "ERR unknown command 'foo', with args beginning with: '" + strings.Repeat("x", 128) + "' "},
		{[]string{"foo", strings.Repeat("x", 125), "abcdef", "z"}, "ERR unknown command 'foo', with args beginning with: '" + strings.Repeat("x", 125) + "' "},
		{[]string{"foo", strings.Repeat("x", 124), "abcdef", "z"}, "ERR unknown command 'foo', with args beginning with: '" + strings.Repeat("x", 124) + "' 'a' "},
	} {
		_, err := Resolve(bargs(tc.args...))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("Resolve(%q):\n got %q\nwant %q", tc.args, got, tc.want)
		}
	}
	if !CheckArity(LookupString("get"), 2) || CheckArity(LookupString("get"), 3) || !CheckArity(LookupString("mset"), 5) || CheckArity(LookupString("mset"), 2) {
		t.Error("CheckArity")
	}
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []int
	}{
		{[]string{"GET", "k"}, []int{1}},
		{[]string{"SET", "k", "v", "GET"}, []int{1}},
		{[]string{"MGET", "a", "b", "c"}, []int{1, 2, 3}},
		{[]string{"MSET", "a", "1", "b", "2"}, []int{1, 3}},
		{[]string{"DEL", "a", "b"}, []int{1, 2}},
		{[]string{"BLPOP", "a", "b", "0"}, []int{1, 2}},
		{[]string{"BZPOPMIN", "a", "0"}, []int{1}},
		{[]string{"BLMOVE", "a", "b", "LEFT", "RIGHT", "0"}, []int{1, 2}},
		{[]string{"RENAME", "a", "b"}, []int{1, 2}},
		{[]string{"SMOVE", "a", "b", "m"}, []int{1, 2}},
		{[]string{"SINTERSTORE", "d", "a", "b"}, []int{1, 2, 3}},
		{[]string{"ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"}, []int{1, 3, 4}},
		{[]string{"ZUNION", "2", "a", "b", "WITHSCORES"}, []int{2, 3}},
		{[]string{"ZDIFFSTORE", "d", "02", "a", "b"}, []int{3, 4, 1}}, // Redis's fallback lists the destination last
		{[]string{"ZINTER", "0", "a"}, nil},
		{[]string{"SINTERCARD", "2", "a", "b", "LIMIT", "1"}, []int{2, 3}},
		{[]string{"ZRANGESTORE", "d", "s", "0", "-1"}, []int{1, 2}},
		{[]string{"OBJECT", "ENCODING", "k"}, []int{2}},
		{[]string{"COPY", "a", "b"}, []int{1, 2}},
		{[]string{"PING"}, nil},
		{[]string{"KEYS", "*"}, nil},
		{[]string{"WATCH", "a", "b"}, []int{1, 2}},
		{[]string{"EXISTS"}, nil},
	} {
		args := bargs(tc.args...)
		s := LookupCommand(args)
		if got := s.Keys(args); !slices.Equal(got, tc.want) {
			t.Errorf("Keys(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
	set := LookupString("set")
	if refs := set.AppendKeyRefs(nil, bargs("set", "k", "v", "get")); len(refs) != 1 || refs[0].Flags != KeyRW|KeyAccess|KeyUpdate {
		t.Errorf("SET GET flags %v", refs)
	}
	if refs := set.AppendKeyRefs(nil, bargs("set", "k", "v", "EX", "1")); len(refs) != 1 || refs[0].Flags != KeyOW|KeyUpdate {
		t.Errorf("SET flags %v", refs)
	}
	args := bargs("MSET", "a", "1", "b", "2", "c", "3")
	mset := LookupString("mset")
	dst := make([]int, 0, 8)
	if n := testing.AllocsPerRun(100, func() { dst = mset.AppendKeys(dst[:0], args) }); n != 0 {
		t.Errorf("AppendKeys allocates %v times", n)
	}
}

func TestAtoi(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"2", 2}, {" 2", 2}, {"+2", 2}, {"-2", -2}, {"2x", 2}, {"x", 0}, {"", 0}, {"02", 2},
		{"4294967298", 2}, {"9223372036854775807", -1}, {"99999999999999999999", -1}, {"-99999999999999999999", 0},
		{"2\x003", 2},
	} {
		if got := atoi([]byte(tc.in)); got != tc.want {
			t.Errorf("atoi(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		nocase bool
		want   bool
	}{
		{"*", "", false, false}, // as stringmatchlen; KEYS and SCAN special-case a lone "*"
		{"*", "abc", false, true}, {"a*", "abc", false, true}, {"a*c", "abc", false, true},
		{"a*d", "abc", false, false}, {"?", "a", false, true}, {"?", "", false, false}, {"a?c", "abc", false, true},
		{"[abc]", "b", false, true}, {"[^abc]", "b", false, false}, {"[a-c]x", "bx", false, true}, {"[c-a]x", "bx", false, true},
		{"[A-C]", "b", true, true}, {"[A-C]", "b", false, false}, {"\\*", "*", false, true}, {"\\*", "a", false, false},
		{"[\\]]", "]", false, true}, {"[abc", "a", false, true}, {"[abc", "d", false, false}, {"GET", "get", true, true},
		{"GET", "get", false, false}, {"a**b", "axxb", false, true}, {"*a*b*c*", "xaybzc", false, true},
		{"abc\\", "abc\\", false, true}, {"", "", false, true}, {"", "a", false, false}, {"a", "", false, false},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 60), false, false},
		{"[\x01-\xff]", "A", false, false}, // signed chars: the range is [-1, 1]
		{"[\x80-\xff]", "\x90", false, true},
	} {
		if got := GlobMatch([]byte(tc.pat), []byte(tc.s), tc.nocase); got != tc.want {
			t.Errorf("GlobMatch(%q, %q, %v) = %v", tc.pat, tc.s, tc.nocase, got)
		}
	}
}

func TestAppendCommandReplyNotCommand(t *testing.T) {
	if got := string(AppendCommandReply(nil, bargs("GET", "k"))); got != "-ERR not a COMMAND request\r\n" {
		t.Errorf("got %q", got)
	}
	if got := string(AppendCommandReply(nil, bargs("nosuch"))); !strings.HasPrefix(got, "-ERR unknown command") {
		t.Errorf("got %q", got)
	}
	got := string(AppendCommandReply(nil, bargs("COMMAND", "INFO", "shoal")))
	want := "*1\r\n*10\r\n$5\r\nshoal\r\n:-2\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n*0\r\n*0\r\n*0\r\n"
	if got != want {
		t.Errorf("COMMAND INFO shoal:\n got %q\nwant %q", got, want)
	}
}
