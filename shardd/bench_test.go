package shardd

import (
	"testing"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// BenchmarkRequestPath measures the cost of one command through the whole
// server (socket, reader, dispatch, store, log, reply) at pipeline depths
// 1 and 16; allocs/op are the server's allocations per command.
func BenchmarkRequestPath(b *testing.B) {
	_, addr := startServer(b)
	testutil.BenchRequestPath(b, addr)
}
