package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoal-kv/shoal/frontend"
	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/proto"
	"github.com/shoal-kv/shoal/shardd"
)

// infoLogger is testutil.Logger without debug records (serf's chatter).
func infoLogger(t *testing.T) *slog.Logger {
	return slog.New(minLevel{testutil.Logger(t).Handler(), slog.LevelInfo})
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(a), h.min}
}
func (h minLevel) WithGroup(g string) slog.Handler { return minLevel{h.Handler.WithGroup(g), h.min} }

// start runs a cluster on free ports and closes it when the test ends.
func start(t *testing.T, mutate func(*Config)) *Cluster {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Port = 0
	cfg.Logger = infoLogger(t)
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := cl.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return cl
}

// client is a go-redis client that never re-sends a command.
func client(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// transient reports the errors a frontend answers while gossip wrongly
// holds a node failed: the node's shard is CLUSTERDOWN, or its upstream
// connection is cut, until the node refutes the suspicion. Seen with the
// fast profile (100 ms probe timeout) under -race on a loaded 2-core
// machine, when the whole process stalls longer than that.
func transient(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "CLUSTERDOWN") || strings.Contains(s, "lost (the command may have been applied)")
}

// eventually runs the idempotent f until it succeeds, for up to 20 s;
// transient errors are logged and retried, any other error fails the
// test at once.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
		err := f()
		if err == nil {
			return true, ""
		}
		if !transient(err) {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%s: %v (a false failure in gossip); retrying", what, err)
		return false, err.Error()
	})
}

// getEq wants GET key = want (transient errors retried).
func getEq(t *testing.T, rdb *redis.Client, key, want string) {
	t.Helper()
	var v string
	eventually(t, "GET "+key, func() (err error) {
		v, err = rdb.Get(context.Background(), key).Result()
		return err
	})
	if v != want {
		t.Fatalf("GET %s = %q, want %q", key, v, want)
	}
}

// byRole groups nodes by role.
func byRole(nodes []Node) map[Role][]Node {
	out := map[Role][]Node{}
	for _, n := range nodes {
		out[n.Role] = append(out[n.Role], n)
	}
	return out
}

// infoField returns one field of INFO replication at addr.
func infoField(ctx context.Context, rdb *redis.Client, field string) string {
	s, err := rdb.Info(ctx, "replication").Result()
	if err != nil {
		return "error: " + err.Error()
	}
	for _, line := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	return ""
}

// waitCaughtUp waits until every replica of every shard has applied its
// master's whole log and holds as many keys.
func waitCaughtUp(t *testing.T, cl *Cluster) {
	t.Helper()
	ctx := context.Background()
	for _, shard := range cl.ShardNames() {
		m, _ := cl.ShardNode(shard, 0)
		mc := client(t, m.RESPAddr)
		for r := 1; r <= cl.Config().Replicas; r++ {
			rn, _ := cl.ShardNode(shard, r)
			rc := client(t, rn.RESPAddr)
			testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
				mo, ro := infoField(ctx, mc, "master_repl_offset"), infoField(ctx, rc, "slave_repl_offset")
				md, _ := mc.DBSize(ctx).Result()
				rd, _ := rc.DBSize(ctx).Result()
				return mo != "" && mo == ro && md == rd, fmt.Sprintf("%s: master offset %s keys %d, replica %d offset %s keys %d",
					shard, mo, md, r, ro, rd)
			})
		}
	}
}

