// Package cluster starts a whole shoal cluster in one process: shard
// daemons (a master and replicas per shard) and frontends, each a real
// server on its own loopback listener with its own serf gossip agent,
// joined into one gossip cluster. `shoal dev` runs one for people; the
// integration tests run one per test (Port 0: free ports everywhere).
//
//	cl, err := cluster.Start(ctx, cluster.DefaultConfig())
//	...
//	defer cl.Close(ctx)
//	rdb := redis.NewClient(&redis.Options{Addr: cl.FrontendAddrs()[0]})
//
// The nodes are built from the same configuration code as the `shoal
// shardd` and `shoal frontend` commands (configs.Shardd.ServerConfig,
// configs.Frontend.ServerConfig), and shard nodes are assembled by
// internal/shardnode as `shoal shardd` assembles them, so a dev cluster
// behaves like one made of processes. Replicas replicate from their
// shard's master; frontends wait for every shard (expect-shards = Shards).
// Config.ShardConfig and Config.FrontendConfig let callers adjust each
// node's configuration.
//
// # Control plane
//
// Unless Config.DisableControlPlane is set, every shard node runs the
// control plane (`shoal shardd --raft`): a raft node on its own loopback
// port, three of them voters (Node.Voter says which), bootstrap-expect the
// number of voters. The leader keeps the cluster map (SHOAL MAP on any
// shard node) and fails a dead master over to its most advanced replica
// after Config.FailoverAfter. Start returns once a leader's map lists
// every shard's master and every shard node has that map. KillShardNode
// crashes a node (no gossip goodbye, no raft handover), which is what
// failover is for; StopShardNode of a master also fails it over (a node
// that left is as gone as a failed one). A restarted old master sees the
// higher epoch and rejoins as a replica. Node.Role and Index keep saying
// how a node was started; Master and Leader say what it is now.
//
// A Cluster's methods are safe for concurrent use. The lifecycle methods
// (AddFrontend, StopFrontend, StopShardNode, KillShardNode,
// RestartShardNode, Close) run one at a time; the read methods (Nodes,
// FrontendAddrs, Frontend, Shard, Leader, Master, ...) never wait for
// them: a frontend being added is listed once it listens (before it is
// ready), a node being stopped is no longer listed from the start of its
// stop.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/shoal-kv/shoal/configs"
	"github.com/shoal-kv/shoal/control"
	"github.com/shoal-kv/shoal/frontend"
	"github.com/shoal-kv/shoal/internal/shardnode"
	"github.com/shoal-kv/shoal/proto"
	"github.com/shoal-kv/shoal/shardd"
)

// Errors returned by the lifecycle methods.
var (
	// ErrClosed: the cluster was closed.
	ErrClosed = errors.New("cluster: closed")
	// ErrNoNode: no such node, or it is not in the state the call needs
	// (stopping a stopped node, restarting a running one).
	ErrNoNode = errors.New("cluster: no such node")
)

// shardCloseTimeout bounds the shard daemons' shutdown in Close and when
// Start fails: they leave gossip and sync their logs.
const shardCloseTimeout = 10 * time.Second

// Role is what a node does.
type Role string

// Node roles.
const (
	RoleFrontend Role = "frontend"
	RoleMaster   Role = "master"
	RoleReplica  Role = "replica"
)

// Node describes one running node: what runs where.
type Node struct {
	// Name is the node's gossip name (and raft ServerID): frontend-<i>,
	// <shard>-master, <shard>-replica-<n>.
	Name string
	// Role is the role the node was started in; after a failover
	// Cluster.Master names a shard's master.
	Role Role
	// Shard is the shard a shard node serves; empty for frontends.
	Shard string
	// Index is a frontend's number, or a shard node's place in its shard
	// (0 the master, n replica n).
	Index int
	// RESPAddr is where clients connect (HOST:PORT).
	RESPAddr string
	// GossipAddr is the node's serf address (HOST:PORT, TCP and UDP).
	GossipAddr string
	// DataDir holds a durable shard node's data; empty for diskless
	// replicas and frontends.
	DataDir string
	// Diskless marks a memory-only (cached) replica.
	Diskless bool
	// RaftAddr is a shard node's raft transport address (HOST:PORT); empty
	// for frontends and without the control plane.
	RaftAddr string
	// Voter marks a raft voter. Three shard nodes are voters, or one when
	// fewer than three are durable (two voters would both be needed for a
	// majority, so losing either would stop failover); diskless replicas
	// never are. They are taken replicas first (replica 1 of every shard
	// in shard order, then replica 2, ...), then masters: killing a master
	// then costs no voter, and with three shards or more, losing a whole
	// shard costs one voter at most.
	Voter bool
}

