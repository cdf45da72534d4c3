package frontend

import (
	"errors"
	"syscall"
	"time"

	"github.com/shoal-kv/shoal/proto"
)

// The life of a batch (the commands of one client pipeline, read without
// blocking):
//
//  1. The client goroutine reads commands and handles each: a local reply
//     is kept in c.local, a forwarded command becomes a pending routed to
//     a shard node (c.toSend).
//  2. endBatch queues every pending on its node's pipelined connection and
//     returns at once: the client goroutine goes back to reading.
//  3. Whoever completes the batch's last pending (usually an upstream
//     reader goroutine) assembles the replies in command order and writes
//     them to the client (a non-blocking write; a slow client's remainder
//     is finished by a goroutine of its own). No goroutine hand-off is
//     needed per request.
//  4. The client goroutine handles nothing of the next batch until the
//     previous one is released (waitBatch): batch state has one owner at a
//     time, and replies keep their order.
//
// Batch states (clientConn.bstate).
const (
	batchIdle     int32 = iota // owned by the client goroutine
	batchInFlight              // owned by the completing goroutine
	batchWaited                // in flight, the client goroutine waits for it
)

// serve reads commands until the client goes away.
func (c *clientConn) serve() {
	defer c.cleanup()
	for {
		args, err := c.rd.ReadCommand()
		if err != nil {
			c.waitBatch()
			var pe *proto.ProtocolError
			if errors.As(err, &pe) && !c.dead.Load() {
				c.out = proto.AppendError(c.out[:0], pe.Reply())
				c.writeSync()
			}
			return
		}
		c.waitBatch()
		if c.dead.Load() {
			return
		}
		if len(c.entries) == 0 {
			c.start = time.Now()
			c.LastCmd.Store(c.start.UnixMilli())
		}
		c.handle(args)
		if c.quit {
			c.endBatch(true)
			if c.psMode {
				c.outbox.FlushNow()
			}
			return
		}
		if c.rd.Buffered() == 0 || len(c.entries) >= c.s.cfg.MaxBatch || c.reqBytes > 4<<20 {
			c.endBatch(false)
		}
	}
}

// waitBatch waits until the batch in flight, if any, is released.
func (c *clientConn) waitBatch() {
	if c.bstate.CompareAndSwap(batchInFlight, batchWaited) {
		<-c.batchDone
	}
}

// endBatch sends the batch. Without pendings it completes at once; with
// them the last completion finishes it. wait makes the caller wait for
// the batch to be written.
func (c *clientConn) endBatch(wait bool) {
	if len(c.entries) == 0 {
		return
	}
	if len(c.toSend) == 0 {
		c.completeBatch(true)
		return
	}
	c.bstate.Store(batchInFlight)
	c.outstanding.Store(int32(len(c.toSend)) + 1)
	c.enqueueAll(c.toSend)
	c.toSend = c.toSend[:0]
	c.pendingDone()
	if wait {
		c.waitBatch()
	}
}

// barrier ends the current batch and waits until its replies are written,
// before a command that must run on its own (blocking commands, WATCH,
// SUBSCRIBE).
func (c *clientConn) barrier() {
	c.endBatch(true)
	c.start = time.Now()
}

// pendingDone counts one completed pending (or the dispatcher's guard);
// the last one finishes the batch.
func (c *clientConn) pendingDone() {
	if c.outstanding.Add(-1) != 0 {
		return
	}
	if c.retrying.Load() {
		select {
		case c.retryWake <- struct{}{}:
		default:
		}
		return
	}
	if c.needsRetry() {
		c.retrying.Store(true)
		go c.retryThenComplete()
		return
	}
	c.completeBatch(false)
}

// needsRetry reports pendings to send again: read-only requests whose
// connection was lost, and misses on cached replicas (to the master).
func (c *clientConn) needsRetry() bool {
	for _, p := range c.pool[:c.used] {
		if p.state == stateRetry || (p.state == stateOK && p.flags&pfCached != 0 && notCached(p.reply)) {
			return true
		}
	}
	return false
}

// retryThenComplete sends the pendings that need it once more, waits for
// them, and completes the batch. It runs on a goroutine of its own (it
// may dial).
func (c *clientConn) retryThenComplete() {
	for round := 0; round < 3; round++ {
		again := c.toSend[:0]
		for _, p := range c.pool[:c.used] {
			if p.state == stateRetry || (p.state == stateOK && p.flags&pfCached != 0 && notCached(p.reply)) {
				again = append(again, p)
			}
		}
		if len(again) == 0 {
			break
		}
		c.outstanding.Store(int32(len(again)) + 1)
		c.toSend = c.toSend[:0]
		for _, p := range again {
			c.reroute(p) // appends to c.toSend, or completes p with an error
		}
		c.enqueueAll(c.toSend)
		c.toSend = c.toSend[:0]
		if c.outstanding.Add(-1) != 0 {
			<-c.retryWake
		}
	}
	c.retrying.Store(false)
	c.completeBatch(false)
}

