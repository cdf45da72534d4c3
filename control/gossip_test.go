package control

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/internal/testutil"
)

// Tests over real serf agents (fast profile, kernel-chosen ports on
// 127.0.0.1) and real raft over loopback TCP.

// realNode is a control node with its own gossip agent, announcing a shard
// of its own (a fake shardd answers for it).
type realNode struct {
	name  string
	dir   string
	agent *gossip.Agent
	node  *Node
}

// startReal starts a gossip agent joined to join and a control node on it.
// dir "" makes an in-memory non-voter.
func startReal(t *testing.T, name, dir string, expect int, join ...string) *realNode {
	t.Helper()
	f := newFakeShard(t, nil, name, "s-"+name, gossip.ReplMaster, 1, 0)
	ln := testutil.Listen(t)
	gc := gossip.DefaultConfig()
	gc.NodeName = name
	gc.BindAddr, gc.BindPort = "127.0.0.1", 0
	gc.Profile = gossip.ProfileFast
	gc.JoinBackoffMin, gc.JoinBackoffMax = 50*time.Millisecond, 500*time.Millisecond
	gc.Tags = f.tags()
	gc.Tags.Extra = raftTags(ln, dir != "")
	gc.Logger = testutil.Logger(t).With("test_node", name)
	agent, err := gossip.New(gc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close() })
	if len(join) > 0 {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if err := agent.Join(ctx, join); err != nil {
			t.Fatal(err)
		}
	}
	n := startNode(t, nodeConfig(t, name, agent, ln, dir, expect))
	if n.RaftAddr() != ln.Addr().String() {
		t.Fatalf("RaftAddr %s, listener %s", n.RaftAddr(), ln.Addr())
	}
	return &realNode{name: name, dir: dir, agent: agent, node: n}
}

func (r *realNode) gossipAddr() string { return r.agent.Addr().String() }

// kill stops the node hard: raft without handing over leadership, gossip
// without leaving.
func (r *realNode) kill() {
	r.node.Close()
	r.agent.Close()
}

// leaderOf returns the single node of ns that leads, or nil.
func leaderOf(ns []*realNode) *realNode {
	var l *realNode
	for _, n := range ns {
		if n.node.IsLeader() {
			if l != nil {
				return nil
			}
			l = n
		}
	}
	return l
}

// waitAgreed waits until one node of ns leads, every node names it and
// holds a map with want shards; it returns the leader.
func waitAgreed(t *testing.T, timeout time.Duration, ns []*realNode, want int) *realNode {
	t.Helper()
	var l *realNode
	testutil.WaitFor(t, timeout, func() (bool, string) {
		if l = leaderOf(ns); l == nil {
			return false, "no single leader"
		}
		for _, n := range ns {
			if id, _ := n.node.Leader(); id != l.name {
				return false, fmt.Sprintf("%s sees leader %q, not %s", n.name, id, l.name)
			}
			if got := len(n.node.Map()); got != want {
				return false, fmt.Sprintf("%s's map has %d shards, want %d", n.name, got, want)
			}
		}
		return true, ""
	})
	return l
}