// shardNode is one shard daemon; node and served are nil while stopped.
// Its Node's addresses are fixed by the first start and reused by
// restarts.
type shardNode struct {
	Node
	node     *shardnode.Node
	served   chan error
	recorded bool // its addresses come from the data dir's addrFile
}

// frontendNode is one frontend.
type frontendNode struct {
	Node
	srv    *frontend.Server
	served chan error
}

// Cluster is a running cluster. See the package doc for concurrency.
type Cluster struct {
	cfg     Config
	log     *slog.Logger
	dataDir string
	tempDir bool // dataDir was made by Start; Close removes it
	voters  int  // raft voters (0 without the control plane)
	readyIn time.Duration

	ops sync.Mutex // serializes lifecycle methods

	mu        sync.Mutex // guards the fields below and the nodes' srv fields
	shards    []*shardNode
	frontends []*frontendNode // by index; nil once stopped
	closed    bool
}

// ShardName is the name of shard i.
func ShardName(i int) string { return "shard-" + strconv.Itoa(i) }

// Start starts the cluster: shard masters, then their replicas, then the
// frontends, and returns when every frontend is ready and has served a
// data command that reaches every shard (DBSIZE). ctx bounds the wait;
// on any failure everything started is stopped again.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	begin := time.Now()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.FailoverAfter == 0 {
		cfg.FailoverAfter = defaultFailoverAfter
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{cfg: cfg, log: log, dataDir: cfg.DataDir}
	if c.dataDir == "" {
		dir, err := os.MkdirTemp("", "shoal-dev-")
		if err != nil {
			return nil, fmt.Errorf("cluster: data dir: %w", err)
		}
		c.dataDir, c.tempDir = dir, true
	}
	for s := 0; s < cfg.Shards; s++ {
		shard := ShardName(s)
		for r := 0; r <= cfg.Replicas; r++ {
			n := &shardNode{Node: Node{Shard: shard, Index: r, Role: RoleMaster, Name: shard + "-master"}}
			sub := "master"
			if r > 0 {
				n.Role = RoleReplica
				sub = "replica-" + strconv.Itoa(r)
				n.Name = shard + "-" + sub
				n.Diskless = cfg.DisklessReplicas
			}
			if !n.Diskless {
				n.DataDir = filepath.Join(c.dataDir, shard, sub)
			}
			c.shards = append(c.shards, n)
		}
	}
	if !cfg.DisableControlPlane {
		c.voters = pickVoters(c.shards)
	}
	if err := c.loadAddrs(); err != nil {
		return nil, err
	}
	// The frontends' ports first: when one is taken, nothing has started.
	lns := make([]net.Listener, cfg.Frontends)
	for i := range lns {
		ln, err := c.listenFrontend(i)
		if err != nil {
			for _, l := range lns[:i] {
				l.Close()
			}
			if c.tempDir {
				os.RemoveAll(c.dataDir)
			}
			return nil, err
		}
		lns[i] = ln
	}
	fail := func(err error) (*Cluster, error) {
		for _, l := range lns {
			l.Close() // those not served yet; closing twice is harmless
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shardCloseTimeout)
		defer cancel()
		return nil, errors.Join(err, c.Close(cctx))
	}
	// Masters first: replicas need their addresses.
	for _, replicas := range []bool{false, true} {
		for _, n := range c.shards {
			if (n.Index > 0) == replicas {
				if err := c.startShard(n); err != nil {
					return fail(err)
				}
			}
		}
	}
	for _, ln := range lns {
		if _, err := c.startFrontend(ln); err != nil {
			return fail(err)
		}
	}
	for _, f := range c.frontends {
		if err := waitServing(ctx, f.srv, f.RESPAddr); err != nil {
			return fail(err)
		}
	}
	if c.voters > 0 {
		if err := c.waitControl(ctx); err != nil {
			return fail(err)
		}
	}
	if err := c.saveAddrs(); err != nil {
		return fail(err)
	}
	c.readyIn = time.Since(begin)
	c.log.Info("cluster ready", "shards", cfg.Shards, "replicas", cfg.Replicas, "frontends", cfg.Frontends,
		"data_dir", c.dataDir, "voters", c.voters, "after", c.readyIn)
	return c, nil
}

