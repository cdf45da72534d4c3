package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// ---- randomized differential test ----

// hashsetGen produces random hash and set commands over a small key and
// member space, with wrong-type collisions.
type hashsetGen struct {
	r *rand.Rand
}

func (g *hashsetGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g *hashsetGen) hashKey() string {
	return g.pick("h0", "h1", "h2", "h0", "h1", "x", "str")
}

func (g *hashsetGen) setKey() string {
	return g.pick("s0", "s1", "s2", "s3", "s0", "s1", "x", "str", "nokey")
}

func (g *hashsetGen) field() string {
	if g.r.IntN(40) == 0 {
		return strings.Repeat("F", 60+g.r.IntN(10))
	}
	return "f" + strconv.Itoa(g.r.IntN(12))
}

func (g *hashsetGen) value() string {
	switch g.r.IntN(10) {
	case 0:
		return g.pick("1.5", "-2.25", "1e3", "0.1", "abc", "", " 7", "07", "0x10")
	case 1:
		return strings.Repeat("v", 60+g.r.IntN(10))
	case 2, 3, 4:
		return strconv.Itoa(g.r.IntN(200) - 100)
	}
	return "v" + strconv.Itoa(g.r.IntN(50))
}

func (g *hashsetGen) member() string {
	switch g.r.IntN(12) {
	case 0:
		return g.pick("a", "b", "c", "m1", "m2", "07", "-0", "")
	case 1:
		return strconv.Itoa(g.r.IntN(2000) - 1000)
	}
	return strconv.Itoa(g.r.IntN(16) - 2)
}

func (g *hashsetGen) count() string {
	switch g.r.IntN(8) {
	case 0:
		return g.pick("0", "-1", "abc", "1.5")
	case 1:
		return strconv.Itoa(-g.r.IntN(20))
	}
	return strconv.Itoa(g.r.IntN(25))
}

func (g *hashsetGen) incr() string {
	switch g.r.IntN(6) {
	case 0:
		return g.pick("abc", "1e", "9223372036854775807", "-9223372036854775808", "inf", "0x1p3", " 1")
	case 1:
		return g.pick("0.1", "-0.3", "1.25", "1e-3", "3.0e2", ".5")
	}
	return strconv.Itoa(g.r.IntN(200) - 100)
}

