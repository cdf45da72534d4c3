package store

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestSetBasics(t *testing.T) {
	d := newDiffEnv(t)
	d.setString("str", "x")
	d.run(`
SADD s 3 1 2
SADD s 2 5 -7 0
SADD s 1
SMEMBERS s
SCARD s
SISMEMBER s 5
SISMEMBER s 4
SISMEMBER s 05
SISMEMBER s abc
SISMEMBER nokey 1
SMISMEMBER s 1 4 5 x 1
SMISMEMBER nokey 1 2
SREM s 4 5 x 05
SREM s 5
SREM nokey 1
SMEMBERS s
SMEMBERS nokey
SCARD nokey
SADD s 9223372036854775807 -9223372036854775808
SMEMBERS s
SADD t a b c a
SCARD t
SISMEMBER t b
SMISMEMBER t a z c
SREM t a b c
SMEMBERS t
SCARD t
SADD u ""
SISMEMBER u ""
SREM u ""
SCARD u
`)
	d.checkEncodings(false, "s", "t", "u")
	d.run(`
SADD str a
SREM str a
SMEMBERS str
SISMEMBER str a
SMISMEMBER str a
SCARD str
SPOP str
SPOP str 1
SPOP str 0
SPOP str -1
SRANDMEMBER str
SRANDMEMBER str 1
SRANDMEMBER str abc
SSCAN str 0
SSCAN str x
SMOVE str s a
SMOVE s str 1
SINTER str
SINTER s str
SINTER nokey str
SINTERSTORE d s str
SINTERCARD 1 str
SUNION s str
SUNIONSTORE d s str
SDIFF s str
SDIFF nokey str
SDIFFSTORE d nokey str
`)
}

func TestSetEncodings(t *testing.T) {
	d := newDiffEnv(t)
	// Members that are not canonical integers make a hashtable.
	for i, m := range []string{"01", "-0", "+1", " 1", "1 ", "1.0", "9223372036854775808", "-9223372036854775809", "0x1", "a", ""} {
		d.run(fmt.Sprintf(`SADD n%d 1 "%s" 2`, i, m))
		d.checkEncodings(false, fmt.Sprintf("n%d", i))
	}
	d.run(`
SADD i -1 0 9223372036854775807 -9223372036854775808 5
SMEMBERS i
SADD h 3 1 a 2
SREM h a
~ SMEMBERS h
`)
	d.checkEncodings(false, "i", "h")
	// 512 integers stay an intset, the 513th converts for good.
	d.run("SADD big " + hashsetSeq("", 1000, 512, false))
	d.checkEncodings(false, "big")
	d.run(`
SMEMBERS big
SSCAN big 0 COUNT 1
SSCAN big 0 MATCH 11?
SADD big 1
SADD big 7
`)
	d.checkEncodings(false, "big")
	d.run("SREM big " + hashsetSeq("", 1000, 500, false))
	d.run(`
~ SMEMBERS big
SCARD big
SISMEMBER big 1511
SISMEMBER big 1000
`)
	d.checkEncodings(false, "big")
	d.run("SADD many " + hashsetSeq("", 0, 600, false))
	d.checkEncodings(false, "many")
	d.run("SADD mixed " + hashsetSeq("m", 0, 100, false) + " " + hashsetSeq("", 0, 100, false))
	d.checkEncodings(false, "mixed")
	d.run(`
~ SMEMBERS many
~ SMEMBERS mixed
SISMEMBER mixed 5
SISMEMBER mixed m5
SMISMEMBER mixed 5 m5 05 x
`)
}