// pickVoters marks the raft voters among nodes (see Node.Voter) and
// returns how many there are.
func pickVoters(nodes []*shardNode) int {
	var durable []*shardNode
	for _, n := range nodes {
		if !n.Diskless {
			durable = append(durable, n)
		}
	}
	// nodes are in shard order; a stable sort keeps it within a rank.
	rank := func(n *shardNode) int {
		if n.Index == 0 {
			return 1 << 30 // masters last
		}
		return n.Index
	}
	slices.SortStableFunc(durable, func(a, b *shardNode) int { return rank(a) - rank(b) })
	k := min(len(durable), 1)
	if len(durable) >= 3 {
		k = 3
	}
	for _, n := range durable[:k] {
		n.Voter = true
	}
	return k
}

// waitControl waits until a raft leader's cluster map lists every shard
// with a master and every running shard node has applied such a map (so
// SHOAL MAP answers it anywhere).
func (c *Cluster) waitControl(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		_, hasLeader := c.Leader()
		missing := ""
		if hasLeader {
			missing = c.mapMissing()
		}
		if hasLeader && missing == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			what := "no raft leader elected"
			if hasLeader {
				what = missing
			}
			return fmt.Errorf("cluster: control plane: %w (%s)", ctx.Err(), what)
		case <-t.C:
		}
	}
}

// mapMissing says which running shard node's map lacks a shard's master;
// "" when none does.
func (c *Cluster) mapMissing() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.shards {
		if n.node == nil || n.node.Control == nil {
			continue
		}
		m := n.node.Control.Map()
		for s := 0; s < c.cfg.Shards; s++ {
			if e, ok := m.Get(ShardName(s)); !ok || e.Master == "" {
				return fmt.Sprintf("%s's cluster map has no master for %s", n.Name, ShardName(s))
			}
		}
	}
	return ""
}

// Voters is the number of raft voters; 0 without the control plane.
func (c *Cluster) Voters() int { return c.voters }

// Leader returns the shard node that is the raft leader now; ok is false
// without the control plane or while no running node leads (an election
// is under way).
func (c *Cluster) Leader() (Node, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.shards {
		if n.node != nil && n.node.Control != nil && n.node.Control.IsLeader() {
			return n.Node, true
		}
	}
	return Node{}, false
}

// Map returns the cluster map as the raft leader holds it (each shard's
// master node, its RESP address and epoch; what SHOAL MAP answers); ok is
// false without the control plane or while there is no leader. The Map
// is shared: do not modify it.
func (c *Cluster) Map() (control.Map, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.shards {
		if n.node != nil && n.node.Control != nil && n.node.Control.IsLeader() {
			return n.node.Control.Map(), true
		}
	}
	return nil, false
}

