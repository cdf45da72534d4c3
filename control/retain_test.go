package control

import (
	"testing"
	"time"

	"github.com/shoal-kv/shoal/gossip"
)

func TestRetain(t *testing.T) {
	h := newJobHarness(t)
	m := h.shard("m", "a", gossip.ReplMaster, 1, 100)
	r1 := h.shard("r1", "a", gossip.ReplReplica, 1, 95)
	r2 := h.shard("r2", "a", gossip.ReplReplica, 1, 80) // not connected to the master right now
	r3 := h.shard("r3", "a", gossip.ReplReplica, 1, 50)
	r3.update(func(f *fakeShard) { f.cached = true })
	m.update(func(f *fakeShard) { f.follows = []follower{{addr: r1.addr, acked: 90}} })
	lone := h.shard("b", "b", gossip.ReplMaster, 1, 7)
	h.adopt(m)
	h.adopt(lone)
	j := newRetainJob()
	pass := func(d time.Duration) {
		h.advance(d)
		j.run(t.Context(), h.env())
	}
	retained := func(f *fakeShard) uint64 {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.retain
	}

	pass(0)
	wantActions(t, h.act.take(), "retain m 1 51", "retain b 1 8")
	pass(time.Second) // before RetainInterval
	wantActions(t, h.act.take())

	r3.crash() // a diskless replica that is down needs nothing
	pass(h.cfg.RetainInterval)
	wantActions(t, h.act.take(), "retain m 1 81", "retain b 1 8")

	r2.crash() // a durable replica that is down keeps its place until ReapAfter
	pass(h.cfg.RetainInterval)
	wantActions(t, h.act.take(), "retain m 1 81", "retain b 1 8")
	pass(h.cfg.ReapAfter)
	wantActions(t, h.act.take(), "retain m 1 91", "retain b 1 8")
	if got := retained(m); got != 91 {
		t.Fatalf("master retains %d, want 91", got)
	}

	m.crash() // no alive master: no order
	pass(h.cfg.RetainInterval)
	wantActions(t, h.act.take(), "retain b 1 8")
}
