package control

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/gossip/gossiptest"
	"github.com/shoal-kv/shoal/internal/testutil"
)

// Real raft over loopback TCP. Cluster tests put each control node in a
// gossiptest network, where a test can crash nodes and partition gossip on
// cue; the raft side of a partition is cut in the transport (cutStream).
// Every node's actions go to one actionLog.

// testConfig returns the node config the cluster tests use: defaults,
// except a shorter bootstrap grace and a frequent retention job, so every
// leader acts at once in its term.
func testConfig(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.BootstrapGrace = 200 * time.Millisecond
	cfg.RetainInterval = 200 * time.Millisecond
	cfg.Logger = testutil.Logger(t)
	return cfg
}

// actionLog collects the actions of every node.
type actionLog struct {
	mu   sync.Mutex
	list []loggedAction
}

type loggedAction struct {
	by string // the node whose hook reported it
	a  Action
}

func (l *actionLog) hook(by string) func(Action) {
	return func(a Action) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.list = append(l.list, loggedAction{by, a})
	}
}

func (l *actionLog) all() []loggedAction {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.list)
}

// checkOneLeaderPerTerm fails the test if two nodes acted in one term (or
// a node reported an action under another node's name), and returns the
// acting leader of each term.
func (l *actionLog) checkOneLeaderPerTerm(t *testing.T) map[uint64]string {
	t.Helper()
	leaders := map[uint64]string{}
	for _, x := range l.all() {
		if x.a.Leader != x.by {
			t.Fatalf("%s reported an action as %s: %v", x.by, x.a.Leader, x.a)
		}
		if prev, ok := leaders[x.a.Term]; ok && prev != x.by {
			t.Fatalf("term %d: both %s and %s acted (%v)", x.a.Term, prev, x.by, x.a)
		}
		leaders[x.a.Term] = x.by
	}
	return leaders
}

// cutStream wraps raft's stream layer so a test can cut a node off: while
// cut, its dials fail, connections to it are closed on accept, and the
// ones it had are closed when the cut starts.
type cutStream struct {
	raft.StreamLayer
	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

var errCut = errors.New("test: raft transport cut")

func (s *cutStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	s.mu.Lock()
	cut := s.cut
	s.mu.Unlock()
	if cut {
		return nil, errCut
	}
	c, err := s.StreamLayer.Dial(addr, timeout)
	if err == nil {
		s.track(c)
	}
	return c, err
}

func (s *cutStream) Accept() (net.Conn, error) {
	for {
		c, err := s.StreamLayer.Accept()
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		cut := s.cut
		s.mu.Unlock()
		if cut {
			c.Close()
			continue
		}
		s.track(c)
		return c, nil
	}
}

func (s *cutStream) track(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cut {
		c.Close()
		return
	}
	s.conns = append(s.conns, c)
}

func (s *cutStream) setCut(cut bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cut = cut
	if cut {
		for _, c := range s.conns {
			c.Close()
		}
		s.conns = nil
	}
}

// ctlNode is a shard node that runs the control plane: a fake shardd and
// a Node sharing one gossip identity.
type ctlNode struct {
	name   string
	fake   *fakeShard
	node   *Node
	stream *cutStream
	dir    string
}

type cluster struct {
	t   *testing.T
	net *gossiptest.Network
	log *actionLog
	mu  sync.Mutex
	all map[string]*ctlNode
	cfg func(*Config) // per-test changes
}

func newCluster(t *testing.T) *cluster {
	return &cluster{t: t, net: gossiptest.NewNetwork(), log: &actionLog{}, all: map[string]*ctlNode{}}
}

// start starts a shard node (fake) that also runs a control Node; dir ""
// makes it an in-memory non-voter.
func (c *cluster) start(name, shard string, role gossip.ReplRole, epoch, offset uint64, expect int, dir string) *ctlNode {
	t := c.t
	t.Helper()
	ln := testutil.Listen(t)
	f := newFakeShard(t, c.net, name, shard, role, epoch, offset)
	f.extra = raftTags(ln, dir != "")
	cn := &ctlNode{name: name, fake: f, dir: dir}
	cfg := nodeConfig(t, name, f.join(), ln, dir, expect)
	cfg.OnAction = c.log.hook(name)
	cfg.wrapStream = func(s raft.StreamLayer) raft.StreamLayer {
		cn.stream = &cutStream{StreamLayer: s}
		return cn.stream
	}
	if c.cfg != nil {
		c.cfg(&cfg)
	}
	cn.node = startNode(t, cfg)
	c.mu.Lock()
	c.all[name] = cn
	c.mu.Unlock()
	return cn
}

// startVoters starts n voters a1..an, the nodes of shard a (a1 master),
// expecting n voters for the bootstrap.
func (c *cluster) startVoters(n int) {
	for i := range n {
		role := gossip.ReplReplica
		if i == 0 {
			role = gossip.ReplMaster
		}
		c.start(fmt.Sprintf("a%d", i+1), "a", role, 1, 10, n, c.t.TempDir())
	}
}

// startShardB starts fake nodes b1 (master, offset 100), b2 (99) and b3
// (98) of shard b at epoch, without control.
func (c *cluster) startShardB(epoch uint64) (b1, b2, b3 *fakeShard) {
	b1 = startFakeShard(c.t, c.net, "b1", "b", gossip.ReplMaster, epoch, 100)
	b2 = startFakeShard(c.t, c.net, "b2", "b", gossip.ReplReplica, epoch, 99)
	b3 = startFakeShard(c.t, c.net, "b3", "b", gossip.ReplReplica, epoch, 98)
	return b1, b2, b3
}

// raftTags are the gossip tags of a node running control.
func raftTags(ln net.Listener, voter bool) map[string]string {
	m := map[string]string{gossip.KeyRaftAddr: ln.Addr().String()}
	if voter {
		m[gossip.KeyRaftVoter] = "1"
	}
	return m
}

// nodeConfig is testConfig for node name on membership m and listener ln;
// dir "" makes an in-memory non-voter.
func nodeConfig(t *testing.T, name string, m gossip.Membership, ln net.Listener, dir string, expect int) Config {
	cfg := testConfig(t)
	cfg.Logger = cfg.Logger.With("test_node", name)
	cfg.Membership = m
	cfg.Events = m.Events()
	cfg.RaftListener = ln
	cfg.DataDir = dir
	cfg.Voter = dir != ""
	cfg.BootstrapExpect = expect
	return cfg
}

// startNode creates and starts a Node, closed when the test ends.
func startNode(t *testing.T, cfg Config) *Node {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	if err := n.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return n
}

// kill stops a node hard: raft without leadership transfer, the fake
// shardd, and its gossip node (seen failed by the others).
func (c *cluster) kill(cn *ctlNode) {
	cn.node.Close()
	cn.fake.crash()
	c.mu.Lock()
	delete(c.all, cn.name)
	c.mu.Unlock()
}

func (c *cluster) nodes() []*ctlNode {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*ctlNode, 0, len(c.all))
	for _, n := range c.all {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *ctlNode) int { return strings.Compare(a.name, b.name) })
	return out
}