// Master returns the running node that is shard's master: the one the
// leader's cluster map names, or without the control plane the node
// started as master. ok is false when that node is not running, or the
// control plane has no leader.
func (c *Cluster) Master(shard string) (Node, bool) {
	name := shard + "-master"
	if c.voters > 0 {
		m, ok := c.Map()
		if !ok {
			return Node{}, false
		}
		e, ok := m.Get(shard)
		if !ok {
			return Node{}, false
		}
		name = e.Master
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.shards {
		if n.Name == name && n.node != nil {
			return n.Node, true
		}
	}
	return Node{}, false
}

// TimeToReady is how long Start took.
func (c *Cluster) TimeToReady() time.Duration { return c.readyIn }

// DataDir is the directory holding the durable nodes' data.
func (c *Cluster) DataDir() string { return c.dataDir }

// TempDataDir reports whether DataDir is a temporary directory that Close
// removes.
func (c *Cluster) TempDataDir() bool { return c.tempDir }

// Config returns the configuration the cluster was started with (a zero
// FailoverAfter replaced by the default).
func (c *Cluster) Config() Config { return c.cfg }

// ShardNames lists the shards, in order.
func (c *Cluster) ShardNames() []string {
	out := make([]string, c.cfg.Shards)
	for i := range out {
		out[i] = ShardName(i)
	}
	return out
}

// Nodes lists the running nodes: frontends by index, then each shard's
// master and replicas.
func (c *Cluster) Nodes() []Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Node
	for _, f := range c.frontends {
		if f != nil {
			out = append(out, f.Node)
		}
	}
	for _, n := range c.shards {
		if n.node != nil {
			out = append(out, n.Node)
		}
	}
	return out
}

// FrontendAddrs lists the running frontends' RESP addresses by index.
func (c *Cluster) FrontendAddrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, f := range c.frontends {
		if f != nil {
			out = append(out, f.RESPAddr)
		}
	}
	return out
}

// Frontend returns frontend i's server, or nil when it is not running.
func (c *Cluster) Frontend(i int) *frontend.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.frontends) || c.frontends[i] == nil {
		return nil
	}
	return c.frontends[i].srv
}

// Shard returns the server of a shard's node (replica 0 is the master),
// or nil when it is not running.
func (c *Cluster) Shard(shard string, replica int) *shardd.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.shardNode(shard, replica); n != nil && n.node != nil {
		return n.node.Server
	}
	return nil
}

// ShardNode describes a shard's node (replica 0 is the master), running or
// not; ok is false when there is no such node.
func (c *Cluster) ShardNode(shard string, replica int) (Node, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.shardNode(shard, replica); n != nil {
		return n.Node, true
	}
	return Node{}, false
}

// shardNode finds a node; c.mu is held.
func (c *Cluster) shardNode(shard string, replica int) *shardNode {
	for _, n := range c.shards {
		if n.Shard == shard && n.Index == replica {
			return n
		}
	}
	return nil
}

// joinAddrs lists the gossip addresses of the running shard nodes (a new
// node exchanges state with all of them at once, so it sees the whole
// cluster without waiting for gossip to spread).
func (c *Cluster) joinAddrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, n := range c.shards {
		if n.node != nil && n.GossipAddr != "" {
			out = append(out, n.GossipAddr)
		}
	}
	return out
}

