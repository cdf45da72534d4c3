// Package gossiptest is an in-memory gossip cluster for unit tests of code
// that consumes gossip.Membership (the frontend's router, the leader). A
// Network holds nodes; tests make them join, fail, leave, change tags, and
// split the network into partitions and heal it. Every node keeps its own
// view and event stream, updated the way serf would update them, but
// synchronously: when a Network method returns, every affected view and
// event queue already reflects the change (events are then handed to the
// Events channels by a goroutine per node, promptly and in order).
//
//	net := gossiptest.NewNetwork()
//	fe := net.Join("fe-1", feTags)
//	events := fe.Events()
//	net.Join("shard-a-1", shardTags("a", gossip.ReplMaster))   // fe sees Joined
//	net.Fail("shard-a-1")                                      // fe sees Failed
//	net.Partition([]string{"fe-1"}, []string{"shard-b-1"})     // each sees the other Failed
//	net.Heal()                                                 // Joined again
//
// The model, and where it simplifies serf:
//   - A node sees another as failed when that node crashed (Fail) or when
//     the two are on opposite sides of a partition; as left when it left
//     (Leave) and the two can communicate; as alive otherwise. A node that
//     left while unreachable shows as failed until Heal, then as left.
//   - Partition(a, b) cuts every link between a node of a and a node of b.
//     Nodes named in neither keep reaching everyone (no indirect probes).
//   - A node never learns of a member it has not seen alive: a node that
//     joins while partitioned from m does not list m until they can talk.
//   - A failed or left node's view is frozen and its Events channel closed,
//     as an Agent's after Close. Joining again under the same name starts a
//     new incarnation with a new address, which others see as Joined.
//   - Failed and left members stay listed until Reap.
//   - Events start at the first Events call, as with gossip.Agent.
//
// All methods are safe for concurrent use.
package gossiptest

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/gossip/internal/eventq"
)

// Network is an in-memory cluster. The zero value is not usable; call
// NewNetwork.
type Network struct {
	mu      sync.Mutex
	nodes   map[string]*nodeState // current incarnation of every name not reaped
	blocked map[[2]string]bool    // unordered pairs that cannot communicate
	seq     uint32                // address allocator
}

// state of a node incarnation, as the network (not any view) knows it.
type lifecycle int

const (
	running lifecycle = iota
	crashed
	departed
)

type nodeState struct {
	name  string
	addr  netip.AddrPort
	tags  gossip.Tags
	life  lifecycle
	node  *Node
	views map[string]gossip.Member // this node's view; frozen once it stops
}

// NewNetwork returns an empty network.
func NewNetwork() *Network {
	return &Network{nodes: make(map[string]*nodeState), blocked: make(map[[2]string]bool)}
}

// Node is one member of a Network, with its own view and event stream. It
// implements gossip.Membership.
type Node struct {
	net        *Network
	name       string
	addr       netip.AddrPort
	events     *eventq.Queue[gossip.Event]
	subscribed bool // guarded by net.mu
	st         *nodeState
}

var _ gossip.Membership = (*Node)(nil)

// Join adds a running node named name with tags and returns it. Every
// node that can reach it sees it Joined; it sees them. If name belongs to
// a failed or left node, this is a restart: a new incarnation with a new
// address. Join panics if tags are invalid or name is already running: both
// are mistakes in the test.
func (n *Network) Join(name string, tags gossip.Tags) *Node {
	if err := tags.Validate(); err != nil {
		panic(fmt.Sprintf("gossiptest: Join(%q): %v", name, err))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if old, ok := n.nodes[name]; ok && old.life == running {
		panic(fmt.Sprintf("gossiptest: Join(%q): a node with that name is running", name))
	}
	n.seq++
	st := &nodeState{
		name:  name,
		addr:  netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(n.seq >> 16), byte(n.seq >> 8), byte(n.seq)}), 7946),
		tags:  tags,
		views: make(map[string]gossip.Member),
	}
	st.node = &Node{net: n, name: name, addr: st.addr, events: eventq.New[gossip.Event](64), st: st}
	n.nodes[name] = st
	n.propagate(st)
	return st.node
}

// Node returns the current incarnation of name, or nil.
func (n *Network) Node(name string) *Node {
	n.mu.Lock()
	defer n.mu.Unlock()
	if st, ok := n.nodes[name]; ok {
		return st.node
	}
	return nil
}

// Fail crashes node name (as Agent.Close, or kill -9): the others that can
// reach it see it Failed. It panics if name is not running.
func (n *Network) Fail(name string) { n.stop(name, crashed, "Fail") }

// Leave makes node name leave gracefully (as Agent.Shutdown): the others
// see it Left. It panics if name is not running.
func (n *Network) Leave(name string) { n.stop(name, departed, "Leave") }

func (n *Network) stop(name string, life lifecycle, op string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	st, ok := n.nodes[name]
	if !ok || st.life != running {
		panic(fmt.Sprintf("gossiptest: %s(%q): no such running node", op, name))
	}
	st.life = life
	n.propagate(st)
	st.node.events.Close() // waits only for the queue's own goroutine

}

// SetTags changes the tags of running node name; the others that can
// reach it see it Updated. It returns the validation error for invalid
// tags and gossip.ErrClosed when the node is not running.
func (n *Network) SetTags(name string, tags gossip.Tags) error {
	n.mu.Lock()
	st := n.nodes[name]
	n.mu.Unlock()
	if st == nil {
		return gossip.ErrClosed
	}
	return n.setTags(st, tags)
}

