package proto

import (
	"fmt"
	"strings"
	"testing"
)

// loopReader serves data over and over, like a client that never stops
// pipelining.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

func setPipeline(n, valueLen int) []byte {
	var b []byte
	val := strings.Repeat("v", valueLen)
	for i := range n {
		b = AppendCommandStrings(b, "SET", fmt.Sprintf("key:%012d", i), val)
	}
	return b
}

// BenchmarkReadCommandPipelinedSET reads redis-benchmark-style SET
// requests (-d 64) from a never-ending pipeline: one op is one command.
func BenchmarkReadCommandPipelinedSET(b *testing.B) {
	data := setPipeline(1000, 64)
	r := NewReader(&loopReader{data: data}, Limits{})
	b.SetBytes(int64(len(data) / 1000))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := r.ReadCommand(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadCommandPipelinedGET(b *testing.B) {
	var data []byte
	for i := range 1000 {
		data = AppendCommandStrings(data, "GET", fmt.Sprintf("key:%012d", i))
	}
	r := NewReader(&loopReader{data: data}, Limits{})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := r.ReadCommand(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadCommandInline(b *testing.B) {
	data := []byte(strings.Repeat("SET key:000000000001 "+strings.Repeat("v", 64)+"\r\n", 1000))
	r := NewReader(&loopReader{data: data}, Limits{})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := r.ReadCommand(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadCommandBigValue reads SETs of 100 KB values (each value
// goes to its own buffer, as in Redis).
func BenchmarkReadCommandBigValue(b *testing.B) {
	data := setPipeline(10, 100_000)
	r := NewReader(&loopReader{data: data}, Limits{})
	b.SetBytes(int64(len(data) / 10))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := r.ReadCommand(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	for _, name := range []string{"SET", "get", "ZRANGEBYSCORE"} {
		b.Run(name, func(b *testing.B) {
			n := []byte(name)
			b.ReportAllocs()
			for range b.N {
				if Lookup(n) == nil {
					b.Fatal("not found")
				}
			}
		})
	}
}

func BenchmarkResolve(b *testing.B) {
	args := bargs("SET", "key:000000000001", "value")
	b.ReportAllocs()
	for range b.N {
		if _, err := Resolve(args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendKeys(b *testing.B) {
	for _, args := range [][]string{
		{"GET", "k"}, {"SET", "k", "v"}, {"MSET", "a", "1", "b", "2", "c", "3", "d", "4"},
		{"ZUNIONSTORE", "d", "3", "a", "b", "c"},
	} {
		b.Run(args[0], func(b *testing.B) {
			a := bargs(args...)
			s := LookupCommand(a)
			dst := make([]int, 0, 16)
			b.ReportAllocs()
			for range b.N {
				dst = s.AppendKeys(dst[:0], a)
			}
		})
	}
}

func BenchmarkReadReply(b *testing.B) {
	var data []byte
	for i := range 1000 {
		if i%2 == 0 {
			data = append(data, "+OK\r\n"...)
		} else {
			data = AppendBulkString(data, strings.Repeat("v", 64))
		}
	}
	r := NewReader(&loopReader{data: data}, Limits{})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := r.ReadReply(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendReplies(b *testing.B) {
	buf := make([]byte, 0, 4096)
	val := []byte(strings.Repeat("v", 64))
	b.ReportAllocs()
	for range b.N {
		buf = AppendOK(buf[:0])
		buf = AppendBulk(buf, val)
		buf = AppendInt(buf, 12345)
		buf = AppendBulkFloat(buf, 1.5)
		buf = AppendCommand(buf, val, val)
	}
}
