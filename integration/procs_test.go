package integration

import (
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/proto"
)

// node is one shoal process on its own loopback IP.
type node struct {
	*testutil.Proc
	ip     string
	addr   string // RESP address
	gossip string // serf address
}

// startNode runs `shoal <role> args...` on a fresh 127.0.0.x with free
// RESP and gossip ports and the fast gossip profile.
func startNode(t testing.TB, name, role string, args ...string) *node {
	t.Helper()
	ip := testutil.LoopbackIP()
	n := &node{ip: ip, addr: freeAddr(t, ip)}
	for n.gossip = freeAddr(t, ip); n.gossip == n.addr; n.gossip = freeAddr(t, ip) {
	}
	all := append([]string{role, "--listen", n.addr, "--gossip", n.gossip,
		"--gossip-profile", "fast", "--log-level", "warn"}, args...)
	n.Proc = testutil.StartShoal(t, name, all...)
	return n
}

func freeAddr(t testing.TB, ip string) string {
	return net.JoinHostPort(ip, strconv.Itoa(testutil.FreePort(t, ip)))
}

// procCluster is shards of a master and a replica each, and frontends,
// every one a process of the shoal binary.
type procCluster struct {
	t         testing.TB
	names     []string
	masters   map[string]*node
	replicas  map[string]*node
	frontends []*node
}

// startProcCluster starts the shard nodes (masters first; the first
// master is the gossip seed) and waits until each accepts connections.
func startProcCluster(t testing.TB, names []string) *procCluster {
	t.Helper()
	c := &procCluster{t: t, names: names, masters: map[string]*node{}, replicas: map[string]*node{}}
	for _, name := range names {
		args := []string{"--shard", name, "--data-dir", t.TempDir()}
		if len(c.masters) > 0 {
			args = append(args, "--join", c.seed())
		}
		c.masters[name] = startNode(t, "shardd "+name, "shardd", args...)
	}
	for _, name := range names {
		c.replicas[name] = startNode(t, "shardd "+name+" replica", "shardd", "--shard", name,
			"--data-dir", t.TempDir(), "--replicaof", c.masters[name].addr, "--join", c.seed())
	}
	for _, name := range names {
		testutil.WaitListening(t, c.masters[name].addr)
		testutil.WaitListening(t, c.replicas[name].addr)
	}
	return c
}

// seed is the gossip address new nodes join.
func (c *procCluster) seed() string { return c.masters[c.names[0]].gossip }

// startFrontend runs `shoal frontend` joining the cluster; it does not wait.
func (c *procCluster) startFrontend(name string) *node {
	c.t.Helper()
	fe := startNode(c.t, name, "frontend", "--join", c.seed(),
		"--expect-shards", strconv.Itoa(len(c.names)), "--shutdown-grace", "5s")
	c.frontends = append(c.frontends, fe)
	return fe
}

// fullTopology reports whether SHOAL SHARDS through addr lists every shard
// with its master and its replica at the addresses they were started on.
func (c *procCluster) fullTopology(addr string) (bool, string) {
	v, err := rawDo(addr, "SHOAL", "SHARDS")
	if err != nil || len(v.Array) != len(c.names) {
		return false, fmt.Sprintf("SHOAL SHARDS: %v %v", v, err)
	}
	for _, r := range v.Array {
		if len(r.Array) != 4 {
			return false, fmt.Sprintf("SHOAL SHARDS row: %v", r)
		}
		name := string(r.Array[0].Str)
		m, ok := c.masters[name]
		if !ok || string(r.Array[1].Str) != m.addr {
			return false, fmt.Sprintf("shard %s master %s", name, r.Array[1].Str)
		}
		reps := r.Array[3].Array
		if len(reps) != 1 || string(reps[0].Str) != c.replicas[name].addr {
			return false, fmt.Sprintf("shard %s replicas %v", name, r.Array[3])
		}
	}
	return true, ""
}

// waitTopology waits until every given frontend sees the whole cluster.
func (c *procCluster) waitTopology(timeout time.Duration, fes ...*node) {
	c.t.Helper()
	for _, fe := range fes {
		testutil.WaitFor(c.t, timeout, func() (bool, string) {
			ok, why := c.fullTopology(fe.addr)
			return ok, fe.Name + ": " + why
		})
	}
}

// rawDo sends one command on a new connection and returns the parsed
// reply (an error reply is a Value, not an error). No client library:
// polls must not retry or log.
func rawDo(addr string, args ...string) (proto.Value, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return proto.Value{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(proto.AppendCommandStrings(nil, args...)); err != nil {
		return proto.Value{}, err
	}
	f, err := proto.NewReader(c, proto.Limits{}).ReadReply()
	if err != nil {
		return proto.Value{}, err
	}
	return proto.ParseReply(f)
}

// memberStatus is the gossip status ("alive", "left", ...) that the
// frontend at viewer's SHOAL MEMBERS gives the node serving respAddr, or
// "" when it lists no such node.
func memberStatus(viewer, respAddr string) (string, error) {
	v, err := rawDo(viewer, "SHOAL", "MEMBERS")
	if err != nil || len(v.Array) == 0 {
		return "", fmt.Errorf("SHOAL MEMBERS: %v %v", v, err)
	}
	for _, f := range v.Array {
		if len(f.Array) == 8 && string(f.Array[7].Str) == respAddr {
			return string(f.Array[2].Str), nil
		}
	}
	return "", nil
}

// served reports whether a data command through addr is answered
// (not refused with -CLUSTERDOWN while the frontend is not ready).
func served(addr string) bool {
	v, err := rawDo(addr, "GET", "readiness-probe")
	return err == nil && v.IsNull()
}

// newClient is a go-redis client for a frontend. MaxRetries -1: go-redis
// would otherwise re-send a command after EOF and a write could run twice.
func newClient(addr string, poolSize int) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, PoolSize: poolSize,
		DialTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second})
}
