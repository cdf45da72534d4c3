package frontend

import (
	"strconv"
	"sync"
	"time"
)

// failoverBuffer holds requests for shards that have no reachable master
// (Config.FailoverBuffer) until the router shows one, then sends them
// there; a request still held when its time is up fails with the
// -CLUSTERDOWN error it would have got at once. Vitess buffers primary
// switches the same way.
//
// A request is held when its shard has no master in the view (failed or
// left in gossip, never seen), when its master cannot be dialed, or when
// its connection broke before the request was written. A request already
// written to a master that then dies is not held: it fails as before
// (read-only ones are routed once more, and held if need be).
//
// Held requests are pendings parked in a FIFO per shard; no goroutine
// waits per request. A held pending still counts in its client's batch,
// so that client's later replies wait for it (its pipeline keeps its
// order) while its goroutine, other clients and other shards go on. One
// goroutine (run) wakes on every new view, every new hold, the next
// deadline and the end of a held shard's master's dial backoff: it fails
// expired requests and hands a shard's whole queue to a release goroutine
// once the shard has a master to try. A shard has one release at a time,
// and requests held meanwhile queue behind it, so requests reach the new
// master in the order they were held.
//
// Safe for concurrent use. A nil *failoverBuffer is the buffer turned off:
// hold fails the request at once.
type failoverBuffer struct {
	s    *Server
	wait time.Duration
	max  int

	mu     sync.Mutex
	shards map[string]*heldShard
	n      int   // requests in the buffer (queued or being released)
	next   int64 // unix ns: no queued request expires before; 0: none queued
	closed bool
	wake   chan struct{}
}

// heldShard is one shard's held requests.
type heldShard struct {
	q         []*pending // in the order they were held
	releasing bool       // a release goroutine owns the requests taken from q
	waiting   int        // commands on dedicated connections waiting (beginWait)
}

func newFailoverBuffer(s *Server) *failoverBuffer {
	return &failoverBuffer{s: s, wait: s.cfg.FailoverBuffer, max: s.cfg.FailoverBufferSize,
		shards: make(map[string]*heldShard), wake: make(chan struct{}, 1)}
}

// hold parks p, which was not sent, until its shard has a master. A
// request held before keeps its first deadline. p completes with an error
// at once when the buffer is off, closed or full, or p's time is up.
func (b *failoverBuffer) hold(p *pending) {
	if b == nil {
		p.failNow(clusterDownMsg(p.shard))
		return
	}
	p.flags &^= pfReplica | pfCached // a held request goes to the master
	now := time.Now().UnixNano()
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		p.failNow(clusterDownMsg(p.shard))
		return
	case p.heldAt != 0 && now >= p.heldAt+b.wait.Nanoseconds():
		b.mu.Unlock()
		b.expired(p, now)
		return
	case b.n >= b.max:
		b.mu.Unlock()
		b.s.metrics.failoverFull.Inc()
		p.failNow(clusterDownMsg(p.shard) + " (failover buffer full: " + strconv.Itoa(b.max) + " requests held)")
		return
	}
	if p.heldAt == 0 {
		p.heldAt = now
		b.s.metrics.failoverHeldTotal.Inc()
	}
	hs := b.shards[p.shard]
	if hs == nil {
		hs = &heldShard{}
		b.shards[p.shard] = hs
	}
	hs.q = append(hs.q, p)
	b.n++
	b.s.metrics.failoverHeld.Set(float64(b.n))
	if dl := p.heldAt + b.wait.Nanoseconds(); b.next == 0 || dl < b.next {
		b.next = dl
	}
	b.mu.Unlock()
	b.poke()
	b.s.kickMap() // the map may already name the new master
}

// poke wakes run.
func (b *failoverBuffer) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// expired fails p, whose time in the buffer is up.
func (b *failoverBuffer) expired(p *pending, now int64) {
	b.s.metrics.failoverTimeouts.Inc()
	b.s.metrics.failoverHold.WithLabelValues("timeout").Observe(time.Duration(now - p.heldAt).Seconds())
	p.failNow(clusterDownMsg(p.shard))
}

