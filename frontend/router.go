package frontend

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/hashring"
)

// TagCached is the gossip tag (in gossip.Tags.Extra) with which a replica
// announces diskless cached mode ("1"): a read that misses there is served
// by the master instead. Proposed for the gossip tag schema; the
// replication work decides the final key.
const TagCached = gossip.KeyCached

// view is an immutable snapshot of the cluster as gossip shows it: the
// shard set, each shard's master and replicas, and the ring over the shard
// set. The router builds a new one on every membership change and swaps
// it in atomically; lookups take no lock.
type view struct {
	ring   hashring.Ring         // over the routable shards; nil when there are none
	shards map[string]*shardView // every known shard, routable or not
	order  []*shardView          // every known shard, sorted by name (SCAN cursors index it)

	members    []gossip.Member // the gossip view, sorted by name
	withMaster int             // shards that have a master
	seq        uint64          // build number
	changed    chan struct{}   // closed when a newer view replaces this one
}

// shardView is one shard in a view.
type shardView struct {
	name       string
	index      int   // position in view.order
	master     *node // nil: no alive master
	masterName string
	epoch      uint64
	mapEpoch   uint64 // the cluster map's epoch when it corrected gossip (clustermap.go); else 0
	replicas   []replicaRef
}

// replicaRef is one alive replica of a shard.
type replicaRef struct {
	n      *node
	name   string
	cached bool // diskless cached mode: misses fall through to the master
}

// shardFor returns the shard that owns key, or nil when the view has no
// routable shard.
func (v *view) shardFor(key []byte) *shardView {
	if v.ring == nil {
		return nil
	}
	return v.shards[v.ring.Lookup(key)]
}

// router follows the membership and publishes views.
type router struct {
	s   *Server
	cur atomic.Pointer[view]

	mu      sync.Mutex // guards the fields below (the event goroutine and Close)
	members map[string]gossip.Member
	nodes   map[string]*node // by RESP address, every node some view references
	ringKey string           // shard set the current ring was built for
	ring    hashring.Ring
	seq     uint64
	closed  bool

	clusterMap map[string]mapEntry // last SHOAL MAP read (clustermap.go); nil before
	mapFrom    string              // the node it was read from

	// onChange is called (from the router's goroutine, in order) after a
	// new view was published.
	onChange []func(old, cur *view)
}

func newRouter(s *Server) *router {
	r := &router{s: s, members: make(map[string]gossip.Member), nodes: make(map[string]*node)}
	r.cur.Store(&view{shards: map[string]*shardView{}, changed: make(chan struct{})})
	return r
}

// view returns the current view.
func (r *router) view() *view { return r.cur.Load() }

// start takes the starting membership and follows events until the
// channel closes. The first view is built before start returns.
func (r *router) start(m gossip.Membership, done func()) {
	events := m.Events()
	r.apply(m.Members(), nil)
	go func() {
		defer done()
		for ev := range events {
			batch := []gossip.Event{ev}
		more:
			for len(batch) < 256 {
				select {
				case e, ok := <-events:
					if !ok {
						break more
					}
					batch = append(batch, e)
				default:
					break more
				}
			}
			r.apply(nil, batch)
		}
	}()
}

// apply merges a full snapshot and/or events into the member table and
// publishes a new view.
func (r *router) apply(snapshot []gossip.Member, events []gossip.Event) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	for _, m := range snapshot {
		r.members[m.Name] = m
	}
	for _, e := range events {
		if e.Type == gossip.EventReaped {
			delete(r.members, e.Member.Name)
			continue
		}
		r.members[e.Member.Name] = e.Member
	}
	old := r.cur.Load()
	v, stale := r.build()
	r.cur.Store(v)
	close(old.changed)
	hooks := r.onChange
	r.mu.Unlock()
	for _, n := range stale {
		n.close(errNodeGone)
	}
	r.logChanges(old, v)
	for _, h := range hooks {
		h(old, v)
	}
}

