package frontend

import (
	"errors"

	"github.com/shoal-kv/shoal/proto"
)

// txState is a client's MULTI/EXEC and WATCH state. MULTI is queued at the
// frontend; EXEC sends MULTI, the queued commands and EXEC to the one
// shard's master as a unit and passes EXEC's reply on. WATCH pins a
// dedicated connection to the watched keys' master, on which the
// transaction then runs.
type txState struct {
	active   bool
	failed   bool   // a queued command was rejected: EXEC aborts
	count    int    // queued commands
	buf      []byte // the queued commands, encoded
	shard    string // shard of the queued keys, "" while none had keys
	pin      *dedicatedConn
	pinShard string
}

// reject marks a transaction being queued as failed (EXECABORT), as Redis
// does for errors while queueing.
func (t *txState) reject() {
	if t.active {
		t.failed = true
	}
}

func (t *txState) reset() {
	t.active, t.failed, t.count, t.shard = false, false, 0, ""
	if cap(t.buf) > 1<<20 {
		t.buf = nil
	}
	t.buf = t.buf[:0]
}

func (t *txState) releasePin() {
	if t.pin != nil {
		t.pin.release()
		t.pin, t.pinShard = nil, ""
	}
}

// queueTx queues a command inside MULTI after checking that its keys
// agree with the transaction's shard.
func (c *clientConn) queueTx(spec *proto.CommandSpec, info *handling, args [][]byte) {
	t := &c.tx
	v := c.s.router.view()
	var keyShard *shardView
	cross := false
	switch info.cls {
	case clsPublish:
		keyShard = v.shardFor(args[1])
	case clsData, clsSplit, clsBlocking:
		keyShard, cross = c.keyShards(v, spec, args)
	}
	if !cross && keyShard != nil {
		want := t.shard
		if t.pinShard != "" {
			want = t.pinShard
		}
		if want != "" && want != keyShard.name {
			cross = true
		}
	}
	if cross {
		t.failed = true
		c.localErr(spec, crossSlot)
		return
	}
	if keyShard != nil && t.shard == "" {
		t.shard = keyShard.name
	}
	t.buf = proto.AppendCommand(t.buf, args...)
	t.count++
	lo := len(c.local)
	c.local = append(c.local, "+QUEUED\r\n"...)
	c.addLocal(spec, lo)
}

func cmdMulti(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	if c.tx.active {
		c.localErr(spec, "ERR MULTI calls can not be nested")
		return
	}
	c.tx.reset()
	c.tx.active = true
	cmdOK(c, spec, args)
}

func cmdDiscard(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	if !c.tx.active {
		c.localErr(spec, "ERR DISCARD without MULTI")
		return
	}
	c.tx.reset()
	c.tx.releasePin()
	cmdOK(c, spec, args)
}

const (
	multiReq = "*1\r\n$5\r\nMULTI\r\n"
	execReq  = "*1\r\n$4\r\nEXEC\r\n"
)

func cmdExec(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	t := &c.tx
	if !t.active {
		c.localErr(spec, "ERR EXEC without MULTI")
		return
	}
	if t.failed {
		t.reset()
		t.releasePin()
		c.localErr(spec, "EXECABORT Transaction discarded because of previous errors.")
		return
	}
	if t.count == 0 && t.pin == nil {
		t.reset()
		lo := len(c.local)
		c.local = proto.AppendArray(c.local, 0)
		c.addLocal(spec, lo)
		return
	}
	v := c.s.router.view()
	name := t.shard
	if t.pinShard != "" {
		name = t.pinShard
	}
	var sh *shardView
	if name != "" {
		sh = v.shards[name]
	} else if len(v.order) > 0 {
		sh = v.order[0]
	}
	// Without a master the transaction is held like any request (failover
	// buffer), unless it runs on a WATCH connection: that master is gone.
	if sh == nil || (sh.master == nil && (t.pin != nil || c.s.fobuf == nil)) {
		t.reset()
		t.releasePin()
		if sh == nil {
			c.localErr(spec, "CLUSTERDOWN no shard is known")
		} else {
			c.localErr(spec, clusterDownMsg(sh.name))
		}
		return
	}
	frames := t.count + 2
	if t.pin != nil {
		// WATCH: run on the pinned connection, on its own.
		c.barrier()
		req := make([]byte, 0, len(multiReq)+len(t.buf)+len(execReq))
		req = append(append(append(req, multiReq...), t.buf...), execReq...)
		pin := t.pin
		t.reset()
		lo := len(c.local)
		out, err := c.runOn(pin, c.local, req, frames)
		t.releasePin()
		if err != nil {
			c.local = c.dedicatedErr(c.local[:lo], pin, err)
		} else {
			c.local = out
		}
		c.addLocal(spec, lo)
		c.noteWrite(sh, sh.master)
		return
	}
	p := c.newPending()
	p.flags = pfNoRetry
	p.frames = frames
	p.req = append(p.req, multiReq...)
	p.req = append(p.req, t.buf...)
	p.req = append(p.req, execReq...)
	t.reset()
	c.send(p, sh, sh.master)
	c.entries = append(c.entries, entry{kind: kindSingle, spec: spec, p: p})
	c.noteWrite(sh, sh.master)
}