func TestSetAlgebra(t *testing.T) {
	d := newDiffEnv(t)
	d.setString("str", "x")
	d.run(`
SADD a 1 2 3 4 5
SADD b 4 5 6 7
SADD c 5 7 9
SADD x a b 1 2 5
SADD y b c 5
SADD e 3
SINTER a b
SINTER a b c
SINTER b a
SINTER a
SINTER a a
SINTER a nokey
SINTER nokey a
SINTER a e
~ SINTER x y
SINTER a x
~ SINTER x a
SINTER x e
~ SINTER x x
SINTERCARD 1 a
SINTERCARD 2 a b
SINTERCARD 3 a b c
SINTERCARD 2 a nokey
SINTERCARD 2 x y
SINTERCARD 2 a a LIMIT 3
SINTERCARD 1 a LIMIT 0
SINTERCARD 1 a LIMIT 1
SINTERCARD 1 a LIMIT 100
SINTERCARD 1 a limit 2 LIMIT 4
SINTERCARD 0 a
SINTERCARD -1 a
SINTERCARD abc a
SINTERCARD 2 a
SINTERCARD 1 a LIMIT -1
SINTERCARD 1 a LIMIT x
SINTERCARD 1 a LIMIT
SINTERCARD 1 a FOO 1
SINTERCARD 2 nokey str
SINTERCARD 2 str nokey
SUNION a b
SUNION a b c nokey
SUNION nokey
~ SUNION a x
~ SUNION x y
SUNION e e
SDIFF a b
SDIFF a b c
SDIFF a nokey
SDIFF nokey a
SDIFF a a
SDIFF a e b
~ SDIFF x y
SDIFF x b y a
SDIFF a x
SDIFF e a
`)
	// Results stored with the encoding Redis gives them; an empty result
	// deletes the destination; the destination may be a source.
	d.run(`
SINTERSTORE d1 a b
SMEMBERS d1
SINTERSTORE d2 x y
~ SMEMBERS d2
SINTERSTORE d3 x a
SMEMBERS d3
SINTERSTORE d1 a nokey
SCARD d1
SINTERSTORE d1 a e nokey
SINTERSTORE nokey2 a nokey
SUNIONSTORE d4 a b c
SMEMBERS d4
SUNIONSTORE d5 a x
~ SMEMBERS d5
SUNIONSTORE d6 nokey
SCARD d6
SDIFFSTORE d7 a b
SMEMBERS d7
SDIFFSTORE d8 x y
~ SMEMBERS d8
SDIFFSTORE d7 a a
SCARD d7
SDIFFSTORE a a b
SMEMBERS a
SUNIONSTORE a a c
SMEMBERS a
SINTERSTORE a a b c
SMEMBERS a
SINTERSTORE str a b
SMEMBERS str
SUNIONSTORE str nokey
SMEMBERS str
`)
	d.checkEncodings(false, "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "a", "str")

	// SDIFF's second algorithm (first set large against small others) builds
	// the result from the whole first set: a non-integer that is later
	// removed still makes it a hashtable.
	d.run(`
SADD p q 1 2 3 4 5
SADD q q
SADD r z
~ SDIFF p q r
SDIFFSTORE pd p q r
~ SMEMBERS pd
SDIFFSTORE pd2 p q nokey r
SDIFFSTORE pd3 p q
SMEMBERS pd3
`)
	d.checkEncodings(false, "pd", "pd2", "pd3")
	// A union of more than 512 integers is a hashtable.
	d.run("SADD n1 " + hashsetSeq("", 0, 300, false))
	d.run("SADD n2 " + hashsetSeq("", 300, 300, false))
	d.run(`
SUNIONSTORE n3 n1 n2
SCARD n3
SDIFFSTORE n4 n3 n2
SCARD n4
SINTERSTORE n5 n3 n1
SCARD n5
`)
	d.checkEncodings(false, "n1", "n2", "n3", "n4", "n5")
	d.run(`
SMEMBERS n4
SMEMBERS n5
`)
}

func TestSetSmove(t *testing.T) {
	d := newDiffEnv(t)
	d.setString("str", "x")
	d.run(`
SMOVE nokey str x
SMOVE nokey d x
SADD s 1 2 a
SMOVE s str 1
SMOVE str s 1
SMOVE s s 1
SMOVE s s 9
SMOVE s d 9
SMOVE s d 1
SMOVE s d 1
SMEMBERS d
SMOVE s d a
~ SMEMBERS d
SADD e 2
SMOVE s e 2
SMEMBERS e
SCARD s
SMEMBERS s
SADD f 1 2 3
SMOVE f g x
SMOVE f g 3
SMEMBERS f
SMEMBERS g
`)
	d.checkEncodings(false, "s", "d", "e", "f", "g")
}

func TestSetScan(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
SADD s 5 10 -3 100 1
SSCAN s 0
SSCAN s 0 COUNT 1
SSCAN s 7 MATCH 1*
SSCAN s -1
SSCAN s ""
SSCAN s +3
SSCAN s x
SSCAN s " 0"
SSCAN s 0 COUNT 0
SSCAN s 0 COUNT x
SSCAN s 0 MATCH
SSCAN s 0 TYPE set
SSCAN s 0 MATCH * COUNT 2
SSCAN nokey 0 BAD
SADD h a b c "" 1
~ SSCAN h 0 COUNT 1000
~ SSCAN h 0 MATCH * COUNT 1000
~ SSCAN h 0 MATCH ** COUNT 1000
~ SSCAN h 0 MATCH [a-b] COUNT 1000
`)
	d.run("SADD big " + hashsetSeq("m", 0, 700, false))
	d.run(`
~ SSCAN big 0 COUNT 100000
~ SSCAN big 0 MATCH m1?? COUNT 100000
`)
	// A full iteration with small counts returns every member exactly once,
	// while members come and go.
	s := d.master
	seen := map[string]int{}
	cursor := "0"
	for i := 0; ; i++ {
		r := []byte(storeExec(s, 1, "SSCAN", "big", cursor, "COUNT", "13"))
		top, ok := splitFrames(r)
		if !ok || len(top) != 2 {
			t.Fatalf("SSCAN reply %q", r)
		}
		cursor = bulkTexts(t, append([]byte("*1\r\n"), top[0]...))[0]
		for _, m := range bulkTexts(t, top[1]) {
			seen[m]++
		}
		if i == 5 {
			storeExec(s, 1, "SREM", "big", "m699", "m698")
			storeExec(s, 1, "SADD", "big", "new1", "new2")
		}
		if cursor == "0" {
			break
		}
	}
	for i := 0; i < 698; i++ {
		if n := seen[fmt.Sprintf("m%d", i)]; n != 1 {
			t.Errorf("m%d returned %d times", i, n)
		}
	}
}

func TestSetRandom(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
SPOP nokey
SPOP nokey 3
SPOP nokey 0
SPOP nokey -1
SPOP nokey abc
SRANDMEMBER nokey
SRANDMEMBER nokey 3
SRANDMEMBER nokey -3
SRANDMEMBER nokey abc
SADD s 1 2 3
SPOP s -1
SPOP s abc
SPOP s 1.5
SPOP s 0
SPOP s 1 2
SRANDMEMBER s 1 2
SRANDMEMBER s abc
SRANDMEMBER s -9223372036854775808
SRANDMEMBER s 0
SRANDMEMBER s 3
SRANDMEMBER s 10
? SRANDMEMBER s
? SRANDMEMBER s 2
? SPOP s
SCARD s
SADD t a 3 1 2
SREM t a
~ SRANDMEMBER t 10
SPOP t 10
SADD u a b c
~ SPOP u 3
SCARD u
`)
	d.checkEncodings(false, "s", "t", "u")

	// Random replies: shape, counts, uniqueness and membership.
	s := New(DefaultConfig())
	for _, setup := range []string{
		"SADD k 1 2 3 4 5 6 7 8 9 10",
		"SADD k a b c d e f g h i j",
		"SADD k " + hashsetSeq("", 0, 600, false),
		"SADD k " + hashsetSeq("x", 0, 600, false),
	} {
		s.removeKey("k")
		storeExec(s, 1, strings.Fields(setup)...)
		members := bulkTexts(t, []byte(storeExec(s, 1, "SMEMBERS", "k")))
		size := len(members)
		for _, count := range []int{1, 2, 3, 5, 9, 10, 11, -1, -5, -30, 150, 199, 599, 600, 601} {
			elems := bulkTexts(t, []byte(storeExec(s, 1, "SRANDMEMBER", "k", strconv.Itoa(count))))
			want := count
			if count < 0 {
				want = -count
			} else if count > size {
				want = size
			}
			if len(elems) != want {
				t.Errorf("SRANDMEMBER k %d: %d elements, want %d", count, len(elems), want)
			}
			dup := map[string]bool{}
			for _, e := range elems {
				if !slices.Contains(members, e) {
					t.Errorf("SRANDMEMBER k %d: %q is not a member", count, e)
				}
				if count > 0 && dup[e] {
					t.Errorf("SRANDMEMBER k %d: %q twice", count, e)
				}
				dup[e] = true
			}
		}
	}
	// SPOP with each strategy: the popped members are gone, the rest stay,
	// and the effect is one SREM of exactly the popped members.
	for _, tc := range []struct {
		setup string
		count int
	}{
		{"SADD k 1 2 3 4 5 6 7 8 9 10", 1},
		{"SADD k 1 2 3 4 5 6 7 8 9 10", 8},
		{"SADD k 1 2 3 4 5 6 7 8 9 10", 9},
		{"SADD k 1 2 3 4 5 6 7 8 9 10", 10},
		{"SADD k 1 2 3 4 5 6 7 8 9 10", 11},
		{"SADD k a b c d e f g h i j", 3},
		{"SADD k a b c d e f g h i j", 9},
		{"SADD k " + hashsetSeq("x", 0, 700, false), 650},
		{"SADD k " + hashsetSeq("x", 0, 700, false), 10},
	} {
		s.removeKey("k")
		storeExec(s, 1, strings.Fields(tc.setup)...)
		before := bulkTexts(t, []byte(storeExec(s, 1, "SMEMBERS", "k")))
		s.TakeEffects()
		popped := bulkTexts(t, []byte(storeExec(s, 1, "SPOP", "k", strconv.Itoa(tc.count))))
		eff, n := s.TakeEffects()
		after := bulkTexts(t, []byte(storeExec(s, 1, "SMEMBERS", "k")))
		if len(popped) != min(tc.count, len(before)) || len(popped)+len(after) != len(before) {
			t.Errorf("SPOP %d of %d: popped %d, %d left", tc.count, len(before), len(popped), len(after))
		}
		for _, p := range popped {
			if slices.Contains(after, p) || !slices.Contains(before, p) {
				t.Errorf("SPOP %d: popped %q wrongly", tc.count, p)
			}
		}
		args, _, err := parseCommand(eff)
		if n != 1 || err != nil || string(args[0]) != "SREM" || len(args) != 2+len(popped) {
			t.Errorf("SPOP %d effect: %d effects %q", tc.count, n, eff)
		}
	}
}

