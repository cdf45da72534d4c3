package frontend

import (
	"time"

	"github.com/shoal-kv/shoal/internal/respserver"
	"github.com/shoal-kv/shoal/proto"
)

// Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN, BZPOPMAX)
// and WAIT run on a connection of their own, never on the shared
// pipelines (a blocked command would stall every client behind it). Each
// client keeps one such connection per node it blocked on, reused by its
// next blocking command. If the shard's master changes while a command is
// blocked, the connection is closed and the client gets -UNBLOCKED.

// blocking runs a blocking command on the keys' shard's master.
func (c *clientConn) blocking(spec *proto.CommandSpec, args [][]byte) {
	if c.notReady(spec) {
		return
	}
	v := c.s.router.view()
	sh, cross := c.keyShards(v, spec, args)
	if cross {
		c.localErr(spec, crossSlot)
		return
	}
	if sh == nil {
		if sh = c.fallbackShard(v, args); sh == nil {
			c.localErr(spec, "CLUSTERDOWN no shard is known")
			return
		}
	}
	c.runBlocking(spec, sh, args, true)
	c.noteWrite(sh, sh.master)
}

// runBlocking ends the batch, then sends args to sh's master on the
// client's dedicated connection and records the reply. With buffered, a
// shard without a reachable master is waited for (the failover buffer).
func (c *clientConn) runBlocking(spec *proto.CommandSpec, sh *shardView, args [][]byte, buffered bool) {
	if sh.master == nil && (c.s.fobuf == nil || !buffered) {
		c.localErr(spec, clusterDownMsg(sh.name))
		return
	}
	req := proto.AppendCommand(nil, args...) // args alias the read buffer
	c.barrier()
	n, d := c.dedicatedMaster(sh, buffered, func(n *node) (*dedicatedConn, error) {
		d := c.blockConns[n]
		if d != nil && d.aborted() != nil {
			d.release()
			delete(c.blockConns, n)
			d = nil
		}
		if d != nil {
			return d, nil
		}
		d, err := n.newDedicated(sh.name)
		if err != nil {
			return nil, err
		}
		if c.blockConns == nil {
			c.blockConns = make(map[*node]*dedicatedConn)
		}
		c.blockConns[n] = d
		return d, nil
	})
	if d == nil {
		c.localErr(spec, clusterDownMsg(sh.name))
		return
	}
	lo := len(c.local)
	out, err := c.runOn(d, c.local, req, 1)
	if err != nil {
		d.release()
		delete(c.blockConns, n)
		c.local = c.dedicatedErr(c.local[:lo], d, err)
	} else {
		c.local = out
	}
	c.addLocal(spec, lo)
}

// writeRef is where a client's last write went: its shard, the master it
// was sent to (nil when it was held for a new master) and that master's
// epoch then.
type writeRef struct {
	shard string
	node  *node
	epoch uint64
}

// noteWrite records a write sent to n (sh's master, or nil when held).
func (c *clientConn) noteWrite(sh *shardView, n *node) {
	c.lastWrite = writeRef{shard: sh.name, node: n, epoch: sh.epoch}
}

// cmdWait forwards WAIT numreplicas timeout to the master of the shard the
// client last wrote to (the first shard if none), on a dedicated
// connection. Writes through a frontend travel on shared connections, so
// shardd reads WAIT on a connection without writes of its own as "the
// master's current offset" (the replication work's side of this).
//
// WAIT vouches for the client's last write only on the master that took
// it. When that master is no longer the shard's master (failed over, gone,
// unreachable), the new master's replicas say nothing about the write —
// it may be lost — so WAIT answers 0 (no replica is known to have it) and
// is never held for the new master.
func cmdWait(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	if _, ok := respserver.ParseInt(args[1]); !ok {
		c.localErr(spec, "ERR value is not an integer or out of range")
		return
	}
	t, ok := respserver.ParseInt(args[2])
	if !ok {
		c.localErr(spec, "ERR timeout is not an integer or out of range")
		return
	}
	if t < 0 {
		c.localErr(spec, "ERR timeout is negative")
		return
	}
	if c.notReady(spec) {
		return
	}
	c.barrier() // the writes before WAIT are answered (held ones sent)
	v := c.s.router.view()
	lw := c.lastWrite
	sh := v.shards[lw.shard]
	if sh == nil && len(v.order) > 0 {
		sh = v.order[0]
	}
	if sh == nil {
		c.localErr(spec, "CLUSTERDOWN no shard is known")
		return
	}
	if lw.shard != "" && (sh.master == nil || (lw.node != nil && (sh.master != lw.node || sh.epoch != lw.epoch))) {
		lo := len(c.local)
		c.local = proto.AppendInt(c.local, 0)
		c.addLocal(spec, lo)
		return
	}
	c.runBlocking(spec, sh, args, false)
}

// dedicatedMaster returns sh's master and the dedicated connection get
// finds or dials for it. With the failover buffer on, a shard without a
// master, or whose master cannot be dialed, is waited for (awaitMaster) up
// to FailoverBuffer: on the client's goroutine, where commands on
// dedicated connections run anyway. d is nil when no master came.
func (c *clientConn) dedicatedMaster(sh *shardView, buffered bool, get func(*node) (*dedicatedConn, error)) (n *node, d *dedicatedConn) {
	var start, deadline time.Time
	name := sh.name
	for {
		if n = sh.master; n != nil {
			if d, err := get(n); err == nil {
				if !start.IsZero() {
					c.s.fobuf.endWait(name, start, "sent")
				}
				return n, d
			}
		}
		if c.s.fobuf == nil || !buffered {
			return nil, nil
		}
		if start.IsZero() {
			start = time.Now()
			deadline = start.Add(c.s.cfg.FailoverBuffer)
			c.s.fobuf.beginWait(name)
		}
		var ok bool
		if sh, ok = c.awaitMaster(name, deadline); !ok {
			c.s.fobuf.endWait(name, start, "timeout")
			return nil, nil
		}
	}
}

// awaitMaster waits until shard name has a master that is not in its dial
// backoff, and returns the shard then; ok is false when deadline passed,
// the shard left the view or the client was closed first.
func (c *clientConn) awaitMaster(name string, deadline time.Time) (sh *shardView, ok bool) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		v := c.s.router.view()
		sh = v.shards[name]
		now := time.Now()
		if sh == nil || !now.Before(deadline) {
			return sh, false
		}
		wake := deadline
		if sh.master != nil {
			until := time.Unix(0, sh.master.downUntil.Load())
			if !until.After(now) {
				return sh, true
			}
			if until.Before(wake) {
				wake = until
			}
		}
		timer.Reset(wake.Sub(now))
		select {
		case <-v.changed:
		case <-timer.C:
		case <-c.done:
			return sh, false
		}
	}
}
