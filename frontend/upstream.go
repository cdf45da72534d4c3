package frontend

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shoal-kv/shoal/proto"
)

// Errors of the upstream side. They are turned into error replies at the
// protocol edge (see pending.fail).
var (
	// errNodeGone: the node left the view after the request was routed;
	// nothing was sent, so the request may be routed again.
	errNodeGone = errors.New("frontend: node left the cluster view")
	// errNodeDown: dialing the node failed recently; it is not retried
	// until its backoff expires.
	errNodeDown = errors.New("frontend: node unreachable")
)

// node is one shard daemon as the frontend reaches it: a fixed number of
// pipelined connection slots shared by every client, plus the dedicated
// connections of blocked clients. Nodes are created and closed by the
// router; a node is identified by its RESP address and survives role
// changes (master to replica and back). Safe for concurrent use.
type node struct {
	s    *Server
	addr string

	slots []connSlot

	closed    atomic.Bool
	downUntil atomic.Int64 // unix nanoseconds; dials fail fast before it
	failures  atomic.Int32 // consecutive dial failures (backoff)

	// Replica read state, written by the lag prober.
	lagOK atomic.Bool  // lag within MaxReplicaLag at the last probe
	lag   atomic.Int64 // last measured lag in milliseconds, -1 unknown

	// dedicated connections (blocking commands, WATCH) to abort when this
	// node stops being its shard's master.
	dmu       sync.Mutex
	dedicated map[*dedicatedConn]struct{}

	upLatency prometheus.Observer
	upErrors  *prometheus.CounterVec
}

// connSlot holds one pipelined connection, redialed on demand.
type connSlot struct {
	mu  sync.Mutex
	cur atomic.Pointer[upConn]
}

func newNode(s *Server, addr string) *node {
	n := &node{
		s:         s,
		addr:      addr,
		slots:     make([]connSlot, s.cfg.UpstreamConns),
		dedicated: make(map[*dedicatedConn]struct{}),
	}
	n.lag.Store(-1)
	n.upLatency = s.metrics.upstreamLatency.WithLabelValues(addr)
	n.upErrors = s.metrics.upstreamErrors
	return n
}

// down reports whether a recent dial failed and the backoff has not passed.
func (n *node) down() bool {
	until := n.downUntil.Load()
	return until != 0 && time.Now().UnixNano() < until
}

// conn returns the live pipelined connection of slot i, dialing one if
// needed. Only one goroutine dials a slot at a time; others wait for it.
func (n *node) conn(i int) (*upConn, error) {
	sl := &n.slots[i%len(n.slots)]
	if u := sl.cur.Load(); u != nil && !u.dead.Load() {
		return u, nil
	}
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if u := sl.cur.Load(); u != nil && !u.dead.Load() {
		return u, nil
	}
	if n.closed.Load() {
		return nil, errNodeGone
	}
	if n.down() {
		return nil, errNodeDown
	}
	nc, err := n.s.dialShard(n.addr)
	if err != nil {
		n.dialFailed(err)
		return nil, errNodeDown
	}
	n.failures.Store(0)
	n.downUntil.Store(0)
	u := newUpConn(n, nc)
	sl.cur.Store(u)
	if n.closed.Load() { // closed while dialing
		u.fail(errNodeGone)
		return nil, errNodeGone
	}
	go u.readLoop()
	go u.writeLoop()
	return u, nil
}

// dialFailed starts or lengthens the node's backoff: 50 ms doubling to 1 s.
func (n *node) dialFailed(err error) {
	f := n.failures.Add(1)
	backoff := 50 * time.Millisecond << min(f-1, 5)
	backoff = min(backoff, time.Second)
	n.downUntil.Store(time.Now().Add(backoff).UnixNano())
	n.upErrors.WithLabelValues("dial").Inc()
	if f == 1 || f%20 == 0 {
		n.s.log.Warn("cannot reach shard node", "addr", n.addr, "err", err, "failures", f)
	}
}

// dial opens a connection outside the pipelined slots (blocking commands,
// WATCH, pub/sub links).
func (n *node) dial() (net.Conn, error) {
	if n.closed.Load() {
		return nil, errNodeGone
	}
	nc, err := n.s.dialShard(n.addr)
	if err != nil {
		n.dialFailed(err)
		return nil, errNodeDown
	}
	return nc, nil
}

// dialShard connects to a shard node and authenticates when
// ShardPassword is set.
func (s *Server) dialShard(addr string) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, s.cfg.DialTimeout)
	if err != nil {
		return nil, err
	}
	if err := authenticate(nc, s.cfg.ShardPassword, s.cfg.DialTimeout); err != nil {
		nc.Close()
		return nil, fmt.Errorf("frontend: AUTH at %s: %w", addr, err)
	}
	return nc, nil
}

