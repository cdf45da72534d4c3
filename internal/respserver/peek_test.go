package respserver

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// tcpPair returns both ends of a loopback TCP connection; the server end
// is wrapped in a PeekConn.
func tcpPair(t *testing.T) (client net.Conn, server *PeekConn) {
	t.Helper()
	ln := testutil.Listen(t)
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- nc
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	nc := <-accepted
	if nc == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); nc.Close() })
	return client, &PeekConn{Conn: nc}
}

func TestWatchCloseSeesPeerClose(t *testing.T) {
	client, srv := tcpPair(t)
	gone := make(chan struct{})
	stop := srv.WatchClose(0, func() { close(gone) }, nil)
	client.Close()
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the peer's close was not noticed")
	}
	stop()
}

func TestWatchCloseKeepsInput(t *testing.T) {
	client, srv := tcpPair(t)
	var gone atomic.Bool
	stop := srv.WatchClose(0, func() { gone.Store(true) }, nil)
	if _, err := client.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	// The watcher takes the first byte and ends; the reader, once the watch
	// is stopped, gets every byte in order.
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return len(srv.pending) == 1, "the watcher has not kept a byte"
	})
	stop()
	got := make([]byte, 6)
	if _, err := io.ReadFull(srv, got); err != nil || string(got) != "PING\r\n" {
		t.Fatalf("read %q, %v", got, err)
	}
	if gone.Load() {
		t.Error("gone called for a client that sent input")
	}
}

func TestWatchCloseStop(t *testing.T) {
	client, srv := tcpPair(t)
	var gone atomic.Bool
	stop := srv.WatchClose(0, func() { gone.Store(true) }, nil)
	stop()
	if gone.Load() {
		t.Fatal("stop made the watcher report a close")
	}
	// The deadline is cleared: a later read waits for input as usual.
	go client.Write([]byte("x"))
	b := make([]byte, 1)
	if _, err := srv.Read(b); err != nil || b[0] != 'x' {
		t.Fatalf("read after stop: %q, %v", b, err)
	}
	// keepDeadline leaves it in the past (a draining server).
	stop = srv.WatchClose(0, func() { gone.Store(true) }, func() bool { return true })
	stop()
	if _, err := srv.Read(b); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after stop with keepDeadline: %v, want a deadline error", err)
	}
	if gone.Load() {
		t.Error("gone called")
	}
}

func TestWatchCloseWithBufferedInput(t *testing.T) {
	client, srv := tcpPair(t)
	stop := srv.WatchClose(1, func() { t.Error("gone called while input was buffered") }, nil)
	client.Close()
	stop() // nothing to stop; returns at once
}
