package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/proto"
)

// The leader's housekeeping is a set of jobs, each a small unit with its
// own state and tests, run one after another by one goroutine on every
// pass (every Tick, and on gossip events). They are level-triggered: each
// pass compares gossip and the map with what should be and acts on the
// difference, so a newly elected leader finishes what its predecessor left
// half done.
//
//	voterJob     gossip members with `ra` -> raft configuration
//	discoverJob  gossip masters -> map (new shards, higher epochs)
//	failoverJob  map master down -> commit a new master, then order it
//	convergeJob  map -> orders, re-sent while tags disagree
//	retainJob    ROLE acks -> SHOAL RETAIN to masters
//
// Jobs act only through an actor, which checks leadership and records
// every action (Config.OnAction) with the term it acts under.

// actor performs the leader's actions. The Node's implementation checks,
// before each action, that raft still reports this node leader in the
// term the leadership began with, then reports the Action and acts.
type actor interface {
	// Map returns the map as this node has applied it.
	Map() Map
	// Servers returns raft's latest configuration.
	Servers() ([]raft.Server, error)
	// Commit applies a map command through raft and returns once it is
	// committed and applied here, or the error (raft's, or the FSM's
	// refusal: ErrStaleEpoch, ErrShardExists, ...).
	Commit(ctx context.Context, c command) error
	// ChangeServer makes a raft membership change: kind is ActAddVoter,
	// ActAddNonvoter, ActDemote or ActRemove.
	ChangeServer(kind ActionKind, id, addr string) error
	// Order sends args to the shardd at addr; a holds the order's Kind,
	// Shard, Node, Epoch and Detail.
	Order(ctx context.Context, a Action, addr string, args ...string) error
}

// env is what one pass of the jobs sees.
type env struct {
	cfg     *Config
	log     *slog.Logger
	self    string // this node's name
	now     time.Time
	members []gossip.Member
	act     actor
	shards  *shardClient
	book    *orderBook
}

// member returns the member named name.
func (e *env) member(name string) (gossip.Member, bool) {
	for _, m := range e.members {
		if m.Name == name {
			return m, true
		}
	}
	return gossip.Member{}, false
}

// shardMembers returns the shard nodes of shard in gossip, in any state.
func (e *env) shardMembers(shard string) []gossip.Member {
	var out []gossip.Member
	for _, m := range e.members {
		if m.TagsErr == nil && m.Tags.Role == gossip.RoleShard && m.Tags.Shard == shard {
			out = append(out, m)
		}
	}
	return out
}

// shardNames returns the shards announced by alive nodes.
func (e *env) shardNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range e.members {
		if m.Alive() && m.Tags.Role == gossip.RoleShard && !seen[m.Tags.Shard] {
			seen[m.Tags.Shard] = true
			out = append(out, m.Tags.Shard)
		}
	}
	return out
}

// nextEpoch is the epoch for a shard's next master: above the map's and
// above every epoch any node of the shard announces (dead ones included).
func (e *env) nextEpoch(ent Entry) uint64 {
	ep := ent.Epoch
	for _, m := range e.shardMembers(ent.Shard) {
		ep = max(ep, m.Tags.Epoch)
	}
	return ep + 1
}

// masterAddr is where the map's master of ent is reached: its current
// gossip address when gossip knows it, else the map's.
func (e *env) masterAddr(ent Entry) string {
	if m, ok := e.member(ent.Master); ok && m.TagsErr == nil && m.Tags.RESPAddr != "" {
		return m.Tags.RESPAddr
	}
	return ent.Addr
}

// promote orders m to become master of ent's shard at ent's epoch.
func (e *env) promote(ctx context.Context, ent Entry, m gossip.Member) error {
	ep := strconv.FormatUint(ent.Epoch, 10)
	return e.order(ctx, Action{Kind: ActPromote, Shard: ent.Shard, Node: m.Name, Epoch: ent.Epoch},
		m.Tags.RESPAddr, "SHOAL", "PROMOTE", ep)
}

// follow orders m to replicate from masterAddr at ent's epoch.
func (e *env) follow(ctx context.Context, ent Entry, m gossip.Member, masterAddr string) error {
	host, port, err := net.SplitHostPort(masterAddr)
	if err != nil {
		return fmt.Errorf("master address %q: %w", masterAddr, err)
	}
	ep := strconv.FormatUint(ent.Epoch, 10)
	return e.order(ctx, Action{Kind: ActFollow, Shard: ent.Shard, Node: m.Name, Epoch: ent.Epoch, Detail: masterAddr},
		m.Tags.RESPAddr, "SHOAL", "FOLLOW", host, port, ep)
}

// errRecentlySent says an identical order went out less than OrderRetry
// ago; it is not sent again yet.
var errRecentlySent = errors.New("control: same order sent recently")

// order sends an order unless the same one went to the same node less
// than OrderRetry ago, and logs the outcome.
func (e *env) order(ctx context.Context, a Action, addr string, args ...string) error {
	key := fmt.Sprint(a.Kind, a.Epoch, a.Detail)
	if !e.book.due(a.Node, key, e.now, e.cfg.OrderRetry) {
		return errRecentlySent
	}
	e.book.mark(a.Node, key, e.now)
	err := e.act.Order(ctx, a, addr, args...)
	log := e.log.With("kind", a.Kind, "shard", a.Shard, "node", a.Node, "epoch", a.Epoch, "addr", addr)
	var perr proto.Error
	switch {
	case err == nil:
		log.Debug("control: order accepted")
	case errors.As(err, &perr):
		log.Warn("control: order refused", "err", err)
	default:
		log.Warn("control: order not delivered", "err", err)
	}
	return err
}

// orderBook remembers the last order sent to each node, so identical
// orders are re-sent at most every OrderRetry while gossip tags lag.
type orderBook struct {
	sent map[string]sentOrder
}

type sentOrder struct {
	key string
	at  time.Time
}

func newOrderBook() *orderBook { return &orderBook{sent: map[string]sentOrder{}} }

func (b *orderBook) due(node, key string, now time.Time, retry time.Duration) bool {
	s, ok := b.sent[node]
	return !ok || s.key != key || now.Sub(s.at) >= retry
}

func (b *orderBook) mark(node, key string, now time.Time) {
	b.sent[node] = sentOrder{key: key, at: now}
}

// downTracker remembers since when each node has been seen down by one
// job (what "down" means is the job's business).
type downTracker map[string]time.Time

// up forgets name's downtime.
func (d downTracker) up(name string) { delete(d, name) }

// since returns when name was first seen down, recording now the first
// time.
func (d downTracker) since(name string, now time.Time) time.Time {
	t, ok := d[name]
	if !ok {
		d[name] = now
		t = now
	}
	return t
}

// cached reports whether m is a diskless cached replica.
func cached(m gossip.Member) bool { return m.Tags.Extra[gossip.KeyCached] == "1" }
