package control

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/gossip"
)

// TestFailoverPicks covers the choice of the new master: the highest
// offset, durable before diskless, and the new epoch above the map's and
// every tag's.
func TestFailoverPicks(t *testing.T) {
	type node struct {
		name   string
		offset uint64
		epoch  uint64
		cached bool
	}
	for _, tc := range []struct {
		name      string
		replicas  []node
		wantNode  string
		wantEpoch uint64
	}{
		{"highest offset", []node{{"r1", 10, 2, false}, {"r2", 12, 2, false}, {"r3", 11, 2, false}}, "r2", 3},
		{"durable before diskless", []node{{"r1", 5, 2, false}, {"r3", 20, 2, true}}, "r1", 3},
		{"diskless as a last resort", []node{{"r3", 20, 2, true}}, "r3", 3},
		{"ties by name", []node{{"r2", 9, 2, false}, {"r1", 9, 2, false}}, "r1", 3},
		{"epoch above every tag", []node{{"r1", 5, 6, false}, {"r2", 4, 2, false}}, "r1", 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newJobHarness(t)
			m := h.shard("m", "a", gossip.ReplMaster, 2, 12)
			h.adopt(m)
			fakes := map[string]*fakeShard{}
			for _, r := range tc.replicas {
				f := h.shard(r.name, "a", gossip.ReplReplica, r.epoch, r.offset)
				if r.cached {
					f.update(func(f *fakeShard) { f.cached = true })
				}
				fakes[r.name] = f
			}
			m.crash()
			failover := newFailoverJob()
			failover.run(t.Context(), h.env())
			h.advance(h.cfg.FailoverAfter)
			failover.run(t.Context(), h.env())
			got := h.act.take()
			if len(got) != 1+len(tc.replicas) {
				t.Fatalf("actions %q", got)
			}
			if want := fmt.Sprintf("commit %s %d", tc.wantNode, tc.wantEpoch); got[0] != want {
				t.Fatalf("first action %q, want %q", got[0], want)
			}
			if want := fmt.Sprintf("promote %s %d", tc.wantNode, tc.wantEpoch); got[1] != want {
				t.Fatalf("second action %q, want %q", got[1], want)
			}
			if role, ep := fakes[tc.wantNode].state(); role != gossip.ReplMaster || ep != tc.wantEpoch {
				t.Fatalf("new master is %s at %d", role, ep)
			}
			for name, f := range fakes {
				if name == tc.wantNode {
					continue
				}
				if role, ep := f.state(); role != gossip.ReplReplica || ep != tc.wantEpoch || f.following != fakes[tc.wantNode].addr {
					t.Fatalf("%s is %s at %d following %s", name, role, ep, f.following)
				}
			}
			if e, _ := h.act.Map().Get("a"); e.Master != tc.wantNode || e.Epoch != tc.wantEpoch || e.Addr != fakes[tc.wantNode].addr {
				t.Fatalf("map entry %+v", e)
			}
			// Tags now agree with the map: nothing more to do.
			h.advance(time.Second)
			failover.run(t.Context(), h.env())
			convergeJob{}.run(t.Context(), h.env())
			wantActions(t, h.act.take())
		})
	}
}

// TestFailoverWaits checks that nothing happens before FailoverAfter and
// that the failover happens at once after it.
func TestFailoverWaits(t *testing.T) {
	h := newJobHarness(t)
	m := h.shard("m", "a", gossip.ReplMaster, 1, 5)
	r := h.shard("r", "a", gossip.ReplReplica, 1, 5)
	h.adopt(m)
	m.crash()
	j := newFailoverJob()
	for _, step := range []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond, 99 * time.Millisecond} {
		h.advance(step)
		j.run(t.Context(), h.env())
		wantActions(t, h.act.take())
	}
	h.advance(time.Millisecond) // 500 ms after the first sighting
	j.run(t.Context(), h.env())
	wantActions(t, h.act.take(), "commit r 2", "promote r 2")
	if role, ep := r.state(); role != gossip.ReplMaster || ep != 2 {
		t.Fatalf("r is %s at %d", role, ep)
	}
}

// TestFailoverFalseGossipFailure: gossip declares the master failed (a
// loaded node missing its probes) but the master answers the leader's
// PING: it keeps its place; once it stops answering, it is replaced.
func TestFailoverFalseGossipFailure(t *testing.T) {
	h := newJobHarness(t)
	h.cfg.ProbeTimeout = 100 * time.Millisecond
	m := h.shard("m", "a", gossip.ReplMaster, 1, 5)
	r := h.shard("r", "a", gossip.ReplReplica, 1, 5)
	h.adopt(m)
	h.net.Fail("m") // gossip only: m's RESP listener still answers
	j := newFailoverJob()
	pass := func(d time.Duration) {
		h.advance(d)
		j.run(t.Context(), h.env())
	}
	pass(0)
	pass(600 * time.Millisecond)
	wantActions(t, h.act.take())
	if role, _ := r.state(); role != gossip.ReplReplica {
		t.Fatal("r was promoted although its master answers PING")
	}
	m.update(func(f *fakeShard) { f.hang = true })
	pass(600 * time.Millisecond)
	wantActions(t, h.act.take(), "commit r 2", "promote r 2")
}

