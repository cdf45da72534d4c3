package store

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestZSetRandomDiff runs a few thousand random sorted-set commands against
// redis-server and the store, comparing every reply byte for byte, the
// replica's content and the keys' encodings.
func TestZSetRandomDiff(t *testing.T) {
	seed := testSeed(t, 20240607)
	rng := rand.New(rand.NewPCG(seed, 99))
	d := newDiffEnv(t)
	d.setString("str", "v")
	long := strings.Repeat("L", 65)
	d.run(zsetFill("bigz", "b", 140, 9))

	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	members := []string{"a", "b", "c", "d", "e", "f", "g", "h", "aa", `""`}
	member := func() string { return pick(members...) }
	smallKeys := []string{"z1", "z2", "z3", "z4"}
	lexKeys := []string{"lex1", "lex2"}
	otherKeys := []string{"bigz", "dst1", "dst2", "str", "nokey"}
	anyKey := func() string {
		switch rng.IntN(10) {
		case 0, 1, 2, 3, 4:
			return pick(smallKeys...)
		case 5, 6:
			return pick(lexKeys...)
		default:
			return pick(otherKeys...)
		}
	}
	lexTarget := func() string {
		if rng.IntN(3) == 0 {
			return pick(smallKeys...)
		}
		return pick(lexKeys...)
	}
	score := func() string {
		if rng.IntN(3) == 0 {
			return fmt.Sprint(rng.IntN(11) - 3)
		}
		return pick("1.5", "2.5", "-0", "0", "inf", "-inf", "0.1", "1e17", "-2.25", "7", "abc", "0x10", "1e-400")
	}
	bound := func() string {
		return pick("-inf", "+inf", "inf", "(1", "2", "(2.5", "0", "-0", "5", "(inf", "(-inf", "1.5", "abc", "-1", "(0")
	}
	lexBound := func() string {
		return pick("-", "+", "[a", "(b", "[c", "(d", "[aa", "[", "(", "a", "[h", "(zz")
	}
	idx := func() string { return fmt.Sprint(rng.IntN(13) - 6) }
	maybe := func(p int, s string) string {
		if rng.IntN(p) == 0 {
			return " " + s
		}
		return ""
	}
	limit := func() string {
		if rng.IntN(3) == 0 {
			return fmt.Sprintf(" LIMIT %d %d", rng.IntN(5)-1, rng.IntN(6)-1)
		}
		return ""
	}
	keysN := func(n int) string {
		ks := make([]string, n)
		for i := range ks {
			ks[i] = anyKey()
		}
		return strings.Join(ks, " ")
	}

	gen := func() (line string) {
		switch op := rng.IntN(40); op {
		case 0, 1, 2, 3, 4, 5:
			k := anyKey()
			if k == "bigz" && rng.IntN(4) == 0 {
				return "ZADD bigz " + score() + " " + long + fmt.Sprint(rng.IntN(3))
			}
			flags := ""
			for _, f := range []string{"NX", "XX", "GT", "LT", "CH", "INCR"} {
				if rng.IntN(8) == 0 {
					flags += " " + f
				}
			}
			n := 1 + rng.IntN(3)
			if strings.Contains(flags, "INCR") && rng.IntN(4) != 0 {
				n = 1
			}
			var b strings.Builder
			for i := 0; i < n; i++ {
				if strings.HasPrefix(k, "lex") {
					b.WriteString(" 0 " + member())
				} else {
					b.WriteString(" " + score() + " " + member())
				}
			}
			return "ZADD " + k + flags + b.String()
		case 6:
			k := pick(smallKeys...)
			return "ZINCRBY " + k + " " + score() + " " + member()
		case 7, 8:
			return "ZREM " + anyKey() + " " + member() + maybe(2, member())
		case 9:
			return pick("ZSCORE ", "ZRANK ", "ZREVRANK ") + anyKey() + " " + member()
		case 10:
			return "ZMSCORE " + anyKey() + " " + member() + " " + member()
		case 11:
			return "ZCARD " + anyKey()
		case 12, 13:
			return "ZRANGE " + anyKey() + " " + idx() + " " + idx() + maybe(3, "REV") + maybe(2, "WITHSCORES")
		case 14, 15:
			return "ZRANGE " + anyKey() + " " + bound() + " " + bound() + " BYSCORE" + maybe(3, "REV") + maybe(2, "WITHSCORES") + limit()
		case 16:
			return "ZRANGE " + lexTarget() + " " + lexBound() + " " + lexBound() + " BYLEX" + maybe(3, "REV") + limit()
		case 17:
			return pick("ZRANGEBYSCORE ", "ZREVRANGEBYSCORE ") + anyKey() + " " + bound() + " " + bound() + maybe(2, "WITHSCORES") + limit()
		case 18:
			return pick("ZRANGEBYLEX ", "ZREVRANGEBYLEX ") + lexTarget() + " " + lexBound() + " " + lexBound() + limit()
		case 19:
			return "ZREVRANGE " + anyKey() + " " + idx() + " " + idx() + maybe(2, "WITHSCORES")
		case 20:
			return "ZCOUNT " + anyKey() + " " + bound() + " " + bound()
		case 21:
			return "ZLEXCOUNT " + lexTarget() + " " + lexBound() + " " + lexBound()
		case 22:
			return "ZREMRANGEBYRANK " + anyKey() + " " + idx() + " " + idx()
		case 23:
			return "ZREMRANGEBYSCORE " + anyKey() + " " + bound() + " " + bound()
		case 24:
			return "ZREMRANGEBYLEX " + lexTarget() + " " + lexBound() + " " + lexBound()
		case 25, 26:
			cmd := pick("ZPOPMIN ", "ZPOPMAX ") + anyKey()
			if rng.IntN(2) == 0 {
				cmd += " " + fmt.Sprint(rng.IntN(5)-1)
			}
			return cmd
		case 27, 28:
			return pick("BZPOPMIN ", "BZPOPMAX ") + keysN(1+rng.IntN(3)) + " " + pick("0", "1", "0.5", "-1", "abc")
		case 29:
			return "? ZRANDMEMBER " + anyKey() + maybe(2, fmt.Sprint(rng.IntN(12)-6)+maybe(2, "WITHSCORES"))
		case 30:
			k := pick(append(smallKeys, lexKeys...)...)
			return "ZSCAN " + k + " 0" + maybe(3, "MATCH "+pick("a*", "*", "[a-c]", "?")) + maybe(3, "COUNT "+pick("1", "5", "0"))
		case 31:
			return "ZRANGESTORE " + pick("dst1", "dst2", "str") + " " + anyKey() + " " + idx() + " " + idx() + maybe(3, "REV")
		case 32:
			return "ZRANGESTORE " + pick("dst1", "dst2") + " " + anyKey() + " " + bound() + " " + bound() + " BYSCORE" + maybe(3, "REV") + limit()
		case 33, 34, 35:
			n := 1 + rng.IntN(3)
			cmd := pick("ZUNION", "ZINTER", "ZDIFF")
			tail := ""
			if cmd != "ZDIFF" {
				if rng.IntN(3) == 0 {
					tail += " WEIGHTS"
					for i := 0; i < n; i++ {
						tail += " " + pick("1", "2", "-1", "0.5", "0", "inf")
					}
				}
				if rng.IntN(3) == 0 {
					tail += " AGGREGATE " + pick("SUM", "MIN", "MAX")
				}
			}
			if rng.IntN(2) == 0 {
				return cmd + "STORE " + pick("dst1", "dst2", "str") + fmt.Sprintf(" %d ", n) + keysN(n) + tail
			}
			return cmd + fmt.Sprintf(" %d ", n) + keysN(n) + tail + maybe(2, "WITHSCORES")
		default:
			return "ZADD " + pick(smallKeys...) + " " + score() + " " + member()
		}
	}

	// wouldBlock reports whether redis would block on a BZPOP* line: no key
	// (before an error) holds an element.
	wouldBlock := func(args []string) bool {
		for _, k := range args[1 : len(args)-1] {
			e, ok := d.master.keys[k]
			if !ok {
				continue
			}
			if z, isZ := e.val.(*zsetValue); isZ && z.length() == 0 {
				continue
			}
			return false
		}
		_, msg := ParseTimeout([]byte(args[len(args)-1]))
		return msg == ""
	}

	const steps = 4000
	kinds := map[string]int{}
	for i := 0; i < steps; i++ {
		line := gen()
		mod := ""
		if strings.HasPrefix(line, "? ") {
			mod, line = "?", line[2:]
		}
		args := splitArgs(line)
		if strings.HasPrefix(args[0], "BZPOP") && wouldBlock(args) {
			continue
		}
		r, s := d.do(args...)
		kind := string(r[:1])
		if kind == "*" && len(r) > 4 && r[1] != '0' && r[1] != '-' {
			kind = "*n"
		}
		kinds[kind]++
		if !replyEqual(mod, r, s) {
			t.Fatalf("step %d: %s\n  redis: %q\n  shoal: %q", i, line, r, s)
		}
		if i%250 == 0 || i == steps-1 {
			d.checkReplica()
			for _, k := range append(append(smallKeys, lexKeys...), "bigz", "dst1", "dst2") {
				d.checkEncodings(true, k)
			}
			if t.Failed() {
				t.Fatalf("after step %d (%s)", i, line)
			}
		}
	}
	t.Logf("reply kinds: %v", kinds)
}
