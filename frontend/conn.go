package frontend

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shoal-kv/shoal/internal/respserver"
	"github.com/shoal-kv/shoal/proto"
)

// clientConn is one client connection. One goroutine (serve) reads the
// client's commands, forwards a whole pipeline before waiting, and writes
// the replies of the pipeline with one write. Fields are owned by that
// goroutine except where noted.
type clientConn struct {
	respserver.Session // ID, name, library, last command: CLIENT and HELLO

	s    *Server
	nc   net.Conn
	src  *respserver.PeekConn
	rd   *proto.Reader
	slot int // which pipelined connection of each node this client uses

	// batch state, reset by resetBatch; owned by whoever holds the batch (see batch.go)
	entries  []entry
	local    []byte     // replies made by the frontend, sliced by entries
	pool     []*pending // reusable pendings; pool[:used] belong to this batch
	used     int
	parts    []*pending // parts of split and fan-out entries
	keyPart  []uint16   // for split entries: which part each key went to
	keys     []int      // scratch: key positions
	keyShard []*shardView
	toSend   []*pending // pendings routed but not yet enqueued
	group    []*pending // scratch for enqueueAll
	touched  []*upConn
	held     []string // scratch for enqueueAll: shards with a request held in this round
	reqBytes int
	out      []byte
	start    time.Time

	outstanding atomic.Int32  // pendings of the batch in flight not yet complete (+1 while dispatching)
	bstate      atomic.Int32  // batchIdle, batchInFlight, batchWaited
	batchDone   chan struct{} // wakes a client goroutine waiting in waitBatch
	retrying    atomic.Bool   // a retry round is in flight: completions wake retryWake
	retryWake   chan struct{}
	raw         syscall.RawConn // for non-blocking writes; nil when unavailable
	dead        atomic.Bool     // a write to the client failed

	// session state
	authed          bool
	quit            bool
	lastWrite       writeRef // the client's last write (WAIT goes there)
	tx              txState
	blockConns      map[*node]*dedicatedConn
	blocked         atomic.Bool
	draining        atomic.Bool
	subs            subState // pub/sub; guarded by hub.mu where noted
	psMode          bool     // output goes through the outbox (once subscribed)
	outbox          respserver.Outbox
	closeOnce       sync.Once
	done            chan struct{}
	dedicatedMu     sync.Mutex // guards activeDedicated (aborted by close)
	activeDedicated *dedicatedConn
}

// entry is one client command of the current batch and where its reply
// comes from.
type entry struct {
	kind   entryKind
	spec   *proto.CommandSpec
	lo, hi int      // kindLocal: local[lo:hi]; split and fan-out: parts[lo:hi]
	p      *pending // kindSingle, kindScan, kindExec
	klo    int      // split: keyPart[klo:klo+nkeys]
	nkeys  int
	aux    int // kindScan: the shard index
}

type entryKind uint8

const (
	kindLocal     entryKind = iota // reply in local
	kindSingle                     // one upstream reply, passed through
	kindScan                       // one upstream SCAN reply, cursor rewritten
	kindMGet                       // split MGET: arrays merged in key order
	kindMSet                       // split MSET: +OK unless a part failed
	kindSum                        // split DEL/UNLINK/EXISTS/TOUCH, fan-out DBSIZE: integers summed
	kindConcat                     // fan-out KEYS: arrays concatenated
	kindFirstOK                    // fan-out FLUSHALL...: first error, else the first reply
	kindRandomKey                  // fan-out RANDOMKEY: first non-nil
)

// newClientConn makes the state of a client connection Serve accepted
// (under the connection registry's lock).
func (s *Server) newClientConn(nc net.Conn) *clientConn {
	c := &clientConn{
		s:         s,
		nc:        nc,
		batchDone: make(chan struct{}, 1),
		retryWake: make(chan struct{}, 1),
		done:      make(chan struct{}),
		authed:    s.cfg.RequirePass == "",
	}
	c.Init(s.nextID.Add(1), nc)
	c.slot = int(c.ID)
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	c.src = &respserver.PeekConn{Conn: nc}
	c.rd = proto.NewReader(c.src, s.cfg.Limits)
	c.rd.SetAuthRequired(!c.authed)
	return c
}

