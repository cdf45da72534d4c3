package control

import (
	"testing"
	"time"

	"github.com/shoal-kv/shoal/gossip"
)

// TestConvergeFinishesFailover: the map names a new master that was never
// told (its leader died between commit and orders): the orders go out,
// again every OrderRetry while they are lost, and stop once the tags agree.
// A returning old master is told to follow; a master whose tags run ahead
// of the map gets a fresh epoch first.
func TestConvergeFinishesFailover(t *testing.T) {
	h := newJobHarness(t)
	m := h.shard("m", "a", gossip.ReplMaster, 2, 9)
	r1 := h.shard("r1", "a", gossip.ReplReplica, 2, 9)
	h.shard("r2", "a", gossip.ReplReplica, 2, 8)
	h.adopt(m)
	m.crash()
	// The previous leader committed r1 at epoch 3, then died.
	if err := h.act.fsm.apply(command{Op: opSetMaster, Entry: Entry{Shard: "a", Master: "r1", Addr: r1.addr, Epoch: 3}}); err != nil {
		t.Fatal(err)
	}
	r1.update(func(f *fakeShard) { f.drop = true }) // the first orders get lost
	pass := func(d time.Duration) {
		h.advance(d)
		convergeJob{}.run(t.Context(), h.env())
	}
	pass(0)
	wantActions(t, h.act.take(), "promote r1 3", "follow r2 3 "+r1.addr)
	pass(100 * time.Millisecond) // within OrderRetry: not again
	wantActions(t, h.act.take())
	pass(h.cfg.OrderRetry)
	wantActions(t, h.act.take(), "promote r1 3")
	r1.update(func(f *fakeShard) { f.drop = false })
	pass(h.cfg.OrderRetry)
	wantActions(t, h.act.take(), "promote r1 3")
	if role, ep := r1.state(); role != gossip.ReplMaster || ep != 3 {
		t.Fatalf("r1 is %s at %d", role, ep)
	}
	if got := len(r1.ordersOf("PROMOTE")); got != 3 {
		t.Fatalf("r1 got %d PROMOTEs, want 3 (2 dropped)", got)
	}
	pass(time.Second)
	wantActions(t, h.act.take())

	// The old master comes back as master at its old epoch.
	m2 := h.shard("m", "a", gossip.ReplMaster, 2, 10)
	pass(0)
	wantActions(t, h.act.take(), "follow m 3 "+r1.addr)
	if role, ep := m2.state(); role != gossip.ReplReplica || ep != 3 {
		t.Fatalf("old master is %s at %d", role, ep)
	}

	// r1 somehow knows a later epoch without being master at it.
	r1.update(func(f *fakeShard) { f.role, f.epoch = gossip.ReplReplica, 6 })
	pass(0)
	wantActions(t, h.act.take(), "commit r1 7", "promote r1 7", "follow m 7 "+r1.addr, "follow r2 7 "+r1.addr)
}

// TestConvergeWaitsForFailover: a dead map master gets no orders and its
// replicas are not re-pointed by convergeJob (failoverJob decides).
func TestConvergeWaitsForFailover(t *testing.T) {
	h := newJobHarness(t)
	m := h.shard("m", "a", gossip.ReplMaster, 2, 9)
	h.shard("r1", "a", gossip.ReplReplica, 1, 9)
	h.adopt(m)
	m.crash()
	convergeJob{}.run(t.Context(), h.env())
	wantActions(t, h.act.take())
}