// waitLeader waits until exactly one running node not in exclude is the
// leader, and every running node not in exclude names it.
func (c *cluster) waitLeader(timeout time.Duration, exclude ...string) *ctlNode {
	c.t.Helper()
	var leader *ctlNode
	testutil.WaitFor(c.t, timeout, func() (bool, string) {
		leader = nil
		var leaders []string
		for _, n := range c.nodes() {
			if n.node.IsLeader() && !slices.Contains(exclude, n.name) {
				leader = n
				leaders = append(leaders, n.name)
			}
		}
		if len(leaders) != 1 {
			return false, fmt.Sprintf("leaders %v", leaders)
		}
		for _, n := range c.nodes() {
			if id, _ := n.node.Leader(); id != leader.name && !slices.Contains(exclude, n.name) {
				return false, fmt.Sprintf("%s sees leader %q, not %s", n.name, id, leader.name)
			}
		}
		return true, ""
	})
	c.t.Logf("leader: %s", leader.name)
	return leader
}

// waitMap waits until every running node's map has shard at master and
// epoch.
func (c *cluster) waitMap(timeout time.Duration, shard, master string, epoch uint64) {
	c.t.Helper()
	testutil.WaitFor(c.t, timeout, func() (bool, string) {
		for _, n := range c.nodes() {
			if e, _ := n.node.Map().Get(shard); e.Master != master || e.Epoch != epoch {
				return false, fmt.Sprintf("%s: %s is %+v", n.name, shard, e)
			}
		}
		return true, ""
	})
}

func servers(t *testing.T, n *Node) []raft.Server {
	t.Helper()
	f := n.raftNode().GetConfiguration()
	if err := f.Error(); err != nil {
		t.Fatal(err)
	}
	return f.Configuration().Servers
}