// The default shape: 3 shards × (master + replica), 1 frontend. 10k keys
// written through go-redis land on every shard, replicas catch up, a new
// frontend serves them too, a stopped frontend drains, and Close frees
// every port and the temporary data directory.
func TestDefaultShape(t *testing.T) {
	cl := start(t, nil)
	t.Logf("time to ready (Start, 3 shards × (master + replica), 1 frontend): %v", cl.TimeToReady())
	if cl.TimeToReady() > 10*time.Second {
		t.Errorf("time to ready %v, want well under 10 s (2 s on an idle machine)", cl.TimeToReady())
	}
	roles := byRole(cl.Nodes())
	if len(roles[RoleMaster]) != 3 || len(roles[RoleReplica]) != 3 || len(roles[RoleFrontend]) != 1 {
		t.Fatalf("nodes: %+v", cl.Nodes())
	}
	for _, n := range cl.Nodes() {
		if n.RESPAddr == "" || n.GossipAddr == "" || (n.Role != RoleFrontend) != (n.DataDir != "") {
			t.Errorf("node %+v: missing address or data dir", n)
		}
		if n.DataDir != "" && !strings.HasPrefix(n.DataDir, cl.DataDir()) {
			t.Errorf("node %s: data dir %s outside %s", n.Name, n.DataDir, cl.DataDir())
		}
	}
	if !cl.TempDataDir() {
		t.Fatalf("no DataDir given, but the data dir %s is not temporary", cl.DataDir())
	}

	ctx := context.Background()
	fe0 := client(t, cl.FrontendAddrs()[0])
	const n = 10000
	for lo := 0; lo < n; lo += 1000 {
		eventually(t, "SET pipeline", func() error {
			_, err := fe0.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i := lo; i < lo+1000; i++ {
					p.Set(ctx, "key:"+strconv.Itoa(i), "v"+strconv.Itoa(i), 0)
				}
				return nil
			})
			return err // the first failed command's error
		})
	}
	var total int64
	for _, m := range byRole(cl.Nodes())[RoleMaster] {
		size, err := client(t, m.RESPAddr).DBSize(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s holds %d keys", m.Shard, size)
		if size < n/3*8/10 || size > n/3*12/10 {
			t.Errorf("%s holds %d of %d keys, want about a third", m.Shard, size, n)
		}
		total += size
	}
	if total != n {
		t.Errorf("masters hold %d keys, want %d", total, n)
	}
	waitCaughtUp(t, cl)

	// Readers run while the lifecycle changes (checked by -race).
	readersDone := make(chan struct{})
	stopReaders := make(chan struct{})
	go func() {
		defer close(readersDone)
		for {
			select {
			case <-stopReaders:
				return
			default:
			}
			for _, addr := range cl.FrontendAddrs() {
				if addr == "" {
					t.Error("empty frontend address")
				}
			}
			_ = cl.Nodes()
			_ = cl.Frontend(1)
			time.Sleep(time.Millisecond) // pacing, not waiting for anything
		}
	}()
	defer func() {
		close(stopReaders)
		<-readersDone
	}()

	// A second frontend: cold start (New → Serve → first command served)
	// and the time it needs to see every shard with its replicas.
	begin := time.Now()
	fnode, err := cl.AddFrontend(ctx)
	if err != nil {
		t.Fatalf("AddFrontend: %v", err)
	}
	readyIn := time.Since(begin)
	fe1 := client(t, fnode.RESPAddr)
	getEq(t, fe1, "key:1", "v1")
	coldStart := time.Since(begin)
	srv := cl.Frontend(fnode.Index)
	testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
		st := srv.ClusterStatus()
		ok := len(st.Shards) == 3
		for _, sh := range st.Shards {
			ok = ok && sh.Master != "" && len(sh.Replicas) == 1
		}
		return ok, fmt.Sprintf("%+v", st.Shards)
	})
	topology := time.Since(begin)
	t.Logf("new frontend (in process): ready after %v, first command served after %v (cold start), full topology (3 masters + 3 replicas) after %v",
		readyIn, coldStart, topology)
	if fnode.Index != 1 || len(cl.FrontendAddrs()) != 2 {
		t.Fatalf("added %+v; frontends %v", fnode, cl.FrontendAddrs())
	}

	// Every key through every frontend.
	for i, addr := range cl.FrontendAddrs() {
		rdb := client(t, addr)
		for lo := 0; lo < n; lo += 500 {
			keys := make([]string, 500)
			for j := range keys {
				keys[j] = "key:" + strconv.Itoa(lo+j)
			}
			var vals []any
			eventually(t, fmt.Sprintf("frontend %d MGET", i), func() (err error) {
				vals, err = rdb.MGet(ctx, keys...).Result()
				return err
			})
			for j, v := range vals {
				if v != "v"+strconv.Itoa(lo+j) {
					t.Fatalf("frontend %d: %s = %v", i, keys[j], v)
				}
			}
		}
	}

	// Stopping frontend 1 drains it: a pipeline in flight (its first
	// reply read) gets its replies, then a clean close; frontend 0 keeps
	// serving.
	raw, err := net.Dial("tcp", fnode.RESPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var pipe []byte
	for i := 0; i < 1000; i++ {
		pipe = proto.AppendCommandStrings(pipe, "SET", "drain:"+strconv.Itoa(i), "x")
	}
	if _, err := raw.Write(pipe); err != nil {
		t.Fatal(err)
	}
	raw.SetReadDeadline(time.Now().Add(15 * time.Second))
	rd := proto.NewReader(raw, proto.Limits{})
	if f, err := rd.ReadReply(); err != nil || string(f) != "+OK\r\n" {
		t.Fatalf("first reply of the pipeline: %q %v", f, err)
	}
	replies := 1
	stopped := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		stopped <- cl.StopFrontend(sctx, fnode.Index)
	}()
	for {
		f, err := rd.ReadReply()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Errorf("after %d replies the drained connection ended with %v, want EOF", replies, err)
			}
			break
		}
		if string(f) != "+OK\r\n" {
			t.Fatalf("reply %d while draining: %q", replies, f)
		}
		replies++
	}
	if err := <-stopped; err != nil {
		t.Fatalf("StopFrontend: %v", err)
	}
	t.Logf("drained frontend answered %d of the 1000 pipelined SETs in flight, then closed", replies)
	if _, err := net.DialTimeout("tcp", fnode.RESPAddr, time.Second); err == nil {
		t.Errorf("stopped frontend still accepts connections")
	}
	if got := cl.FrontendAddrs(); len(got) != 1 || cl.Frontend(1) != nil {
		t.Errorf("frontends after stop: %v", got)
	}
	if err := cl.StopFrontend(ctx, 1); !errors.Is(err, ErrNoNode) {
		t.Errorf("stopping a stopped frontend: %v", err)
	}
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		for _, m := range cl.Frontend(0).ClusterStatus().Members {
			if m.Name == fnode.Name {
				return m.Status == "left", m.Status
			}
		}
		return true, ""
	})
	getEq(t, fe0, "key:9999", "v9999")

	// Close: every port free again, the data gone.
	nodes := cl.Nodes()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	begin = time.Now()
	if err := cl.Close(cctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	t.Logf("Close took %v", time.Since(begin))
	assertPortsFree(t, nodes)
	if _, err := os.Stat(cl.DataDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary data dir after Close: %v", err)
	}
	if len(cl.Nodes()) != 0 {
		t.Errorf("nodes after Close: %+v", cl.Nodes())
	}
	if _, err := cl.AddFrontend(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("AddFrontend after Close: %v", err)
	}
}

