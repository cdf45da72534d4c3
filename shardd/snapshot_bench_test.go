package shardd

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// BenchmarkSnapshotPause loads SHOAL_SNAPSHOT_KEYS (default 1,000,000) keys,
// then measures how long single GET requests wait while a BGSAVE runs, and
// reports the worst wait (target: under 50 ms). Run by `make bench`.
func BenchmarkSnapshotPause(b *testing.B) {
	keys := 1_000_000
	if v := os.Getenv("SHOAL_SNAPSHOT_KEYS"); v != "" {
		keys, _ = strconv.Atoi(v)
	}
	srv, addr := startServer(b, func(c *Config) { c.Logger = nil; c.SnapshotLogSize = 0 })
	loadKeys(b, addr, keys)
	probe := testutil.DialRaw(b, addr)
	ctl := testutil.DialRaw(b, addr)
	measure := func(stop func() bool) []time.Duration {
		var lat []time.Duration
		for i := 0; !stop(); i++ {
			start := time.Now()
			probe.Do("GET", "key:"+strconv.Itoa(i%keys))
			lat = append(lat, time.Since(start))
		}
		return lat
	}
	// Baseline: the same probe with no snapshot running.
	deadline := time.Now().Add(time.Second)
	base := measure(func() bool { return time.Now().After(deadline) })
	b.ResetTimer()
	before := string(ctl.Do("LASTSAVE"))
	start := time.Now()
	if got := string(ctl.Do("BGSAVE")); got != "+Background saving started\r\n" {
		b.Fatalf("BGSAVE: %q", got)
	}
	during := measure(func() bool {
		return !srv.saving.Load() && string(ctl.Do("LASTSAVE")) != before || time.Since(start) > time.Minute
	})
	took := time.Since(start)
	b.StopTimer()
	p := func(l []time.Duration, q float64) float64 {
		s := append([]time.Duration(nil), l...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return float64(s[int(q*float64(len(s)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(keys), "keys")
	b.ReportMetric(took.Seconds(), "snapshot-s")
	b.ReportMetric(p(base, 1), "baseline-max-ms")
	b.ReportMetric(p(during, 0.99), "p99-ms")
	b.ReportMetric(p(during, 1), "max-ms")
	b.Logf("snapshot of %d keys took %v; %d probe GETs during it: p50 %.2f ms, p99 %.2f ms, max %.2f ms (baseline max %.2f ms)",
		keys, took.Round(time.Millisecond), len(during), p(during, 0.5), p(during, 0.99), p(during, 1), p(base, 1))
}

// loadKeys writes key:0..n-1 with 64-byte values through a pipeline.
func loadKeys(b testing.TB, addr string, n int) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	val := fmt.Sprintf("%064d", 7)
	done := make(chan error, 1)
	go func() {
		r := bufio.NewReader(c)
		for i := 0; i < n; i++ {
			if _, err := r.ReadString('\n'); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	w := bufio.NewWriterSize(c, 1<<16)
	for i := 0; i < n; i++ {
		k := "key:" + strconv.Itoa(i)
		fmt.Fprintf(w, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$64\r\n%s\r\n", len(k), k, val)
	}
	w.Flush()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