// authenticate sends AUTH password on a new connection and checks +OK.
func authenticate(nc net.Conn, password string, timeout time.Duration) error {
	if password == "" {
		return nil
	}
	nc.SetDeadline(time.Now().Add(timeout))
	defer nc.SetDeadline(time.Time{})
	if _, err := nc.Write(proto.AppendCommandStrings(nil, "AUTH", password)); err != nil {
		return err
	}
	// Read byte by byte: nothing after the reply may be consumed here.
	var line []byte
	var b [1]byte
	for len(line) < 512 {
		if _, err := nc.Read(b[:]); err != nil {
			return err
		}
		line = append(line, b[0])
		if b[0] == '\n' {
			break
		}
	}
	if string(line) != "+OK\r\n" {
		return proto.Error(strings.TrimSpace(strings.TrimPrefix(string(line), "-")))
	}
	return nil
}

// close fails every request in flight on the node and stops it. The router
// calls it when the node leaves the view.
func (n *node) close(reason error) {
	if n.closed.Swap(true) {
		return
	}
	for i := range n.slots {
		sl := &n.slots[i]
		sl.mu.Lock()
		if u := sl.cur.Load(); u != nil {
			u.fail(reason)
		}
		sl.mu.Unlock()
	}
	n.abortDedicated(reason)
	n.s.metrics.upstreamLatency.DeleteLabelValues(n.addr)
}

// abortDedicated closes the node's dedicated connections: their blocked
// clients get an error (the master changed or went away).
func (n *node) abortDedicated(reason error) {
	n.dmu.Lock()
	ds := make([]*dedicatedConn, 0, len(n.dedicated))
	for d := range n.dedicated {
		ds = append(ds, d)
	}
	n.dmu.Unlock()
	for _, d := range ds {
		d.abort(reason)
	}
}

// checkTimeouts closes connections whose oldest request has waited longer
// than UpstreamTimeout (a hung or partitioned node).
func (n *node) checkTimeouts(now time.Time) {
	limit := n.s.cfg.UpstreamTimeout.Nanoseconds()
	for i := range n.slots {
		u := n.slots[i].cur.Load()
		if u == nil || u.dead.Load() {
			continue
		}
		if u.sent.Load() == u.recv.Load() {
			continue
		}
		if now.UnixNano()-u.progress.Load() > limit {
			n.upErrors.WithLabelValues("timeout").Inc()
			n.s.log.Warn("shard node stopped answering; closing its connection", "addr", n.addr, "timeout", n.s.cfg.UpstreamTimeout)
			u.fail(errUpstreamTimeout)
		}
	}
}

var errUpstreamTimeout = errors.New("frontend: upstream timeout")

// upConn is one pipelined connection to a shard node. Any number of client
// goroutines append requests to it (enqueue) and push them to the socket
// (flush: whoever finds no write in progress becomes the writer and writes
// everything queued, so many clients share one write syscall). One reader
// goroutine matches replies to requests in order.
type upConn struct {
	n  *node
	nc net.Conn

	mu     sync.Mutex
	wbuf   []byte     // bytes not yet written
	spare  []byte     // the other write buffer
	queue  []*pending // requests whose replies the reader has not taken yet
	failed bool       // fail ran: queue is drained, enqueue refuses
	// taken counts the requests whose bytes the writer has taken from
	// wbuf (written, or maybe written when the write failed); a request
	// whose seq is not below it was never sent.
	taken int64

	wakeW  chan struct{} // wakes writeLoop
	closed chan struct{} // closed by fail

	dead     atomic.Bool  // set by fail; readers of the slot redial
	sent     atomic.Int64 // requests enqueued (for the timeout check)
	recv     atomic.Int64 // requests answered or failed
	progress atomic.Int64 // unix ns of the last reply, or of the first request after idle
}

func newUpConn(n *node, nc net.Conn) *upConn {
	return &upConn{n: n, nc: nc, wbuf: make([]byte, 0, 16<<10), spare: make([]byte, 0, 16<<10),
		wakeW: make(chan struct{}, 1), closed: make(chan struct{})}
}

// enqueue appends the requests ps (all routed to u) in order. It returns
// false, having appended nothing, when the connection already failed.
func (u *upConn) enqueue(ps []*pending) bool {
	u.mu.Lock()
	if u.failed {
		u.mu.Unlock()
		return false
	}
	if u.sent.Load() == u.recv.Load() {
		u.progress.Store(time.Now().UnixNano())
	}
	seq := u.sent.Load()
	for i, p := range ps {
		p.seq = seq + int64(i)
		u.wbuf = append(u.wbuf, p.req...)
		u.queue = append(u.queue, p)
	}
	u.sent.Add(int64(len(ps)))
	u.mu.Unlock()
	u.n.s.metrics.upstreamRequests.Add(float64(len(ps)))
	return true
}