// assertPortsFree checks that every RESP and gossip address of nodes can be
// bound again.
func assertPortsFree(t *testing.T, nodes []Node) {
	t.Helper()
	for _, n := range nodes {
		for _, addr := range []string{n.RESPAddr, n.GossipAddr} {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Errorf("%s: TCP %s still taken: %v", n.Name, addr, err)
				continue
			}
			ln.Close()
		}
		pc, err := net.ListenPacket("udp", n.GossipAddr)
		if err != nil {
			t.Errorf("%s: UDP %s still taken: %v", n.Name, n.GossipAddr, err)
			continue
		}
		pc.Close()
	}
}

// Without the control plane: a stopped replica catches up after its
// restart; a stopped master's keys answer CLUSTERDOWN while the other
// shard serves, and come back with its restart (same address, same data).
// No node runs raft and SHOAL MAP says so.
func TestStopRestartShardNodes(t *testing.T) {
	cl := start(t, func(c *Config) { c.Shards, c.DisableControlPlane = 2, true })
	ctx := context.Background()
	for _, n := range cl.Nodes() {
		if n.RaftAddr != "" || n.Voter {
			t.Errorf("%s runs raft without the control plane: %+v", n.Name, n)
		}
	}
	if _, ok := cl.Leader(); ok || cl.Voters() != 0 {
		t.Errorf("a leader without the control plane (%d voters)", cl.Voters())
	}
	if m, ok := cl.Master("shard-1"); !ok || m.Name != "shard-1-master" {
		t.Errorf("Master(shard-1) = %+v %v", m, ok)
	}
	m0, _ := cl.ShardNode("shard-0", 0)
	if err := client(t, m0.RESPAddr).Do(ctx, "SHOAL", "MAP").Err(); err == nil || !strings.Contains(err.Error(), "no control plane") {
		t.Errorf("SHOAL MAP without the control plane: %v", err)
	}
	fe := client(t, cl.FrontendAddrs()[0])
	set := func(prefix string, n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			eventually(t, "SET", func() error { return fe.Set(ctx, prefix+strconv.Itoa(i), i, 0).Err() })
		}
	}
	set("a:", 200)
	if err := cl.StopShardNode(ctx, "shard-0", 1); err != nil {
		t.Fatalf("StopShardNode: %v", err)
	}
	if err := cl.StopShardNode(ctx, "shard-0", 1); !errors.Is(err, ErrNoNode) {
		t.Errorf("stopping it again: %v", err)
	}
	if len(byRole(cl.Nodes())[RoleReplica]) != 1 || cl.Shard("shard-0", 1) != nil {
		t.Errorf("nodes after stopping a replica: %+v", cl.Nodes())
	}
	set("b:", 200)
	before, _ := cl.ShardNode("shard-0", 1)
	if err := cl.RestartShardNode(ctx, "shard-0", 1); err != nil {
		t.Fatalf("RestartShardNode: %v", err)
	}
	if err := cl.RestartShardNode(ctx, "shard-0", 1); !errors.Is(err, ErrNoNode) {
		t.Errorf("restarting a running node: %v", err)
	}
	after, _ := cl.ShardNode("shard-0", 1)
	if before != after {
		t.Errorf("restart moved the node: %+v → %+v", before, after)
	}
	waitCaughtUp(t, cl)

	// Which keys live on shard-1?
	var on0, on1 []string
	for i := 0; i < 200; i++ {
		k := "a:" + strconv.Itoa(i)
		res, err := fe.Do(ctx, "SHOAL", "ROUTE", k).Slice()
		if err != nil || len(res) == 0 {
			t.Fatalf("SHOAL ROUTE %s: %v %v", k, res, err)
		}
		if res[0] == "shard-1" {
			on1 = append(on1, k)
		} else {
			on0 = append(on0, k)
		}
	}
	if len(on0) == 0 || len(on1) == 0 {
		t.Fatalf("keys per shard: %d, %d", len(on0), len(on1))
	}
	if err := cl.StopShardNode(ctx, "shard-1", 0); err != nil {
		t.Fatalf("stopping shard-1's master: %v", err)
	}
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		err := fe.Get(ctx, on1[0]).Err()
		return err != nil && strings.HasPrefix(err.Error(), "CLUSTERDOWN"), fmt.Sprint(err)
	})
	getEq(t, fe, on0[0], strings.TrimPrefix(on0[0], "a:")) // shard-0 serves while shard-1 is down
	if _, ok := cl.Master("shard-1"); ok {
		t.Errorf("Master(shard-1) while it is stopped")
	}
	if err := cl.RestartShardNode(ctx, "shard-1", 0); err != nil {
		t.Fatalf("restarting shard-1's master: %v", err)
	}
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		v, err := fe.Get(ctx, on1[0]).Result()
		return err == nil, fmt.Sprint(v, err)
	})
	for _, k := range on1 {
		getEq(t, fe, k, strings.TrimPrefix(k, "a:"))
	}
}