// startShard creates and serves a shard node, on the addresses of its
// previous run when it had one. The caller holds ops (or is Start).
func (c *Cluster) startShard(n *shardNode) error {
	listen, gossipBind, raftBind := n.RESPAddr, n.GossipAddr, n.RaftAddr
	if listen == "" {
		listen = net.JoinHostPort(c.cfg.Host, "0")
	}
	if gossipBind == "" {
		gossipBind = net.JoinHostPort(c.cfg.Host, "0")
	}
	if raftBind == "" {
		raftBind = net.JoinHostPort(c.cfg.Host, "0")
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("cluster: %s: %w%s", n.Name, err, c.bindHint(n, err))
	}
	sc := configs.DefaultShardd()
	sc.Listen = ln.Addr().String()
	sc.Shard = n.Shard
	sc.DataDir = n.DataDir
	sc.Diskless = n.Diskless
	if n.Diskless {
		sc.MaxMemory = strconv.FormatInt(c.cfg.MaxMemory, 10)
	}
	if n.Index > 0 {
		c.mu.Lock()
		sc.ReplicaOf = c.shardNode(n.Shard, 0).RESPAddr
		c.mu.Unlock()
	}
	sc.Gossip = gossipBind
	sc.Join = c.joinAddrs()
	sc.GossipProfile = string(c.cfg.GossipProfile)
	sc.NodeName = n.Name
	// The control plane: raft on a port of its own, bound here first so
	// the address is known before the node announces it.
	var rln net.Listener
	if c.voters > 0 {
		if rln, err = net.Listen("tcp", raftBind); err != nil {
			ln.Close()
			return fmt.Errorf("cluster: %s: raft: %w%s", n.Name, err, c.bindHint(n, err))
		}
		sc.Raft = rln.Addr().String()
		sc.RaftVoter = n.Voter
		sc.RaftBootstrapExpect = c.voters
		sc.FailoverAfter = c.cfg.FailoverAfter
		// Every voter starts here at once: none joins a running cluster,
		// so the grace that protects such a joiner can be short.
		sc.RaftBootstrapGrace = 100 * time.Millisecond
	}
	fail := func(err error) error {
		ln.Close()
		if rln != nil {
			rln.Close()
		}
		return fmt.Errorf("cluster: %s: %w", n.Name, err)
	}
	cfg, err := sc.ServerConfig()
	if err != nil {
		return fail(err)
	}
	cfg.Logger = c.log.With("node", n.Name)
	cfg.Gossip.Logger = c.log // gossip adds the node name itself
	cfg.Version = c.cfg.Version
	if c.cfg.ShardConfig != nil {
		c.cfg.ShardConfig(n.Shard, n.Index, &cfg)
	}
	node, err := shardnode.New(sc, cfg, rln) // closes rln on failure
	if err != nil {
		ln.Close()
		return fmt.Errorf("cluster: %s: %w%s", n.Name, err, c.bindHint(n, err))
	}
	served := make(chan error, 1)
	go func() { served <- node.Serve(ln) }()
	c.mu.Lock()
	n.node, n.served = node, served
	n.RESPAddr = ln.Addr().String()
	if g := node.Server.Gossip(); g != nil {
		n.GossipAddr = g.Addr().String()
	}
	n.RaftAddr = sc.Raft
	c.mu.Unlock()
	return nil
}

// listenFrontend opens frontend i's RESP listener.
func (c *Cluster) listenFrontend(i int) (net.Listener, error) {
	port := 0
	if c.cfg.Port > 0 {
		port = c.cfg.Port + i
		if port > 65535 {
			return nil, fmt.Errorf("cluster: frontend-%d: port %d out of range", i, port)
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(c.cfg.Host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("cluster: frontend-%d: %w", i, err)
	}
	return ln, nil
}

// startFrontend creates and serves the next frontend on ln (nil: a new
// listener), without waiting for it to be ready. The caller holds ops (or
// is Start).
func (c *Cluster) startFrontend(ln net.Listener) (*frontendNode, error) {
	c.mu.Lock()
	i := len(c.frontends)
	c.frontends = append(c.frontends, nil)
	c.mu.Unlock()
	f := &frontendNode{Node: Node{Name: "frontend-" + strconv.Itoa(i), Role: RoleFrontend, Index: i}}
	if ln == nil {
		var err error
		if ln, err = c.listenFrontend(i); err != nil {
			return nil, err
		}
	}
	fc := configs.DefaultFrontend()
	fc.Listen = ln.Addr().String()
	fc.Gossip = net.JoinHostPort(c.cfg.Host, "0")
	fc.Join = c.joinAddrs()
	fc.GossipProfile = string(c.cfg.GossipProfile)
	fc.NodeName = f.Name
	fc.ExpectShards = c.cfg.Shards
	cfg, err := fc.ServerConfig()
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("cluster: %s: %w", f.Name, err)
	}
	cfg.Logger = c.log.With("node", f.Name)
	cfg.Gossip.Logger = c.log
	cfg.Version = c.cfg.Version
	if c.cfg.FrontendConfig != nil {
		c.cfg.FrontendConfig(i, &cfg)
	}
	srv, err := frontend.New(cfg)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("cluster: %s: %w", f.Name, err)
	}
	f.srv, f.served = srv, make(chan error, 1)
	go func() { f.served <- srv.Serve(ln) }()
	f.RESPAddr = ln.Addr().String()
	if g := srv.Gossip(); g != nil {
		f.GossipAddr = g.Addr().String()
	}
	c.mu.Lock()
	c.frontends[i] = f
	c.mu.Unlock()
	return f, nil
}

