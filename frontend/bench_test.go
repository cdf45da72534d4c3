package frontend

import (
	"testing"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// BenchmarkRequestPath measures the cost of one command through a frontend
// in front of one shard (a redis-server): client socket, reader, routing,
// the coalesced upstream write and read, the reply. PING is answered by
// the frontend itself. allocs/op are the frontend's allocations per
// command (redis-server runs in its own process).
func BenchmarkRequestPath(b *testing.B) {
	mc := newMemCluster(b, 1)
	_, addr := mc.frontend()
	testutil.BenchRequestPath(b, addr)
}
