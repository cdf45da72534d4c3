package integration

// A cluster of shoal processes with the control plane on: every shardd
// runs raft (--raft), three of them as voters, so the leader fails over
// dead masters. Nodes can run on 127.0.0.x (the default) or each in its own
// network namespace (testutil.HostNet) for partition tests.

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/proto"
)

// ctlNode is one shardd process of a raftCluster; it can be killed and
// restarted on the same addresses and data dir.
type ctlNode struct {
	*testutil.Proc
	name    string // gossip node name
	shard   string
	ip      string
	addr    string // RESP
	gossip  string
	raft    string
	dataDir string
	voter   bool
	args    []string // shardd arguments, for restarts
	host    *testutil.Host
}

// raftCluster is shards of (1 + replicas) shardd nodes each and frontends.
type raftCluster struct {
	t         testing.TB
	hn        *testutil.HostNet // nil: 127.0.0.x
	nextHost  int
	names     []string
	shards    map[string][]*ctlNode // [0] started as master
	all       []*ctlNode
	frontends []*node
	seeds     []string // gossip addresses to join
	nextPort  int
}

type raftClusterConfig struct {
	shards   []string
	replicas int
	voters   func(shard string, i int) bool // which nodes are raft voters (3 of them)
	extra    []string                       // more shardd flags for every node
	hn       *testutil.HostNet
}

// ip returns the address for the next process and its namespace, if any.
func (c *raftCluster) ipFor() (string, *testutil.Host) {
	if c.hn == nil {
		return testutil.LoopbackIP(), nil
	}
	h := c.hn.Hosts[c.nextHost]
	c.nextHost++
	return h.IP, h
}

// startRaftCluster starts every shard node and waits until a leader has a
// map listing every shard with the master it was started with.
func startRaftCluster(t testing.TB, cfg raftClusterConfig) *raftCluster {
	t.Helper()
	c := &raftCluster{t: t, hn: cfg.hn, names: cfg.shards, shards: map[string][]*ctlNode{}}
	nvoters := 0
	for _, s := range cfg.shards {
		for i := 0; i <= cfg.replicas; i++ {
			if cfg.voters(s, i) {
				nvoters++
			}
		}
	}
	for i := 0; i <= cfg.replicas; i++ {
		for _, s := range cfg.shards {
			ip, host := c.ipFor()
			n := &ctlNode{shard: s, ip: ip, host: host, voter: cfg.voters(s, i),
				addr: c.freeAddr(ip), gossip: c.freeAddr(ip), raft: c.freeAddr(ip), dataDir: t.TempDir()}
			n.name = fmt.Sprintf("%s-%d", s, i)
			n.args = []string{"shardd", "--listen", n.addr, "--gossip", n.gossip, "--gossip-profile", "fast",
				"--node-name", n.name, "--shard", s, "--data-dir", n.dataDir, "--log-level", ctlLogLevel,
				"--raft", n.raft, "--raft-voter=" + strconv.FormatBool(n.voter),
				"--raft-bootstrap-expect", strconv.Itoa(nvoters)}
			if len(c.seeds) > 0 {
				n.args = append(n.args, "--join", strings.Join(c.seeds, ","))
			}
			if i > 0 {
				n.args = append(n.args, "--replicaof", c.shards[s][0].addr)
			}
			n.args = append(n.args, cfg.extra...)
			if len(c.seeds) < 3 {
				c.seeds = append(c.seeds, n.gossip)
			}
			c.start(n)
			c.shards[s] = append(c.shards[s], n)
			c.all = append(c.all, n)
		}
	}
	for _, n := range c.all {
		testutil.WaitListening(t, n.addr)
	}
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		m, err := c.clusterMap(c.all[0].addr)
		if err != nil {
			return false, err.Error()
		}
		for _, s := range cfg.shards {
			if m[s].addr != c.shards[s][0].addr {
				return false, fmt.Sprintf("map %v", m)
			}
		}
		return true, ""
	})
	return c
}

func (c *raftCluster) freeAddr(ip string) string {
	if c.hn != nil {
		// A namespace has its own port space: nothing else listens there.
		c.nextPort++
		return net.JoinHostPort(ip, strconv.Itoa(20000+c.nextPort))
	}
	return freeAddr(c.t, ip)
}