// next returns a command and whether its reply is random (SPOP,
// SRANDMEMBER, HRANDFIELD).
func (g *hashsetGen) next() []string {
	n := func(k int, f func() string) []string {
		out := make([]string, k)
		for i := range out {
			out[i] = f()
		}
		return out
	}
	cat := func(parts ...any) []string {
		var out []string
		for _, p := range parts {
			switch p := p.(type) {
			case string:
				out = append(out, p)
			case []string:
				out = append(out, p...)
			}
		}
		return out
	}
	pairs := func(k int) []string {
		var out []string
		for i := 0; i < k; i++ {
			out = append(out, g.field(), g.value())
		}
		return out
	}
	scanOpts := func() []string {
		var out []string
		if g.r.IntN(3) == 0 {
			out = append(out, "MATCH", g.pick("*", "f1*", "?", "[ab]*", "1*", "**"))
		}
		if g.r.IntN(2) == 0 {
			out = append(out, "COUNT", g.pick("100000", "100000", "0", "x"))
		} else {
			out = append(out, "COUNT", "100000")
		}
		return out
	}
	keys := func() []string { return n(1+g.r.IntN(3), g.setKey) }
	switch g.r.IntN(46) {
	case 0, 1, 2:
		return cat("HSET", g.hashKey(), pairs(1+g.r.IntN(3)))
	case 3:
		return cat("HMSET", g.hashKey(), pairs(1+g.r.IntN(2)))
	case 4:
		return cat("HSETNX", g.hashKey(), g.field(), g.value())
	case 5:
		return cat("HGET", g.hashKey(), g.field())
	case 6:
		return cat("HMGET", g.hashKey(), n(1+g.r.IntN(3), g.field))
	case 7:
		return cat(g.pick("HGETALL", "HKEYS", "HVALS", "HLEN"), g.hashKey())
	case 8, 9:
		return cat("HDEL", g.hashKey(), n(1+g.r.IntN(3), g.field))
	case 10:
		return cat(g.pick("HEXISTS", "HSTRLEN"), g.hashKey(), g.field())
	case 11:
		return cat("HINCRBY", g.hashKey(), g.field(), g.incr())
	case 12:
		return cat("HINCRBYFLOAT", g.hashKey(), g.field(), g.incr())
	case 13:
		return cat("HSCAN", g.hashKey(), g.pick("0", "0", "x"), scanOpts())
	case 14:
		args := cat("HRANDFIELD", g.hashKey())
		if g.r.IntN(4) > 0 {
			args = append(args, g.count())
			if g.r.IntN(2) == 0 {
				args = append(args, g.pick("WITHVALUES", "WITHVALUES", "x"))
			}
		}
		return args
	case 15, 16, 17, 18:
		return cat("SADD", g.setKey(), n(1+g.r.IntN(4), g.member))
	case 19, 20:
		return cat("SREM", g.setKey(), n(1+g.r.IntN(4), g.member))
	case 21:
		return cat(g.pick("SMEMBERS", "SCARD"), g.setKey())
	case 22:
		return cat("SISMEMBER", g.setKey(), g.member())
	case 23:
		return cat("SMISMEMBER", g.setKey(), n(1+g.r.IntN(3), g.member))
	case 24, 25:
		args := cat("SPOP", g.setKey())
		if g.r.IntN(3) > 0 {
			args = append(args, g.count())
		}
		return args
	case 26:
		args := cat("SRANDMEMBER", g.setKey())
		if g.r.IntN(3) > 0 {
			args = append(args, g.count())
		}
		return args
	case 27, 28:
		return cat("SMOVE", g.setKey(), g.setKey(), g.member())
	case 29:
		return cat(g.pick("SINTER", "SUNION", "SDIFF"), keys())
	case 30, 31:
		return cat(g.pick("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"), g.setKey(), keys())
	case 32:
		ks := keys()
		args := cat("SINTERCARD", strconv.Itoa(len(ks)), ks)
		if g.r.IntN(2) == 0 {
			args = append(args, "LIMIT", g.pick("0", "1", "2", "5", "-1"))
		}
		return args
	case 33:
		return cat("SSCAN", g.setKey(), g.pick("0", "0", "x"), scanOpts())
	case 34:
		// Grow a set past the intset limit.
		var ms []string
		base := g.r.IntN(1000)
		for i := 0; i < 500+g.r.IntN(30); i++ {
			ms = append(ms, strconv.Itoa(base+i))
		}
		return cat("SADD", g.setKey(), ms)
	case 35:
		// Grow a hash past the listpack limit.
		var ps []string
		for i := 0; i < 500+g.r.IntN(30); i++ {
			ps = append(ps, "g"+strconv.Itoa(i), strconv.Itoa(i))
		}
		return cat("HSET", g.hashKey(), ps)
	case 36:
		return cat("SPOP", g.setKey(), strconv.Itoa(g.r.IntN(600)))
	case 37:
		ms := n(8+g.r.IntN(10), func() string { return strconv.Itoa(g.r.IntN(30)) })
		return cat("SADD", g.setKey(), ms)
	case 38:
		return cat("HDEL", g.hashKey(), n(5, func() string { return "g" + strconv.Itoa(g.r.IntN(530)) }))
	case 39:
		return cat("SREM", g.setKey(), n(6, func() string { return strconv.Itoa(g.r.IntN(30)) }))
	default:
		return cat("HSET", g.hashKey(), pairs(1))
	}
}

// hashsetContent describes key's content in s, order-independently.
func hashsetContent(s *Store, key string) string {
	e, ok := s.keys[key]
	if !ok {
		return "none"
	}
	switch e.val.(type) {
	case *hashValue:
		return "hash " + string(sortedFrames([]byte(storeExec(s, 1, "HGETALL", key)), 2))
	case *setValue:
		return "set " + string(sortedFrames([]byte(storeExec(s, 1, "SMEMBERS", key)), 1))
	}
	return "string"
}