// waitServing waits until the frontend is ready and a DBSIZE through it
// (which every shard's master answers) succeeds.
func waitServing(ctx context.Context, srv *frontend.Server, addr string) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	var last error
	for {
		if srv.Ready() {
			if last = probe(ctx, addr); last == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if last == nil {
				last = errors.New("not ready (has not seen every shard's master)")
			}
			return fmt.Errorf("cluster: frontend %s: %w (%w)", addr, ctx.Err(), last)
		case <-t.C:
		}
	}
}

// probe sends DBSIZE to addr on a new connection.
func probe(ctx context.Context, addr string) error {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Second)
	}
	nc.SetDeadline(deadline)
	if _, err := nc.Write(proto.AppendCommandStrings(nil, "DBSIZE")); err != nil {
		return err
	}
	raw, err := proto.NewReader(nc, proto.Limits{}).ReadReply()
	if err != nil {
		return err
	}
	v, err := proto.ParseReply(raw)
	if err != nil {
		return err
	}
	return v.Err()
}

// op runs a lifecycle operation: one at a time, refused once closed.
func (c *Cluster) op(f func() error) error {
	c.ops.Lock()
	defer c.ops.Unlock()
	if c.isClosed() {
		return ErrClosed
	}
	return f()
}

func (c *Cluster) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// AddFrontend starts another frontend (on Port+i, or a free port with Port
// 0) and returns when it is ready and serves data commands, as Start
// does; ctx bounds the wait. On failure the new frontend is stopped.
func (c *Cluster) AddFrontend(ctx context.Context) (Node, error) {
	var node Node
	err := c.op(func() error {
		f, err := c.startFrontend(nil)
		if err != nil {
			return err
		}
		if err := waitServing(ctx, f.srv, f.RESPAddr); err != nil {
			return errors.Join(err, c.stopFrontend(context.WithoutCancel(ctx), f.Index))
		}
		node = f.Node
		return nil
	})
	return node, err
}

// StopFrontend drains frontend i (frontend.Server.Shutdown: readiness
// false, listener closed, in-flight requests answered, idle clients closed,
// gossip left). ctx is the drain's grace period: when it ends the
// remaining clients are closed and the error wraps ctx.Err().
func (c *Cluster) StopFrontend(ctx context.Context, i int) error {
	return c.op(func() error { return c.stopFrontend(ctx, i) })
}

func (c *Cluster) stopFrontend(ctx context.Context, i int) error {
	c.mu.Lock()
	var f *frontendNode
	if i >= 0 && i < len(c.frontends) {
		f = c.frontends[i]
		c.frontends[i] = nil
	}
	c.mu.Unlock()
	if f == nil {
		return fmt.Errorf("%w: frontend %d is not running", ErrNoNode, i)
	}
	return stopServer(ctx, f.Name, f.srv, f.served)
}

// stopServer shuts a node's server down and waits for its Serve to return.
func stopServer(ctx context.Context, name string, srv interface{ Shutdown(context.Context) error }, served chan error) error {
	err := srv.Shutdown(ctx)
	<-served
	if err != nil {
		return fmt.Errorf("cluster: %s: %w", name, err)
	}
	return nil
}

// StopShardNode shuts a shard node down gracefully (replica 0 is the
// node started as master): a raft leader hands leadership over, the node
// leaves gossip, closes its clients and syncs its log. ctx bounds the
// shutdown. With the control plane, a master that left is failed over
// like a dead one.
func (c *Cluster) StopShardNode(ctx context.Context, shard string, replica int) error {
	return c.op(func() error {
		n, err := c.findShard(shard, replica, true)
		if err != nil {
			return err
		}
		return c.stopShard(ctx, n)
	})
}

// KillShardNode stops a shard node as a crash would (replica 0 is the node
// started as master): its gossip agent stops without a goodbye, so the
// others see it fail; raft stops without handing leadership over; its
// listeners and connections close. Only what a killed process keeps is
// kept: its log, written before each reply, stays in its data directory
// for RestartShardNode.
func (c *Cluster) KillShardNode(shard string, replica int) error {
	return c.op(func() error {
		n, err := c.findShard(shard, replica, true)
		if err != nil {
			return err
		}
		c.mu.Lock()
		node, served := n.node, n.served
		n.node, n.served = nil, nil
		c.mu.Unlock()
		var errs []error
		if g := node.Server.Gossip(); g != nil {
			errs = append(errs, g.Close()) // first: the server's stop would leave gossip
		}
		errs = append(errs, node.Close())
		<-served
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("cluster: killing %s: %w", n.Name, err)
		}
		return nil
	})
}