// run is the buffer's goroutine; it ends with the Server.
func (b *failoverBuffer) run() {
	defer b.s.bg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		v := b.s.router.view()
		if at := b.tick(v, time.Now().UnixNano()); at != 0 {
			timer.Reset(time.Duration(at - time.Now().UnixNano()))
		}
		select {
		case <-b.s.quit:
			timer.Stop()
			return
		case <-v.changed:
		case <-b.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// tick fails expired requests and starts a release for every shard of v
// that has a master to try. It returns when it must run again at the
// latest (unix ns; 0: only on an event).
func (b *failoverBuffer) tick(v *view, now int64) (wakeAt int64) {
	var expired []*pending
	type release struct {
		shard string
		ps    []*pending
	}
	var releases []release
	b.mu.Lock()
	if b.next != 0 && now >= b.next {
		b.next = 0
		for _, hs := range b.shards {
			keep := hs.q[:0]
			for _, p := range hs.q {
				dl := p.heldAt + b.wait.Nanoseconds()
				if now >= dl {
					expired = append(expired, p)
					continue
				}
				keep = append(keep, p)
				if b.next == 0 || dl < b.next {
					b.next = dl
				}
			}
			clear(hs.q[len(keep):])
			hs.q = keep
		}
		b.n -= len(expired)
		b.s.metrics.failoverHeld.Set(float64(b.n))
	}
	wakeAt = b.next
	for name, hs := range b.shards {
		if hs.releasing {
			continue
		}
		if len(hs.q) == 0 {
			if hs.waiting == 0 {
				delete(b.shards, name)
			}
			continue
		}
		sh := v.shards[name]
		if sh == nil || sh.master == nil || sh.master.closed.Load() {
			continue // the next view (or close) wakes us
		}
		if until := sh.master.downUntil.Load(); until > now {
			if wakeAt == 0 || until < wakeAt {
				wakeAt = until
			}
			continue
		}
		hs.releasing = true
		releases = append(releases, release{name, hs.q})
		hs.q = nil
	}
	b.mu.Unlock()
	for _, p := range expired {
		b.expired(p, now)
	}
	for _, r := range releases {
		b.s.bg.Add(1) // run is counted: Shutdown's Wait has not returned
		go b.release(r.shard, r.ps)
	}
	return wakeAt
}

// release sends ps, held for shard, to the shard's current master in
// order. From the first one that cannot be queued (no master any more,
// the dial failed), the rest go back to the front of the shard's queue.
func (b *failoverBuffer) release(shard string, ps []*pending) {
	defer b.s.bg.Done()
	var touched []*upConn
	sent := 0
	now := time.Now()
	for _, p := range ps {
		sh := b.s.router.view().shards[shard]
		if sh == nil || sh.master == nil {
			break
		}
		u, err := sh.master.conn(p.c.slot)
		if err != nil {
			break
		}
		// p.up stays as it is: the client's enqueueAll may still be
		// reading it.
		p.n, p.start = sh.master, now
		if !u.enqueueOne(p) {
			break
		}
		b.s.metrics.failoverHold.WithLabelValues("sent").Observe(now.Sub(time.Unix(0, p.heldAt)).Seconds())
		sent++
		if len(touched) == 0 || touched[len(touched)-1] != u {
			touched = append(touched, u)
		}
	}
	for _, u := range touched {
		u.flush()
	}
	rest := ps[sent:]
	b.mu.Lock()
	b.n -= sent
	hs := b.shards[shard]
	hs.releasing = false
	closed := b.closed
	if closed {
		b.n -= len(rest)
	} else if len(rest) > 0 {
		hs.q = append(rest, hs.q...)
		for _, p := range rest {
			if dl := p.heldAt + b.wait.Nanoseconds(); b.next == 0 || dl < b.next {
				b.next = dl
			}
		}
	}
	b.s.metrics.failoverHeld.Set(float64(b.n))
	b.mu.Unlock()
	if closed {
		for _, p := range rest {
			p.failNow(clusterDownMsg(p.shard))
		}
	}
	if len(rest) > 0 && sent > 0 {
		b.s.log.Debug("failover buffer: release stopped", "shard", shard, "sent", sent, "left", len(rest))
	}
	if sent > 0 {
		b.s.log.Info("failover buffer: held requests sent to the shard's master", "shard", shard, "requests", sent)
	}
	b.poke()
}

// holding reports whether any request or command waits for a master.
func (b *failoverBuffer) holding() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n > 0
}

// held returns how many requests are held for shard.
func (b *failoverBuffer) held(shard string) int {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if hs := b.shards[shard]; hs != nil {
		return len(hs.q) + hs.waiting
	}
	return 0
}

// beginWait counts a command on a dedicated connection (blocking
// commands, WAIT, WATCH) that waits for shard's master on its client's
// goroutine (clientConn.dedicatedMaster) as held; endWait ends it with
// outcome "sent" or "timeout". They share the buffer's metrics and
// count but not its bound: each is one client's goroutine.
func (b *failoverBuffer) beginWait(shard string) {
	b.mu.Lock()
	hs := b.shards[shard]
	if hs == nil {
		hs = &heldShard{}
		b.shards[shard] = hs
	}
	hs.waiting++
	b.n++
	b.s.metrics.failoverHeld.Set(float64(b.n))
	b.mu.Unlock()
	b.s.metrics.failoverHeldTotal.Inc()
	b.s.kickMap()
}

func (b *failoverBuffer) endWait(shard string, start time.Time, outcome string) {
	b.mu.Lock()
	if hs := b.shards[shard]; hs != nil {
		hs.waiting--
	}
	b.n--
	b.s.metrics.failoverHeld.Set(float64(b.n))
	b.mu.Unlock()
	if outcome == "timeout" {
		b.s.metrics.failoverTimeouts.Inc()
	}
	b.s.metrics.failoverHold.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
}

// close fails every held request; later holds fail at once. Idempotent.
func (b *failoverBuffer) close() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.closed = true
	var all []*pending
	for _, hs := range b.shards {
		all = append(all, hs.q...)
		hs.q = nil
	}
	b.n -= len(all)
	b.next = 0
	b.s.metrics.failoverHeld.Set(float64(b.n))
	b.mu.Unlock()
	for _, p := range all {
		p.failNow(clusterDownMsg(p.shard))
	}
}
