package gossip_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/gossip/gossiptest"
	"github.com/shoal-kv/shoal/internal/testutil"
)

// cluster drives one implementation of gossip.Membership through the
// contract scenario.
type cluster interface {
	start(t *testing.T, name string, tags gossip.Tags) gossip.Membership
	setTags(t *testing.T, name string, tags gossip.Tags)
	kill(t *testing.T, name string)
	leave(t *testing.T, name string)
}

// serfCluster runs real agents on loopback with the fast profile.
type serfCluster struct {
	agents map[string]*gossip.Agent
	seed   string
}

func (c *serfCluster) start(t *testing.T, name string, tags gossip.Tags) gossip.Membership {
	cfg := gossip.DefaultConfig()
	cfg.NodeName = name
	cfg.BindAddr = testutil.LoopbackIP()
	cfg.BindPort = 0
	cfg.Profile = gossip.ProfileFast
	cfg.Tags = tags
	cfg.Logger = testutil.Logger(t).With("test_node", name)
	a, err := gossip.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if c.seed == "" {
		c.seed = a.Addr().String()
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Join(ctx, []string{c.seed}); err != nil {
			t.Fatal(err)
		}
	}
	c.agents[name] = a
	return a
}

func (c *serfCluster) setTags(t *testing.T, name string, tags gossip.Tags) {
	if err := c.agents[name].SetTags(tags); err != nil {
		t.Fatal(err)
	}
}

func (c *serfCluster) kill(t *testing.T, name string) {
	if err := c.agents[name].Close(); err != nil {
		t.Fatal(err)
	}
}

func (c *serfCluster) leave(t *testing.T, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.agents[name].Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// memCluster is gossiptest.
type memCluster struct{ net *gossiptest.Network }

func (c *memCluster) start(t *testing.T, name string, tags gossip.Tags) gossip.Membership {
	return c.net.Join(name, tags)
}

func (c *memCluster) setTags(t *testing.T, name string, tags gossip.Tags) {
	if err := c.net.SetTags(name, tags); err != nil {
		t.Fatal(err)
	}
}
func (c *memCluster) kill(t *testing.T, name string)  { c.net.Fail(name) }
func (c *memCluster) leave(t *testing.T, name string) { c.net.Leave(name) }

// TestMembershipContract runs one scenario against the real agent and the
// in-memory network and expects the same observations from both.
func TestMembershipContract(t *testing.T) {
	impls := map[string]func() cluster{
		"serf":       func() cluster { return &serfCluster{agents: map[string]*gossip.Agent{}} },
		"gossiptest": func() cluster { return &memCluster{net: gossiptest.NewNetwork()} },
	}
	for name, mk := range impls {
		t.Run(name, func(t *testing.T) { runContract(t, mk()) })
	}
}

func shard(name string, repl gossip.ReplRole, epoch uint64) gossip.Tags {
	return gossip.Tags{Role: gossip.RoleShard, Shard: name, ReplRole: repl, Epoch: epoch,
		RESPAddr: net.JoinHostPort("127.0.0.1", "6379")}
}

func runContract(t *testing.T, c cluster) {
	feTags := gossip.Tags{Role: gossip.RoleFrontend, RESPAddr: "127.0.0.1:6380"}
	fe := c.start(t, "fe", feTags)
	events := fe.Events()
	if lm := fe.LocalMember(); lm.Name != "fe" || lm.Status != gossip.StatusAlive || !lm.Tags.Equal(feTags) {
		t.Fatalf("LocalMember = %+v", lm)
	}
	c.start(t, "a", shard("a", gossip.ReplMaster, 1))
	c.start(t, "b", shard("b", gossip.ReplMaster, 1))
	awaitJoins(t, events, "a", "b") // in either order: b may reach fe first through gossip
	checkView(t, fe, map[string]gossip.Status{"fe": gossip.StatusAlive, "a": gossip.StatusAlive, "b": gossip.StatusAlive})

	promoted := shard("a", gossip.ReplReplica, 2)
	c.setTags(t, "a", promoted)
	await(t, events, gossip.EventUpdated, "a", func(m gossip.Member) bool { return m.Tags.Equal(promoted) })

	c.kill(t, "b")
	await(t, events, gossip.EventFailed, "b", func(m gossip.Member) bool { return m.Status == gossip.StatusFailed })
	c.leave(t, "a")
	await(t, events, gossip.EventLeft, "a", func(m gossip.Member) bool { return m.Status == gossip.StatusLeft })
	checkView(t, fe, map[string]gossip.Status{"fe": gossip.StatusAlive, "a": gossip.StatusLeft, "b": gossip.StatusFailed})

	reborn := c.start(t, "b", shard("b", gossip.ReplMaster, 3))
	m := await(t, events, gossip.EventJoined, "b", nil)
	if m.Tags.Epoch != 3 || m.Addr != reborn.LocalMember().Addr {
		t.Errorf("restarted b: %+v, want epoch 3 at %v", m, reborn.LocalMember().Addr)
	}
	checkView(t, fe, map[string]gossip.Status{"fe": gossip.StatusAlive, "a": gossip.StatusLeft, "b": gossip.StatusAlive})
}

// await reads events until one of type typ about name arrives (others are
// skipped) and checks it with ok.
func await(t *testing.T, events <-chan gossip.Event, typ gossip.EventType, name string, ok func(gossip.Member) bool) gossip.Member {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Type != typ || ev.Member.Name != name {
				t.Logf("skip %v", ev)
				continue
			}
			if ok != nil && !ok(ev.Member) {
				t.Fatalf("event %v: unexpected member %+v", ev, ev.Member)
			}
			return ev.Member
		case <-deadline:
			t.Fatalf("no %s event for %s", typ, name)
		}
	}
}

// awaitJoins waits for a joined event of each name, in any order.
func awaitJoins(t *testing.T, events <-chan gossip.Event, names ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	deadline := time.After(5 * time.Second)
	for len(want) > 0 {
		select {
		case ev := <-events:
			if ev.Type == gossip.EventJoined && want[ev.Member.Name] {
				delete(want, ev.Member.Name)
			} else {
				t.Logf("skip %v", ev)
			}
		case <-deadline:
			t.Fatalf("no joined event for %v", want)
		}
	}
}

func checkView(t *testing.T, m gossip.Membership, want map[string]gossip.Status) {
	t.Helper()
	got := map[string]gossip.Status{}
	prev := ""
	for _, mem := range m.Members() {
		if mem.Name <= prev {
			t.Errorf("Members not sorted by name: %q after %q", mem.Name, prev)
		}
		prev = mem.Name
		got[mem.Name] = mem.Status
	}
	if len(got) != len(want) {
		t.Fatalf("view %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("view %v, want %v", got, want)
		}
	}
}