func hashsetRedisContent(d *diffEnv, key string) string {
	switch t := string(d.redis.Do("TYPE", key)); t {
	case "+none\r\n":
		return "none"
	case "+hash\r\n":
		return "hash " + string(sortedFrames(d.redis.Do("HGETALL", key), 2))
	case "+set\r\n":
		return "set " + string(sortedFrames(d.redis.Do("SMEMBERS", key), 1))
	case "+string\r\n":
		return "string"
	default:
		return t
	}
}

var hashsetRandomKeys = []string{"h0", "h1", "h2", "x", "str", "s0", "s1", "s2", "s3", "nokey"}

func (d *diffEnv) hashsetCompareAll(step int, last []string) {
	d.t.Helper()
	for _, k := range hashsetRandomKeys {
		if want, got := hashsetRedisContent(d, k), hashsetContent(d.master, k); want != got {
			d.t.Fatalf("step %d (after %q): key %s differs\nredis: %.300s\nshoal: %.300s", step, last, k, want, got)
		}
	}
	d.checkEncodings(false, hashsetRandomKeys...)
	d.checkReplica()
}

// hashsetRandomReply checks a random command's reply: when either side
// answers an error, a null or an empty array, both must be identical;
// otherwise the type and the number of elements must agree and every
// element must be in the key (checked against the state before).
func hashsetCheckRandom(t *testing.T, args []string, redis, shoal []byte, before *Store) {
	t.Helper()
	simple := func(b []byte) bool {
		return len(b) == 0 || b[0] == '-' || b[0] == ':' || bytes.HasPrefix(b, []byte("$-1")) || bytes.Equal(b, []byte("*0\r\n"))
	}
	if simple(redis) || simple(shoal) {
		if !bytes.Equal(redis, shoal) {
			t.Errorf("%q\n  redis: %q\n  shoal: %q", args, redis, shoal)
		}
		return
	}
	if redis[0] != shoal[0] {
		t.Errorf("%q: reply types differ\n  redis: %q\n  shoal: %q", args, redis, shoal)
		return
	}
	var elems []string
	if shoal[0] == '$' {
		elems = bulkTexts(t, append([]byte("*1\r\n"), shoal...))
	} else {
		re, se := bulkTexts(t, redis), bulkTexts(t, shoal)
		if len(re) != len(se) {
			t.Errorf("%q: %d elements from redis, %d from shoal", args, len(re), len(se))
			return
		}
		elems = se
	}
	key := args[1]
	withValues := len(args) == 4 && strings.EqualFold(args[3], "withvalues")
	unique := len(args) >= 3 && !strings.HasPrefix(args[2], "-") && !strings.EqualFold(args[0], "SPOP")
	seen := map[string]bool{}
	for i := 0; i < len(elems); i++ {
		e := elems[i]
		switch strings.ToUpper(args[0]) {
		case "HRANDFIELD":
			v := storeExec(before, 1, "HGET", key, e)
			if v == "$-1\r\n" {
				t.Errorf("%q: %q is not a field", args, e)
			}
			if withValues {
				i++
				if want := fmt.Sprintf("$%d\r\n%s\r\n", len(elems[i]), elems[i]); v != want {
					t.Errorf("%q: value %q of %q, HGET says %q", args, elems[i], e, v)
				}
			}
		default:
			if storeExec(before, 1, "SISMEMBER", key, e) != ":1\r\n" {
				t.Errorf("%q: %q is not a member", args, e)
			}
		}
		if unique && seen[e] {
			t.Errorf("%q: %q twice", args, e)
		}
		seen[e] = true
	}
}