// start (re)starts n's process.
func (c *raftCluster) start(n *ctlNode) {
	c.t.Helper()
	if n.host == nil {
		n.Proc = testutil.StartShoal(c.t, "shardd "+n.name, n.args...)
		return
	}
	bin := testutil.BuildBinary(c.t, "./cmd/shoal")
	n.Proc = testutil.StartProc(c.t, testutil.ProcOptions{Name: "shardd " + n.name, Bin: "ip",
		Args: append([]string{"netns", "exec", n.host.Name, bin}, n.args...)})
}

// restart starts a killed node again with the same addresses and data.
func (c *raftCluster) restart(n *ctlNode) {
	c.t.Helper()
	if !slices.Contains(n.args, "--join") {
		// The first node had nobody to join when it started. Restarted
		// without --join it would be a cluster of one until serf's
		// reconnect (every 30 s) found it, and stay master meanwhile.
		others := slices.DeleteFunc(slices.Clone(c.seeds), func(s string) bool { return s == n.gossip })
		n.args = append(n.args, "--join", strings.Join(others, ","))
	}
	c.start(n)
	testutil.WaitListening(c.t, n.addr)
}

// startFrontend runs a frontend joining the cluster.
func (c *raftCluster) startFrontend(name string, extra ...string) *node {
	c.t.Helper()
	ip, host := c.ipFor()
	n := &node{ip: ip, addr: c.freeAddr(ip), gossip: c.freeAddr(ip)}
	args := append([]string{"frontend", "--listen", n.addr, "--gossip", n.gossip, "--gossip-profile", "fast",
		"--log-level", "warn", "--join", strings.Join(c.seeds, ","), "--expect-shards", strconv.Itoa(len(c.names))}, extra...)
	if host == nil {
		n.Proc = testutil.StartShoal(c.t, name, args...)
	} else {
		bin := testutil.BuildBinary(c.t, "./cmd/shoal")
		n.Proc = testutil.StartProc(c.t, testutil.ProcOptions{Name: name, Bin: "ip",
			Args: append([]string{"netns", "exec", host.Name, bin}, args...)})
	}
	n.Name = name
	c.frontends = append(c.frontends, n)
	testutil.WaitFor(c.t, 20*time.Second, func() (bool, string) { return served(n.addr), name + " not serving" })
	return n
}

// mapEntry is one shard of SHOAL MAP.
type mapEntry struct {
	node, addr string
	epoch      int64
}

// clusterMap reads SHOAL MAP from the shardd at addr.
func (c *raftCluster) clusterMap(addr string) (map[string]mapEntry, error) {
	v, err := rawDo(addr, "SHOAL", "MAP")
	if err != nil {
		return nil, err
	}
	if v.Kind == proto.KindError {
		return nil, fmt.Errorf("SHOAL MAP: %s", v.Str)
	}
	m := map[string]mapEntry{}
	for _, e := range v.Array {
		if len(e.Array) != 4 {
			return nil, fmt.Errorf("SHOAL MAP entry %v", e)
		}
		m[string(e.Array[0].Str)] = mapEntry{node: string(e.Array[1].Str), addr: string(e.Array[2].Str), epoch: e.Array[3].Int}
	}
	return m, nil
}

// role returns ROLE's first element at addr ("master", "slave") or "".
func role(addr string) string {
	v, err := rawDo(addr, "ROLE")
	if err != nil || len(v.Array) == 0 {
		return ""
	}
	return string(v.Array[0].Str)
}

// masters lists the nodes of shard s that say they are master.
func (c *raftCluster) masters(s string) []*ctlNode {
	var out []*ctlNode
	for _, n := range c.shards[s] {
		select {
		case <-n.Exited():
			continue
		default:
		}
		if role(n.addr) == "master" {
			out = append(out, n)
		}
	}
	return out
}

// byAddr finds the node serving RESP at addr.
func (c *raftCluster) byAddr(addr string) *ctlNode {
	for _, n := range c.all {
		if n.addr == addr {
			return n
		}
	}
	return nil
}

// ctlLogLevel is the shardd log level in control-plane tests
// (SHOAL_TEST_LOG_LEVEL overrides; warn keeps the test log readable).
var ctlLogLevel = func() string {
	if l := os.Getenv("SHOAL_TEST_LOG_LEVEL"); l != "" {
		return l
	}
	return "warn"
}()