// TestClusterFailover: three voters (the nodes of shard a, a1 master) and
// shard b without control nodes. The leader adopts both shards; a
// non-voter in memory joins and gets the map; b's master crashes and the
// leader promotes the replica with the highest offset, ordering it only
// once the map holds the new epoch.
func TestClusterFailover(t *testing.T) {
	c := newCluster(t)
	c.startVoters(3)
	b1, b2, b3 := c.startShardB(4)
	leader := c.waitLeader(10 * time.Second)
	t.Logf("leader %s", leader.name)
	c.waitMap(5*time.Second, "a", "a1", 1)
	c.waitMap(5*time.Second, "b", "b1", 4)

	// A diskless non-voter joins: added as a non-voter, holds the map.
	nv := c.start("b4", "b", gossip.ReplReplica, 4, 90, 1, "")
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		for _, s := range servers(t, leader.node) {
			if s.ID == "b4" {
				return s.Suffrage == raft.Nonvoter, fmt.Sprintf("b4 is %v", s.Suffrage)
			}
		}
		return false, "b4 not in raft"
	})
	c.waitMap(5*time.Second, "b", "b1", 4)
	if got, _ := nv.node.AppendMap(nil); !strings.Contains(string(got), "$2\r\nb1\r\n") {
		t.Fatalf("non-voter's SHOAL MAP %q", got)
	}

	// b1 crashes: b2 (highest offset) becomes master at epoch 5.
	var early []string
	var mu sync.Mutex
	b2.update(func(f *fakeShard) {
		f.onOrder = func(args []string) {
			if args[1] != "PROMOTE" {
				return
			}
			for _, n := range c.nodes() {
				if e, _ := n.node.Map().Get("b"); e.Master == "b2" && e.Epoch == 5 {
					return
				}
			}
			mu.Lock()
			early = append(early, strings.Join(args, " "))
			mu.Unlock()
		}
	})
	start := time.Now()
	b1.crash()
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		role, ep := b2.state()
		return role == gossip.ReplMaster && ep == 5, fmt.Sprintf("b2 is %s at %d", role, ep)
	})
	t.Logf("failover of b: b2 master %v after b1 crashed (FailoverAfter %v)", time.Since(start).Round(time.Millisecond), DefaultConfig().FailoverAfter)
	mu.Lock()
	if len(early) > 0 {
		t.Fatalf("PROMOTE before the map had it: %q", early)
	}
	mu.Unlock()
	c.waitMap(5*time.Second, "b", "b2", 5)
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		for _, f := range []*fakeShard{b3, nv.fake} {
			if role, ep := f.state(); role != gossip.ReplReplica || ep != 5 {
				return false, fmt.Sprintf("%s is %s at %d", f.name, role, ep)
			}
		}
		return true, ""
	})
	// Retention goes to the new master.
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		return len(b2.ordersOf("RETAIN")) > 0, "no RETAIN at b2"
	})
	c.log.checkOneLeaderPerTerm(t)
}

// TestClusterNewLeaderFinishesFailover: the leader commits a failover but
// its orders are lost and it dies; the next leader sends the same orders
// at the same epoch instead of starting another failover.
func TestClusterNewLeaderFinishesFailover(t *testing.T) {
	c := newCluster(t)
	c.startVoters(3)
	b1, b2, b3 := c.startShardB(4)
	first := c.waitLeader(10 * time.Second)
	c.waitMap(5*time.Second, "b", "b1", 4)

	b2.update(func(f *fakeShard) { f.drop = true }) // orders to b2 get lost
	b1.crash()
	c.waitMap(5*time.Second, "b", "b2", 5)
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		return len(b2.ordersOf("PROMOTE")) > 0, "no PROMOTE reached b2"
	})
	c.kill(first)
	b2.update(func(f *fakeShard) { f.drop = false })
	start := time.Now()
	second := c.waitLeader(10*time.Second, first.name)
	t.Logf("new leader %s after %v", second.name, time.Since(start).Round(time.Millisecond))
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		role, ep := b2.state()
		return role == gossip.ReplMaster && ep == 5, fmt.Sprintf("b2 is %s at %d", role, ep)
	})
	t.Logf("b2 promoted %v after the first leader died", time.Since(start).Round(time.Millisecond))
	if role, ep := b3.state(); role != gossip.ReplReplica || ep != 5 {
		t.Fatalf("b3 is %s at %d", role, ep)
	}
	// The first leader committed b's failover; the second only ordered.
	var commits, promotes []string
	for _, x := range c.log.all() {
		if x.a.Shard != "b" {
			continue
		}
		switch x.a.Kind {
		case ActCommit:
			commits = append(commits, x.by+" "+x.a.Detail)
		case ActPromote:
			promotes = append(promotes, fmt.Sprint(x.by, " ", x.a.Node, " ", x.a.Epoch))
		}
	}
	if len(commits) != 2 || !strings.HasPrefix(commits[1], first.name+" set-master shard=b master=b2") {
		t.Fatalf("commits for b: %q (want the adoption and one failover, by %s)", commits, first.name)
	}
	if !slices.Contains(promotes, fmt.Sprint(second.name, " b2 5")) {
		t.Fatalf("promotes for b: %q (want one by %s at epoch 5)", promotes, second.name)
	}
	c.log.checkOneLeaderPerTerm(t)
}

