package store

import (
	"strconv"
	"testing"
)

func zsetBenchArgs(parts ...string) [][]byte {
	b := make([][]byte, len(parts))
	for i, p := range parts {
		b[i] = []byte(p)
	}
	return b
}

// BenchmarkZAddNew adds new members to one big set (skiplist encoding).
func BenchmarkZAddNew(b *testing.B) {
	s := New(DefaultConfig())
	members := make([][]byte, b.N)
	for i := range members {
		members[i] = []byte("member:" + strconv.Itoa(i))
	}
	args := zsetBenchArgs("ZADD", "bench", "0", "")
	out := make([]byte, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		args[2] = strconv.AppendInt(args[2][:0], int64(i*7919%100000), 10)
		args[3] = members[i]
		out = s.Exec(0, args, out[:0])
		s.TakeEffects()
	}
}

// BenchmarkZAddUpdate changes the score of existing members of a set of
// 10000.
func BenchmarkZAddUpdate(b *testing.B) {
	s := New(DefaultConfig())
	const n = 10000
	for i := 0; i < n; i++ {
		s.Exec(0, zsetBenchArgs("ZADD", "bench", strconv.Itoa(i), "member:"+strconv.Itoa(i)), nil)
	}
	s.TakeEffects()
	members := make([][]byte, n)
	for i := range members {
		members[i] = []byte("member:" + strconv.Itoa(i))
	}
	args := zsetBenchArgs("ZADD", "bench", "0", "")
	out := make([]byte, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		args[2] = strconv.AppendInt(args[2][:0], int64(i%100000), 10)
		args[3] = members[i%n]
		out = s.Exec(0, args, out[:0])
		s.TakeEffects()
	}
}

// BenchmarkZAddSmall adds to and updates a listpack-encoded set.
func BenchmarkZAddSmall(b *testing.B) {
	s := New(DefaultConfig())
	members := make([][]byte, 100)
	for i := range members {
		members[i] = []byte("member:" + strconv.Itoa(i))
	}
	args := zsetBenchArgs("ZADD", "bench", "0", "")
	out := make([]byte, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		args[2] = strconv.AppendInt(args[2][:0], int64(i%1000), 10)
		args[3] = members[i%len(members)]
		out = s.Exec(0, args, out[:0])
		s.TakeEffects()
	}
}

func BenchmarkZRangeWithScores(b *testing.B) {
	s := New(DefaultConfig())
	for i := 0; i < 10000; i++ {
		s.Exec(0, zsetBenchArgs("ZADD", "bench", strconv.Itoa(i)+".5", "member:"+strconv.Itoa(i)), nil)
	}
	s.TakeEffects()
	args := zsetBenchArgs("ZRANGE", "bench", "5000", "5099", "WITHSCORES")
	var out []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out = s.Exec(0, args, out[:0])
	}
}

func BenchmarkZRank(b *testing.B) {
	s := New(DefaultConfig())
	for i := 0; i < 100000; i++ {
		s.Exec(0, zsetBenchArgs("ZADD", "bench", strconv.Itoa(i%977), "member:"+strconv.Itoa(i)), nil)
	}
	s.TakeEffects()
	args := zsetBenchArgs("ZRANK", "bench", "")
	var out []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		args[2] = append(args[2][:0], "member:"...)
		args[2] = strconv.AppendInt(args[2], int64(i%100000), 10)
		out = s.Exec(0, args, out[:0])
	}
}

func BenchmarkZRangeByScoreLimit(b *testing.B) {
	s := New(DefaultConfig())
	for i := 0; i < 100000; i++ {
		s.Exec(0, zsetBenchArgs("ZADD", "bench", strconv.Itoa(i), "member:"+strconv.Itoa(i)), nil)
	}
	s.TakeEffects()
	args := zsetBenchArgs("ZRANGEBYSCORE", "bench", "(50000", "+inf", "WITHSCORES", "LIMIT", "0", "10")
	var out []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out = s.Exec(0, args, out[:0])
	}
}
