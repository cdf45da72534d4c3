package store

import (
	"strconv"
	"testing"
)

// The package's benchmarks: the hot paths (GET, SET, INCR, LPUSH, HSET,
// SADD, ZADD) must not allocate more than they do; and the number parsers,
// ranges and scans.

// benchRun is the loop of every benchmark here: per iteration it lets
// vary(i, last) adjust the arguments (last is the previous reply), runs
// each of cmds on s and takes the effects, as the server does.
func benchRun(b *testing.B, s *Store, vary func(i int, last []byte), cmds ...[][]byte) {
	s.TakeEffects()
	out := make([]byte, 0, 4096)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if vary != nil {
			vary(i, out)
		}
		for _, args := range cmds {
			out = s.Exec(1, args, out[:0])
		}
		s.TakeEffects()
	}
}

// benchFill runs the command built by cmd(i) for i in [0, n).
func benchFill(s *Store, n int, cmd func(i int) [][]byte) {
	for i := 0; i < n; i++ {
		s.Exec(1, cmd(i), nil)
	}
	s.TakeEffects()
}

func BenchmarkGet(b *testing.B) {
	s := New(DefaultConfig())
	s.Exec(1, byteArgs("SET", "key:0001", "0123456789abcdef0123456789abcdef"), nil)
	benchRun(b, s, nil, byteArgs("GET", "key:0001"))
}

func BenchmarkSet(b *testing.B) {
	benchRun(b, New(DefaultConfig()), nil, byteArgs("SET", "key:0001", "0123456789abcdef0123456789abcdef"))
}

func BenchmarkIncr(b *testing.B) {
	benchRun(b, New(DefaultConfig()), nil, byteArgs("INCR", "counter"))
}

