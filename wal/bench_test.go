package wal

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkAppendWaitDurable measures Append+WaitDurable of 100-byte
// payloads per fsync policy with 1 and 50 concurrent writers, as shardd
// connections would issue them. Metrics: entries/s, fsyncs/entry,
// entries/batch.
func BenchmarkAppendWaitDurable(b *testing.B) {
	for _, policy := range []Policy{FsyncAlways, FsyncEverySec, FsyncNo} {
		for _, writers := range []int{1, 50} {
			b.Run(fmt.Sprintf("%s/writers=%d", policy, writers), func(b *testing.B) {
				cfg := DefaultConfig()
				cfg.Dir = b.TempDir()
				cfg.Fsync = policy
				l, err := Open(cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				payload := make([]byte, 100)
				ctx := context.Background()
				var issued atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for w := 0; w < writers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for issued.Add(1) <= int64(b.N) {
							idx, err := l.Append(1, 0, payload)
							if err == nil {
								err = l.WaitDurable(ctx, idx)
							}
							if err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				st := l.Stats()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
				b.ReportMetric(float64(st.Fsyncs)/float64(b.N), "fsyncs/entry")
				if st.Batches > 0 {
					b.ReportMetric(float64(b.N)/float64(st.Batches), "entries/batch")
				}
			})
		}
	}
}

// BenchmarkRead measures Read from the tail cache and from old segments.
func BenchmarkRead(b *testing.B) {
	for _, cached := range []bool{true, false} {
		b.Run(fmt.Sprintf("cache=%v", cached), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Dir = b.TempDir()
			cfg.Fsync = FsyncNo
			cfg.SegmentSize = 64 << 10
			if !cached {
				cfg.TailCacheBytes = -1
			}
			l, err := Open(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			const n = 10000
			for i := 0; i < n; i++ {
				if _, err := l.Append(1, 0, make([]byte, 100)); err != nil {
					b.Fatal(err)
				}
			}
			if err := l.WaitDurable(context.Background(), n); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				idx := n - uint64(i%1000)
				if _, err := l.Read(idx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncodeDecodeRecord(b *testing.B) {
	payload := make([]byte, 100)
	buf := make([]byte, 0, EncodedSize(len(payload)))
	b.SetBytes(int64(EncodedSize(len(payload))))
	for i := 0; i < b.N; i++ {
		buf = EncodeRecord(buf[:0], Record{Index: uint64(i), Epoch: 1, TimeMillis: 2, Payload: payload})
		if _, err := DecodeRecord(buf); err != nil {
			b.Fatal(err)
		}
	}
}
