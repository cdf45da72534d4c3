package store

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestZSetZAdd(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
ZADD z 1 a
ZADD z 2 b 3 c 1 a
ZADD z 1.5 a
ZRANGE z 0 -1 WITHSCORES
ZADD z NX 10 a 10 d
ZADD z XX 20 a 20 e
ZADD z XX CH 21 a 3 c
ZADD z CH 22 a 23 f
ZADD z GT 1 a
ZADD z GT CH 100 a
ZADD z LT CH 200 a 1 b
ZADD z LT 0 b
ZADD z XX GT CH 300 a 0 c
ZADD z GT LT 1 a
ZADD z NX GT 1 a
ZADD z NX LT 1 a
ZADD z NX XX 1 a
ZADD z nx xx 1
ZADD z 1 a 2
ZADD z INCR 1 a 2 b
ZADD z INCR 5 a
ZADD z INCR -5.5 newmember
ZADD z INCR NX 5 a
ZADD z INCR XX 5 nosuch
ZADD z INCR GT -1 a
ZADD z INCR LT -1 a
ZADD z INCR LT 1 a
ZADD z INCR 0 a
ZADD z abc a
ZADD z 1 a abc b
ZADD z " 1" a
ZADD z "1 " a
ZADD z "" a
ZADD z nan a
ZADD z 1e400 a
ZADD z 1e-400 a
ZADD z 4.9e-324 tiny
ZADD z 0x10 hex 0x1p-3 hex2 0X1.8P1 hex3
ZADD z inf i1 -inf i2 +inf i3 Infinity i4 -INF i5
ZADD z INCR -inf i1
ZADD z INCR inf i2
ZADD z INCR inf i1
ZADD z "1\x00" a
ZADD z 1.0000000000000001 p 0.1 q 1e300 r -0.0 s 2.5 t 1e17 u 1e16 v 1e-5 w 0.0001 x 123456789012345678 y
ZRANGE z 0 -1 WITHSCORES
ZSCORE z s
ZADD z 0 s
ZSCORE z s
ZADD zneg -0 m
ZADD zneg 0 m
ZSCORE zneg m
ZADD nokey XX 1 a
ZADD nokey XX INCR 1 a
ZADD nokey XX CH 1 a
ZCARD nokey
ZADD z ch incr 1 a
ZADD z CH 5 a 5 a 6 a
ZINCRBY z 1 a
ZINCRBY z -2.5 newm
ZINCRBY z abc a
ZINCRBY z nx a
ZINCRBY z incr a
ZINCRBY z 1e400 a
ZINCRBY z inf i1
ZINCRBY z -inf i1
ZINCRBY znew 3 m
ZRANGE z 0 -1 WITHSCORES
ZRANGE znew 0 -1 WITHSCORES
ZCARD z
ZCARD nokey
`)
	d.checkEncodings(true, "z")
	d.checkEncodings(true, "znew")
	d.setString("str", "v")
	d.run(`
ZADD str 1 a
ZADD str abc a
ZADD str NX XX 1 a
ZINCRBY str 1 a
ZADD str XX 1 a
ZCARD str
ZSCORE str a
ZMSCORE str a
ZRANK str a
ZREM str a
`)
}

func TestZSetFloatFormat(t *testing.T) {
	d := newDiffEnv(t)
	vals := []string{
		"0.1", "1e-300", "1e300", "-0.0", "0", "inf", "-inf", "3", "2.5", "0.3333333333333333",
		"1.1", "100", "1e16", "1e17", "1e15", "123456789", "1234567890123456789", "0.0001",
		"0.00001", "1e-5", "-1e-5", "9007199254740993", "4503599627370496", "4503599627370495.5",
		"1.7976931348623157e308", "2.2250738585072014e-308", "5e-324", "-5e-324", "0.5", "1e21",
		"1e22", "12345.678", "-12345.678e-10", "0x1.fffffffffffffp1023", "1e-4", "1.5e-4",
		"99999999999999999", "0.30000000000000004", "7", ".5", "5.", "+5", "-.5e3", "1E3", "00012",
		"0x", "0x.8", "0xg", "1e", "1e+", "1e+3x", "infinit", "infinity", "nan(123)", "-nan",
	}
	for i, v := range vals {
		m := "m" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		d.run(`
ZADD f ` + `"` + v + `" ` + m + `
ZSCORE f ` + m + `
ZADD g INCR "` + v + `" ` + m + `
ZINCRBY g "` + v + `" ` + m + `
`)
	}
	d.run(`
ZRANGE f 0 -1 WITHSCORES
ZRANGE g 0 -1 WITHSCORES
ZSCAN f 0
`)
}

func TestZSetReads(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
ZADD z 1 a 2 b 3 c 3 d 5 e
ZSCORE z a
ZSCORE z nosuch
ZSCORE nokey a
ZMSCORE z a nosuch e
ZMSCORE nokey a b
ZRANK z a
ZRANK z d
ZRANK z nosuch
ZRANK nokey a
ZREVRANK z a
ZREVRANK z e
ZREVRANK z nosuch
ZREVRANK nokey a
ZCARD z
ZREM z a nosuch b
ZREM z nosuch
ZREM nokey a
ZREM z c d e
ZCARD z
ZSCORE z c
`)
	d.setString("str", "v")
	d.run(`
ZSCORE str a
ZMSCORE str a b
ZRANK str a
ZREVRANK str a
ZREM str a
ZCARD str
`)
}

