package respserver

import (
	"bytes"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
)

func TestOutboxDeliversInOrder(t *testing.T) {
	client, srv := tcpPair(t)
	var o Outbox
	var written atomic.Int64
	done := make(chan struct{})
	var closeOnce sync.Once
	closed := make(chan struct{})
	o.Start(OutboxConfig{W: srv, Done: done, Close: func() { closeOnce.Do(func() { close(closed) }) },
		Log: testutil.Logger(t), Client: 1, Written: &written})
	var want bytes.Buffer
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ { // publishers on other goroutines
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				o.Enqueue([]byte{'a' + byte(g)})
			}
		}(g)
	}
	wg.Wait()
	want.Write(bytes.Repeat([]byte("x"), 10))
	o.Enqueue(bytes.Repeat([]byte("x"), 10))
	got := make([]byte, 410)
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatal(err)
	}
	for g := 0; g < 4; g++ {
		if n := bytes.Count(got, []byte{'a' + byte(g)}); n != 100 {
			t.Errorf("publisher %d: %d bytes delivered, want 100", g, n)
		}
	}
	if !bytes.HasSuffix(got, want.Bytes()) {
		t.Errorf("last message not last: %q", got[400:])
	}
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) { return written.Load() == 410, "written" })
	close(done)
	select {
	case <-closed:
		t.Error("Close called without a failure")
	default:
	}
}

// TestOutboxLimit: a subscriber that does not read is closed once its
// output passes PubsubOutputLimit.
func TestOutboxLimit(t *testing.T) {
	_, srv := tcpPair(t) // the client never reads
	var o Outbox
	done := make(chan struct{})
	var closeOnce sync.Once
	closed := make(chan struct{})
	o.Start(OutboxConfig{W: srv, Done: done, Close: func() {
		closeOnce.Do(func() { close(closed); close(done); srv.Close() })
	}, Log: testutil.Logger(t), Client: 7})
	chunk := make([]byte, 1<<20)
	for i := 0; i < 2*PubsubOutputLimit/len(chunk); i++ {
		o.Enqueue(chunk)
		select {
		case <-closed:
			t.Logf("closed after %d MB enqueued", i+1)
			return
		default:
		}
	}
	t.Fatalf("a subscriber that reads nothing was not closed after %d MB", 2*PubsubOutputLimit>>20)
}

// TestOutboxWriteFailure: a failed write closes the client; FlushNow
// writes synchronously.
func TestOutboxWriteFailure(t *testing.T) {
	client, srv := tcpPair(t)
	var o Outbox
	closed := make(chan struct{})
	var closeOnce sync.Once
	o.Start(OutboxConfig{W: srv, Done: make(chan struct{}), Close: func() { closeOnce.Do(func() { close(closed) }) },
		Log: testutil.Logger(t), Client: 1})
	o.FlushNow() // nothing queued: nothing written
	srv.Close()
	o.Enqueue([]byte("+x\r\n"))
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("a failed write did not close the client")
	}
	client.Close()
}
