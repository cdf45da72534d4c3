package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/shoal-kv/shoal/control/raftstore"
	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/proto"
)

// ErrClosed is returned by Start after Shutdown or Close.
var ErrClosed = errors.New("control: node closed")

// errNotLeader refuses an action once this node is no longer the leader of
// the term its leadership began with.
var errNotLeader = errors.New("control: no longer the leader of this term")

// raftTimeout bounds raft operations the leader waits for (commits,
// membership changes, the barrier at the start of a term).
const raftTimeout = 2 * time.Second

// Node is one member of the control plane: a raft node holding the cluster
// map, and, while it is the raft leader, the housekeeping jobs. One runs
// in each shardd started with --raft, next to the shardd.Server.
//
// New binds the raft transport and opens the stores; Start starts raft,
// the bootstrap watcher and the job loop; Shutdown or Close stop it. The
// methods are safe for concurrent use.
type Node struct {
	cfg    Config
	log    *slog.Logger
	id     string
	fsm    *fsm
	client *shardClient

	closers []io.Closer // stores, closed last
	logs    raft.LogStore
	stable  raft.StableStore
	snaps   raft.SnapshotStore
	trans   *raft.NetworkTransport
	adv     string

	mu      sync.Mutex
	raft    *raft.Raft // set by Start
	started bool
	closed  atomic.Bool
	cancel  context.CancelFunc // stops the goroutines
	wg      sync.WaitGroup
	wake    chan struct{}
}

// New validates cfg, opens raft's stores (DataDir/raft: log/ and stable
// for the log and stable store, see package raftstore; snapshots/ for the
// map's snapshots; in memory without DataDir) and binds raft's transport
// (or takes RaftListener, which it closes on failure too). The node does
// nothing until Start.
func New(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	id := cfg.Membership.LocalMember().Name
	if id == "" {
		return nil, fmt.Errorf("%w: Membership: the local member has no name", ErrInvalidConfig)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{
		cfg:    cfg,
		log:    logger.With("node", id),
		id:     id,
		fsm:    newFSM(),
		client: newShardClient(cfg),
		wake:   make(chan struct{}, 1),
	}
	if err := n.openStores(); err != nil {
		n.closeStores()
		if cfg.RaftListener != nil {
			cfg.RaftListener.Close()
		}
		return nil, err
	}
	if err := n.listen(); err != nil {
		n.closeStores()
		return nil, err
	}
	return n, nil
}

func (n *Node) openStores() error {
	hl := newHclog(n.log)
	if n.cfg.DataDir == "" {
		mem := raft.NewInmemStore()
		n.logs, n.stable, n.snaps = mem, mem, raft.NewInmemSnapshotStore()
		return nil
	}
	dir := filepath.Join(n.cfg.DataDir, "raft")
	store, err := raftstore.Open(dir, n.log.With("component", "raftstore"))
	if err != nil {
		return fmt.Errorf("control: opening raft store in %s: %w", dir, err)
	}
	n.closers = append(n.closers, store)
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, hl)
	if err != nil {
		return fmt.Errorf("control: snapshot store in %s: %w", dir, err)
	}
	n.logs, n.stable, n.snaps = store, store, snaps
	return nil
}

func (n *Node) closeStores() {
	for _, c := range n.closers {
		c.Close()
	}
	n.closers = nil
}

func (n *Node) listen() error {
	ln := n.cfg.RaftListener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", n.cfg.RaftAddr); err != nil {
			return fmt.Errorf("control: raft listener: %w", err)
		}
	}
	adv := n.cfg.RaftAdvertise
	if adv == "" {
		adv = ln.Addr().String()
	}
	tcp, err := net.ResolveTCPAddr("tcp", adv)
	if err != nil || tcp.IP == nil || tcp.IP.IsUnspecified() {
		ln.Close()
		return fmt.Errorf("%w: raft address %q is not advertisable: set RaftAdvertise", ErrInvalidConfig, adv)
	}
	n.adv = tcp.String()
	var stream raft.StreamLayer = &tcpStream{Listener: ln, adv: tcp}
	if n.cfg.wrapStream != nil {
		stream = n.cfg.wrapStream(stream)
	}
	n.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  stream,
		MaxPool: 3,
		Timeout: raftTimeout,
		Logger:  newHclog(n.log),
	})
	return nil
}

