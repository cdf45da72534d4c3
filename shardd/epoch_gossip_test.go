package shardd

// The control plane's signals in real gossip: a replica's ml=down tag when
// its master dies (kill -9 of a real process, or a clean stop) and its
// removal when the link works again; and the returning-old-master rule.

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/internal/testutil"
)

// gossipNode sets a node up to join gossip (fast timings, a free port on
// its own loopback IP; other packages' tests run at the same time) as
// name, joining join when given.
func gossipNode(name string, join ...string) func(*Config) {
	return func(c *Config) {
		g := gossip.DefaultConfig()
		g.BindAddr = testutil.LoopbackIP()
		g.BindPort = 0
		g.Profile = gossip.ProfileFast
		g.NodeName = name
		c.Gossip = &g
		c.Join = join
	}
}

// startObserver starts a plain gossip member (a frontend's view).
func startObserver(t *testing.T) *gossip.Agent {
	t.Helper()
	cfg := gossip.DefaultConfig()
	cfg.BindAddr = testutil.LoopbackIP()
	cfg.BindPort = 0
	cfg.Profile = gossip.ProfileFast
	cfg.NodeName = "observer"
	cfg.Tags = gossip.Tags{Role: gossip.RoleFrontend, RESPAddr: "127.0.0.1:1"}
	cfg.Logger = testutil.Logger(t)
	a, err := gossip.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// memberTags returns name's tags as agent sees them, if it sees it alive.
func memberTags(agent *gossip.Agent, name string) (gossip.Tags, bool) {
	for _, m := range agent.Members() {
		if m.Name == name {
			return m.Tags, m.Alive()
		}
	}
	return gossip.Tags{}, false
}

// A replica announces ml=down as soon as its master's process is killed
// with SIGKILL or stopped cleanly, and withdraws it once it streams from
// the restarted master. Figures: kill → tag seen by another member, and
// restart → tag gone.
func TestMasterLinkTagFollowsTheLink(t *testing.T) {
	bin := testutil.BuildBinary(t, "./cmd/shoal")
	dir := t.TempDir()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(t, "127.0.0.1")))
	p := startShardProcOn(t, bin, addr, dir)
	obs := startObserver(t)
	r := startNode(t, gossipNode("replica-1", obs.Addr().String()), func(c *Config) { c.ReplicaOf = addr })
	link := func(want string) func() (bool, string) {
		return func() (bool, string) {
			tags, alive := memberTags(obs, "replica-1")
			return alive && tags.ReplRole == gossip.ReplReplica && tags.Extra[gossip.KeyMasterLink] == want,
				fmt.Sprintf("alive %v, tags %+v", alive, tags)
		}
	}
	testutil.WaitFor(t, 20*time.Second, link(""))
	rc := r.client()
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		st := infoFields(t, rc, "replication")["master_link_status"]
		return st == "up", "link " + st
	})
	for _, stop := range []struct {
		name string
		do   func()
	}{
		{"kill -9", p.kill},
		{"SIGTERM", func() {
			p.cmd.Process.Signal(syscall.SIGTERM)
			if err := p.cmd.Wait(); err != nil {
				t.Errorf("shardd after SIGTERM: %v", err)
			}
		}},
	} {
		start := time.Now()
		stop.do()
		testutil.WaitFor(t, 10*time.Second, link("down"))
		t.Logf("%s of the master: ml=down seen in gossip after %v", stop.name, time.Since(start).Round(time.Millisecond))
		if tags := r.srv.gossipTags(); tags.Extra[gossip.KeyMasterLink] != "down" {
			t.Fatalf("own tags: %+v", tags)
		}
		start = time.Now()
		p = startShardProcOn(t, bin, addr, dir)
		testutil.WaitFor(t, 20*time.Second, link(""))
		t.Logf("master restarted: ml=down withdrawn after %v (includes the process start and the replica's reconnect backoff)", time.Since(start).Round(time.Millisecond))
		if st := infoFields(t, rc, "replication")["master_link_status"]; st != "up" {
			t.Errorf("tag withdrawn but link %s", st)
		}
	}
	// A node that stops following (promoted) never shows the tag.
	p.kill()
	testutil.WaitFor(t, 10*time.Second, link("down"))
	if err := rc.Do(context.Background(), "SHOAL", "PROMOTE", "2").Err(); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		tags, alive := memberTags(obs, "replica-1")
		_, ml := tags.Extra[gossip.KeyMasterLink]
		return alive && tags.ReplRole == gossip.ReplMaster && tags.Epoch == 2 && !ml, fmt.Sprintf("tags %+v", tags)
	})
}

