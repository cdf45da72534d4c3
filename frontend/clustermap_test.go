package frontend

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/gossip/gossiptest"
	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/proto"
)

// mapShard is a fake shard node that answers SET with its own name (so a
// test sees where a write went) and SHOAL MAP with whatever map is set.
type mapShard struct {
	*fakeShard
	name  string
	mp    atomic.Pointer[string] // the SHOAL MAP reply
	reads atomic.Int64           // SHOAL MAP requests answered
}

func startMapShard(t *testing.T, name string) *mapShard {
	m := &mapShard{name: name}
	none := "-ERR no cluster map: this node runs no control plane (start it with --raft)\r\n"
	m.mp.Store(&none)
	m.fakeShard = startFakeShard(t, func(_ int32, args [][]byte) string {
		switch strings.ToLower(string(args[0])) {
		case "shoal":
			defer m.reads.Add(1)
			return *m.mp.Load()
		case "set":
			return "+" + m.name + "\r\n"
		}
		return "+OK\r\n"
	})
	return m
}

// setMap makes the node answer SHOAL MAP with one shard s0 entry.
func (m *mapShard) setMap(node, addr string, epoch int64) {
	r := string(proto.AppendArray(nil, 1))
	r += string(proto.AppendArray(nil, 4)) + bulk("s0") + bulk(node) + bulk(addr) + string(proto.AppendInt(nil, epoch))
	m.mp.Store(&r)
}

// raftTags marks a shard node as running the control plane (tag ra).
func raftTags(tg gossip.Tags) gossip.Tags {
	tg.Extra = map[string]string{gossip.KeyRaftAddr: "127.0.0.1:1"}
	return tg
}

// startMapCluster is shard s0 with master "old" (epoch 1) and replica
// "repl", both announcing the control plane, in an in-memory gossip
// network.
func startMapCluster(t *testing.T) (old, repl *mapShard, net_ *gossiptest.Network) {
	old, repl = startMapShard(t, "old"), startMapShard(t, "repl")
	net_ = newNet()
	net_.Join("s0-old", raftTags(shardTags("s0", gossip.ReplMaster, old.addr(), 1)))
	net_.Join("s0-repl", raftTags(shardTags("s0", gossip.ReplReplica, repl.addr(), 1)))
	return old, repl, net_
}

// TestClusterMapCorrectsGossip: the router follows the control plane's map
// where it is ahead of gossip — a promoted replica gets writes before its
// tags say master; a master announcing an older epoch than the map's gets
// none — and follows gossip where gossip is ahead.
func TestClusterMapCorrectsGossip(t *testing.T) {
	old, repl, net_ := startMapCluster(t)
	old.setMap("s0-old", old.addr(), 1)
	repl.setMap("s0-old", old.addr(), 1)
	mc := &memCluster{t: t, net: net_, masters: map[string]string{"s0": old.addr()}, names: []string{"s0"}}
	srv, faddr := mc.frontend(func(c *Config) { c.MapInterval = 50 * time.Millisecond; c.FailoverBuffer = 0 })
	c := testutil.DialRaw(t, faddr)
	if got := do(c, "SET", "k", "v"); got != "+old\r\n" {
		t.Fatalf("SET before any change went to %q", got)
	}

	// The leader promoted the replica at epoch 2; its tags still say
	// replica at epoch 1. Writes must go to it within a map read or two.
	old.setMap("s0-repl", repl.addr(), 2)
	repl.setMap("s0-repl", repl.addr(), 2)
	start := time.Now()
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		got := do(c, "SET", "k", "v")
		return got == "+repl\r\n", "SET went to " + got
	})
	t.Logf("writes follow the map's new master %v after the map changed (map interval 50ms)", time.Since(start).Round(time.Millisecond))
	st := srv.ClusterStatus()
	if sh := st.Shards[0]; sh.MasterNode != "s0-repl" || sh.Epoch != 2 || sh.MapEpoch != 2 {
		t.Errorf("/cluster shard: %+v", sh)
	}

	// The map's master fails in gossip; the old master still announces
	// epoch 1: the shard has no master rather than the deposed one.
	net_.Fail("s0-repl")
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		got := do(c, "SET", "k", "v")
		return strings.HasPrefix(got, "-CLUSTERDOWN"), "SET with the map's master failed: " + got
	})

	// Gossip ahead of the map: a master announcing epoch 3 wins over the
	// map's epoch 2.
	if err := net_.SetTags("s0-old", raftTags(shardTags("s0", gossip.ReplMaster, old.addr(), 3))); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		got := do(c, "SET", "k", "v")
		return got == "+old\r\n", "SET with a newer epoch in gossip went to " + got
	})
}

func TestParseMap(t *testing.T) {
	good := "*2\r\n*4\r\n$1\r\na\r\n$2\r\nn1\r\n$4\r\nh:10\r\n:3\r\n*4\r\n$1\r\nb\r\n$2\r\nn2\r\n$4\r\nh:11\r\n:1\r\n"
	m, err := parseMap([]byte(good))
	if err != nil || len(m) != 2 || m["a"] != (mapEntry{"n1", "h:10", 3}) || m["b"] != (mapEntry{"n2", "h:11", 1}) {
		t.Fatalf("parseMap = %v, %v", m, err)
	}
	for _, bad := range []string{
		"-ERR no cluster map\r\n",
		"+OK\r\n",
		"*1\r\n*3\r\n$1\r\na\r\n$2\r\nn1\r\n$4\r\nh:10\r\n",
		"*1\r\n*4\r\n$1\r\na\r\n$2\r\nn1\r\n$4\r\nh:10\r\n$1\r\n3\r\n",
		"*1\r\n*4\r\n$1\r\na\r\n$2\r\nn1\r\n$4\r\nh:10\r\n:-1\r\n",
	} {
		if m, err := parseMap([]byte(bad)); err == nil {
			t.Errorf("parseMap(%q) = %v, want an error", bad, m)
		}
	}
}

// TestHeldRequestsPollTheMap: while requests wait in the failover buffer,
// the map is read every mapMinGap (not every MapInterval), so a promotion
// the map shows before the new master's tags arrive ends the wait.
func TestHeldRequestsPollTheMap(t *testing.T) {
	old, repl, net_ := startMapCluster(t)
	repl.setMap("s0-old", old.addr(), 1)
	mc := &memCluster{t: t, net: net_, masters: map[string]string{"s0": old.addr()}, names: []string{"s0"}}
	srv, faddr := mc.frontend(func(c *Config) { c.MapInterval = time.Minute; c.FailoverBuffer = 5 * time.Second })
	c := testutil.DialRaw(t, faddr)
	if got := do(c, "SET", "k", "v"); got != "+old\r\n" {
		t.Fatalf("SET before the failure went to %q", got)
	}
	net_.Fail("s0-old")
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		return srv.router.view().shards["s0"].master == nil, "s0 still has a master"
	})
	if err := c.Send("SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		return srv.fobuf.held("s0") == 1, "SET not held"
	})
	// Let the read the hold itself asked for happen first: only the
	// polling can see the promotion below.
	reads := repl.reads.Load()
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		return repl.reads.Load() >= reads+1, "no map read after the hold"
	})
	repl.setMap("s0-repl", repl.addr(), 2) // promoted; its tags still say replica
	start := time.Now()
	got, err := c.ReadTimeout(4 * time.Second)
	if err != nil || string(got) != "+repl\r\n" {
		t.Fatalf("held SET: %q %v, want it answered by the map's new master", got, err)
	}
	t.Logf("held SET answered %v after the map named the new master (MapInterval 1m)", time.Since(start).Round(time.Millisecond))
}