// tcpStream is raft's stream layer over a TCP listener.
type tcpStream struct {
	net.Listener
	adv net.Addr
}

func (s *tcpStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", string(addr), timeout)
}

func (s *tcpStream) Addr() net.Addr { return s.adv }

// ID returns the node's raft ServerID: its gossip node name.
func (n *Node) ID() string { return n.id }

// RaftAddr returns the advertised address of raft's transport, HOST:PORT:
// the value of this node's `ra` gossip tag.
func (n *Node) RaftAddr() string { return n.adv }

// Start starts raft, the bootstrap watcher (a voter without raft state)
// and the leader's job loop.
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed.Load() {
		return ErrClosed
	}
	if n.started {
		return errors.New("control: already started")
	}
	existing, err := raft.HasExistingState(n.logs, n.stable, n.snaps)
	if err != nil {
		return fmt.Errorf("control: reading raft state: %w", err)
	}
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.id)
	rc.HeartbeatTimeout = n.cfg.HeartbeatTimeout
	rc.ElectionTimeout = n.cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = n.cfg.LeaderLeaseTimeout
	rc.CommitTimeout = n.cfg.CommitTimeout
	rc.ShutdownOnRemove = false // a removed node stays up and is added again when it returns
	rc.TrailingLogs = 1024
	rc.SnapshotThreshold = 1024
	rc.Logger = newHclog(n.log)
	r, err := raft.NewRaft(rc, n.fsm, n.logs, n.stable, n.snaps, n.trans)
	if err != nil {
		return fmt.Errorf("control: starting raft: %w", err)
	}
	n.raft = r
	n.started = true
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	if n.cfg.Voter && !existing {
		n.wg.Go(func() { n.bootstrapLoop(ctx) })
	}
	n.wg.Go(func() { n.loop(ctx) })
	n.log.Info("control: started", "raft", n.adv, "voter", n.cfg.Voter, "existing_state", existing,
		"data_dir", n.cfg.DataDir)
	return nil
}

// Shutdown stops the node: the job loop first (waiting for the current
// pass, within ctx), then, when this node leads, a leadership transfer to
// another voter (within ctx) so a new leader is there at once, then raft,
// the transport and the stores. The raft state stays on disk: a restart
// resumes as the same member. Idempotent.
func (n *Node) Shutdown(ctx context.Context) error {
	return n.stop(ctx, true)
}

// Close stops the node at once, without waiting or handing over
// leadership (as a crash would, but with the files closed). Idempotent.
func (n *Node) Close() error {
	return n.stop(context.Background(), false)
}

func (n *Node) stop(ctx context.Context, graceful bool) error {
	if !n.closed.CompareAndSwap(false, true) {
		return nil
	}
	n.mu.Lock()
	r, cancel := n.raft, n.cancel
	n.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if r != nil && graceful {
		done := make(chan struct{})
		go func() { n.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
		}
		if r.State() == raft.Leader {
			f := r.LeadershipTransfer()
			errc := make(chan error, 1)
			go func() { errc <- f.Error() }()
			select {
			case err := <-errc:
				if err != nil {
					n.log.Warn("control: leadership transfer failed", "err", err)
				}
			case <-ctx.Done():
			}
		}
	}
	var errs []error
	if r != nil {
		if err := r.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("control: raft shutdown: %w", err))
		}
	}
	n.wg.Wait()
	if err := n.trans.Close(); err != nil {
		errs = append(errs, fmt.Errorf("control: closing transport: %w", err))
	}
	n.closeStores()
	n.log.Info("control: stopped", "graceful", graceful)
	return errors.Join(errs...)
}

// Leader returns the current raft leader's ServerID (node name) and raft
// address, as this node knows them; empty when there is none.
func (n *Node) Leader() (id, addr string) {
	r := n.raftNode()
	if r == nil {
		return "", ""
	}
	a, i := r.LeaderWithID()
	return string(i), string(a)
}

// IsLeader reports whether this node is the raft leader.
func (n *Node) IsLeader() bool {
	_, ok := n.leaderTerm()
	return ok
}

// Map returns the cluster map as this node has applied it from raft (on
// a follower, at most a replication round behind the leader; on a node
// cut off from the leader, as of the cut). The result is shared: do not
// modify it.
func (n *Node) Map() Map { return n.fsm.Map() }