// TestFailoverFlappingLink: a replica's ml=down that clears within
// FailoverAfter while the master stays alive cancels the failover; one
// that stays, with a master answering PING, does not fail over either;
// with a hung master (PING times out) it does.
func TestFailoverFlappingLink(t *testing.T) {
	h := newJobHarness(t)
	h.cfg.ProbeTimeout = 100 * time.Millisecond
	h.act.timeout = 200 * time.Millisecond
	m := h.shard("m", "a", gossip.ReplMaster, 1, 5)
	r := h.shard("r", "a", gossip.ReplReplica, 1, 5)
	h.adopt(m)
	j := newFailoverJob()
	pass := func(d time.Duration) {
		h.advance(d)
		j.run(t.Context(), h.env())
	}

	r.update(func(f *fakeShard) { f.linkDown = true })
	pass(0)
	pass(300 * time.Millisecond)
	r.update(func(f *fakeShard) { f.linkDown = false }) // link back
	pass(100 * time.Millisecond)
	r.update(func(f *fakeShard) { f.linkDown = true }) // down again: a new wait
	pass(100 * time.Millisecond)
	pass(400 * time.Millisecond) // 900 ms after the first ml=down, 400 after the second
	wantActions(t, h.act.take())

	// The link stays down past FailoverAfter but the master answers PING.
	pass(100 * time.Millisecond)
	wantActions(t, h.act.take())
	if role, _ := r.state(); role != gossip.ReplReplica {
		t.Fatal("r was promoted although its master answers PING")
	}

	// The master hangs: PING fails, failover; the hung master, alive in
	// gossip, is told to follow.
	m.update(func(f *fakeShard) { f.hang = true })
	pass(100 * time.Millisecond) // the PING above restarted the wait
	wantActions(t, h.act.take())
	pass(400 * time.Millisecond)
	wantActions(t, h.act.take(), "commit r 2", "promote r 2", "follow m 2 "+r.addr)
}

// TestFailoverOrdersOnlyAfterCommit: a failed commit sends no order; once
// the commit succeeds, every order arrives with the map already holding
// its epoch.
func TestFailoverOrdersOnlyAfterCommit(t *testing.T) {
	h := newJobHarness(t)
	m := h.shard("m", "a", gossip.ReplMaster, 4, 5)
	r1 := h.shard("r1", "a", gossip.ReplReplica, 4, 5)
	r2 := h.shard("r2", "a", gossip.ReplReplica, 4, 3)
	h.adopt(m)
	var early []string
	for _, f := range []*fakeShard{r1, r2} {
		f.update(func(f *fakeShard) {
			f.onOrder = func(args []string) {
				if e, _ := h.act.Map().Get("a"); e.Epoch != 5 || e.Master != "r1" {
					early = append(early, fmt.Sprint(args, " with map ", e))
				}
			}
		})
	}
	m.crash()
	h.act.commitErr = errors.New("raft: leadership lost while committing log")
	j := newFailoverJob()
	j.run(t.Context(), h.env())
	h.advance(h.cfg.FailoverAfter)
	j.run(t.Context(), h.env())
	wantActions(t, h.act.take(), "commit r1 5")
	if n := len(r1.ordersOf("")) + len(r2.ordersOf("")); n != 0 {
		t.Fatalf("%d orders sent after a failed commit", n)
	}
	h.act.commitErr = nil
	h.advance(h.cfg.Tick)
	j.run(t.Context(), h.env())
	wantActions(t, h.act.take(), "commit r1 5", "promote r1 5", "follow r2 5 "+r1.addr)
	if len(early) > 0 {
		t.Fatalf("orders arrived before the commit: %q", early)
	}
	if len(r1.ordersOf("PROMOTE")) != 1 || len(r2.ordersOf("FOLLOW")) != 1 {
		t.Fatalf("orders: r1 %v, r2 %v", r1.ordersOf(""), r2.ordersOf(""))
	}
}

// TestFailoverWithoutCandidates: no alive replica answering ROLE, no
// commit.
func TestFailoverWithoutCandidates(t *testing.T) {
	h := newJobHarness(t)
	m := h.shard("m", "a", gossip.ReplMaster, 1, 5)
	r := h.shard("r", "a", gossip.ReplReplica, 1, 5)
	h.adopt(m)
	m.crash()
	r.crash()
	j := newFailoverJob()
	j.run(t.Context(), h.env())
	h.advance(time.Second)
	j.run(t.Context(), h.env())
	wantActions(t, h.act.take())
	if e, _ := h.act.Map().Get("a"); e.Master != "m" || e.Epoch != 1 {
		t.Fatalf("map changed: %+v", e)
	}
}
