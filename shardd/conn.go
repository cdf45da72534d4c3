package shardd

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoal-kv/shoal/proto"
)

// conn is one client connection. Its fields are owned by its serving
// goroutine except where noted.
type conn struct {
	s    *Server
	nc   net.Conn
	src  *peekConn
	rd   *proto.Reader
	id   int64
	out  []byte // replies of the current batch
	quit bool   // QUIT: flush and close after this command

	name, libName, libVer string
	authed                bool
	created               time.Time
	lastCmd               atomic.Int64 // unix ms of the last command, for CLIENT LIST idle
	lastCmdName           atomic.Pointer[string]

	// durable is the highest log index this batch's replies acknowledge.
	durable uint64
	// lastWrite is the log index of the last write flushed (WAIT).
	lastWrite uint64

	// MULTI state.
	multi      [][][]byte // queued commands (copied), nil when not in MULTI
	inMulti    bool
	execing    bool // inside EXEC: s.mu is held
	multiErr   bool
	watched    []string // guarded by s.mu
	watchDirty bool     // guarded by s.mu

	// pub/sub state: once subscribed, replies go through outbox (guarded
	// by wmu) and a flusher goroutine, so publishers can append too.
	psMode   bool
	wmu      sync.Mutex
	outbox   []byte
	wake     chan struct{}
	channels map[string]struct{} // guarded by s.pubsub.mu
	patterns map[string]struct{} // guarded by s.pubsub.mu

	closeOnce sync.Once
	done      chan struct{} // closed when the connection is closed
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{
		s:       s,
		nc:      nc,
		id:      s.nextClientID.Add(1),
		created: time.Now(),
		done:    make(chan struct{}),
	}
	c.src = &peekConn{Conn: nc}
	// Replies go out exactly when every buffered request has run and the
	// reader is about to wait for more: one write per pipeline, and no
	// deadlock with a client that sent part of its next request.
	c.rd = proto.NewReader(proto.FlushBeforeRead(c.src, c.flushForRead), s.limits())
	c.authed = *s.requirePass.Load() == ""
	c.rd.SetAuthRequired(!c.authed) // Redis limits what unauthenticated clients may send
	c.lastCmd.Store(time.Now().UnixMilli())
	empty := "NULL"
	c.lastCmdName.Store(&empty)
	return c
}

func (s *Server) limits() proto.Limits {
	lim := proto.DefaultLimits()
	s.cfgMu.RLock()
	lim.MaxBulkLen = s.cfg.ProtoMaxBulkLen
	lim.MaxQueryBuffer = s.cfg.ClientQueryBufferLimit
	s.cfgMu.RUnlock()
	return lim
}

// close closes the connection once; safe from any goroutine.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.nc.Close()
	})
}

// serve reads commands until the client goes away, answering each batch of
// pipelined commands with one write.
func (c *conn) serve() {
	defer c.cleanup()
	for {
		args, err := c.rd.ReadCommand()
		if err != nil {
			var pe *proto.ProtocolError
			if errors.As(err, &pe) {
				c.out = proto.AppendError(c.out, pe.Reply())
				c.flush()
			}
			return
		}
		c.handle(args)
		if c.quit {
			c.flush()
			return
		}
		if len(c.out) > 64<<10 {
			if !c.flush() {
				return
			}
		}
	}
}

// flush waits until the writes acknowledged by the pending replies are
// durable, then sends the replies. It reports false when the connection
// must close: the log failed (the replies are not sent, so nothing that was
// not logged is acknowledged) or the socket failed.
func (c *conn) flush() bool {
	if c.durable > 0 {
		idx := c.durable
		c.durable = 0
		c.lastWrite = max(c.lastWrite, idx)
		if err := c.s.wal.WaitDurable(context.Background(), idx); err != nil {
			c.s.log.Error("write not durable; closing client without acknowledging", "err", err, "client", c.id)
			c.out = c.out[:0]
			return false
		}
	}
	if len(c.out) == 0 {
		return true
	}
	if c.psMode {
		c.enqueue(c.out)
		c.out = c.out[:0]
		return true
	}
	c.s.stats.netOutput.Add(int64(len(c.out)))
	_, err := c.nc.Write(c.out)
	if cap(c.out) > 1<<20 {
		c.out = nil
	} else {
		c.out = c.out[:0]
	}
	return err == nil
}

// errFlush stops the reader when replies could not be sent.
var errFlush = errors.New("shardd: replies not sent")

func (c *conn) flushForRead() error {
	if !c.flush() {
		return errFlush
	}
	return nil
}

func (c *conn) cleanup() {
	s := c.s
	s.pubsub.unsubscribeAll(c)
	s.mu.Lock()
	s.unwatchAll(c)
	s.mu.Unlock()
	c.close()
	s.removeConn(c)
}

// peekConn lets a blocked client's close watcher hand back a byte it read.
type peekConn struct {
	net.Conn
	mu      sync.Mutex
	pending []byte
}

func (p *peekConn) Read(b []byte) (int, error) {
	p.mu.Lock()
	if len(p.pending) > 0 {
		n := copy(b, p.pending)
		p.pending = p.pending[n:]
		p.mu.Unlock()
		return n, nil
	}
	p.mu.Unlock()
	return p.Conn.Read(b)
}

// watchClose detects that a blocked client went away while nobody reads
// its socket: the peer's close closes the connection (waking the waiter
// through c.done). A byte the client sends meanwhile is kept for the
// reader. The returned stop ends the watch.
func (c *conn) watchClose() (stop func()) {
	if c.rd.Buffered() > 0 {
		return func() {}
	}
	var stopping atomic.Bool
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var b [1]byte
		n, err := c.nc.Read(b[:])
		if n > 0 {
			c.src.mu.Lock()
			c.src.pending = append(c.src.pending, b[0])
			c.src.mu.Unlock()
			return
		}
		if err != nil && !stopping.Load() {
			c.close()
		}
	}()
	return func() {
		stopping.Store(true)
		c.nc.SetReadDeadline(time.Now())
		<-finished
		c.nc.SetReadDeadline(time.Time{})
	}
}
