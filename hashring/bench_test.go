package hashring

import (
	"fmt"
	"testing"
)

// BenchmarkLookup measures Lookup (hash-tag scan, XXH64, table or ring
// search) over 4096 distinct keys, for 10 and 100 shards.
func BenchmarkLookup(b *testing.B) {
	keys := make([][]byte, 4096)
	for i := range keys {
		if i%4 == 0 {
			keys[i] = fmt.Appendf(nil, "{user:%d}:cart", i*7919)
		} else {
			keys[i] = fmt.Appendf(nil, "user:%d:profile", i*7919)
		}
	}
	for _, cfg := range []Config{DefaultConfig(), ringHashConfig()} {
		for _, n := range []int{10, 100} {
			r := mustNewNames(b, cfg, testNames(n))
			b.Run(fmt.Sprintf("%s/shards=%d", cfg.Algorithm, n), func(b *testing.B) {
				b.ReportAllocs()
				var sink string
				i := 0
				for b.Loop() {
					sink = r.Lookup(keys[i&(len(keys)-1)])
					i++
				}
				_ = sink
			})
		}
	}
}

// BenchmarkBuild measures New for 10 and 100 shards with the default configs.
func BenchmarkBuild(b *testing.B) {
	for _, cfg := range []Config{DefaultConfig(), ringHashConfig()} {
		for _, n := range []int{10, 100} {
			names := testNames(n)
			b.Run(fmt.Sprintf("%s/shards=%d", cfg.Algorithm, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := NewFromNames(cfg, names); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