// close closes the connection once; safe from any goroutine. A command
// blocked upstream for this client is aborted.
func (c *clientConn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.nc.Close()
		c.dedicatedMu.Lock()
		d := c.activeDedicated
		c.dedicatedMu.Unlock()
		if d != nil {
			d.abort(errClientGone)
		}
	})
}

var errClientGone = errors.New("frontend: client went away")

// drain is called by Shutdown: the connection ends after the commands it
// already read are answered (a blocked command runs on until Shutdown's
// deadline closes the connection).
func (c *clientConn) drain() {
	c.draining.Store(true)
	if !c.blocked.Load() {
		c.nc.SetReadDeadline(time.Now()) // serve's next read fails; it ends
	}
}

func (c *clientConn) cleanup() {
	c.s.hub.removeClient(c)
	for _, d := range c.blockConns {
		d.release()
	}
	c.tx.releasePin()
	if c.draining.Load() {
		c.lingerClose()
	}
	c.close()
	c.s.conns.Remove(c)
}

// drainLinger bounds how long a drained connection waits for the client
// to close its side.
const drainLinger = 200 * time.Millisecond

// lingerClose ends a drained connection without a reset. Closing a socket
// that has unread input (a request that arrived after the drain began)
// makes the kernel answer with RST, and the client may then lose replies
// still in its receive buffer. So the write side is shut first (the client
// reads every reply, then EOF), and what the client sends meanwhile is
// read and dropped until it closes or drainLinger ends. Only serve's
// goroutine calls it, after its last read.
func (c *clientConn) lingerClose() {
	cw, ok := c.nc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	c.nc.SetReadDeadline(time.Now().Add(drainLinger))
	var buf [4096]byte
	for {
		if _, err := c.nc.Read(buf[:]); err != nil {
			return
		}
	}
}

// ---- batch building ----

// addLocal records a reply the frontend made (appended to c.local by the
// caller between lo and len(c.local)).
func (c *clientConn) addLocal(spec *proto.CommandSpec, lo int) {
	c.entries = append(c.entries, entry{kind: kindLocal, spec: spec, lo: lo, hi: len(c.local)})
}

// localErr records an error reply.
func (c *clientConn) localErr(spec *proto.CommandSpec, msg string) {
	lo := len(c.local)
	c.local = proto.AppendError(c.local, msg)
	c.addLocal(spec, lo)
}

// newPending returns a reset pending from the client's pool.
func (c *clientConn) newPending() *pending {
	if c.used == len(c.pool) {
		c.pool = append(c.pool, &pending{c: c})
	}
	p := c.pool[c.used]
	c.used++
	p.reset()
	return p
}

// send routes p (whose req is encoded) to node n of shard sh and queues it
// for the end of the batch. A node that cannot be reached makes p fail at
// once or wait in the failover buffer (it is still counted, then
// completed); so does a nil n (the shard has no master).
func (c *clientConn) send(p *pending, sh *shardView, n *node) {
	p.shard = sh.name
	p.n = n
	p.start = c.start
	c.reqBytes += len(p.req)
	c.toSend = append(c.toSend, p)
}

// reroute sends p again: a read-only request whose connection was lost,
// or a miss on a cached replica (to the master). The current view is used.
func (c *clientConn) reroute(p *pending) {
	p.flags |= pfRetried
	cached := p.flags&pfCached != 0 && p.state == stateOK
	p.flags &^= pfCached
	p.state = stateOK
	v := c.s.router.view()
	sh := v.shards[p.shard]
	if sh == nil || sh.master == nil {
		if sh == nil || c.s.fobuf == nil {
			p.failNow(clusterDownMsg(p.shard))
			return
		}
		p.n = nil // enqueueAll holds it until the shard has a master
		c.toSend = append(c.toSend, p)
		return
	}
	n := sh.master
	if !cached && p.flags&pfReplica != 0 && c.s.cfg.ReadPolicy != ReadMaster {
		if r, ok := c.pickReplica(sh); ok {
			n = r.n
		}
	}
	p.n = n
	c.toSend = append(c.toSend, p)
}