// BenchmarkListPushPop measures the hot path: LPUSH then RPOP on one key.
func BenchmarkListPushPop(b *testing.B) {
	s := New(DefaultConfig())
	push := byteArgs("LPUSH", "mylist", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
	benchFill(s, 100, func(int) [][]byte { return push })
	benchRun(b, s, nil, push, byteArgs("RPOP", "mylist"))
}

// BenchmarkHSet updates one field of a small (listpack) hash.
func BenchmarkHSet(b *testing.B) {
	args := byteArgs("HSET", "hash", "field:0", "0123456789abcdef")
	benchRun(b, New(DefaultConfig()), func(i int, _ []byte) {
		args[2] = strconv.AppendInt(args[2][:len("field:")], int64(i%100), 10)
	}, args)
}

// BenchmarkSAdd adds existing and new members to a hashtable-encoded set.
func BenchmarkSAdd(b *testing.B) {
	args := byteArgs("SADD", "set", "member:0")
	benchRun(b, New(DefaultConfig()), func(i int, _ []byte) {
		args[2] = strconv.AppendInt(args[2][:len("member:")], int64(i%1000), 10)
	}, args)
}

// BenchmarkZAddNew adds new members to one big set (skiplist encoding).
func BenchmarkZAddNew(b *testing.B) {
	args := byteArgs("ZADD", "bench", "0", "member:")
	benchRun(b, New(DefaultConfig()), func(i int, _ []byte) {
		args[2] = strconv.AppendInt(args[2][:0], int64(i*7919%100000), 10)
		args[3] = strconv.AppendInt(args[3][:len("member:")], int64(i), 10)
	}, args)
}

// BenchmarkZAddUpdate changes the score of existing members of a set of
// 10000.
func BenchmarkZAddUpdate(b *testing.B) {
	s := New(DefaultConfig())
	const n = 10000
	benchFill(s, n, func(i int) [][]byte {
		return byteArgs("ZADD", "bench", strconv.Itoa(i), "member:"+strconv.Itoa(i))
	})
	args := byteArgs("ZADD", "bench", "0", "member:")
	benchRun(b, s, func(i int, _ []byte) {
		args[2] = strconv.AppendInt(args[2][:0], int64(i%100000), 10)
		args[3] = strconv.AppendInt(args[3][:len("member:")], int64(i%n), 10)
	}, args)
}

// BenchmarkZAddSmall adds to and updates a listpack-encoded set.
func BenchmarkZAddSmall(b *testing.B) {
	args := byteArgs("ZADD", "bench", "0", "member:")
	benchRun(b, New(DefaultConfig()), func(i int, _ []byte) {
		args[2] = strconv.AppendInt(args[2][:0], int64(i%1000), 10)
		args[3] = strconv.AppendInt(args[3][:len("member:")], int64(i%100), 10)
	}, args)
}

func BenchmarkZRangeWithScores(b *testing.B) {
	s := New(DefaultConfig())
	benchFill(s, 10000, func(i int) [][]byte {
		return byteArgs("ZADD", "bench", strconv.Itoa(i)+".5", "member:"+strconv.Itoa(i))
	})
	benchRun(b, s, nil, byteArgs("ZRANGE", "bench", "5000", "5099", "WITHSCORES"))
}

func BenchmarkZRank(b *testing.B) {
	s := New(DefaultConfig())
	benchFill(s, 100000, func(i int) [][]byte {
		return byteArgs("ZADD", "bench", strconv.Itoa(i%977), "member:"+strconv.Itoa(i))
	})
	args := byteArgs("ZRANK", "bench", "member:")
	benchRun(b, s, func(i int, _ []byte) {
		args[2] = strconv.AppendInt(args[2][:len("member:")], int64(i%100000), 10)
	}, args)
}

func BenchmarkZRangeByScoreLimit(b *testing.B) {
	s := New(DefaultConfig())
	benchFill(s, 100000, func(i int) [][]byte {
		return byteArgs("ZADD", "bench", strconv.Itoa(i), "member:"+strconv.Itoa(i))
	})
	benchRun(b, s, nil, byteArgs("ZRANGEBYSCORE", "bench", "(50000", "+inf", "WITHSCORES", "LIMIT", "0", "10"))
}

// BenchmarkIncrByFloat runs INCRBYFLOAT (long double arithmetic).
func BenchmarkIncrByFloat(b *testing.B) {
	benchRun(b, New(DefaultConfig()), nil, byteArgs("INCRBYFLOAT", "f", "0.1"))
}

// BenchmarkHIncrByFloat runs HINCRBYFLOAT (long double arithmetic).
func BenchmarkHIncrByFloat(b *testing.B) {
	benchRun(b, New(DefaultConfig()), nil, byteArgs("HINCRBYFLOAT", "h", "f", "1.5"))
}

// BenchmarkZIncrBy increments a member by a non-integer (strtod path).
func BenchmarkZIncrBy(b *testing.B) {
	benchRun(b, New(DefaultConfig()), nil, byteArgs("ZINCRBY", "z", "0.25", "member"))
}

// BenchmarkZCount counts a score range given with decimal bounds.
func BenchmarkZCount(b *testing.B) {
	s := New(DefaultConfig())
	benchFill(s, 1000, func(i int) [][]byte { return byteArgs("ZADD", "z", strconv.Itoa(i), "m"+strconv.Itoa(i)) })
	benchRun(b, s, nil, byteArgs("ZCOUNT", "z", "(10.5", "990.25"))
}

// BenchmarkBLPop is a blocking pop that finds an element (timeout parsed).
func BenchmarkBLPop(b *testing.B) {
	benchRun(b, New(DefaultConfig()), nil, byteArgs("RPUSH", "l", "x"), byteArgs("BLPOP", "l", "0.5"))
}

// BenchmarkHScan walks a hashtable-encoded hash with HSCAN, following the
// cursor to the end and starting again.
func BenchmarkHScan(b *testing.B) {
	s := New(DefaultConfig())
	benchFill(s, 1000, func(i int) [][]byte { return byteArgs("HSET", "h", "field:"+strconv.Itoa(i), "v") })
	args := byteArgs("HSCAN", "h", "0", "COUNT", "100")
	benchRun(b, s, func(i int, last []byte) {
		if i == 0 {
			return
		}
		elems, ok := splitFrames(last)
		if !ok || len(elems) != 2 {
			b.Fatalf("HSCAN reply %q", last)
		}
		args[2] = append(args[2][:0], bulkText(elems[0])...)
	}, args)
}