// TestClusterOneActorPerTerm records every action of every node across a
// leader kill and a partition of the next leader (raft transport cut and
// gossip split), while shard b fails over, and checks that no two nodes
// ever acted in the same term.
func TestClusterOneActorPerTerm(t *testing.T) {
	c := newCluster(t)
	c.startVoters(5)
	b1, _, _ := c.startShardB(1)
	first := c.waitLeader(10 * time.Second)
	c.waitMap(5*time.Second, "b", "b1", 1)

	// Kill the leader.
	c.kill(first)
	second := c.waitLeader(10*time.Second, first.name)
	// Give the second leader something to do (a new shard to adopt), so
	// that it acts in its term before it is cut off: a leader with
	// nothing to do takes no action to record.
	startFakeShard(c.t, c.net, "c1", "c", gossip.ReplMaster, 1, 10)
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		for _, x := range c.log.all() {
			if x.by == second.name {
				return true, ""
			}
		}
		return false, second.name + " has not acted yet"
	})

	// Cut the second leader off (raft and gossip), with b's master on its
	// side: the majority fails b over; the old leader steps down.
	var others []string
	for _, n := range c.nodes() {
		if n != second {
			others = append(others, n.name)
		}
	}
	others = append(others, "b2", "b3")
	second.stream.setCut(true)
	c.net.Partition([]string{second.name, "b1"}, others)
	b1.update(func(f *fakeShard) { f.hang = true }) // the cut reaches RESP too: the leader's PING gets no answer
	third := c.waitLeader(10*time.Second, second.name)
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		return !second.node.IsLeader(), "the cut-off leader still leads"
	})
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		e, _ := third.node.Map().Get("b")
		return e.Master != "b1" && e.Epoch == 2, fmt.Sprintf("b is %+v", e)
	})

	// Heal: one leader, one map, b1 told to follow.
	b1.update(func(f *fakeShard) { f.hang = false })
	second.stream.setCut(false)
	c.net.Heal()
	leader := c.waitLeader(10 * time.Second)
	e, _ := leader.node.Map().Get("b")
	c.waitMap(5*time.Second, "b", e.Master, 2)
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		role, ep := b1.state()
		return role == gossip.ReplReplica && ep == 2, fmt.Sprintf("b1 is %s at %d", role, ep)
	})

	leaders := c.log.checkOneLeaderPerTerm(t)
	t.Logf("acting leader per term: %v", leaders)
	if len(leaders) < 3 {
		t.Fatalf("actions in %d terms only (%v): the scenario did not exercise leadership changes", len(leaders), leaders)
	}
	for _, name := range []string{first.name, second.name, third.name} {
		if !slices.Contains(slices.Collect(maps.Values(leaders)), name) {
			t.Fatalf("%s never acted (%v)", name, leaders)
		}
	}
}

// TestShutdownHandsOverLeadership: a leader shut down gracefully hands its
// leadership to another voter, faster than any follower could notice its
// absence (HeartbeatTimeout).
func TestShutdownHandsOverLeadership(t *testing.T) {
	c := newCluster(t)
	c.startVoters(3)
	l := c.waitLeader(10 * time.Second)
	c.waitMap(5*time.Second, "a", "a1", 1)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := l.node.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	var next *ctlNode
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		for _, n := range c.nodes() {
			if n != l && n.node.IsLeader() {
				next = n
				return true, ""
			}
		}
		return false, "no new leader"
	})
	d := time.Since(start)
	t.Logf("graceful shutdown of leader %s: %s leads %v later", l.name, next.name, d.Round(time.Millisecond))
	if hb := DefaultConfig().HeartbeatTimeout; d >= hb {
		t.Fatalf("new leader after %v, not before HeartbeatTimeout %v: no leadership transfer?", d, hb)
	}
	if err := l.node.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}