// enqueueOne is enqueue for a single request.
func (u *upConn) enqueueOne(p *pending) bool {
	u.mu.Lock()
	if u.failed {
		u.mu.Unlock()
		return false
	}
	if u.sent.Load() == u.recv.Load() {
		u.progress.Store(time.Now().UnixNano())
	}
	p.seq = u.sent.Load()
	u.wbuf = append(u.wbuf, p.req...)
	u.queue = append(u.queue, p)
	u.sent.Add(1)
	u.mu.Unlock()
	u.n.s.metrics.upstreamRequests.Inc()
	return true
}

// flush asks the writer goroutine to send what is queued. The writer
// runs after the goroutines already runnable, so requests of many clients
// accumulate and go out in one write (an event loop's batching, without
// its single thread).
func (u *upConn) flush() {
	select {
	case u.wakeW <- struct{}{}:
	default:
	}
}

// writeLoop writes queued requests until the connection fails.
func (u *upConn) writeLoop() {
	for {
		select {
		case <-u.wakeW:
		case <-u.closed:
			return
		}
		// Let the client goroutines already runnable queue their requests
		// first: they then share this write.
		runtime.Gosched()
		u.mu.Lock()
		for len(u.wbuf) > 0 && !u.failed {
			buf := u.wbuf
			u.wbuf = u.spare[:0]
			u.taken = u.sent.Load()
			u.mu.Unlock()
			_, err := u.nc.Write(buf)
			u.n.s.metrics.upstreamWrites.Inc()
			u.mu.Lock()
			if cap(buf) <= 1<<20 {
				u.spare = buf[:0]
			} else {
				u.spare = make([]byte, 0, 16<<10)
			}
			if err != nil {
				u.mu.Unlock()
				u.fail(err)
				return
			}
		}
		u.mu.Unlock()
	}
}

// readLoop reads reply frames and completes the requests in order until
// the connection fails.
func (u *upConn) readLoop() {
	lim := u.n.s.cfg.Limits
	rd := proto.NewReader(u.nc, proto.Limits{MaxBulkLen: lim.MaxBulkLen, MaxReplyLen: proto.DefaultMaxReplyLen})
	var local []*pending
	li := 0
	var now time.Time
	for {
		fresh := rd.Buffered() == 0 // this ReadReply reads from the socket
		frame, err := rd.ReadReply()
		if err != nil {
			u.failWith(err, local[li:])
			return
		}
		if li == len(local) {
			clear(local)
			u.mu.Lock()
			local, u.queue = u.queue, local[:0]
			u.mu.Unlock()
			li = 0
			if len(local) == 0 {
				u.failWith(fmt.Errorf("frontend: reply without a request from %s", u.n.addr), nil)
				return
			}
		}
		p := local[li]
		if p.frames > 1 { // a transaction's MULTI and QUEUED replies
			p.frames--
			continue
		}
		p.reply = append(p.reply[:0], frame...)
		local[li] = nil
		li++
		if fresh || now.IsZero() {
			// Replies that arrived together share one clock reading.
			now = time.Now()
			u.progress.Store(now.UnixNano())
		}
		u.n.upLatency.Observe(now.Sub(p.start).Seconds())
		u.recv.Add(1)
		p.complete()
	}
}

// fail closes the connection and fails every request still queued.
func (u *upConn) fail(err error) { u.failWith(err, nil) }

// failWith is fail with the reader's own undelivered requests. Requests
// never written go to the failover buffer (they may be sent elsewhere);
// the others are lost.
func (u *upConn) failWith(err error, local []*pending) {
	u.mu.Lock()
	already := u.failed
	u.failed = true
	queue := u.queue
	u.queue = nil
	u.wbuf = nil
	taken := u.taken
	if !already {
		close(u.closed)
	}
	u.mu.Unlock()
	u.dead.Store(true)
	u.nc.Close()
	if !already && err != errNodeGone {
		u.n.upErrors.WithLabelValues("conn").Inc()
		u.n.s.log.Debug("upstream connection closed", "addr", u.n.addr, "err", err)
	}
	timeout := err == errUpstreamTimeout
	buf := u.n.s.fobuf
	for _, ps := range [2][]*pending{local, queue} {
		for _, p := range ps {
			if p == nil {
				continue
			}
			u.recv.Add(1)
			if buf != nil && p.seq >= taken && p.flags&pfReplica == 0 {
				buf.hold(p)
				continue
			}
			p.lost(timeout)
		}
	}
}