// Diskless replicas write nothing; the hooks see every node.
func TestDisklessReplicasAndHooks(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	cl := start(t, func(c *Config) {
		c.Shards = 2
		c.DisklessReplicas = true
		c.MaxMemory = 8 << 20
		c.ShardConfig = func(shard string, replica int, sc *shardd.Config) {
			mu.Lock()
			seen[shard+"/"+strconv.Itoa(replica)] = true
			mu.Unlock()
			if replica > 0 && (!sc.Diskless || sc.MaxMemory != 8<<20 || sc.DataDir != "" || sc.ReplicaOf == "") {
				t.Errorf("replica config: %+v", sc)
			}
		}
		c.FrontendConfig = func(i int, fc *frontend.Config) {
			if fc.ExpectShards != 2 {
				t.Errorf("frontend %d expects %d shards", i, fc.ExpectShards)
			}
			fc.ReadPolicy = frontend.ReadPreferReplica
		}
	})
	if len(seen) != 4 || !seen["shard-0/0"] || !seen["shard-1/1"] {
		t.Errorf("ShardConfig saw %v", seen)
	}
	for _, n := range byRole(cl.Nodes())[RoleReplica] {
		if !n.Diskless || n.DataDir != "" {
			t.Errorf("replica %+v", n)
		}
		if _, err := os.Stat(filepath.Join(cl.DataDir(), n.Shard, "replica-1")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("diskless replica has a data dir: %v", err)
		}
	}
	ctx := context.Background()
	fe := client(t, cl.FrontendAddrs()[0])
	for i := 0; i < 100; i++ {
		eventually(t, "SET", func() error { return fe.Set(ctx, "k"+strconv.Itoa(i), i, 0).Err() })
	}
	waitCaughtUp(t, cl)
	srv := cl.Frontend(0)
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		st := srv.ClusterStatus()
		ok := st.ReadPolicy == frontend.ReadPreferReplica && len(st.Shards) == 2
		for _, sh := range st.Shards {
			ok = ok && len(sh.Replicas) == 1 && sh.Replicas[0].Cached
		}
		return ok, fmt.Sprintf("%+v", st)
	})
	for i := 0; i < 100; i++ {
		getEq(t, fe, "k"+strconv.Itoa(i), strconv.Itoa(i))
	}
}

