package store

import (
	"strconv"
	"testing"
)

// Benchmarks of the hot paths not covered next to their types' tests (GET,
// SET, INCR in strings_test.go; LPUSH/RPOP in list_unit_test.go; ZADD and
// ranges in zset_bench_test.go), and of the number parsers.

func benchArgs(parts ...string) [][]byte {
	b := make([][]byte, len(parts))
	for i, p := range parts {
		b[i] = []byte(p)
	}
	return b
}

// BenchmarkHSet updates one field of a small (listpack) hash.
func BenchmarkHSet(b *testing.B) {
	s := New(DefaultConfig())
	args := benchArgs("HSET", "hash", "field:0", "0123456789abcdef")
	out := make([]byte, 0, 64)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		args[2] = strconv.AppendInt(args[2][:len("field:")], int64(i%100), 10)
		out = s.Exec(1, args, out[:0])
		s.TakeEffects()
	}
}

// BenchmarkSAdd adds existing and new members to a hashtable-encoded set.
func BenchmarkSAdd(b *testing.B) {
	s := New(DefaultConfig())
	args := benchArgs("SADD", "set", "member:0")
	out := make([]byte, 0, 64)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		args[2] = strconv.AppendInt(args[2][:len("member:")], int64(i%1000), 10)
		out = s.Exec(1, args, out[:0])
		s.TakeEffects()
	}
}

// BenchmarkIncrByFloat runs INCRBYFLOAT (long double arithmetic).
func BenchmarkIncrByFloat(b *testing.B) {
	s := New(DefaultConfig())
	args := benchArgs("INCRBYFLOAT", "f", "0.1")
	out := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		out = s.Exec(1, args, out[:0])
		s.TakeEffects()
	}
}

// BenchmarkHIncrByFloat runs HINCRBYFLOAT (long double arithmetic).
func BenchmarkHIncrByFloat(b *testing.B) {
	s := New(DefaultConfig())
	args := benchArgs("HINCRBYFLOAT", "h", "f", "1.5")
	out := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		out = s.Exec(1, args, out[:0])
		s.TakeEffects()
	}
}

// BenchmarkZIncrBy increments a member by a non-integer (strtod path).
func BenchmarkZIncrBy(b *testing.B) {
	s := New(DefaultConfig())
	args := benchArgs("ZINCRBY", "z", "0.25", "member")
	out := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		out = s.Exec(1, args, out[:0])
		s.TakeEffects()
	}
}

// BenchmarkZCount counts a score range given with decimal bounds.
func BenchmarkZCount(b *testing.B) {
	s := New(DefaultConfig())
	for i := 0; i < 1000; i++ {
		s.Exec(0, benchArgs("ZADD", "z", strconv.Itoa(i), "m"+strconv.Itoa(i)), nil)
	}
	s.TakeEffects()
	args := benchArgs("ZCOUNT", "z", "(10.5", "990.25")
	out := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		out = s.Exec(1, args, out[:0])
	}
}

// BenchmarkBLPop is a blocking pop that finds an element (timeout parsed).
func BenchmarkBLPop(b *testing.B) {
	s := New(DefaultConfig())
	push := benchArgs("RPUSH", "l", "x")
	pop := benchArgs("BLPOP", "l", "0.5")
	out := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		out = s.Exec(1, push, out[:0])
		out = s.Exec(1, pop, out[:0])
		s.TakeEffects()
	}
}

// BenchmarkHScan walks a hashtable-encoded hash with HSCAN, following the
// cursor to the end and starting again.
func BenchmarkHScan(b *testing.B) {
	s := New(DefaultConfig())
	for i := 0; i < 1000; i++ {
		s.Exec(0, benchArgs("HSET", "h", "field:"+strconv.Itoa(i), "v"), nil)
	}
	s.TakeEffects()
	args := benchArgs("HSCAN", "h", "0", "COUNT", "100")
	out := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		out = s.Exec(1, args, out[:0])
		elems, ok := splitFrames(out)
		if !ok || len(elems) != 2 {
			b.Fatalf("HSCAN reply %q", out)
		}
		args[2] = append(args[2][:0], bulkText(elems[0])...)
	}
}