// TestSetSpopReencodes checks SPOP's "new set" strategy: a hashtable whose
// remaining members are all integers becomes an intset, as in Redis.
func TestSetSpopReencodes(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
SADD s a 1 2 3 4 5 6 7 8 9 10 11 12
SREM s a
? SPOP s 10
`)
	want := redisEncoding(d, "s")
	if got := storeEncoding(d.master, "s"); want != "intset" || got != want {
		t.Errorf("after SPOP: redis %s, shoal %s", want, got)
	}
	// The replica got SREMs: same members (checked by run).
	d.run(`
SADD t a 1 2 3 4 5 6 7 8 9 10 11 12
SREM t a
? SPOP t 2
`)
	d.checkEncodings(false, "t")
}

func TestSetTouchAndEffects(t *testing.T) {
	s := New(DefaultConfig())
	var touched []string
	s.Touched = func(k []byte) { touched = append(touched, string(k)) }
	cases := []struct {
		cmd     string
		touched string
		effects int
	}{
		{"SADD s 1 2", "s", 1},
		{"SADD s 1", "", 0},
		{"SREM s 9", "", 0},
		{"SREM nokey 9", "", 0},
		{"SMOVE s d 9", "", 0},
		{"SMOVE s s 1", "", 0},
		{"SMOVE s d 1", "s d", 1},
		{"SPOP s 0", "", 0},
		{"SPOP nokey", "", 0},
		{"SRANDMEMBER s -5", "", 0},
		{"SINTERSTORE x s nokey", "", 0},
		{"SINTERSTORE x s", "x", 1},
		{"SINTERSTORE x nokey", "x", 1},
		{"SUNIONSTORE x nokey", "", 0},
		{"SPOP d", "d", 1},
		{"SPOP s 5", "s", 1},
	}
	for _, c := range cases {
		touched = nil
		storeExec(s, 1, strings.Fields(c.cmd)...)
		_, n := s.TakeEffects()
		if strings.Join(touched, " ") != c.touched || n != c.effects {
			t.Errorf("%s: touched %v, %d effects; want %q, %d effects", c.cmd, touched, n, c.touched, c.effects)
		}
	}
	if s.Len() != 0 {
		t.Errorf("empty set kept: %d keys", s.Len())
	}
}

func TestSetNoPanicOnShortArgs(t *testing.T) {
	s := New(DefaultConfig())
	for _, name := range []string{"sadd", "srem", "smembers", "sismember", "smismember", "scard", "spop",
		"srandmember", "smove", "sinter", "sintercard", "sinterstore", "sunion", "sunionstore", "sdiff",
		"sdiffstore", "sscan"} {
		for n := 1; n <= 3; n++ {
			args := []string{name, "k", "m"}[:n]
			r := storeExec(s, 1, args...)
			if r == "" {
				t.Errorf("%v: no reply", args)
			}
		}
	}
}

// Plain sets are valid inputs of the sorted-set algebra (score 1 each).
func TestDiffZsetOpsOnPlainSets(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
		SADD ints 3 1 2
		SADD strs b a
		ZADD z 5 a 2 x
		ZUNION 3 ints strs z WITHSCORES
		ZINTER 2 strs z WITHSCORES
		ZDIFF 2 ints z
		ZDIFF 2 z strs WITHSCORES
		ZUNIONSTORE dst 2 ints z WEIGHTS 2 1
		ZRANGE dst 0 -1 WITHSCORES
		ZINTERSTORE dst2 2 z strs AGGREGATE MAX
		ZRANGE dst2 0 -1 WITHSCORES
	`)
}