func TestZSetRanges(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
ZADD z 1 a 2 b 3 c 3 d 5 e -1 f 0 g inf h -inf i
ZRANGE z 0 -1
ZRANGE z 0 -1 WITHSCORES
ZRANGE z 2 4 withscores
ZRANGE z -3 -1
ZRANGE z -100 100
ZRANGE z 5 2
ZRANGE z 100 200
ZRANGE z -1 -100
ZRANGE z 0 9223372036854775807
ZRANGE z -9223372036854775808 0
ZRANGE z 0 -1 REV
ZRANGE z 0 2 REV WITHSCORES
ZRANGE z a 1
ZRANGE z 0 b
ZRANGE z 0 1.5
ZRANGE z 0 1 LIMIT 0 1
ZRANGE z 0 1 LIMIT 0 -1
ZRANGE z 0 1 LIMIT 5 -1
ZRANGE z 0 1 LIMIT 0
ZRANGE z 0 1 LIMIT a 1
ZRANGE z 0 1 LIMIT 0 a
ZRANGE z 0 1 FOO
ZRANGE z 0 1 REV REV
ZRANGE z 0 1 BYSCORE BYLEX
ZRANGE z 0 1 BYSCORE BYSCORE
ZRANGE z 1 3 BYSCORE
ZRANGE z (1 3 BYSCORE WITHSCORES
ZRANGE z 1 (3 BYSCORE
ZRANGE z (1 (3 BYSCORE
ZRANGE z -inf +inf BYSCORE WITHSCORES
ZRANGE z +inf -inf BYSCORE REV WITHSCORES
ZRANGE z 3 1 BYSCORE REV
ZRANGE z (3 1 BYSCORE REV
ZRANGE z 1 3 BYSCORE REV
ZRANGE z -inf inf BYSCORE LIMIT 1 3
ZRANGE z -inf inf BYSCORE LIMIT 1 -1
ZRANGE z -inf inf BYSCORE LIMIT 1 0
ZRANGE z -inf inf BYSCORE LIMIT -1 3
ZRANGE z -inf inf BYSCORE LIMIT 9 3
ZRANGE z -inf inf BYSCORE LIMIT 8 3
ZRANGE z -inf inf BYSCORE LIMIT 100 3
ZRANGE z inf -inf BYSCORE REV LIMIT 2 2 WITHSCORES
ZRANGE z a 3 BYSCORE
ZRANGE z 1 b BYSCORE
ZRANGE z ( 3 BYSCORE
ZRANGE z "" 3 BYSCORE
ZRANGE z " 1" 3 BYSCORE
ZRANGE z "1 " 3 BYSCORE
ZRANGE z "1\x00junk" 3 BYSCORE
ZRANGE z nan 3 BYSCORE
ZRANGE z (nan 3 BYSCORE
ZRANGE z 1e400 -1e400 BYSCORE REV
ZRANGE z 0x1 0x3 BYSCORE
ZRANGE z 3 1 BYSCORE
ZRANGE z (3 3 BYSCORE
ZRANGE z 3 3 BYSCORE
ZRANGE z - + BYLEX
ZRANGE z - + BYLEX WITHSCORES
ZRANGE z - + BYLEX LIMIT 1 2
ZRANGE z + - BYLEX REV
ZRANGE z [a [c BYLEX
ZRANGE z a c BYLEX
ZRANGE z 0 -1 BYLEX
ZRANGE z "" + BYLEX
ZRANGE z +x + BYLEX
ZRANGE z - -x BYLEX
ZRANGE z 0 -1 WITHSCORES BYSCORE
ZRANGEBYSCORE z 1 3
ZRANGEBYSCORE z 1 3 WITHSCORES
ZRANGEBYSCORE z -inf +inf LIMIT 2 3 WITHSCORES
ZRANGEBYSCORE z -inf +inf WITHSCORES LIMIT 2 3
ZRANGEBYSCORE z 1 3 REV
ZRANGEBYSCORE z 1 3 BYSCORE
ZRANGEBYSCORE z 1 3 LIMIT 1
ZRANGEBYSCORE z a 3
ZRANGEBYSCORE nokey 1 3
ZREVRANGEBYSCORE z 3 1
ZREVRANGEBYSCORE z 3 1 WITHSCORES
ZREVRANGEBYSCORE z +inf -inf LIMIT 1 2
ZREVRANGEBYSCORE z 1 3
ZREVRANGEBYSCORE z (3 (1
ZREVRANGE z 0 -1
ZREVRANGE z 0 2 WITHSCORES
ZREVRANGE z 0 2 LIMIT 0 1
ZREVRANGE z 0 2 BYSCORE
ZREVRANGE z 0 2 REV
ZREVRANGE nokey 0 -1
ZCOUNT z -inf +inf
ZCOUNT z 1 3
ZCOUNT z (1 (3
ZCOUNT z 3 1
ZCOUNT z a 1
ZCOUNT nokey 1 2
ZCOUNT z 100 200
`)
	d.run(`
ZADD lex 0 a 0 b 0 c 0 d 0 e 0 f 0 g 0 aa 0 "" 0 "b\x00"
ZRANGEBYLEX lex - +
ZRANGEBYLEX lex [a [c
ZRANGEBYLEX lex (a (c
ZRANGEBYLEX lex [aa (c
ZRANGEBYLEX lex - (c
ZRANGEBYLEX lex [c +
ZRANGEBYLEX lex [ +
ZRANGEBYLEX lex ( +
ZRANGEBYLEX lex - [
ZRANGEBYLEX lex + -
ZRANGEBYLEX lex - -
ZRANGEBYLEX lex + +
ZRANGEBYLEX lex [c [a
ZRANGEBYLEX lex (c [c
ZRANGEBYLEX lex [c [c
ZRANGEBYLEX lex [b (b\x00
ZRANGEBYLEX lex [b "[b\x00"
ZRANGEBYLEX lex - + LIMIT 2 3
ZRANGEBYLEX lex - + LIMIT -1 3
ZRANGEBYLEX lex - + LIMIT 0 -1
ZRANGEBYLEX lex - + LIMIT 20 1
ZRANGEBYLEX lex - + WITHSCORES
ZRANGEBYLEX lex a c
ZRANGEBYLEX lex "" +
ZRANGEBYLEX lex "+\x00" -
ZRANGEBYLEX lex - "+\x00"
ZRANGEBYLEX lex "-\x00" "+\x00"
ZRANGEBYLEX nokey - +
ZREVRANGEBYLEX lex + -
ZREVRANGEBYLEX lex [c [a
ZREVRANGEBYLEX lex [a [c
ZREVRANGEBYLEX lex + - LIMIT 1 2
ZREVRANGEBYLEX lex (d - LIMIT 1 100
ZLEXCOUNT lex - +
ZLEXCOUNT lex [a [c
ZLEXCOUNT lex (a (c
ZLEXCOUNT lex [c [a
ZLEXCOUNT lex a c
ZLEXCOUNT nokey - +
ZRANGE lex [b [e BYLEX REV
ZRANGE lex [e [b BYLEX REV
ZRANGE lex [e [b BYLEX REV LIMIT 1 2
`)
	// Lex ranges over members with different scores: a listpack is
	// scanned from its head as Redis does.
	d.run(`
ZADD mixed 1 d 2 a 3 c 4 b 5 e
ZRANGEBYLEX mixed [b [d
ZRANGEBYLEX mixed - [c
ZRANGEBYLEX mixed [c +
ZREVRANGEBYLEX mixed [d [b
ZREVRANGEBYLEX mixed + [c
ZLEXCOUNT mixed [b [d
ZLEXCOUNT mixed [a [c
ZREMRANGEBYLEX mixed [b [c
ZRANGE mixed 0 -1 WITHSCORES
ZREMRANGEBYLEX mixed [a [d
ZRANGE mixed 0 -1 WITHSCORES
`)
	d.setString("str", "v")
	d.run(`
ZRANGE str 0 -1
ZRANGE str a b
ZRANGE str 0 1 FOO
ZRANGEBYSCORE str 1 2
ZRANGEBYSCORE str a 2
ZRANGEBYLEX str - +
ZRANGEBYLEX str a b
ZREVRANGE str 0 1
ZCOUNT str 1 2
ZCOUNT str a 2
ZLEXCOUNT str - +
ZLEXCOUNT str a b
`)
}

func TestZSetRemRange(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
ZADD z 1 a 2 b 3 c 4 d 5 e 6 f 7 g
ZREMRANGEBYRANK z 0 0
ZREMRANGEBYRANK z -1 -1
ZREMRANGEBYRANK z 10 20
ZREMRANGEBYRANK z 3 1
ZREMRANGEBYRANK z a 1
ZREMRANGEBYRANK z 1 b
ZRANGE z 0 -1 WITHSCORES
ZREMRANGEBYRANK z 1 2
ZRANGE z 0 -1 WITHSCORES
ZREMRANGEBYRANK z 0 -1
ZCARD z
ZREMRANGEBYRANK nokey 0 -1
ZADD z 1 a 2 b 3 c 4 d 5 e 6 f 7 g
ZREMRANGEBYSCORE z (1 3
ZREMRANGEBYSCORE z 100 200
ZREMRANGEBYSCORE z 5 4
ZREMRANGEBYSCORE z a 3
ZREMRANGEBYSCORE z 1 nan
ZRANGE z 0 -1 WITHSCORES
ZREMRANGEBYSCORE z -inf (5
ZRANGE z 0 -1 WITHSCORES
ZREMRANGEBYSCORE z -inf +inf
ZCARD z
ZREMRANGEBYSCORE nokey -inf +inf
ZADD l 0 a 0 b 0 c 0 d 0 e
ZREMRANGEBYLEX l [b (d
ZREMRANGEBYLEX l a b
ZREMRANGEBYLEX l [z +
ZREMRANGEBYLEX l [c [a
ZRANGE l 0 -1
ZREMRANGEBYLEX l - +
ZCARD l
ZREMRANGEBYLEX nokey - +
`)
	d.setString("str", "v")
	d.run(`
ZREMRANGEBYRANK str 0 1
ZREMRANGEBYRANK str a 1
ZREMRANGEBYSCORE str 0 1
ZREMRANGEBYSCORE str a 1
ZREMRANGEBYLEX str - +
ZREMRANGEBYLEX str a b
`)
}

func TestZSetRangeStore(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
ZADD src 1 a 2 b 3 c 4 d 5 e -0 z
ZRANGESTORE dst src 0 -1
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst src 1 2
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst src 0 1 REV
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst src 2 4 BYSCORE
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst src 4 2 BYSCORE REV LIMIT 1 1
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst src [b [d BYLEX
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst src 0 -1 WITHSCORES
ZRANGESTORE dst src 0 -1 LIMIT 0 1
ZRANGESTORE dst src a b
ZRANGESTORE dst src a b BYSCORE
ZRANGESTORE dst src a b BYLEX
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst src 10 20
ZCARD dst
ZRANGESTORE dst src 0 -1
ZRANGESTORE dst nosrc 0 -1
ZCARD dst
ZRANGESTORE dst nosrc 0 -1
ZRANGESTORE src src 0 1
ZRANGE src 0 -1 WITHSCORES
`)
	d.setString("str", "v")
	d.run(`
ZRANGESTORE dst str 0 -1
ZADD dst 1 x
ZRANGESTORE dst str 0 -1
ZRANGE dst 0 -1
ZRANGESTORE str src 0 -1
ZRANGE str 0 -1 WITHSCORES
`)
}

func TestZSetPops(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
ZADD z 1 a 2 b 3 c 4 d 5 e 6 f
ZPOPMIN z
ZPOPMAX z
ZPOPMIN z 2
ZPOPMAX z 0
ZPOPMIN z -1
ZPOPMIN z abc
ZPOPMIN z 1 2
ZPOPMIN z 1.5
ZPOPMAX z 100
ZCARD z
ZPOPMIN z
ZPOPMIN z 5
ZPOPMIN nokey
ZPOPMAX nokey 3
ZPOPMAX nokey -3
ZPOPMAX nokey 0
ZADD z 1 a
ZPOPMIN z 0
ZCARD z
`)
	d.setString("str", "v")
	d.run(`
ZPOPMIN str
ZPOPMAX str 2
ZPOPMIN str -1
ZPOPMIN str 0
`)
}

func TestZSetBlockingPops(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
ZADD z1 1 a 2 b 3 c
ZADD z2 10 x
BZPOPMIN z1 0
BZPOPMAX z1 0
BZPOPMIN nokey z2 z1 0
BZPOPMAX nokey z1 1.5
ZCARD z1
ZCARD z2
ZADD z1 1 a 2 b 3 c 4 d 5 e 6 f 7 g 8 h 9 i 10 j 11 k 12 l 13 m 14 n 15 o 16 p 17 q 18 r 19 s
BZPOPMIN z1 abc
BZPOPMIN z1 -1
BZPOPMIN z1 " 1"
BZPOPMIN z1 nan
BZPOPMIN z1 inf
BZPOPMIN z1 -inf
BZPOPMIN z1 1e400
BZPOPMIN z1 9.3e15
BZPOPMIN z1 -0.001
BZPOPMIN z1 1e5000
BZPOPMIN z1 1e-5000
BZPOPMIN z1 -0.0005
BZPOPMIN z1 1e-400
BZPOPMAX z1 0x10
BZPOPMIN z1 ""
BZPOPMIN z1 "1\x00"
BZPOPMIN z1 1e308
BZPOPMIN z1 0.001
BZPOPMIN z1 -0.00099999999999999999
BZPOPMIN z1 -0.0009999999999999999999999
BZPOPMIN z1 9223372036854775.807
BZPOPMIN z1 9223372036854775807
BZPOPMIN z1 -9223372036854775808
BZPOPMIN z1 0x1p-16446
BZPOPMIN z1 0x1p16384
BZPOPMIN z1 0x1p16383
BZPOPMIN z1 1e4933
BZPOPMIN z1 1e-4950
BZPOPMIN z1 1e-4952
ZCARD z1
`)
	d.setString("str", "v")
	d.run(`
ZADD z1 1 a
BZPOPMIN str z1 0
BZPOPMIN z1 str 0
BZPOPMIN str abc
BZPOPMAX nokey str 0
`)
	// Nothing to pop: redis blocks (until the timeout), the store replies
	// nothing at all and records nothing.
	for _, cmd := range [][]string{{"BZPOPMIN", "nokey", "0.05"}, {"BZPOPMAX", "nokey", "nokey2", "0.05"}} {
		r := d.redis.Do(cmd...)
		if string(r) != "*-1\r\n" {
			t.Fatalf("redis %q after timeout: %q", cmd, r)
		}
		args := byteArgs(cmd...)
		out := d.master.Exec(d.clock(), args, []byte("prefix"))
		if string(out) != "prefix" {
			t.Fatalf("%q with nothing to pop appended %q", cmd, out[6:])
		}
		if eff, n := d.master.TakeEffects(); n != 0 {
			t.Fatalf("%q recorded %q", cmd, eff)
		}
	}
}

func TestZSetRandMember(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
ZADD z 1 a 2 b 3 c 1e17 d -0 e 2.5 f
ZRANDMEMBER nokey
ZRANDMEMBER nokey 5
ZRANDMEMBER nokey -5 WITHSCORES
ZRANDMEMBER z 0
ZRANDMEMBER z 0 WITHSCORES
ZRANDMEMBER z 6
ZRANDMEMBER z 100 WITHSCORES
ZRANDMEMBER z 6 withscores
ZRANDMEMBER z abc
ZRANDMEMBER z 1 FOO
ZRANDMEMBER z 1 WITHSCORES extra
ZRANDMEMBER z -9223372036854775808
ZRANDMEMBER z -9223372036854775807 WITHSCORES
ZRANDMEMBER z 9223372036854775807 WITHSCORES
ZRANDMEMBER z 4611686018427387904 WITHSCORES
ZRANDMEMBER z -4611686018427387904 WITHSCORES
ZRANDMEMBER z 4611686018427387903 WITHSCORES
? ZRANDMEMBER z
? ZRANDMEMBER z 1
? ZRANDMEMBER z 3 WITHSCORES
? ZRANDMEMBER z -10 WITHSCORES
`)
	d.setString("str", "v")
	d.run(`
ZRANDMEMBER str
ZRANDMEMBER str 1
ZRANDMEMBER str abc
`)
	// Deliberate deviation: a reply too big to build is refused.
	if out := storeExecLine(d.master, d.clock(), "ZRANDMEMBER z -16777217"); out != "-ERR value is out of range\r\n" {
		t.Errorf("ZRANDMEMBER z -16777217: %q", out)
	}
	// Random replies: right sizes, members of the set, distinct when the
	// count is positive.
	members := map[string]bool{"a": true, "b": true, "c": true, "d": true, "e": true, "f": true}
	for _, tc := range []struct {
		count    string
		n        int
		distinct bool
	}{{"1", 1, true}, {"2", 2, true}, {"5", 5, true}, {"-3", 3, false}, {"-20", 20, false}} {
		out := d.master.Exec(d.clock(), [][]byte{[]byte("ZRANDMEMBER"), []byte("z"), []byte(tc.count)}, nil)
		elems, ok := splitFrames(out)
		if !ok || len(elems) != tc.n {
			t.Fatalf("ZRANDMEMBER z %s: %q", tc.count, out)
		}
		seen := map[string]bool{}
		for _, e := range elems {
			m := string(e[bytes.IndexByte(e, '\n')+1 : len(e)-2])
			if !members[m] || (tc.distinct && seen[m]) {
				t.Fatalf("ZRANDMEMBER z %s: %q", tc.count, out)
			}
			seen[m] = true
		}
	}
}

func TestZSetScanSmall(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
ZADD z 1 a 2 b 3 c 1e17 d -0 e 2.5 f 1e19 g -1e18 h inf i 0.1 j
ZSCAN z 0
ZSCAN z 123
ZSCAN z 0 COUNT 1
ZSCAN z 0 MATCH a*
ZSCAN z 0 MATCH *
ZSCAN z 0 MATCH [a-c] COUNT 100
ZSCAN z 0 COUNT 0
ZSCAN z 0 COUNT -1
ZSCAN z 0 COUNT abc
ZSCAN z 0 MATCH
ZSCAN z 0 FOO bar
ZSCAN z 0 NOVALUES
ZSCAN z 0 TYPE zset
ZSCAN z abc
ZSCAN z -1
ZSCAN z 18446744073709551616
ZSCAN z 18446744073709551615
ZSCAN z -18446744073709551615
ZSCAN z -18446744073709551616
ZSCAN z +5
ZSCAN z -
ZSCAN z +
ZSCAN z ""
ZSCAN z " 1"
ZSCAN z "1 "
ZSCAN z "1\x00x"
ZSCAN z 1.5
ZSCAN nokey 0
ZSCAN nokey 0 COUNT 0
ZSCAN nokey abc
`)
	d.setString("str", "v")
	d.run(`
ZSCAN str 0
ZSCAN str abc
ZSCAN str 0 COUNT 0
`)
}

func TestZSetUnionInterDiff(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
ZADD z1 1 a 2 b 3 c
ZADD z2 10 b 20 c 30 d
ZADD z3 100 c 200 e
ZUNION 2 z1 z2
ZUNION 2 z1 z2 WITHSCORES
ZUNION 3 z1 z2 z3 WITHSCORES
ZUNION 2 z1 z2 WEIGHTS 2 3 WITHSCORES
ZUNION 2 z1 z2 WEIGHTS 2 WITHSCORES
ZUNION 2 z1 z2 WEIGHTS 2 abc WITHSCORES
ZUNION 2 z1 z2 AGGREGATE MIN WITHSCORES
ZUNION 2 z1 z2 AGGREGATE max WITHSCORES
ZUNION 2 z1 z2 AGGREGATE sum WITHSCORES
ZUNION 2 z1 z2 AGGREGATE foo WITHSCORES
ZUNION 2 z1 z2 AGGREGATE
ZUNION 2 z1 z2 WEIGHTS 1 -1 AGGREGATE MIN WEIGHTS 3 4 WITHSCORES
ZUNION 2 z1 z2 WITHSCORES WITHSCORES
ZUNION 2 z1 z2 FOO
ZUNION 2 z1 nokey WITHSCORES
ZUNION 1 nokey
ZUNION 0 z1
ZUNION -1 z1
ZUNION abc z1
ZUNION 3 z1 z2
ZUNION 2 z1 z1 WITHSCORES
ZUNION 2 z1 z2 WEIGHTS inf -inf WITHSCORES
ZUNION 2 z1 z2 WEIGHTS 0 inf WITHSCORES
ZUNION 2 z1 z2 WEIGHTS 1e400 1
ZUNION 2 z1 z2 WEIGHTS nan 1
ZINTER 2 z1 z2
ZINTER 2 z1 z2 WITHSCORES
ZINTER 3 z1 z2 z3 WITHSCORES
ZINTER 2 z1 z2 WEIGHTS 2 3 AGGREGATE MAX WITHSCORES
ZINTER 2 z1 z2 AGGREGATE MIN WITHSCORES
ZINTER 2 z1 nokey WITHSCORES
ZINTER 2 z1 z1 WITHSCORES
ZINTER 2 z1 z2 WEIGHTS 0 inf WITHSCORES
ZINTER 0 z1
ZDIFF 2 z1 z2
ZDIFF 2 z1 z2 WITHSCORES
ZDIFF 3 z2 z1 z3 WITHSCORES
ZDIFF 2 z1 nokey WITHSCORES
ZDIFF 2 nokey z1 WITHSCORES
ZDIFF 1 z1 WITHSCORES
ZDIFF 2 z1 z2 WEIGHTS 1 2
ZDIFF 2 z1 z2 AGGREGATE MIN
ZDIFF 0 z1
ZUNIONSTORE dst 2 z1 z2
ZRANGE dst 0 -1 WITHSCORES
ZUNIONSTORE dst 2 z1 z2 WEIGHTS 1 2 AGGREGATE MAX
ZRANGE dst 0 -1 WITHSCORES
ZUNIONSTORE dst 2 z1 z2 WITHSCORES
ZUNIONSTORE dst 0 z1
ZINTERSTORE dst 2 z1 z3
ZRANGE dst 0 -1 WITHSCORES
ZINTERSTORE dst 2 z1 nokey
ZCARD dst
ZINTERSTORE dst 2 z1 nokey
ZDIFFSTORE dst 2 z2 z1
ZRANGE dst 0 -1 WITHSCORES
ZDIFFSTORE dst 2 z1 z1
ZCARD dst
ZDIFFSTORE dst 1 nokey
ZDIFFSTORE dst 2 z1 z2 WITHSCORES
ZUNIONSTORE z1 2 z1 z2
ZRANGE z1 0 -1 WITHSCORES
ZUNIONSTORE dst 1 z2 WEIGHTS -0
ZRANGE dst 0 -1 WITHSCORES
`)
	d.setString("str", "v")
	d.run(`
ZUNION 2 z1 str
ZUNION 2 str z1 FOO
ZINTER 2 nokey str
ZDIFF 2 z1 str
ZUNIONSTORE dst 2 z1 str
ZUNIONSTORE str 2 z1 z2
ZRANGE str 0 -1 WITHSCORES
ZINTERSTORE str 1 nokey
ZCARD str
`)
}

// zsetFill returns a ZADD line adding n members "<prefix>NNN" with scores
// i % mod.
func zsetFill(key, prefix string, n, mod int) string {
	var b strings.Builder
	b.WriteString("ZADD " + key)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, " %d %s%03d", i%mod, prefix, i)
	}
	return b.String() + "\n"
}

func TestZSetEncodings(t *testing.T) {
	d := newDiffEnv(t)
	long := strings.Repeat("x", 65)
	d.run(zsetFill("a", "m", 128, 7) + zsetFill("b", "m", 129, 7) + zsetFill("c", "m", 128, 7) + `
ZADD c 1 one-more
ZADD d 1 ` + strings.Repeat("y", 64) + `
ZADD e 1 ` + long + `
ZADD f 1 a 2 ` + long + `
ZADD g 1 ` + long + ` 2 a
ZREM g ` + long + `
ZADD h INCR 1 ` + long + `
ZINCRBY i 1 ` + long + `
ZADD j 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a 1 a
ZADD k XX 1 ` + long + `
ZADD k NX 1 a
ZADD k XX 1 ` + long + `
ZRANGESTORE s1 b 0 -1
ZRANGESTORE s2 b 0 127
ZRANGESTORE s3 b -inf +inf BYSCORE
ZRANGESTORE s4 b -inf +inf BYSCORE LIMIT 0 128
ZRANGESTORE s5 f 0 -1
ZRANGESTORE s6 g 0 -1
ZUNIONSTORE u1 1 b
ZUNIONSTORE u2 2 a g
ZUNIONSTORE u3 1 f
ZINTERSTORE u4 2 b b
ZREMRANGEBYRANK b 0 100
ZDIFFSTORE u5 1 b
`)
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "s1", "s2", "s3", "s4", "s5", "s6", "u1", "u2", "u3", "u4", "u5"} {
		d.checkEncodings(true, k)
	}
	// -0 survives in the skiplist encoding only.
	d.run(`
ZADD f -0 neg
ZSCORE f neg
ZADD f 0 neg
ZSCORE f neg
ZADD a -0 neg
ZSCORE a neg
ZADD b 5 m200
ZADD b -0 m200
ZSCORE b m200
ZINCRBY b -0 m200
ZRANGESTORE s7 b 0 -1
ZSCORE s7 m200
ZRANGESTORE s8 b -1 0 BYSCORE
ZSCORE s8 m200
ZUNIONSTORE s9 1 b
ZSCORE s9 m200
ZUNION 1 b WITHSCORES
`)
	d.checkEncodings(true, "s7")
	d.checkEncodings(true, "s9")
}

func TestZSetBig(t *testing.T) {
	d := newDiffEnv(t)
	d.run(zsetFill("big", "m", 300, 40) + zsetFill("lex", "", 300, 1) + zsetFill("big2", "m", 200, 13))
	d.checkEncodings(true, "big")
	var b strings.Builder
	for _, q := range []string{
		"ZRANGE big 0 -1 WITHSCORES", "ZRANGE big 100 150", "ZRANGE big -50 -1 REV WITHSCORES", "ZRANGE big 299 299",
		"ZRANGE big 5 (20 BYSCORE WITHSCORES", "ZRANGE big (5 20 BYSCORE LIMIT 10 20", "ZRANGE big 20 5 BYSCORE REV LIMIT 3 40",
		"ZRANGE big -inf +inf BYSCORE LIMIT 290 100", "ZRANGE big 39 39 BYSCORE", "ZRANGE big 40 50 BYSCORE",
		"ZRANGEBYSCORE big (10 (11 WITHSCORES", "ZREVRANGEBYSCORE big 30 (29", "ZCOUNT big 5 (20", "ZCOUNT big -inf +inf",
		"ZCOUNT big (39 +inf", "ZRANK big m000", "ZRANK big m299", "ZRANK big m150", "ZREVRANK big m150", "ZRANK big nosuch",
		"ZSCORE big m123", "ZMSCORE big m001 m002 nosuch", "ZCARD big",
		"ZRANGEBYLEX lex [050 (100", "ZRANGEBYLEX lex - + LIMIT 250 100", "ZREVRANGEBYLEX lex (200 [100 LIMIT 5 10",
		"ZLEXCOUNT lex [050 (100", "ZLEXCOUNT lex - +", "ZLEXCOUNT lex (299 +", "ZLEXCOUNT lex [300 +", "ZRANGE lex [1 [2 BYLEX",
		"ZUNION 2 big big2 WITHSCORES", "ZINTER 2 big big2 WEIGHTS 2 0.5 AGGREGATE MAX WITHSCORES", "ZDIFF 2 big big2",
		"ZRANDMEMBER big 300", "ZRANDMEMBER big 1000 WITHSCORES",
		"ZRANGESTORE s big 10 200", "ZRANGE s 0 -1 WITHSCORES",
		"ZPOPMIN big 3", "ZPOPMAX big 3", "ZREMRANGEBYRANK big 10 19", "ZREMRANGEBYSCORE big 5 (7",
		"ZREMRANGEBYLEX lex [100 [150", "ZREMRANGEBYLEX lex (200 +", "ZREM big m050 m051 nosuch",
		"ZADD big 1000 m050 -5 m299 7.5 m100", "ZADD big XX GT 0 m100 1e6 m101", "ZINCRBY big 0.5 m102",
		"ZRANGE big 0 -1 WITHSCORES", "ZRANGE lex 0 -1", "ZRANGE big2 0 -1 WITHSCORES",
	} {
		b.WriteString(q + "\n")
	}
	d.run(b.String())
	d.checkEncodings(true, "big")
	d.checkEncodings(true, "s")

	// ZSCAN over a skiplist-encoded set: cursors differ from Redis's, so
	// compare what a whole iteration returns.
	scanAll := func(exec func(args ...string) []byte, extra ...string) map[string]string {
		got := map[string]string{}
		cursor := "0"
		for i := 0; ; i++ {
			if i > 1000 {
				t.Fatalf("ZSCAN does not end")
			}
			out := exec(append([]string{"ZSCAN", "big", cursor}, extra...)...)
			top, ok := splitFrames(out)
			if !ok || len(top) != 2 {
				t.Fatalf("ZSCAN reply %q", out)
			}
			cursor = string(top[0][bytes.IndexByte(top[0], '\n')+1 : len(top[0])-2])
			elems, _ := splitFrames(top[1])
			for j := 0; j+1 < len(elems); j += 2 {
				got[string(elems[j])] = string(elems[j+1])
			}
			if cursor == "0" {
				return got
			}
		}
	}
	shoal := func(args ...string) []byte {
		b := byteArgs(args...)
		return d.master.Exec(d.clock(), b, nil)
	}
	for _, extra := range [][]string{nil, {"COUNT", "7"}, {"MATCH", "m1*", "COUNT", "3"}, {"COUNT", "1000"}} {
		r, s := scanAll(d.redis.Do, extra...), scanAll(shoal, extra...)
		if fmt.Sprint(r) != fmt.Sprint(s) {
			t.Errorf("ZSCAN %v: redis %d elements, shoal %d\n%v\n%v", extra, len(r), len(s), r, s)
		}
	}
	d.run(`
ZSCAN big abc
ZSCAN big 0 COUNT 0
`)
}

// TestZSetTTL: changing a sorted set keeps its TTL; storing a result
// replaces the destination and drops its TTL; an expired set is gone.
func TestZSetTTL(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
ZADD keep 1 a 2 b
ZADD dst 1 x
ZADD src 5 s
`)
	far := d.clock() + 3_600_000
	for _, k := range []string{"keep", "dst"} {
		d.redis.Do("PEXPIREAT", k, fmt.Sprint(far))
		d.master.setExpire([]byte(k), far)
		d.replica.setExpire([]byte(k), far)
	}
	d.run(`
ZADD keep 3 c
ZINCRBY keep 1 a
ZREM keep b
ZPOPMIN keep
ZUNIONSTORE dst 1 src
`)
	if r := string(d.redis.Do("PTTL", "keep")); r == ":-1\r\n" || r == ":-2\r\n" {
		t.Fatalf("redis PTTL keep = %q", r)
	}
	if got := d.master.keys["keep"].exp; got != far {
		t.Errorf("keep's expiry %d, want %d", got, far)
	}
	if r := string(d.redis.Do("PTTL", "dst")); r != ":-1\r\n" {
		t.Fatalf("redis PTTL dst = %q", r)
	}
	if got := d.master.keys["dst"].exp; got != 0 {
		t.Errorf("dst's expiry %d, want none", got)
	}
	// An expired set reads as missing, and the master records its DEL.
	past := d.clock() - 1
	d.master.setExpire([]byte("keep"), past)
	if out := storeExecLine(d.master, d.clock(), "ZCARD keep"); out != ":0\r\n" {
		t.Errorf("ZCARD of an expired set: %q", out)
	}
	if _, ok := d.master.keys["keep"]; ok {
		t.Errorf("expired set still stored")
	}
}

// zsetTestSet stands in for the set type (implemented elsewhere in the
// package) to check that ZUNION/ZINTER/ZDIFF read plain sets through
// zsetMemberSource as Redis does: every member with score 1.
type zsetTestSet struct{ members []string }

func (s *zsetTestSet) typeName() string { return "set" }
func (s *zsetTestSet) encoding() string { return "hashtable" }
func (s *zsetTestSet) length() int      { return len(s.members) }
func (s *zsetTestSet) clone() object {
	return &zsetTestSet{members: append([]string(nil), s.members...)}
}
func (s *zsetTestSet) appendSnapshot(dst []byte) []byte { return dst }
func (s *zsetTestSet) zsetMembers(yield func([]byte) bool) {
	for _, m := range s.members {
		if !yield([]byte(m)) {
			return
		}
	}
}
func (s *zsetTestSet) zsetHasMember(m []byte) bool {
	for _, x := range s.members {
		if x == string(m) {
			return true
		}
	}
	return false
}

var _ zsetMemberSource = (*zsetTestSet)(nil)

func TestZSetSetSources(t *testing.T) {
	d := newDiffEnv(t)
	for k, members := range map[string][]string{"s1": {"a", "x", "y"}, "s2": {"x", "q"}} {
		d.redis.Do(append([]string{"SADD", k}, members...)...)
		d.master.setKey([]byte(k), &zsetTestSet{members: members}, 0)
		d.replica.setKey([]byte(k), &zsetTestSet{members: members}, 0)
	}
	d.run(`
ZADD z 1 a 2 b 3 c 5 x
ZUNION 2 z s1 WITHSCORES
ZUNION 3 s1 z s2 WEIGHTS 2 3 4 WITHSCORES
ZUNION 2 s1 s2 AGGREGATE MAX WITHSCORES
ZINTER 2 z s1 WITHSCORES
ZINTER 2 s1 z WEIGHTS 10 1 AGGREGATE MIN WITHSCORES
ZINTER 2 s1 s1 WITHSCORES
ZDIFF 2 s1 z WITHSCORES
ZDIFF 2 z s1 WITHSCORES
ZDIFF 3 s1 s2 z WITHSCORES
ZUNIONSTORE dst 2 s1 s2
ZRANGE dst 0 -1 WITHSCORES
ZINTERSTORE dst 2 s1 z WEIGHTS 0.5 2
ZRANGE dst 0 -1 WITHSCORES
ZDIFFSTORE dst 2 s1 s2
ZRANGE dst 0 -1 WITHSCORES
ZRANGE s1 0 -1
ZCARD s1
ZRANGESTORE dst s1 0 -1
`)
}