// A given data dir is kept, and a cluster started on it again finds its
// data: the same nodes on the same addresses (recorded in the data dir),
// so after a failover in the first run the second finds its roles and
// its raft cluster again (3 voters: no new bootstrap).
func TestDataDirKept(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var addrs []Node
	for round := 0; round < 2; round++ {
		cl, err := Start(ctx, Config{Shards: 2, Replicas: 1, Frontends: 1, Host: "127.0.0.1", DataDir: dir,
			GossipProfile: "fast", Logger: infoLogger(t)})
		if err != nil {
			t.Fatalf("round %d: Start: %v", round, err)
		}
		t.Logf("round %d: ready in %v", round, cl.TimeToReady())
		fe := client(t, cl.FrontendAddrs()[0])
		var shards []Node
		for _, n := range cl.Nodes() {
			if n.Role != RoleFrontend {
				shards = append(shards, n)
			}
		}
		if round == 0 {
			for i := 0; i < 50; i++ {
				eventually(t, "SET", func() error { return fe.Set(ctx, "p"+strconv.Itoa(i), i, 0).Err() })
			}
			if n := cl.Voters(); n != 3 {
				t.Fatalf("%d voters, want 3", n)
			}
			// A failover, so the nodes' roles differ from how they are
			// started: shard-1's replica is its master from now on.
			waitCaughtUp(t, cl)
			if err := cl.KillShardNode("shard-1", 0); err != nil {
				t.Fatal(err)
			}
			testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
				m, ok := cl.Master("shard-1")
				return ok && m.Name == "shard-1-replica-1", fmt.Sprint(m.Name, ok)
			})
			if err := cl.RestartShardNode(ctx, "shard-1", 0); err != nil {
				t.Fatal(err)
			}
			r, _ := cl.ShardNode("shard-1", 1)
			m, _ := cl.ShardNode("shard-1", 0)
			waitRejoined(t, m.RESPAddr, r.RESPAddr)
			addrs = shards
		} else {
			for i := 0; i < 50; i++ {
				getEq(t, fe, "p"+strconv.Itoa(i), strconv.Itoa(i))
			}
			if fmt.Sprint(shards) != fmt.Sprint(addrs) {
				t.Errorf("round 2 nodes %+v, want the addresses of round 1 %+v", shards, addrs)
			}
			if m, ok := cl.Master("shard-1"); !ok || m.Name != "shard-1-replica-1" {
				t.Errorf("round 2: Master(shard-1) = %s %v, want shard-1-replica-1 (the last failover)", m.Name, ok)
			}
			eventually(t, "SET", func() error { return fe.Set(ctx, "p-after", "x", 0).Err() })
		}
		if cl.TempDataDir() || cl.DataDir() != dir {
			t.Errorf("data dir %s (temporary %v), want %s", cl.DataDir(), cl.TempDataDir(), dir)
		}
		if err := cl.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "shard-1", "master")); err != nil {
			t.Fatalf("data after Close: %v", err)
		}
	}
	// A recorded address that is taken: Start says so.
	m, _ := nodeNamed(addrs, "shard-0-master")
	ln, err := net.Listen("tcp", m.RESPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Start(ctx, Config{Shards: 2, Replicas: 1, Frontends: 1, Host: "127.0.0.1", DataDir: dir,
		GossipProfile: "fast", Logger: infoLogger(t)})
	if err == nil || !strings.Contains(err.Error(), addrFile) {
		t.Errorf("Start with a recorded address taken: %v", err)
	}
}