// setTags is SetTags for one incarnation.
func (n *Network) setTags(st *nodeState, tags gossip.Tags) error {
	if err := tags.Validate(); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if st.life != running {
		return gossip.ErrClosed
	}
	st.tags = tags
	n.propagate(st)
	return nil
}

// Partition cuts communication between every node named in a and every
// node named in b (names need not exist yet). Partitions accumulate until
// Heal.
func (n *Network) Partition(a, b []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range a {
		for _, y := range b {
			if x != y {
				n.blocked[pairOf(x, y)] = true
			}
		}
	}
	n.propagate()
}

// Heal removes every partition: nodes that can talk again see each other
// Joined (or Left, for nodes that left meanwhile).
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.blocked)
	n.propagate()
}

// Reap makes every node forget name, a failed or left node (serf does this
// after its reconnect/tombstone timeouts): they see it Reaped. It panics if
// name is running or unknown.
func (n *Network) Reap(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	st, ok := n.nodes[name]
	if !ok || st.life == running {
		panic(fmt.Sprintf("gossiptest: Reap(%q): no such failed or left node", name))
	}
	delete(n.nodes, name)
	for _, o := range n.nodes {
		if o.life != running {
			continue
		}
		if m, ok := o.views[name]; ok {
			delete(o.views, name)
			o.emit(gossip.EventReaped, m)
		}
	}
}

func pairOf(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// target returns the status observer o should see for m.
func (n *Network) target(o, m *nodeState) gossip.Status {
	if o == m {
		return gossip.StatusAlive
	}
	cut := n.blocked[pairOf(o.name, m.name)]
	switch {
	case m.life == crashed || cut:
		return gossip.StatusFailed
	case m.life == departed:
		return gossip.StatusLeft
	}
	return gossip.StatusAlive
}

// propagate brings running nodes' views to what they should be and queues
// the events for the differences: every pair when changed is empty
// (partitions), else only the pairs involving a changed node. Called with
// n.mu held.
func (n *Network) propagate(changed ...*nodeState) {
	names := slices.Sorted(maps.Keys(n.nodes))
	if len(changed) == 0 {
		for _, oname := range names {
			for _, mname := range names {
				n.reconcile(n.nodes[oname], n.nodes[mname])
			}
		}
		return
	}
	for _, x := range changed {
		for _, name := range names {
			n.reconcile(n.nodes[name], x)
			if n.nodes[name] != x {
				n.reconcile(x, n.nodes[name])
			}
		}
	}
}

// reconcile updates o's entry for m and queues the event for the change.
func (n *Network) reconcile(o, m *nodeState) {
	if o.life != running {
		return // a stopped node's view is frozen
	}
	want := n.target(o, m)
	cur, known := o.views[m.name]
	next := gossip.Member{Name: m.name, Addr: m.addr, Status: want, Tags: m.tags}
	if !known || cur.Addr != m.addr && want == gossip.StatusAlive {
		if want == gossip.StatusAlive { // never learn of a member that is not alive
			o.views[m.name] = next
			o.emit(gossip.EventJoined, next)
		}
		return
	}
	switch {
	case cur.Addr != m.addr:
		// An old incarnation that o still remembers; the new one is not
		// reachable from o: keep the old entry.
	case cur.Status == want && want == gossip.StatusAlive:
		if !cur.Tags.Equal(m.tags) {
			o.views[m.name] = next
			o.emit(gossip.EventUpdated, next)
		}
	case cur.Status == want:
	case want == gossip.StatusAlive:
		o.views[m.name] = next
		o.emit(gossip.EventJoined, next)
	case want == gossip.StatusFailed && cur.Status == gossip.StatusAlive:
		cur.Status = gossip.StatusFailed
		o.views[m.name] = cur
		o.emit(gossip.EventFailed, cur)
	case want == gossip.StatusLeft:
		next.Tags = cur.Tags // a departed node announces nothing new
		o.views[m.name] = next
		o.emit(gossip.EventLeft, next)
	}
}

// emit queues an event on o's stream if it is subscribed.
func (o *nodeState) emit(t gossip.EventType, m gossip.Member) {
	if o.node.subscribed {
		o.node.events.Push(gossip.Event{Type: t, Member: m})
	}
}

// Name returns the node's name.
func (nd *Node) Name() string { return nd.name }

// Addr returns the node's (fictitious) gossip address, unique per
// incarnation.
func (nd *Node) Addr() netip.AddrPort { return nd.addr }

// Members returns the node's view: every member it knows, itself
// included, sorted by name. After the node fails or leaves, the last view.
func (nd *Node) Members() []gossip.Member {
	nd.net.mu.Lock()
	defer nd.net.mu.Unlock()
	out := slices.Collect(maps.Values(nd.st.views))
	slices.SortFunc(out, func(a, b gossip.Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Events returns the node's event stream (see gossip.Membership). It is
// closed when the node fails or leaves.
func (nd *Node) Events() <-chan gossip.Event {
	nd.net.mu.Lock()
	defer nd.net.mu.Unlock()
	nd.subscribed = true
	return nd.events.Out()
}

// LocalMember returns the node itself as its view shows it.
func (nd *Node) LocalMember() gossip.Member {
	nd.net.mu.Lock()
	defer nd.net.mu.Unlock()
	return nd.st.views[nd.name]
}

// SetTags changes this node's tags, as Agent.SetTags does; it returns
// gossip.ErrClosed after the node failed or left.
func (nd *Node) SetTags(tags gossip.Tags) error {
	return nd.net.setTags(nd.st, tags)
}