func cmdWatch(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	if c.tx.active {
		c.localErr(spec, "ERR WATCH inside MULTI is not allowed")
		return
	}
	if c.notReady(spec) {
		return
	}
	v := c.s.router.view()
	sh, cross := c.keyShards(v, spec, args)
	if cross || (sh != nil && c.tx.pinShard != "" && c.tx.pinShard != sh.name) {
		c.localErr(spec, crossSlot)
		return
	}
	// Without a master, a first WATCH waits for one (failover buffer);
	// a later one cannot: the watches died with the old master.
	if sh == nil || (sh.master == nil && (c.tx.pin != nil || c.s.fobuf == nil)) {
		if sh == nil {
			c.localErr(spec, "CLUSTERDOWN no shard is known")
		} else {
			c.localErr(spec, clusterDownMsg(sh.name))
		}
		return
	}
	c.barrier()
	if c.tx.pin != nil && c.tx.pin.n != sh.master {
		// The master changed since the first WATCH: the old watches are
		// gone with the old master, so the transaction must fail.
		c.tx.releasePin()
		c.localErr(spec, "UNBLOCKED the shard's master changed; watched keys were lost")
		return
	}
	if c.tx.pin == nil {
		_, d := c.dedicatedMaster(sh, true, func(n *node) (*dedicatedConn, error) { return n.newDedicated(sh.name) })
		if d == nil {
			c.localErr(spec, clusterDownMsg(sh.name))
			return
		}
		c.tx.pin, c.tx.pinShard = d, sh.name
	}
	req := proto.AppendCommand(nil, args...)
	lo := len(c.local)
	out, err := c.runOn(c.tx.pin, c.local, req, 1)
	if err != nil {
		pin := c.tx.pin
		c.tx.releasePin()
		c.local = c.dedicatedErr(c.local[:lo], pin, err)
	} else {
		c.local = out
	}
	c.addLocal(spec, lo)
}

func cmdUnwatch(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	// Closing the pinned connection drops its watches.
	c.tx.releasePin()
	cmdOK(c, spec, args)
}

// runOn sends req on a dedicated connection and appends the last of frames
// reply frames to dst. The client counts as blocked meanwhile; a client
// that goes away aborts the wait.
func (c *clientConn) runOn(d *dedicatedConn, dst, req []byte, frames int) ([]byte, error) {
	c.dedicatedMu.Lock()
	c.activeDedicated = d
	c.dedicatedMu.Unlock()
	c.blocked.Store(true)
	c.s.stats.blockedClients.Add(1)
	stop := c.watchClose()
	out, err := d.roundTrip(dst, req, frames)
	stop()
	c.s.stats.blockedClients.Add(-1)
	c.blocked.Store(false)
	c.dedicatedMu.Lock()
	c.activeDedicated = nil
	c.dedicatedMu.Unlock()
	return out, err
}

// dedicatedErr appends the error reply for a failed dedicated round trip.
func (c *clientConn) dedicatedErr(dst []byte, d *dedicatedConn, err error) []byte {
	switch {
	case errors.Is(err, errMasterChanged):
		return proto.AppendError(dst, "UNBLOCKED the master of shard "+d.shard+" changed while the command waited")
	case errors.Is(err, errNodeGone), errors.Is(err, errServerClosing):
		return proto.AppendError(dst, "UNBLOCKED shard "+d.shard+" node "+d.n.addr+" left the cluster while the command waited")
	case errors.Is(err, errClientGone):
		return dst
	}
	return proto.AppendError(dst, "ERR shard "+d.shard+": connection to "+d.n.addr+" lost (the command may have been applied)")
}