// nodeNamed finds a node by name.
func nodeNamed(nodes []Node, name string) (Node, bool) {
	for _, n := range nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

// Frontends take Port, Port+1, ...; a taken port fails Start cleanly.
func TestFixedPorts(t *testing.T) {
	var port int
	var held net.Listener
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return false, err.Error()
		}
		p := ln.Addr().(*net.TCPAddr).Port
		next, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		if err != nil {
			ln.Close()
			return false, err.Error()
		}
		next.Close()
		port, held = p, ln
		return true, ""
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := DefaultConfig()
	cfg.Port, cfg.Shards, cfg.Replicas, cfg.Frontends = port, 1, 0, 2
	cfg.Logger = infoLogger(t)
	if _, err := Start(ctx, cfg); err == nil || !strings.Contains(err.Error(), "frontend-0") {
		t.Fatalf("Start on a taken port: %v", err)
	}
	held.Close()
	cl, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer cl.Close(ctx)
	want := []string{"127.0.0.1:" + strconv.Itoa(port), "127.0.0.1:" + strconv.Itoa(port+1)}
	if got := cl.FrontendAddrs(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("frontends on %v, want %v", got, want)
	}
	for _, addr := range want {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(c, "PING\r\n")
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if line != "+PONG\r\n" {
			t.Errorf("PING %s: %q", addr, line)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for field, mutate := range map[string]func(*Config){
		"Shards":        func(c *Config) { c.Shards = 0 },
		"Replicas":      func(c *Config) { c.Replicas = -1 },
		"Frontends":     func(c *Config) { c.Frontends = -1 },
		"Host":          func(c *Config) { c.Host = "localhost" },
		"Port":          func(c *Config) { c.Port, c.Frontends = 65535, 2 },
		"MaxMemory":     func(c *Config) { c.MaxMemory = -1 },
		"GossipProfile": func(c *Config) { c.GossipProfile = "wan" },
	} {
		c := DefaultConfig()
		mutate(&c)
		err := c.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}
	if _, err := Start(context.Background(), Config{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Start with a zero Config: %v", err)
	}
}