// enqueueAll puts ps on their connections, grouped by connection, in
// order, and flushes each connection once. A pending without a node goes
// to the failover buffer, and so does every later one of its shard: they
// must not overtake it.
func (c *clientConn) enqueueAll(ps []*pending) {
	c.touched = c.touched[:0]
	c.held = c.held[:0]
	failed := false
	for _, p := range ps {
		if p.n == nil || c.isHeld(p.shard) {
			p.up = nil
			failed = true
			c.hold(p)
			continue
		}
		u, err := p.n.conn(c.slot)
		if err != nil {
			p.up = nil
			failed = true
			c.connFailed(p, err)
			continue
		}
		p.up = u
		seen := false
		for _, t := range c.touched {
			if t == u {
				seen = true
				break
			}
		}
		if !seen {
			c.touched = append(c.touched, u)
		}
	}
	for _, u := range c.touched {
		group := ps
		if failed || len(c.touched) > 1 {
			group = c.group[:0]
			for _, p := range ps {
				if p.up == u {
					group = append(group, p)
				}
			}
			c.group = group
		}
		if !u.enqueue(group) {
			c.retryEnqueue(group, u)
		}
	}
	for _, u := range c.touched {
		u.flush()
	}
	clear(c.group)
}

// retryEnqueue handles a connection that failed between conn() and
// enqueue: nothing was sent, so the requests go to a fresh connection.
func (c *clientConn) retryEnqueue(ps []*pending, dead *upConn) {
	for _, p := range ps {
		if p.up != dead {
			continue
		}
		if c.isHeld(p.shard) {
			c.hold(p)
			continue
		}
		u, err := p.n.conn(c.slot)
		if err == nil && u.enqueueOne(p) {
			p.up = u
			u.flush()
			continue
		}
		if err == nil {
			err = errNodeDown
		}
		c.connFailed(p, err)
	}
}

// connFailed completes p, which could not be sent to its node.
func (c *clientConn) connFailed(p *pending, err error) {
	if errors.Is(err, errNodeGone) && p.flags&pfRetried == 0 {
		// The view changed under us; nothing was sent. Route again.
		p.state = stateRetry
		p.complete()
		return
	}
	if p.flags&pfReplica != 0 {
		p.failNow("CLUSTERDOWN shard " + p.shard + " replica " + p.n.addr + " is unreachable")
		return
	}
	c.hold(p)
}

// hold hands p, not sent, to the failover buffer (which fails it at once
// when off) and remembers its shard for the rest of this enqueueAll.
func (c *clientConn) hold(p *pending) {
	if c.s.fobuf != nil && !c.isHeld(p.shard) {
		c.held = append(c.held, p.shard)
	}
	c.s.fobuf.hold(p)
}

// isHeld reports whether a request of shard was held in this enqueueAll.
func (c *clientConn) isHeld(shard string) bool {
	for _, s := range c.held {
		if s == shard {
			return true
		}
	}
	return false
}

func clusterDownMsg(shard string) string {
	return "CLUSTERDOWN shard " + shard + " has no reachable master"
}

// ---- pub/sub output ----

// enterPubsubMode switches the client's output to the outbox, written by a
// flusher goroutine, so the hub can deliver messages concurrently.
func (c *clientConn) enterPubsubMode() {
	if c.psMode {
		return
	}
	c.psMode = true
	c.outbox.Start(respserver.OutboxConfig{W: c.nc, Done: c.done, Close: c.close, Log: c.s.log, Client: c.ID})
}

// watchClose detects that the client went away while its goroutine waits
// on a shard (blocking commands): the peer's close aborts the wait. A byte
// the client sends meanwhile is kept for the reader. stop ends the watch;
// a draining connection's next read still fails.
func (c *clientConn) watchClose() (stop func()) {
	return c.src.WatchClose(c.rd.Buffered(), c.close, c.draining.Load)
}