// stopShard stops a running shard node.
func (c *Cluster) stopShard(ctx context.Context, n *shardNode) error {
	c.mu.Lock()
	node, served := n.node, n.served
	n.node, n.served = nil, nil
	c.mu.Unlock()
	return stopServer(ctx, n.Name, node, served)
}

// RestartShardNode starts a stopped shard node again on its previous RESP,
// gossip and raft addresses, with its data directory (a diskless replica
// starts empty and resynchronizes), in the role it was first started in.
// It rejoins gossip under the same name; an old master that was failed
// over sees the higher epoch and becomes a replica of the new master. It
// returns once the node serves; ctx is only checked first (a shard
// daemon's start takes no context).
func (c *Cluster) RestartShardNode(ctx context.Context, shard string, replica int) error {
	return c.op(func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := c.findShard(shard, replica, false)
		if err != nil {
			return err
		}
		return c.startShard(n)
	})
}

// findShard returns a shard node that is running (or stopped, when
// running is false).
func (c *Cluster) findShard(shard string, replica int, running bool) (*shardNode, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.shardNode(shard, replica)
	if n == nil || (n.node != nil) != running {
		state := "stopped"
		if running {
			state = "running"
		}
		return nil, fmt.Errorf("%w: %s node %d is not %s", ErrNoNode, shard, replica, state)
	}
	return n, nil
}

// Close stops everything: the frontends drain (ctx is their grace
// period), the control planes stop (no handover, no failover from here),
// then the replicas and then the masters shut down (each leaves
// gossip and syncs its log, within 10 s of their own; nodes of one kind
// in parallel), and a temporary
// data directory is removed. Every listener is closed when Close
// returns. Later calls return nil.
func (c *Cluster) Close(ctx context.Context) error {
	c.ops.Lock()
	defer c.ops.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	fronts := c.frontends
	// Replicas, then masters, then one last node: while the others leave
	// gossip the last node is still there to take their goodbyes (serf
	// waits up to 5 s for a leave to go out when every peer is leaving
	// at the same time), and it leaves alone, without waiting.
	var tiers [3][]*shardNode
	for _, n := range c.shards {
		if n.node != nil {
			t := 0
			if n.Index == 0 {
				t = 1
			}
			tiers[t] = append(tiers[t], n)
		}
	}
	for t := 1; t >= 0; t-- {
		if k := len(tiers[t]); k > 0 {
			tiers[2] = tiers[t][k-1:]
			tiers[t] = tiers[t][:k-1]
			break
		}
	}
	c.mu.Unlock()

	var errs []error
	var emu sync.Mutex
	var wg sync.WaitGroup
	collect := func(err error) {
		if err != nil {
			emu.Lock()
			errs = append(errs, err)
			emu.Unlock()
		}
	}
	for i, f := range fronts {
		if f == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			collect(c.stopFrontend(ctx, i))
		}()
	}
	wg.Wait()
	// The control planes stop first, all at once: the whole cluster is
	// going, so no leader should hand over or fail over leaving masters.
	for _, tier := range tiers {
		for _, n := range tier {
			if n.node.Control != nil {
				wg.Go(func() { collect(n.node.Control.Close()) })
			}
		}
	}
	wg.Wait()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shardCloseTimeout)
	defer cancel()
	for _, tier := range tiers {
		for _, n := range tier {
			wg.Add(1)
			go func() {
				defer wg.Done()
				collect(c.stopShard(sctx, n))
			}()
		}
		wg.Wait()
	}
	if c.tempDir {
		if err := os.RemoveAll(c.dataDir); err != nil {
			collect(fmt.Errorf("cluster: removing %s: %w", c.dataDir, err))
		}
	}
	c.log.Info("cluster stopped")
	return errors.Join(errs...)
}
