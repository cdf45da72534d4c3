package store

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestZSetAppendScore(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1, 3, 1e14, 999999999999999, 1e15, -1e15, 1e16, 1e17, 0.5, -2.5,
		1.0 / 3, 1e-5, 123456789012345678, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1)} {
		want := "$3\r\ninf\r\n"
		switch {
		case math.IsInf(f, -1):
			want = "$4\r\n-inf\r\n"
		case !math.IsInf(f, 1):
			num := strconv.FormatFloat(f, 'g', 17, 64)
			want = "$" + strconv.Itoa(len(num)) + "\r\n" + num + "\r\n"
		}
		if got := string(zsetAppendScore(nil, f)); got != want {
			t.Errorf("zsetAppendScore(%v) = %q, want %q", f, got, want)
		}
	}
}

// TestZSetNoPanic runs every sorted-set command with every number of
// arguments up to 7 drawn from a pool of awkward values: handlers must
// never panic or index past their arguments, even without the server's
// arity check.
func TestZSetNoPanic(t *testing.T) {
	pool := []string{"z", "big", "str", "nokey", "0", "-1", "1", "2", "abc", "(1", "[a", "-", "+", "inf", "-inf",
		"LIMIT", "WITHSCORES", "BYSCORE", "BYLEX", "REV", "WEIGHTS", "AGGREGATE", "SUM", "NX", "XX", "GT", "LT", "CH",
		"INCR", "COUNT", "MATCH", "", "nan", "9223372036854775807", "-9223372036854775808", "1e400", "0x10"}
	names := []string{"zadd", "zincrby", "zrem", "zscore", "zmscore", "zcard", "zrank", "zrevrank", "zcount",
		"zlexcount", "zrange", "zrangestore", "zrevrange", "zrangebyscore", "zrevrangebyscore", "zrangebylex",
		"zrevrangebylex", "zremrangebyrank", "zremrangebyscore", "zremrangebylex", "zpopmin", "zpopmax", "bzpopmin",
		"bzpopmax", "zrandmember", "zscan", "zunion", "zinter", "zdiff", "zunionstore", "zinterstore", "zdiffstore"}
	seed := testSeed(t, 20240607)
	rng := rand.New(rand.NewPCG(seed, 3))
	s := New(DefaultConfig())
	setup := func() {
		storeExecLine(s, 0, "ZADD z 1 a 2 b 3 c")
		storeExecLine(s, 0, zsetFill("big", "m", 200, 7))
		s.setKey([]byte("str"), []byte("v"), 0)
	}
	setup()
	for i := 0; i < 20000; i++ {
		name := names[rng.IntN(len(names))]
		args := [][]byte{[]byte(name)}
		for n := rng.IntN(8); n > 0; n-- {
			args = append(args, []byte(pool[rng.IntN(len(pool))]))
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("%q panicked: %v", args, r)
				}
			}()
			s.Exec(0, args, nil)
			s.TakeEffects()
		}()
		if i%500 == 0 {
			setup()
		}
	}
}