func TestHashSetRandomDiff(t *testing.T) {
	seed := testSeed(t, 20240601)
	steps := 3000
	if testing.Short() {
		steps = 800
	}
	t.Logf("%d commands", steps)
	g := &hashsetGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	d := newDiffEnv(t)
	d.setString("str", "a string")
	for step := 0; step < steps && !t.Failed(); step++ {
		if step%150 == 149 {
			d.setString("str", "a string")
		}
		args := g.next()
		name := strings.ToUpper(args[0])
		key := args[1]
		switch {
		case name == "SPOP":
			// Random: run on the master, then make redis pop the same
			// members (its SREM keeps the old encoding where SPOP's "new
			// set" strategy may change it: rebuild the key then).
			before := d.master.keys[key].val
			snapshot := New(DefaultConfig())
			if o, ok := before.(object); ok {
				snapshot.setKey([]byte(key), o.clone(), 0)
			}
			shoal, _ := d.doStore(args...)
			if shoal[0] == '-' || bytes.HasPrefix(shoal, []byte("$-1")) || bytes.Equal(shoal, []byte("*0\r\n")) {
				if redis := d.redis.Do(args...); !bytes.Equal(redis, shoal) {
					t.Errorf("%q\n  redis: %q\n  shoal: %q", args, redis, shoal)
				}
				break
			}
			var popped []string
			if shoal[0] == '$' {
				popped = bulkTexts(t, append([]byte("*1\r\n"), shoal...))
			} else {
				popped = bulkTexts(t, shoal)
			}
			size, _ := strconv.Atoi(strings.TrimSpace(storeExec(snapshot, 1, "SCARD", key)[1:]))
			want := 1
			if len(args) == 3 {
				want, _ = strconv.Atoi(args[2])
				want = min(want, size)
			}
			if len(popped) != want {
				t.Errorf("%q: popped %d of %d", args, len(popped), size)
			}
			seen := map[string]bool{}
			for _, p := range popped {
				if seen[p] || storeExec(snapshot, 1, "SISMEMBER", key, p) != ":1\r\n" {
					t.Errorf("%q: popped %q wrongly (%v)", args, p, popped)
				}
				seen[p] = true
			}
			d.redis.Do(append([]string{"SREM", key}, popped...)...)
			if redisEncoding(d, key) != storeEncoding(d.master, key) {
				members := bulkTexts(t, []byte(storeExec(d.master, 1, "SMEMBERS", key)))
				d.redis.Do("DEL", key)
				d.redis.Do(append([]string{"SADD", key}, members...)...)
			}
		case name == "SRANDMEMBER" || name == "HRANDFIELD":
			redis, shoal := d.do(args...)
			hashsetCheckRandom(t, args, redis, shoal, d.master)
		default:
			mode := ""
			switch name {
			case "HGETALL", "HSCAN":
				if storeEncoding(d.master, key) == "hashtable" {
					mode = "~2"
				}
			case "HKEYS", "HVALS", "SMEMBERS", "SSCAN":
				if enc := storeEncoding(d.master, key); enc == "hashtable" {
					mode = "~"
				}
			case "SINTER", "SUNION", "SDIFF":
				mode = "~"
			}
			redis, shoal := d.do(args...)
			if !replyEqual(mode, redis, shoal) {
				t.Errorf("step %d: %q\n  redis: %.400q\n  shoal: %.400q", step, args, redis, shoal)
			}
		}
		for _, a := range args[1:] {
			if slices.Contains(hashsetRandomKeys, a) {
				if want, got := redisEncoding(d, a), storeEncoding(d.master, a); want != got {
					t.Errorf("step %d: after %q: OBJECT ENCODING %s: redis %s, shoal %s", step, args, a, want, got)
				}
			}
		}
		if step%200 == 199 {
			d.hashsetCompareAll(step, args)
		}
	}
	d.hashsetCompareAll(steps, nil)
}

// ---- snapshots ----

// hashsetFill creates hashes and sets of every encoding.
func hashsetFill(t testing.TB, s *Store) {
	t.Helper()
	cmds := []string{
		"HSET hsmall b 2 a 1 c 3",
		"HSET hbig " + hashsetSeq("f", 0, 600, true),
		"HSET hlong f " + strings.Repeat("v", 100),
		"HSET hempty '' ''",
		"SADD sint 5 -3 9223372036854775807 -9223372036854775808 0",
		"SADD sstr a b c 1",
		"SADD sbig " + hashsetSeq("", 0, 600, false),
		"SADD sallint x 1 2 3",
		"SREM sallint x",
		"SADD spop a 1 2 3 4 5",
	}
	for i := 0; i < 50; i++ {
		cmds = append(cmds, fmt.Sprintf("HSET h%d f%d v%d x y", i, i, i), fmt.Sprintf("SADD s%d %d m%d", i, i, i))
	}
	for _, c := range cmds {
		if r := storeExec(s, 1, strings.Fields(c)...); r[0] == '-' {
			t.Fatalf("%s: %s", c, r)
		}
	}
}