// The returning-old-master rule with real gossip: a master that was down
// while its replica was promoted comes back at the old epoch with writes
// nobody has, sees the new master (same shard, rr=master, higher epoch)
// in gossip, steps down, discards its unreplicated suffix and converges to
// the new master's keyspace.
func TestReturningOldMasterStepsDown(t *testing.T) {
	ctx := context.Background()
	noSnap := func(c *Config) { c.SnapshotLogSize = 0 }
	a := startNode(t, noSnap, gossipNode("node-a"))
	b := startNode(t, noSnap, gossipNode("node-b", a.srv.GossipAddr().String()), func(c *Config) { c.ReplicaOf = a.addr })
	ac := a.client()
	for i := 0; i < 50; i++ {
		ac.Set(ctx, "k"+strconv.Itoa(i), "v1", 0)
	}
	ac.HSet(ctx, "h", "f", "common")
	if n, err := ac.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT = %d, %v", n, err)
	}
	// b goes away; a takes writes that are never replicated, then dies.
	b.stop()
	for i := 0; i < 20; i++ {
		ac.Set(ctx, "a-only:"+strconv.Itoa(i), "lost", 0)
	}
	ac.Set(ctx, "k1", "from-old-master", 0)
	ac.Incr(ctx, "ctr")
	a.stop()
	// b comes back (its master is gone), is promoted at epoch 2, writes.
	b.restart(func(c *Config) { c.Join = nil })
	bc := b.client()
	if err := bc.Do(ctx, "SHOAL", "PROMOTE", "2").Err(); err != nil {
		t.Fatalf("PROMOTE: %v", err)
	}
	bc.Set(ctx, "k2", "from-new-master", 0)
	bc.Set(ctx, "b-only", "kept", 0)
	bc.Incr(ctx, "ctr")
	bc.Incr(ctx, "ctr")
	// a restarts as a master of epoch 1 and joins b's gossip.
	start := time.Now()
	a.restart(func(c *Config) { c.Join = []string{b.srv.GossipAddr().String()} })
	ac = a.client()
	testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
		st := infoFields(t, ac, "replication")
		return st["role"] == "slave" && st["master_port"] == portOf(b.addr), fmt.Sprintf("a: role %s, master %s", st["role"], st["master_port"])
	})
	t.Logf("the old master stepped down %v after its restart", time.Since(start).Round(time.Millisecond))
	waitConverged(t, 20*time.Second, bc, ac)
	if n, err := ac.Exists(ctx, "a-only:0", "a-only:19").Result(); err != nil || n != 0 {
		t.Fatalf("the old master's suffix survived: %d %v", n, err)
	}
	if v := ac.Get(ctx, "k1").Val(); v != "v1" {
		t.Fatalf("k1 = %q, want the common history's v1", v)
	}
	if v := ac.Get(ctx, "ctr").Val(); v != "2" {
		t.Fatalf("ctr = %q, want 2", v)
	}
	// b's view of a: a replica at epoch 2; a's role survives a restart.
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		tags, alive := memberTags(b.srv.Gossip(), "node-a")
		return alive && tags.ReplRole == gossip.ReplReplica && tags.Epoch == 2, fmt.Sprintf("a's tags in b's view: %+v", tags)
	})
	a.restart(func(c *Config) { c.Gossip, c.Join = nil, nil })
	if st := infoFields(t, a.client(), "replication"); st["role"] != "slave" || st["shoal_known_epoch"] != "2" {
		t.Fatalf("after another restart: %v", st)
	}
	// b, the master of the highest epoch, never stepped down.
	if role := infoFields(t, bc, "replication")["role"]; role != "master" {
		t.Fatalf("b is %s", role)
	}
}
