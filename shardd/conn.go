package shardd

import (
	"context"
	"errors"
	"net"
	"sync"

	"github.com/shoal-kv/shoal/internal/respserver"
	"github.com/shoal-kv/shoal/proto"
)

// conn is one client connection. Its fields are owned by its serving
// goroutine except where noted.
type conn struct {
	respserver.Session // ID, name, library, last command: CLIENT and HELLO

	s    *Server
	nc   net.Conn
	src  *respserver.PeekConn
	rd   *proto.Reader
	out  []byte // replies of the current batch
	quit bool   // QUIT: flush and close after this command

	authed bool

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

	// pub/sub state: once subscribed, replies go through the outbox and
	// its flusher goroutine, so publishers can append too.
	psMode   bool
	outbox   respserver.Outbox
	channels map[string]struct{} // guarded by s.pubsub.mu
	patterns map[string]struct{} // guarded by s.pubsub.mu

	closeOnce sync.Once
	done      chan struct{} // closed when the connection is closed
}

// newConn makes the state of a client connection Serve accepted (under
// the connection registry's lock).
func (s *Server) newConn(nc net.Conn) *conn {
	c := &conn{
		s:    s,
		nc:   nc,
		done: make(chan struct{}),
	}
	c.Init(s.nextClientID.Add(1), nc)
	c.src = &respserver.PeekConn{Conn: nc}
	// Replies go out exactly when every buffered request has run and the
	// reader is about to wait for more: one write per pipeline, and no
	// deadlock with a client that sent part of its next request.
	c.rd = proto.NewReader(proto.FlushBeforeRead(c.src, c.flushForRead), s.limits())
	c.authed = *s.requirePass.Load() == ""
	c.rd.SetAuthRequired(!c.authed) // Redis limits what unauthenticated clients may send
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
			c.s.log.Error("write not durable; closing client without acknowledging", "err", err, "client", c.ID)
			c.out = c.out[:0]
			return false
		}
	}
	if len(c.out) == 0 {
		return true
	}
	if c.psMode {
		c.outbox.Enqueue(c.out)
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
	s.conns.Remove(c)
}

// watchClose detects that a blocked client went away while nobody reads
// its socket: the peer's close closes the connection (waking the waiter
// through c.done). A byte the client sends meanwhile is kept for the
// reader. The returned stop ends the watch.
func (c *conn) watchClose() (stop func()) {
	return c.src.WatchClose(c.rd.Buffered(), c.close, nil)
}