// pending is one request forwarded to a shard node and, once complete, its
// reply. A client connection owns its pendings and reuses them from batch
// to batch; between enqueue and complete only the upstream reader (or
// fail) touches reply and state.
type pending struct {
	c      *clientConn
	req    []byte // the encoded request
	reply  []byte // the reply frame (or an error frame made here)
	frames int    // reply frames expected; only the last is kept
	shard  string // shard name, for re-routing and error texts
	n      *node  // where it was sent
	up     *upConn
	flags  uint8
	state  uint8
	start  time.Time
	seq    int64 // position in its upConn's stream (see upConn.taken)
	heldAt int64 // unix ns when first held by the failover buffer; 0 never
}

// pending flags.
const (
	pfReadOnly uint8 = 1 << iota // may be retried once after a lost connection
	pfRetried                    // already retried or re-routed once
	pfCached                     // sent to a cached replica: a miss goes to the master
	pfReplica                    // sent to a replica
	pfNoRetry                    // never retried (transactions)
)

// pending states after completion.
const (
	stateOK    uint8 = iota // reply holds the node's reply
	stateRetry              // connection lost before the reply; read-only: send again
	stateError              // reply holds an error made by the frontend
)

func (p *pending) reset() {
	p.frames = 1
	p.flags = 0
	p.state = stateOK
	p.n, p.up = nil, nil
	p.shard = ""
	p.heldAt = 0
	if cap(p.req) > 16<<10 {
		p.req = nil
	}
	if cap(p.reply) > 16<<10 {
		p.reply = nil
	}
	p.req = p.req[:0]
	p.reply = p.reply[:0]
}

// complete hands the finished request back to its client.
func (p *pending) complete() { p.c.pendingDone() }

// lost completes a request whose connection failed before its reply came.
func (p *pending) lost(timeout bool) {
	if p.flags&(pfReadOnly|pfRetried|pfNoRetry) == pfReadOnly {
		p.state = stateRetry
		p.complete()
		return
	}
	p.state = stateError
	if timeout {
		p.reply = proto.AppendError(p.reply[:0], "ERR shard "+p.shard+": no reply from "+p.n.addr+" within "+p.n.s.cfg.UpstreamTimeout.String()+" (the command may have been applied)")
	} else {
		p.reply = proto.AppendError(p.reply[:0], "ERR shard "+p.shard+": connection to "+p.n.addr+" lost (the command may have been applied)")
	}
	p.complete()
}

// failNow completes a request that was never sent with an error reply.
func (p *pending) failNow(msg string) {
	p.state = stateError
	p.reply = proto.AppendError(p.reply[:0], msg)
	p.complete()
}

// dedicatedConn is a connection used by one client at a time, outside the
// pipelines: blocking commands, WATCH transactions. It is registered with
// its node so that a change of master aborts it.
type dedicatedConn struct {
	n      *node
	nc     net.Conn
	rd     *proto.Reader
	shard  string
	reason atomic.Pointer[error] // why it was aborted, nil while usable
}

func (n *node) newDedicated(shard string) (*dedicatedConn, error) {
	nc, err := n.dial()
	if err != nil {
		return nil, err
	}
	lim := n.s.cfg.Limits
	d := &dedicatedConn{n: n, nc: nc, shard: shard,
		rd: proto.NewReaderSize(nc, proto.Limits{MaxBulkLen: lim.MaxBulkLen}, 4096)}
	n.dmu.Lock()
	n.dedicated[d] = struct{}{}
	n.dmu.Unlock()
	if n.closed.Load() {
		d.abort(errNodeGone)
	}
	return d, nil
}

// abort closes d; its user's pending read fails and reports reason.
func (d *dedicatedConn) abort(reason error) {
	d.reason.CompareAndSwap(nil, &reason)
	d.nc.Close()
}

// aborted returns why d was aborted, or nil.
func (d *dedicatedConn) aborted() error {
	if r := d.reason.Load(); r != nil {
		return *r
	}
	return nil
}

// release unregisters and closes d.
func (d *dedicatedConn) release() {
	d.n.dmu.Lock()
	delete(d.n.dedicated, d)
	d.n.dmu.Unlock()
	d.nc.Close()
}

// roundTrip writes req and returns the last of frames reply frames (a
// copy appended to dst).
func (d *dedicatedConn) roundTrip(dst, req []byte, frames int) ([]byte, error) {
	if err := d.aborted(); err != nil {
		return dst, err
	}
	if _, err := d.nc.Write(req); err != nil {
		if r := d.aborted(); r != nil {
			return dst, r
		}
		return dst, err
	}
	for i := 0; i < frames; i++ {
		f, err := d.rd.ReadReply()
		if err != nil {
			if r := d.aborted(); r != nil {
				return dst, r
			}
			return dst, err
		}
		if i == frames-1 {
			dst = append(dst, f...)
		}
	}
	return dst, nil
}