// AppendMap appends the cluster map as SHOAL MAP answers it: an array
// with one element per shard, [shard, master node, master RESP address,
// epoch] (three bulk strings and an integer), sorted by shard name. It
// implements shardd's MapSource; the error is always nil.
func (n *Node) AppendMap(dst []byte) ([]byte, error) {
	m := n.fsm.Map()
	dst = proto.AppendArray(dst, len(m))
	for _, e := range m {
		dst = proto.AppendArray(dst, 4)
		dst = proto.AppendBulkString(dst, e.Shard)
		dst = proto.AppendBulkString(dst, e.Master)
		dst = proto.AppendBulkString(dst, e.Addr)
		dst = proto.AppendInt(dst, int64(e.Epoch))
	}
	return dst, nil
}

// Notify wakes the job loop (on a leader, a pass runs at once). Call it
// on gossip events when Config.Events is not set. It never blocks.
func (n *Node) Notify() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *Node) raftNode() *raft.Raft {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.raft
}

// leaderTerm returns the term in which this node is the raft leader. The
// term is read before and after the state: raft leaves the leader state
// before it adopts a higher term, so an unchanged term around a Leader
// state is the term this node won.
func (n *Node) leaderTerm() (uint64, bool) {
	r := n.raftNode()
	if r == nil {
		return 0, false
	}
	t1 := r.CurrentTerm()
	if r.State() != raft.Leader {
		return 0, false
	}
	t2 := r.CurrentTerm()
	return t1, t1 == t2
}

// bootstrapLoop bootstraps a fresh voter's raft cluster once gossip shows
// BootstrapExpect voters, this node among the first BootstrapExpect by
// name, for BootstrapGrace without any leader contacting it.
func (n *Node) bootstrapLoop(ctx context.Context) {
	tick := time.NewTicker(n.cfg.Tick)
	defer tick.Stop()
	var ready time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if n.knowsCluster() {
			n.log.Info("control: raft cluster found, no bootstrap")
			return
		}
		servers := bootstrapServers(n.cfg.Membership.Members(), n.cfg.BootstrapExpect)
		if !slices.ContainsFunc(servers, func(s raft.Server) bool { return string(s.ID) == n.id }) {
			ready = time.Time{}
			continue
		}
		if ready.IsZero() {
			ready = time.Now()
			n.log.Info("control: enough voters in gossip, bootstrapping unless a leader shows up",
				"expect", n.cfg.BootstrapExpect, "grace", n.cfg.BootstrapGrace)
			continue
		}
		if time.Since(ready) < n.cfg.BootstrapGrace {
			continue
		}
		err := n.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error()
		if err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			n.log.Warn("control: bootstrap failed", "err", err)
			continue
		}
		n.log.Info("control: bootstrapped raft", "servers", servers, "err", err)
		return
	}
}

// knowsCluster reports whether raft has a configuration or a leader.
func (n *Node) knowsCluster() bool {
	if id, _ := n.Leader(); id != "" {
		return true
	}
	f := n.raft.GetConfiguration()
	return f.Error() == nil && len(f.Configuration().Servers) > 0
}

// bootstrapServers returns the first expect voters (alive, `rv=1`, an
// `ra` address) by name, or nil when gossip shows fewer. Every voter
// computes the same list from the same gossip view.
func bootstrapServers(members []gossip.Member, expect int) []raft.Server {
	var out []raft.Server
	for _, m := range members {
		addr := m.Tags.Extra[gossip.KeyRaftAddr]
		if m.Alive() && addr != "" && m.Tags.Extra[gossip.KeyRaftVoter] == "1" {
			out = append(out, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(m.Name), Address: raft.ServerAddress(addr)})
		}
	}
	if len(out) < expect {
		return nil
	}
	slices.SortFunc(out, func(a, b raft.Server) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out[:expect]
}