// completeBatch assembles the replies in command order, writes them, and
// releases the batch. onClient is true when the client goroutine itself
// calls it (it may then block on the write).
func (c *clientConn) completeBatch(onClient bool) {
	m := c.s.metrics
	for i := range c.entries {
		e := &c.entries[i]
		before := len(c.out)
		c.out = c.appendReply(c.out, e)
		if len(c.out) > before && c.out[before] == '-' {
			m.countError(c.out[before:])
		}
	}
	elapsed := time.Since(c.start).Seconds()
	for i := range c.entries {
		cm := m.forCmd(c.entries[i].spec)
		cm.count.Inc()
		cm.latency.Observe(elapsed)
	}
	c.s.stats.commandsProcessed.Add(int64(len(c.entries)))
	c.resetBatch()
	switch {
	case len(c.out) == 0:
	case c.psMode:
		c.outbox.Enqueue(c.out)
	case onClient || c.raw == nil:
		c.writeSync()
	default:
		n, err := c.tryWrite(c.out)
		if err != nil {
			c.writeFailed()
		} else if n < len(c.out) {
			// The client's socket buffer is full: finish on a goroutine of
			// its own, so no upstream reader waits for a slow client.
			rest := append([]byte(nil), c.out[n:]...)
			c.out = c.out[:0]
			go func() {
				if _, err := c.nc.Write(rest); err != nil {
					c.writeFailed()
				}
				c.release()
			}()
			return
		}
	}
	if cap(c.out) > 1<<20 {
		c.out = nil
	}
	c.out = c.out[:0]
	c.release()
}

// release hands the batch state back to the client goroutine.
func (c *clientConn) release() {
	if c.bstate.Swap(batchIdle) == batchWaited {
		c.batchDone <- struct{}{}
	}
}

// writeSync writes c.out with a blocking write.
func (c *clientConn) writeSync() {
	if len(c.out) == 0 {
		return
	}
	if _, err := c.nc.Write(c.out); err != nil {
		c.writeFailed()
	}
	if cap(c.out) > 1<<20 {
		c.out = nil
	}
	c.out = c.out[:0]
}

// tryWrite writes as much of b as the socket takes now, without blocking.
func (c *clientConn) tryWrite(b []byte) (n int, err error) {
	werr := c.raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			k, e := syscall.Write(int(fd), b[n:])
			if k > 0 {
				n += k
			}
			if e == syscall.EINTR {
				continue
			}
			if e == syscall.EAGAIN {
				break
			}
			if e != nil {
				err = e
				break
			}
			if k == 0 {
				break
			}
		}
		return true
	})
	if err == nil {
		err = werr
	}
	return n, err
}

// writeFailed closes a client whose socket failed; serve notices.
func (c *clientConn) writeFailed() {
	c.dead.Store(true)
	c.close()
}

func (c *clientConn) resetBatch() {
	clear(c.entries)
	c.entries = c.entries[:0]
	if cap(c.local) > 1<<20 {
		c.local = nil
	}
	c.local = c.local[:0]
	c.used = 0
	clear(c.parts)
	c.parts = c.parts[:0]
	c.keyPart = c.keyPart[:0]
	c.reqBytes = 0
	if len(c.pool) > 1024 { // after a huge pipeline, do not keep it all
		clear(c.pool[1024:])
		c.pool = c.pool[:1024]
	}
}

// appendReply appends entry e's reply to dst.
func (c *clientConn) appendReply(dst []byte, e *entry) []byte {
	switch e.kind {
	case kindLocal:
		return append(dst, c.local[e.lo:e.hi]...)
	case kindSingle:
		return append(dst, e.p.reply...)
	case kindScan:
		return appendScanReply(dst, e.p.reply, e.aux, len(c.s.router.view().order))
	}
	parts := c.parts[e.lo:e.hi]
	for _, p := range parts { // the first error wins
		if len(p.reply) > 0 && p.reply[0] == '-' {
			return append(dst, p.reply...)
		}
	}
	switch e.kind {
	case kindMGet:
		return mergeMGet(dst, parts, c.keyPart[e.klo:e.klo+e.nkeys])
	case kindMSet:
		return proto.AppendOK(dst)
	case kindSum:
		return mergeSum(dst, parts)
	case kindConcat:
		return mergeConcat(dst, parts)
	case kindFirstOK:
		return append(dst, parts[0].reply...)
	case kindRandomKey:
		return mergeRandomKey(dst, parts, int(c.ID))
	}
	return proto.AppendError(dst, "ERR frontend: bad reply kind")
}
