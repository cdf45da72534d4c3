package control

import (
	"testing"

	"github.com/shoal-kv/shoal/gossip"
)

func TestDiscover(t *testing.T) {
	h := newJobHarness(t)
	pass := func() { discoverJob{}.run(t.Context(), h.env()) }
	a1 := h.shard("a1", "a", gossip.ReplMaster, 0, 1)
	h.shard("a2", "a", gossip.ReplReplica, 0, 1)
	h.shard("b1", "b", gossip.ReplReplica, 4, 1) // no master: not adopted
	pass()
	wantActions(t, h.act.take(), "commit a1")
	if e, ok := h.act.Map().Get("a"); !ok || e.Master != "a1" || e.Addr != a1.addr || e.Epoch != 0 {
		t.Fatalf("adopted %+v", e)
	}
	pass()
	wantActions(t, h.act.take())

	// Two masters show up for c at the same epoch: the lowest name.
	h.shard("c2", "c", gossip.ReplMaster, 3, 1)
	h.shard("c1", "c", gossip.ReplMaster, 3, 1)
	pass()
	wantActions(t, h.act.take(), "commit c1 3")

	// a3 promoted by hand at a higher epoch: the map follows it.
	h.shard("a3", "a", gossip.ReplMaster, 5, 1)
	pass()
	wantActions(t, h.act.take(), "commit a3 5")
	// A lower epoch master does not move the map back.
	a1.update(func(f *fakeShard) { f.epoch = 4 })
	pass()
	wantActions(t, h.act.take())

	// a3 restarts on another address at the same epoch: address update.
	tags := h.net.Node("a3").LocalMember().Tags
	tags.RESPAddr = "127.0.0.1:9"
	if err := h.net.SetTags("a3", tags); err != nil {
		t.Fatal(err)
	}
	pass()
	wantActions(t, h.act.take(), "commit a3 5")
	if e, _ := h.act.Map().Get("a"); e.Addr != "127.0.0.1:9" {
		t.Fatalf("address not updated: %+v", e)
	}
}

// TestDiscoverAdoptsADeadMaster: a shard whose master failed before any
// leader adopted it is adopted with that master (gossip keeps its last
// tags), so the failover job replaces it; a known shard never moves back
// to a dead master.
func TestDiscoverAdoptsADeadMaster(t *testing.T) {
	h := newJobHarness(t)
	pass := func() { discoverJob{}.run(t.Context(), h.env()) }
	h.shard("d1", "d", gossip.ReplMaster, 2, 10)
	h.shard("d2", "d", gossip.ReplReplica, 2, 9)
	h.net.Fail("d1")
	pass()
	wantActions(t, h.act.take(), "commit d1 2")
	if e, ok := h.act.Map().Get("d"); !ok || e.Master != "d1" || e.Epoch != 2 {
		t.Fatalf("adopted %+v", e)
	}
	// A dead node announcing a higher epoch does not move a known shard.
	h.shard("d3", "d", gossip.ReplMaster, 7, 1)
	h.net.Fail("d3")
	pass()
	wantActions(t, h.act.take())
}
