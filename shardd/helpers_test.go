package shardd

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/wal"
)

// startServer runs a Server on a loopback port with its data in a temp
// dir (unless cfg.DataDir is set) and stops it when the test ends.
func startServer(t testing.TB, mutate ...func(*Config)) (*Server, string) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Logger = testutil.Logger(t)
	for _, m := range mutate {
		m(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln := testutil.Listen(t)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// A log that failed on purpose reports it again when closing.
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, wal.ErrWriteFailed) {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-errc; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return srv, ln.Addr().String()
}