// build makes a view from r.members (under r.mu) and returns it with the
// nodes no longer referenced.
func (r *router) build() (*view, []*node) {
	cfg := &r.s.cfg
	r.seq++
	v := &view{shards: make(map[string]*shardView), seq: r.seq, changed: make(chan struct{})}
	names := make([]string, 0, len(r.members))
	for name := range r.members {
		names = append(names, name)
	}
	slices.Sort(names)
	used := make(map[string]*node)
	nodeFor := func(addr string) *node {
		n := r.nodes[addr]
		if n == nil {
			n = newNode(r.s, addr)
			r.nodes[addr] = n
		}
		used[addr] = n
		return n
	}
	for _, name := range names {
		m := r.members[name]
		v.members = append(v.members, m)
		if m.TagsErr != nil || m.Tags.Role != gossip.RoleShard {
			continue
		}
		sh := v.shards[m.Tags.Shard]
		if sh == nil {
			sh = &shardView{name: m.Tags.Shard}
			v.shards[m.Tags.Shard] = sh
		}
		if !m.Alive() {
			continue
		}
		switch m.Tags.ReplRole {
		case gossip.ReplMaster:
			// The highest epoch wins; ties go to the first name (and are
			// logged by logChanges).
			if sh.master == nil || m.Tags.Epoch > sh.epoch {
				sh.master, sh.masterName, sh.epoch = nodeFor(m.Tags.RESPAddr), m.Name, m.Tags.Epoch
			}
		case gossip.ReplReplica:
			sh.replicas = append(sh.replicas, replicaRef{
				n: nodeFor(m.Tags.RESPAddr), name: m.Name, cached: m.Tags.Extra[TagCached] == "1",
			})
		}
	}
	r.applyMap(v, nodeFor)
	// A master demoted in the same round may still be listed as a replica
	// of a newer epoch's master; never read from the master as a replica.
	for _, sh := range v.shards {
		if sh.master != nil {
			sh.replicas = slices.DeleteFunc(sh.replicas, func(rr replicaRef) bool { return rr.n == sh.master })
		}
	}
	var routable []string
	for name, sh := range v.shards {
		v.order = append(v.order, sh)
		if sh.master != nil {
			v.withMaster++
		}
		if !cfg.EjectFailedShards || sh.master != nil {
			routable = append(routable, name)
		}
	}
	slices.SortFunc(v.order, func(a, b *shardView) int { return strings.Compare(a.name, b.name) })
	for i, sh := range v.order {
		sh.index = i
	}
	slices.Sort(routable)
	key := strings.Join(routable, "\x00")
	if len(routable) == 0 {
		r.ring, r.ringKey = nil, ""
	} else if key != r.ringKey || r.ring == nil {
		ring, err := hashring.NewFromNames(cfg.Hashring, routable)
		if err != nil {
			// Names are validated by gossip; only a config error gets here.
			r.s.log.Error("building the ring", "err", err)
		} else {
			r.ring, r.ringKey = ring, key
		}
	}
	v.ring = r.ring
	var stale []*node
	for addr, n := range r.nodes {
		if used[addr] == nil {
			stale = append(stale, n)
			delete(r.nodes, addr)
		}
	}
	return v, stale
}

// logChanges logs shard set and master changes.
func (r *router) logChanges(old, v *view) {
	for _, sh := range v.order {
		o := old.shards[sh.name]
		switch {
		case o == nil:
			r.s.log.Info("shard joined", "shard", sh.name, "master", addrOf(sh.master), "epoch", sh.epoch)
		case o.master != sh.master:
			if sh.master == nil {
				r.s.log.Warn("shard has no reachable master", "shard", sh.name)
			} else {
				r.s.log.Info("shard master changed", "shard", sh.name, "master", sh.master.addr, "epoch", sh.epoch, "old", addrOf(o.master))
			}
		}
	}
	for _, o := range old.order {
		if v.shards[o.name] == nil {
			r.s.log.Info("shard forgotten", "shard", o.name)
		}
	}
}

func addrOf(n *node) string {
	if n == nil {
		return ""
	}
	return n.addr
}

// eachNode calls f for every node of the current view.
func (r *router) eachNode(f func(*node)) {
	r.mu.Lock()
	nodes := make([]*node, 0, len(r.nodes))
	for _, n := range r.nodes {
		nodes = append(nodes, n)
	}
	r.mu.Unlock()
	for _, n := range nodes {
		f(n)
	}
}

// close stops routing: every node is closed and requests in flight fail.
func (r *router) close() {
	r.mu.Lock()
	r.closed = true
	nodes := r.nodes
	r.nodes = map[string]*node{}
	r.mu.Unlock()
	for _, n := range nodes {
		n.close(errServerClosing)
	}
}

var errServerClosing = errors.New("frontend: server closing")

// masterChanges returns the nodes that were some shard's master in old
// and are not that shard's master in cur: their blocked clients must end.
func masterChanges(old, cur *view) []*node {
	var out []*node
	for _, o := range old.order {
		if o.master == nil {
			continue
		}
		if n := cur.shards[o.name]; n == nil || n.master != o.master {
			out = append(out, o.master)
		}
	}
	return out
}

// errMasterChanged is what a blocked client is told when its shard's master
// changes while it waits.
var errMasterChanged = errors.New("frontend: the shard's master changed")

func describeShard(sh *shardView) string {
	if sh.master == nil {
		return fmt.Sprintf("%s (no master)", sh.name)
	}
	return fmt.Sprintf("%s (master %s epoch %d)", sh.name, sh.master.addr, sh.epoch)
}
