package respserver

import (
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
)

// PubsubOutputLimit is the hard limit on a subscriber's unsent output
// (Redis: client-output-buffer-limit pubsub 32mb): beyond it the client is
// disconnected instead of the server's memory growing without bound.
const PubsubOutputLimit = 32 << 20

// Outbox is the output of a client in pub/sub mode. Messages for a
// subscriber come from other goroutines (publishers, a frontend's upstream
// links) at any time, so once a client subscribes its replies and messages
// alike are appended here and a flusher goroutine writes them, each write
// taking everything queued so far.
//
// The client's owner calls Start once, when the client enters pub/sub
// mode, before the client is visible to publishers; Enqueue is then safe
// from any goroutine, and FlushNow from the owner. The zero value is ready
// for Start. In a lock order, an Outbox's lock comes last: it is never held
// while calling out.
type Outbox struct {
	cfg  OutboxConfig
	wake chan struct{}

	mu  sync.Mutex
	buf []byte
}

// OutboxConfig says where an Outbox writes and what it does on failure.
type OutboxConfig struct {
	// W is the client's connection.
	W io.Writer
	// Done is closed when the client's connection is closed: the flusher
	// ends.
	Done <-chan struct{}
	// Close closes the client: called when a write fails and when the
	// output goes over PubsubOutputLimit. It must be safe from any
	// goroutine and idempotent.
	Close func()
	// Log and Client name the client in the warning logged when it is
	// closed for its output limit.
	Log    *slog.Logger
	Client int64
	// Written, when not nil, counts the bytes written
	// (total_net_output_bytes).
	Written *atomic.Int64
}

// Start starts the flusher goroutine; it runs until cfg.Done is closed or a
// write fails.
func (o *Outbox) Start(cfg OutboxConfig) {
	o.cfg = cfg
	o.wake = make(chan struct{}, 1)
	go o.flusher()
}

// Enqueue appends b (copied) to the output and wakes the flusher. Output
// over PubsubOutputLimit closes the client instead. Safe from any
// goroutine once Start has run.
func (o *Outbox) Enqueue(b []byte) {
	o.mu.Lock()
	o.buf = append(o.buf, b...)
	over := len(o.buf) > PubsubOutputLimit
	o.mu.Unlock()
	if over {
		o.cfg.Log.Warn("closing subscriber over its output limit", "client", o.cfg.Client)
		o.cfg.Close()
		return
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *Outbox) flusher() {
	var buf []byte
	for {
		select {
		case <-o.cfg.Done:
			return
		case <-o.wake:
		}
		o.mu.Lock()
		buf, o.buf = o.buf, buf[:0]
		o.mu.Unlock()
		if len(buf) > 0 {
			if o.cfg.Written != nil {
				o.cfg.Written.Add(int64(len(buf)))
			}
			if _, err := o.cfg.W.Write(buf); err != nil {
				o.cfg.Close()
				return
			}
		}
	}
}

// FlushNow writes what is queued at once, on the caller's goroutine (QUIT
// in pub/sub mode: the reply must be out before the connection closes).
// Its owner calls it; the flusher may still write concurrently what it
// took before.
func (o *Outbox) FlushNow() {
	o.mu.Lock()
	buf := o.buf
	o.buf = nil
	o.mu.Unlock()
	if len(buf) > 0 {
		if o.cfg.Written != nil {
			o.cfg.Written.Add(int64(len(buf)))
		}
		o.cfg.W.Write(buf)
	}
}