func TestBootstrapExpect(t *testing.T) {
	t.Run("one", func(t *testing.T) {
		n := startReal(t, "solo", t.TempDir(), 1)
		waitAgreed(t, 10*time.Second, []*realNode{n}, 1)
		if s := servers(t, n.node); len(s) != 1 || s[0].ID != "solo" || s[0].Suffrage != raft.Voter {
			t.Fatalf("servers %+v", s)
		}
		if got, _ := n.node.AppendMap(nil); string(got) == "*0\r\n" {
			t.Fatal("a cluster of one has no map")
		}
	})
	t.Run("three", func(t *testing.T) {
		a := startReal(t, "a", t.TempDir(), 3)
		b := startReal(t, "b", t.TempDir(), 3, a.gossipAddr())
		// Two voters of three: no bootstrap, however long they wait.
		deadline := time.Now().Add(4 * (a.node.cfg.BootstrapGrace + a.node.cfg.ElectionTimeout))
		for time.Now().Before(deadline) {
			for _, n := range []*realNode{a, b} {
				if id, _ := n.node.Leader(); id != "" || len(servers(t, n.node)) != 0 {
					t.Fatalf("%s: bootstrapped with two of three voters (leader %q)", n.name, id)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		start := time.Now()
		c := startReal(t, "c", t.TempDir(), 3, a.gossipAddr())
		ns := []*realNode{a, b, c}
		l := waitAgreed(t, 10*time.Second, ns, 3)
		t.Logf("leader %s elected %v after the third voter started", l.name, time.Since(start).Round(time.Millisecond))
		s := servers(t, l.node)
		if len(s) != 3 || slices.ContainsFunc(s, func(s raft.Server) bool { return s.Suffrage != raft.Voter }) {
			t.Fatalf("servers %+v", s)
		}
		// An in-memory non-voter joins later: added by the leader, gets the map.
		d := startReal(t, "d", "", 3, a.gossipAddr())
		waitAgreed(t, 10*time.Second, append(ns, d), 4)
		testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
			for _, s := range servers(t, l.node) {
				if s.ID == "d" {
					return s.Suffrage == raft.Nonvoter, fmt.Sprintf("d is %v", s.Suffrage)
				}
			}
			return false, "d not in raft"
		})
	})
}

// TestLeaderKill kills the leader of three voters (hard: no leadership
// transfer, no gossip leave) three times, measures how long until another
// node leads, and restarts the killed node from its data dir (after a
// raft snapshot, so the restart restores the map from it): it rejoins
// under a new raft address.
func TestLeaderKill(t *testing.T) {
	a := startReal(t, "a", t.TempDir(), 3)
	b := startReal(t, "b", t.TempDir(), 3, a.gossipAddr())
	c := startReal(t, "c", t.TempDir(), 3, a.gossipAddr())
	ns := []*realNode{a, b, c}
	var times []time.Duration
	for round := range 3 {
		l := waitAgreed(t, 10*time.Second, ns, 3)
		for _, n := range ns {
			testutil.WaitFor(t, 5*time.Second, func() (bool, string) { // refused while a configuration change is applied
				err := n.node.raftNode().Snapshot().Error()
				return err == nil || errors.Is(err, raft.ErrNothingNewToSnapshot), fmt.Sprint(err)
			})
		}
		var rest []*realNode
		for _, n := range ns {
			if n != l {
				rest = append(rest, n)
			}
		}
		start := time.Now()
		l.kill()
		var next *realNode
		for next == nil {
			if time.Since(start) > 10*time.Second {
				t.Fatal("no new leader within 10 s")
			}
			time.Sleep(2 * time.Millisecond)
			next = leaderOf(rest)
		}
		d := time.Since(start)
		times = append(times, d)
		t.Logf("round %d: killed leader %s, %s leads after %v", round, l.name, next.name, d.Round(time.Millisecond))

		// Restart the killed node from its data dir, once gossip has
		// declared its old incarnation failed (serf accepts a node under
		// the same name on a new address only then).
		testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
			for _, n := range rest {
				for _, m := range n.agent.Members() {
					if m.Name == l.name && m.Status == gossip.StatusAlive {
						return false, n.name + " still sees " + l.name + " alive"
					}
				}
			}
			return true, ""
		})
		r := startReal(t, l.name, l.dir, 3, rest[0].gossipAddr())
		ns = append(rest, r)
		waitAgreed(t, 10*time.Second, ns, 3)
		testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
			for _, s := range servers(t, next.node) {
				if string(s.ID) == r.name {
					return string(s.Address) == r.node.RaftAddr(), fmt.Sprintf("%s at %s in raft, now at %s", r.name, s.Address, r.node.RaftAddr())
				}
			}
			return false, r.name + " not in raft"
		})
	}
	worst := slices.Max(times)
	t.Logf("new leader after a hard kill of the leader: %v (max %v; HeartbeatTimeout %v)", times, worst, DefaultConfig().HeartbeatTimeout)
	if worst > 3*time.Second {
		t.Fatalf("re-election took %v", worst)
	}
}