func TestHashSetSnapshotRoundTrip(t *testing.T) {
	s := New(DefaultConfig())
	hashsetFill(t, s)
	want, wantEnc := dump(t, s, 1), objectEncodings(s)
	// Writes while the snapshot runs must not show in it.
	snap := takeSnapshot(t, s, 7, func(i int) {
		for _, c := range []string{
			"HSET hsmall a changed z 26", "HDEL hbig f1 f2", "HINCRBY h3 n 1", "HDEL h4 f4 x",
			"SADD sint 77", "SREM sstr a", "SPOP sbig 100", "SADD s7 new", "SREM s8 8 m8", "SMOVE s9 s10 9",
			"SINTERSTORE sint sstr", "SUNIONSTORE newkey sbig", fmt.Sprintf("HSET h%d f k", i), "SPOP spop 5",
		} {
			storeExec(s, 1, strings.Fields(c)...)
		}
	})
	if dump(t, s, 1) == want {
		t.Fatal("the writes during the snapshot changed nothing")
	}
	r := New(DefaultConfig())
	if err := r.LoadSnapshot(bytes.NewReader(snap)); err != nil {
		t.Fatal(err)
	}
	if got := dump(t, r, 1); got != want {
		t.Errorf("loaded snapshot differs\nwant:\n%s\ngot:\n%s", want, got)
	}
	if got := objectEncodings(r); got != wantEnc {
		t.Errorf("encodings differ\nwant %s\ngot  %s", wantEnc, got)
	}
	// The listpack order survives.
	if got := storeExec(r, 1, "HKEYS", "hsmall"); got != "*3\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n" {
		t.Errorf("HKEYS hsmall after load: %q", got)
	}
	// A loaded value is fully usable.
	for _, c := range []string{"HSET hbig new 1", "HDEL hsmall a", "SADD sint 1000", "SREM sstr b", "SPOP sbig 3"} {
		if res := storeExec(r, 1, strings.Fields(c)...); res[0] == '-' {
			t.Errorf("%s after load: %s", c, res)
		}
	}
}

func hashsetUv(vals ...any) []byte {
	var b []byte
	for _, v := range vals {
		switch v := v.(type) {
		case int:
			b = binary.AppendUvarint(b, uint64(v))
		case int64:
			b = binary.AppendVarint(b, v)
		case string:
			b = appendBytes(b, []byte(v))
		case byte:
			b = append(b, v)
		}
	}
	return b
}

func TestHashSetSnapshotCorrupt(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"hash ok", snapOneRecord(recHash, hashsetUv(byte(0), 1, "f", "v")), true},
		{"hash ht ok", snapOneRecord(recHash, hashsetUv(byte(1), 2, "f", "v", "g", "w")), true},
		{"hash bad encoding", snapOneRecord(recHash, hashsetUv(byte(2), 1, "f", "v")), false},
		{"hash empty", snapOneRecord(recHash, hashsetUv(byte(0), 0)), false},
		{"hash dup field", snapOneRecord(recHash, hashsetUv(byte(0), 2, "f", "v", "f", "w")), false},
		{"hash dup field ht", snapOneRecord(recHash, hashsetUv(byte(1), 2, "f", "v", "f", "w")), false},
		{"hash truncated", snapOneRecord(recHash, hashsetUv(byte(0), 2, "f", "v", "g")), false},
		{"hash huge count", snapOneRecord(recHash, hashsetUv(byte(1), 1<<31, "f", "v")), false},
		{"hash listpack too long", snapOneRecord(recHash, hashsetUv(byte(0), 513, "f", "v")), false},
		{"hash no encoding", snapOneRecord(recHash, nil), false},
		{"set ok", snapOneRecord(recSet, hashsetUv(byte(0), 2, int64(-1), int64(5))), true},
		{"set ht ok", snapOneRecord(recSet, hashsetUv(byte(1), 2, "a", "1")), true},
		{"set bad encoding", snapOneRecord(recSet, hashsetUv(byte(9), 1, "a")), false},
		{"set empty", snapOneRecord(recSet, hashsetUv(byte(1), 0)), false},
		{"intset unsorted", snapOneRecord(recSet, hashsetUv(byte(0), 2, int64(5), int64(-1))), false},
		{"intset dup", snapOneRecord(recSet, hashsetUv(byte(0), 2, int64(5), int64(5))), false},
		{"intset too long", snapOneRecord(recSet, hashsetUv(byte(0), 513, int64(1))), false},
		{"set dup", snapOneRecord(recSet, hashsetUv(byte(1), 2, "a", "a")), false},
		{"set truncated", snapOneRecord(recSet, hashsetUv(byte(1), 3, "a", "b")), false},
		{"set huge count", snapOneRecord(recSet, hashsetUv(byte(1), 1<<40)), false},
	}
	for _, c := range cases {
		s := New(DefaultConfig())
		err := s.LoadSnapshot(bytes.NewReader(c.data))
		if (err == nil) != c.ok {
			t.Errorf("%s: err = %v", c.name, err)
		}
		if err != nil && !strings.Contains(err.Error(), "bad snapshot") {
			t.Errorf("%s: error %v does not wrap ErrBadSnapshot", c.name, err)
		}
	}
}

