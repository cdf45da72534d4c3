package control

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/gossip/gossiptest"
	"github.com/shoal-kv/shoal/internal/testutil"
)

// jobHarness runs the leader's jobs one pass at a time under a fake
// clock, against a gossiptest network, fake shard nodes and a fake actor
// that commits straight to an FSM: every decision is deterministic.
type jobHarness struct {
	t      *testing.T
	net    *gossiptest.Network
	view   *gossiptest.Node // the leader's gossip view
	cfg    Config
	now    time.Time
	act    *fakeActor
	book   *orderBook
	client *shardClient
}

func newJobHarness(t *testing.T) *jobHarness {
	nw := gossiptest.NewNetwork()
	view := nw.Join("ctl", gossip.Tags{Role: gossip.RoleFrontend, RESPAddr: "127.0.0.1:1",
		Extra: map[string]string{gossip.KeyRaftAddr: "127.0.0.1:2", gossip.KeyRaftVoter: "1"}})
	cfg := DefaultConfig()
	h := &jobHarness{
		t: t, net: nw, view: view, cfg: cfg,
		now:    time.Unix(1_000_000, 0),
		book:   newOrderBook(),
		client: &shardClient{dial: (&net.Dialer{}).DialContext},
	}
	h.act = &fakeActor{fsm: newFSM(), client: h.client, timeout: time.Second}
	return h
}

func (h *jobHarness) env() *env {
	return &env{
		cfg: &h.cfg, log: testutil.Logger(h.t), self: "ctl", now: h.now,
		members: h.view.Members(), act: h.act, shards: h.client, book: h.book,
	}
}

func (h *jobHarness) advance(d time.Duration) { h.now = h.now.Add(d) }

// shard starts a fake node in the harness's network.
func (h *jobHarness) shard(name, shard string, role gossip.ReplRole, epoch, offset uint64) *fakeShard {
	return startFakeShard(h.t, h.net, name, shard, role, epoch, offset)
}

// adopt puts a shard in the map as discoverJob would.
func (h *jobHarness) adopt(f *fakeShard) {
	h.t.Helper()
	_, ep := f.state()
	if err := h.act.fsm.apply(command{Op: opAdopt, Entry: Entry{Shard: f.shard, Master: f.name, Addr: f.addr, Epoch: ep}}); err != nil {
		h.t.Fatal(err)
	}
}

// fakeActor records actions in order, commits to an FSM directly (or
// fails with commitErr), keeps a raft configuration in memory and sends
// orders for real.
type fakeActor struct {
	fsm       *fsm
	client    *shardClient
	timeout   time.Duration
	mu        sync.Mutex
	actions   []Action
	servers   []raft.Server
	commitErr error
}

func (a *fakeActor) record(x Action) {
	a.mu.Lock()
	defer a.mu.Unlock()
	x.Term, x.Leader = 1, "ctl"
	a.actions = append(a.actions, x)
}

func (a *fakeActor) Map() Map { return a.fsm.Map() }

func (a *fakeActor) Servers() ([]raft.Server, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.servers), nil
}

func (a *fakeActor) Commit(_ context.Context, c command) error {
	a.record(Action{Kind: ActCommit, Shard: c.Entry.Shard, Node: c.Entry.Master, Epoch: c.Entry.Epoch, Detail: c.String()})
	if a.commitErr != nil {
		return a.commitErr
	}
	return a.fsm.apply(c)
}

func (a *fakeActor) ChangeServer(kind ActionKind, id, addr string) error {
	a.record(Action{Kind: kind, Node: id, Detail: addr})
	a.mu.Lock()
	defer a.mu.Unlock()
	i := slices.IndexFunc(a.servers, func(s raft.Server) bool { return string(s.ID) == id })
	s := raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(addr)}
	switch kind {
	case ActAddVoter, ActAddNonvoter:
		s.Suffrage = raft.Voter
		if kind == ActAddNonvoter {
			s.Suffrage = raft.Nonvoter
		}
		if i < 0 {
			a.servers = append(a.servers, s)
		} else {
			a.servers[i] = s
		}
	case ActDemote:
		a.servers[i].Suffrage = raft.Nonvoter
	case ActRemove:
		a.servers = slices.Delete(a.servers, i, i+1)
	default:
		return errors.New("bad kind")
	}
	return nil
}

func (a *fakeActor) Order(ctx context.Context, x Action, addr string, args ...string) error {
	a.record(x)
	_, err := a.client.do(ctx, a.timeout, addr, args...)
	return err
}

// take returns the actions recorded since the last take, as short
// strings "kind node epoch detail".
func (a *fakeActor) take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, x := range a.actions {
		s := string(x.Kind) + " " + x.Node
		if x.Epoch != 0 || x.Kind == ActPromote || x.Kind == ActFollow {
			s += " " + strconv.FormatUint(x.Epoch, 10)
		}
		if x.Kind == ActRetain || x.Kind == ActFollow {
			s += " " + x.Detail
		}
		out = append(out, s)
	}
	a.actions = nil
	return out
}

func wantActions(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("actions:\n got %q\nwant %q", got, want)
	}
}