// loop runs the leader's jobs while this node leads: every Tick, on
// gossip events and on leadership changes. A new term starts a new
// session (fresh job state) after a barrier, so the FSM holds everything
// earlier leaders committed before the jobs look at it.
func (n *Node) loop(ctx context.Context) {
	tick := time.NewTicker(n.cfg.Tick)
	defer tick.Stop()
	events := n.cfg.Events
	leaderCh := n.raft.LeaderCh()
	var s *session
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-n.wake:
		case <-leaderCh:
		case _, ok := <-events:
			if !ok {
				events = nil
			}
			for drained := false; !drained && events != nil; { // coalesce a burst
				select {
				case _, ok := <-events:
					if !ok {
						events = nil
					}
				default:
					drained = true
				}
			}
		}
		term, ok := n.leaderTerm()
		if !ok {
			if s != nil {
				n.log.Info("control: no longer leading", "term", s.term)
				s = nil
			}
			continue
		}
		if s == nil || s.term != term {
			if err := n.raft.Barrier(raftTimeout).Error(); err != nil {
				n.log.Warn("control: barrier at the start of a term failed", "term", term, "err", err)
				s = nil
				continue
			}
			s = newSession(n, term)
			n.log.Info("control: leading", "term", term)
		}
		s.pass(ctx)
	}
}

// session is one term of leadership: the jobs' state and the actor they
// act through.
type session struct {
	n        *Node
	term     uint64
	book     *orderBook
	voters   *voterJob
	failover *failoverJob
	retain   *retainJob
}

var _ actor = (*session)(nil)

func newSession(n *Node, term uint64) *session {
	return &session{n: n, term: term, book: newOrderBook(),
		voters: newVoterJob(), failover: newFailoverJob(), retain: newRetainJob()}
}

// pass runs every job once.
func (s *session) pass(ctx context.Context) {
	e := &env{
		cfg:     &s.n.cfg,
		log:     s.n.log.With("term", s.term),
		self:    s.n.id,
		now:     time.Now(),
		members: s.n.cfg.Membership.Members(),
		act:     s,
		shards:  s.n.client,
		book:    s.book,
	}
	s.voters.run(e)
	discoverJob{}.run(ctx, e)
	s.failover.run(ctx, e)
	convergeJob{}.run(ctx, e)
	s.retain.run(ctx, e)
}

// begin checks that this node still leads in the session's term and
// reports the action.
func (s *session) begin(a Action) error {
	if t, ok := s.n.leaderTerm(); !ok || t != s.term {
		return fmt.Errorf("%w (term %d)", errNotLeader, s.term)
	}
	a.Term, a.Leader, a.At = s.term, s.n.id, time.Now()
	s.n.log.Debug("control: action", "action", a)
	if f := s.n.cfg.OnAction; f != nil {
		f(a)
	}
	return nil
}

func (s *session) Map() Map { return s.n.fsm.Map() }

func (s *session) Servers() ([]raft.Server, error) {
	f := s.n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	return f.Configuration().Servers, nil
}

func (s *session) Commit(ctx context.Context, c command) error {
	a := Action{Kind: ActCommit, Shard: c.Entry.Shard, Node: c.Entry.Master, Epoch: c.Entry.Epoch, Detail: c.String()}
	if err := s.begin(a); err != nil {
		return err
	}
	f := s.n.raft.Apply(c.encode(), raftTimeout)
	if err := f.Error(); err != nil {
		return fmt.Errorf("control: committing %v: %w", c, err)
	}
	if err, _ := f.Response().(error); err != nil {
		return err
	}
	return nil
}

func (s *session) ChangeServer(kind ActionKind, id, addr string) error {
	if err := s.begin(Action{Kind: kind, Node: id, Detail: addr}); err != nil {
		return err
	}
	sid, sa := raft.ServerID(id), raft.ServerAddress(addr)
	var f raft.IndexFuture
	switch kind {
	case ActAddVoter:
		f = s.n.raft.AddVoter(sid, sa, 0, raftTimeout)
	case ActAddNonvoter:
		f = s.n.raft.AddNonvoter(sid, sa, 0, raftTimeout)
	case ActDemote:
		f = s.n.raft.DemoteVoter(sid, 0, raftTimeout)
	case ActRemove:
		f = s.n.raft.RemoveServer(sid, 0, raftTimeout)
	default:
		return fmt.Errorf("control: %s is not a raft membership change", kind)
	}
	if err := f.Error(); err != nil {
		return fmt.Errorf("control: %s %s: %w", kind, id, err)
	}
	s.n.log.Info("control: raft membership changed", "kind", kind, "server", id, "addr", addr)
	return nil
}

func (s *session) Order(ctx context.Context, a Action, addr string, args ...string) error {
	if err := s.begin(a); err != nil {
		return err
	}
	_, err := s.n.client.do(ctx, s.n.cfg.OrderTimeout, addr, args...)
	return err
}