// hashsetFuzzSeeds are valid snapshots of hashes and sets.
func hashsetFuzzSeeds(f *testing.F, typ byte) {
	s := New(DefaultConfig())
	for _, c := range []string{
		"HSET hl b 2 a 1", "HSET hh f " + strings.Repeat("v", 70),
		"SADD si 5 -3", "SADD sh a 1",
	} {
		storeExec(s, 1, strings.Fields(c)...)
	}
	f.Add(takeSnapshot(f, s, 7, nil))
	if typ == recHash {
		f.Add(snapOneRecord(recHash, hashsetUv(byte(0), 2, "f", "v", "g", "w")))
		f.Add(snapOneRecord(recHash, hashsetUv(byte(1), 1, "f", "v")))
	} else {
		f.Add(snapOneRecord(recSet, hashsetUv(byte(0), 2, int64(-1), int64(5))))
		f.Add(snapOneRecord(recSet, hashsetUv(byte(1), 2, "a", "1")))
	}
}

// hashsetFuzzUse loads data and, when it loads, exercises every key.
func hashsetFuzzUse(t *testing.T, data []byte) {
	s := New(DefaultConfig())
	if err := s.LoadSnapshot(bytes.NewReader(data)); err != nil {
		return
	}
	for k := range s.keys {
		for _, c := range [][]string{
			{"HGETALL", k}, {"HSET", k, "f", "v"}, {"HDEL", k, "f", "g"}, {"HRANDFIELD", k, "-3"},
			{"HSCAN", k, "0"}, {"HINCRBYFLOAT", k, "f", "1"},
			{"SMEMBERS", k}, {"SADD", k, "1", "a"}, {"SREM", k, "a"}, {"SPOP", k, "2"},
			{"SSCAN", k, "0"}, {"SINTER", k, k}, {"SDIFF", k, "nokey"},
		} {
			storeExec(s, 1, c...)
		}
	}
	snap := takeSnapshot(t, s, 7, nil)
	if err := New(DefaultConfig()).LoadSnapshot(bytes.NewReader(snap)); err != nil {
		t.Fatalf("re-snapshot of a loaded store does not load: %v", err)
	}
}

func FuzzLoadSnapshotHash(f *testing.F) {
	hashsetFuzzSeeds(f, recHash)
	f.Fuzz(hashsetFuzzUse)
}

func FuzzLoadSnapshotSet(f *testing.F) {
	hashsetFuzzSeeds(f, recSet)
	f.Fuzz(hashsetFuzzUse)
}

