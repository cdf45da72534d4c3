package shardd

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// BenchmarkReplicaCatchUp loads SHOAL_CATCHUP_KEYS keys (default 200,000)
// into a master, then starts an empty replica (SHOAL_CATCHUP_MODE: durable,
// diskless or cached) and reports how long it takes to reach the master's
// offset.
func BenchmarkReplicaCatchUp(b *testing.B) {
	keys := 200_000
	if v := os.Getenv("SHOAL_CATCHUP_KEYS"); v != "" {
		keys, _ = strconv.Atoi(v)
	}
	mode := os.Getenv("SHOAL_CATCHUP_MODE")
	m := startNode(b, func(c *Config) { c.Logger = nil; c.SnapshotLogSize = 0 })
	loadKeys(b, m.addr, keys)
	mc := m.client()
	off := infoFields(b, mc, "replication")["master_repl_offset"]
	b.ResetTimer()
	start := time.Now()
	r := startNode(b, func(c *Config) {
		c.Logger = nil
		c.ReplicaOf = m.addr
		switch mode {
		case "diskless":
			c.Diskless = true
		case "cached":
			c.Diskless, c.MaxMemory = true, 4<<30
		}
	})
	rc := r.client()
	testutil.WaitFor(b, 5*time.Minute, func() (bool, string) {
		got := infoFields(b, rc, "replication")["slave_repl_offset"]
		return got == off, "replica at " + got + ", master at " + off
	})
	took := time.Since(start)
	b.StopTimer()
	b.ReportMetric(took.Seconds(), "catchup-s")
	b.ReportMetric(float64(keys)/took.Seconds(), "records/s")
}