// TestHashSetShrinkDuringScan removes most of a big hash and set while an
// HSCAN/SSCAN runs: the index is rebuilt (memory given back) and the scan
// still returns every element present throughout exactly once.
func TestHashSetShrinkDuringScan(t *testing.T) {
	s := New(DefaultConfig())
	storeExec(s, 1, strings.Fields("HSET h "+hashsetSeq("f", 0, 3000, true))...)
	storeExec(s, 1, strings.Fields("SADD s "+hashsetSeq("m", 0, 3000, false))...)
	for _, tc := range []struct{ cmd, del, prefix string }{{"HSCAN", "HDEL", "f"}, {"SSCAN", "SREM", "m"}} {
		key := strings.ToLower(tc.cmd[:1])
		seen := map[string]int{}
		cursor := "0"
		for i := 0; ; i++ {
			r := []byte(storeExec(s, 1, tc.cmd, key, cursor, "COUNT", "50"))
			top, ok := splitFrames(r)
			if !ok || len(top) != 2 {
				t.Fatalf("%s reply %q", tc.cmd, r)
			}
			cursor = bulkTexts(t, append([]byte("*1\r\n"), top[0]...))[0]
			elems := bulkTexts(t, top[1])
			step := 1
			if tc.cmd == "HSCAN" {
				step = 2
			}
			for j := 0; j < len(elems); j += step {
				seen[elems[j]]++
			}
			if i == 2 {
				// Keep 0..99, delete the rest.
				args := []string{tc.del, key}
				for k := 100; k < 3000; k++ {
					args = append(args, fmt.Sprintf("%s%d", tc.prefix, k))
				}
				storeExec(s, 1, args...)
				if o := s.keys[key].val; o.(object).length() != 100 {
					t.Fatalf("%s left %d", tc.del, o.(object).length())
				}
			}
			if cursor == "0" {
				break
			}
		}
		for k := 0; k < 100; k++ {
			if n := seen[fmt.Sprintf("%s%d", tc.prefix, k)]; n != 1 {
				t.Errorf("%s: %s%d returned %d times", tc.cmd, tc.prefix, k, n)
			}
		}
	}
	if h := s.keys["h"].val.(*hashValue); len(h.idx) != 100 || h.peak > 800 || cap(h.pairs) > 400 {
		t.Errorf("hash not shrunk: idx %d peak %d cap %d", len(h.idx), h.peak, cap(h.pairs))
	}
	if v := s.keys["s"].val.(*setValue); len(v.idx) != 100 || v.peak > 800 || cap(v.members) > 400 {
		t.Errorf("set not shrunk: idx %d peak %d cap %d", len(v.idx), v.peak, cap(v.members))
	}
	if r := storeExec(s, 1, "HGET", "h", "f42"); r != "$3\r\nv42\r\n" {
		t.Errorf("HGET after shrink: %q", r)
	}
	if r := storeExec(s, 1, "SISMEMBER", "s", "m42"); r != ":1\r\n" {
		t.Errorf("SISMEMBER after shrink: %q", r)
	}
}

// TestHashSetTTL: in-place changes keep a key's TTL, the STORE commands
// replace the destination and drop it, as in Redis.
func TestHashSetTTL(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
HSET h a 1
SADD s 1 2
SADD d x
SADD src 2 3
`)
	exp := d.clock() + 100000
	for _, k := range []string{"h", "s", "d", "src"} {
		d.redis.Do("PEXPIREAT", k, strconv.FormatInt(exp, 10))
		d.master.setExpire([]byte(k), exp)
		d.replica.setExpire([]byte(k), exp)
	}
	d.run(`
HSET h b 2
HDEL h a
HINCRBY h n 1
HINCRBYFLOAT h n 1.5
SADD s 3
SREM s 1
? SPOP s
SMOVE src s 2
SINTERSTORE d src src
`)
	for _, k := range []string{"h", "s", "d", "src"} {
		r := string(d.redis.Do("PTTL", k))
		hasTTL := r != ":-1\r\n" && r != ":-2\r\n"
		if got := d.master.keys[k].exp != 0; got != hasTTL {
			t.Errorf("%s: redis PTTL %q, shoal exp %d", k, r, d.master.keys[k].exp)
		}
	}
}

// hashsetSeq returns "prefix0 prefix1 ... prefix(n-1)" (from on) as one
// string, each followed by " v<i>" when withValues.
func hashsetSeq(prefix string, from, n int, withValues bool) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		if i > from {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s%d", prefix, i)
		if withValues {
			fmt.Fprintf(&b, " v%d", i)
		}
	}
	return b.String()
}
