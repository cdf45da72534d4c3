package frontend

// End-to-end: shard daemons and frontends as processes of the shoal
// binary, joined by real gossip (serf, fast profile) on 127.0.0.x.

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/hashring"
	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/proto"
)

// proc is a running shoal process and its addresses.
type proc struct {
	*testutil.Proc
	addr   string // RESP address
	gossip string
}

// startProc runs the shoal binary with args and kills it when the test ends.
func startProc(t testing.TB, name string, args ...string) *proc {
	t.Helper()
	return &proc{Proc: testutil.StartShoal(t, name, args...)}
}

// gossipAddr returns a free gossip address on a distinct loopback IP.
func gossipAddr(t testing.TB) string {
	ip := testutil.LoopbackIP()
	return net.JoinHostPort(ip, strconv.Itoa(testutil.FreePort(t, ip)))
}

// startShardProc runs `shoal shardd` for shard with gossip, joining seed
// (none for the first), with extra flags (--replicaof ...).
func startShardProc(t testing.TB, shard, seed string, extra ...string) *proc {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(t, "127.0.0.1")))
	g := gossipAddr(t)
	args := []string{"shardd", "--listen", addr, "--shard", shard, "--data-dir", t.TempDir(),
		"--gossip", g, "--gossip-profile", "fast", "--log-level", "warn"}
	if seed != "" {
		args = append(args, "--join", seed)
	}
	args = append(args, extra...)
	name := "shardd " + shard
	if len(extra) > 0 {
		name += " replica"
	}
	p := startProc(t, name, args...)
	p.addr, p.gossip = addr, g
	testutil.WaitListening(t, addr)
	return p
}

// startFrontendProc runs `shoal frontend` joining seed.
func startFrontendProc(t testing.TB, name, seed string, extra ...string) *proc {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(t, "127.0.0.1")))
	g := gossipAddr(t)
	args := append([]string{"frontend", "--listen", addr, "--gossip", g, "--join", seed,
		"--gossip-profile", "fast", "--expect-shards", "3", "--log-level", "warn"}, extra...)
	p := startProc(t, name, args...)
	p.addr, p.gossip = addr, g
	return p
}

// waitServing waits until GET through addr is not refused as not ready.
func waitServing(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	testutil.WaitFor(t, timeout, func() (bool, string) {
		got, err := rawDo(addr, "GET", "readiness-probe")
		return err == nil && !strings.HasPrefix(got, "-"), got
	})
}

// rawDo sends one command on a new connection.
func rawDo(addr string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(proto.AppendCommandStrings(nil, args...)); err != nil {
		return "", err
	}
	f, err := proto.NewReader(c, proto.Limits{}).ReadReply()
	return string(f), err
}

// TestClusterEndToEnd: three shards of a master and a replica each, and
// two frontends, on loopback. 100,000 keys written through frontend A all
// read back through B; each shard holds a third of them; SHOAL ROUTE
// agrees across frontends; SCAN through a frontend returns every key once;
// replicas catch up and a replica-reading frontend reads from them; pub/sub
// crosses frontends. A killed master's keys answer CLUSTERDOWN while the
// rest is served; REPLICAOF NO ONE on its replica makes the frontends route
// there (with the data) without a restart, and the subscription follows.
// Malformed input does not hurt a frontend; a new frontend is ready
// quickly; SIGTERM drains and exits 0.
func TestClusterEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("processes and gossip")
	}
	names := []string{"shard-a", "shard-b", "shard-c"}
	masters, replicas := map[string]*proc{}, map[string]*proc{}
	seed := ""
	for _, name := range names {
		p := startShardProc(t, name, seed)
		if seed == "" {
			seed = p.gossip
		}
		masters[name] = p
	}
	for _, name := range names {
		replicas[name] = startShardProc(t, name, seed, "--replicaof", masters[name].addr)
	}
	feA := startFrontendProc(t, "frontend A", seed)
	feB := startFrontendProc(t, "frontend B", seed)
	waitServing(t, feA.addr, 30*time.Second)
	waitServing(t, feB.addr, 30*time.Second)
	for _, fe := range []*proc{feA, feB} {
		testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
			got, _ := rawDo(fe.addr, "SHOAL", "SHARDS")
			v, _ := proto.ParseReply([]byte(got))
			ok := len(v.Array) == 3
			for _, sh := range v.Array {
				ok = ok && len(sh.Array) == 4 && len(sh.Array[3].Array) == 1
			}
			return ok, got
		})
	}

	// 100,000 keys through A, read back through B.
	const n = 100000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "key:" + strconv.Itoa(i)
	}
	for lo := 0; lo < n; lo += 2000 {
		var cmds [][]string
		for i := lo; i < lo+2000; i++ {
			cmds = append(cmds, []string{"SET", keys[i], "v" + strconv.Itoa(i)})
		}
		for i, r := range sendPipeline(t, feA.addr, cmds) {
			if string(r) != "+OK\r\n" {
				t.Fatalf("SET %s: %q", cmds[i][1], r)
			}
		}
	}
	for lo := 0; lo < n; lo += 2000 {
		var cmds [][]string
		for i := lo; i < lo+2000; i += 10 {
			cmds = append(cmds, append([]string{"MGET"}, keys[i:i+10]...))
		}
		for j, r := range sendPipeline(t, feB.addr, cmds) {
			v, err := proto.ParseReply(r)
			if err != nil || len(v.Array) != 10 {
				t.Fatalf("MGET: %q", r)
			}
			for k, e := range v.Array {
				i := lo + j*10 + k
				if string(e.Str) != "v"+strconv.Itoa(i) {
					t.Fatalf("%s read through B: %v", keys[i], e)
				}
			}
		}
	}
	// Each shard holds a third of them, ±3 %; its replica catches up.
	for _, name := range names {
		got, _ := rawDo(masters[name].addr, "DBSIZE")
		v, _ := proto.ParseReply([]byte(got))
		if share := float64(v.Int) / float64(n); share < (1.0/3)*0.97 || share > (1.0/3)*1.03 {
			t.Errorf("%s holds %d keys (%.2f %%)", name, v.Int, 100*share)
		} else {
			t.Logf("%s holds %d keys (%.2f %%)", name, v.Int, 100*share)
		}
		testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
			r, _ := rawDo(replicas[name].addr, "DBSIZE")
			return r == got, "replica " + r + " master " + got
		})
	}
	// SHOAL ROUTE agrees across frontends for every key, and with hashring.
	ring, _ := hashring.NewFromNames(hashring.DefaultConfig(), names)
	for lo := 0; lo < n; lo += 5000 {
		var cmds [][]string
		for i := lo; i < lo+5000; i++ {
			cmds = append(cmds, []string{"SHOAL", "ROUTE", keys[i]})
		}
		ra, rb := sendPipeline(t, feA.addr, cmds), sendPipeline(t, feB.addr, cmds)
		for i := range cmds {
			want := ring.Lookup([]byte(cmds[i][2]))
			if !bytes.Equal(ra[i], rb[i]) || !bytes.HasPrefix(ra[i], []byte("*2\r\n$7\r\n"+want+"\r\n")) {
				t.Fatalf("SHOAL ROUTE %s: A %q B %q, want %s", cmds[i][2], ra[i], rb[i], want)
			}
		}
	}
	// SCAN through B returns every key exactly once.
	seen := make(map[string]bool, n)
	c := testutil.DialRaw(t, feB.addr)
	for cursor := "0"; ; {
		v, err := proto.ParseReply(c.Do("SCAN", cursor, "COUNT", "1000"))
		if err != nil || len(v.Array) != 2 {
			t.Fatalf("SCAN: %v %v", v, err)
		}
		for _, k := range v.Array[1].Array {
			if seen[string(k.Str)] {
				t.Fatalf("SCAN returned %s twice", k.Str)
			}
			seen[string(k.Str)] = true
		}
		if cursor = string(v.Array[0].Str); cursor == "0" {
			break
		}
	}
	if len(seen) != n {
		t.Fatalf("SCAN returned %d keys, want %d", len(seen), n)
	}

	// A frontend reading from replicas: their lag is measured through the
	// masters' INFO replication, and reads are served by them.
	feR := startFrontendProc(t, "frontend R", seed, "--read-policy", "replica", "--max-replica-lag", "5s", "--replica-lag-interval", "100ms")
	waitServing(t, feR.addr, 30*time.Second)
	for i := 0; i < n; i += 997 {
		if got, err := rawDo(feR.addr, "GET", keys[i]); got != bulk("v"+strconv.Itoa(i)) {
			t.Fatalf("GET %s from a replica: %q %v", keys[i], got, err)
		}
	}

	// Pub/sub across frontends.
	sub := testutil.DialRaw(t, feA.addr)
	if got := do(sub, "SUBSCRIBE", "events"); !strings.HasPrefix(got, "*3\r\n$9\r\nsubscribe") {
		t.Fatalf("SUBSCRIBE: %q", got)
	}
	pub := testutil.DialRaw(t, feB.addr)
	if got := do(pub, "PUBLISH", "events", "first"); got != ":1\r\n" {
		t.Fatalf("PUBLISH through B: %q", got)
	}
	if got, err := sub.Read(); err != nil || !strings.HasSuffix(string(got), "$5\r\nfirst\r\n") {
		t.Fatalf("message through A: %q %v", got, err)
	}

	// Kill the master of the channel's shard (no replica promoted yet): its
	// keys answer CLUSTERDOWN, the other shards keep serving.
	victim := ring.Lookup([]byte("events"))
	var victimKey, otherKey string
	victimVal := ""
	for i, k := range keys {
		if ring.Lookup([]byte(k)) == victim {
			victimKey, victimVal = k, "v"+strconv.Itoa(i)
		} else {
			otherKey = k
		}
		if victimKey != "" && otherKey != "" {
			break
		}
	}
	masters[victim].Kill()
	for _, fe := range []*proc{feA, feB} {
		testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
			got, _ := rawDo(fe.addr, "GET", victimKey)
			return got == "-CLUSTERDOWN shard "+victim+" has no reachable master\r\n", got
		})
		if got, _ := rawDo(fe.addr, "GET", otherKey); !strings.HasPrefix(got, "$") {
			t.Errorf("other shards stopped serving: %q", got)
		}
	}
	// REPLICAOF NO ONE on its replica: a master of a new epoch, announced
	// by gossip; the frontends route there without a restart, the data is
	// there, and the subscription on A follows.
	promoted := replicas[victim]
	if got, _ := rawDo(promoted.addr, "REPLICAOF", "NO", "ONE"); got != "+OK\r\n" {
		t.Fatalf("REPLICAOF NO ONE: %q", got)
	}
	for _, fe := range []*proc{feA, feB} {
		testutil.WaitFor(t, 15*time.Second, func() (bool, string) {
			got, _ := rawDo(fe.addr, "GET", victimKey)
			return got == bulk(victimVal), got
		})
	}
	if got, _ := rawDo(feB.addr, "SET", victimKey, "new"); got != "+OK\r\n" {
		t.Errorf("write after the promotion: %q", got)
	}
	if got, _ := rawDo(promoted.addr, "GET", victimKey); got != bulk("new") {
		t.Errorf("write did not reach the promoted master: %q", got)
	}
	live := feA.gossip // the seed may have been the killed master
	// REPLICAOF on the rest: a new node follows the promoted master.
	follower := startShardProc(t, victim, live, "--replicaof", promoted.addr)
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		got, _ := rawDo(feA.addr, "SHOAL", "SHARDS")
		return strings.Contains(got, follower.addr), got
	})
	testutil.WaitFor(t, 15*time.Second, func() (bool, string) {
		got := do(pub, "PUBLISH", "events", "second")
		return got == ":1\r\n", got
	})
	if got, err := sub.ReadTimeout(5 * time.Second); err != nil || !strings.HasSuffix(string(got), "$6\r\nsecond\r\n") {
		t.Fatalf("message after the failover: %q %v", got, err)
	}

	// Malformed input and redcon's crashing bulk length: error, close,
	// the frontend lives on.
	nc, err := net.Dial("tcp", feA.addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte("*1\r\n$9223372036854775807\r\n"))
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(nc)
	nc.Close()
	if string(b) != "-ERR Protocol error: invalid bulk length\r\n" {
		t.Errorf("crashing bulk length: %q", b)
	}
	if got, _ := rawDo(feA.addr, "GET", otherKey); !strings.HasPrefix(got, "$") {
		t.Errorf("frontend A after malformed input: %q", got)
	}

	// Ready time on a warm cluster: process start to the first data command
	// served.
	start := time.Now()
	feC := startFrontendProc(t, "frontend C", live)
	waitServing(t, feC.addr, 10*time.Second)
	ready := time.Since(start)
	t.Logf("a new frontend served its first data command %v after the process started", ready)
	if ready > 3*time.Second {
		t.Errorf("ready after %v", ready)
	}

	// SIGTERM: B drains and exits 0 within the grace period.
	start = time.Now()
	if err := feB.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, err := feB.Wait(15 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Errorf("frontend B exited with code %d after SIGTERM", code)
	}
	t.Logf("frontend B exited %v after SIGTERM", time.Since(start))
}

// TestCachedReplicaEndToEnd: a diskless cached replica smaller than the
// data set, read through a frontend with the replica read policy: every
// read returns the master's value, whether the cache holds the key or
// answers -NOTCACHED and the frontend asks the master.
func TestCachedReplicaEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("processes and gossip")
	}
	master := startShardProc(t, "shard-x", "")
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(t, "127.0.0.1")))
	cache := startProc(t, "shardd shard-x cached", "shardd", "--listen", addr, "--shard", "shard-x",
		"--diskless", "--maxmemory", "24mb", "--replicaof", master.addr,
		"--gossip", gossipAddr(t), "--gossip-profile", "fast", "--join", master.gossip, "--log-level", "warn")
	cache.addr = addr
	testutil.WaitListening(t, addr)
	fe := startFrontendProc(t, "frontend", master.gossip, "--expect-shards", "1",
		"--read-policy", "replica", "--max-replica-lag", "5s", "--replica-lag-interval", "100ms")
	waitServing(t, fe.addr, 30*time.Second)
	// 40 MB of values for a 24 MB cache.
	const n = 2500
	val := func(i int) string { return strconv.Itoa(i) + ":" + strings.Repeat("x", 16<<10) }
	for lo := 0; lo < n; lo += 250 {
		var cmds [][]string
		for i := lo; i < lo+250; i++ {
			cmds = append(cmds, []string{"SET", "big:" + strconv.Itoa(i), val(i)})
		}
		for _, r := range sendPipeline(t, fe.addr, cmds) {
			if string(r) != "+OK\r\n" {
				t.Fatalf("SET: %q", r)
			}
		}
	}
	// Wait until the cached replica has applied everything.
	infoInt := func(addr, field string) string {
		got, _ := rawDo(addr, "INFO", "replication")
		for _, l := range strings.Split(got, "\r\n") {
			if v, ok := strings.CutPrefix(l, field+":"); ok {
				return v
			}
		}
		return ""
	}
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		m, r := infoInt(master.addr, "master_repl_offset"), infoInt(cache.addr, "slave_repl_offset")
		return m != "" && m == r, "master " + m + " replica " + r
	})
	notCachedDirect := 0
	for i := 0; i < n; i += 50 {
		if got, _ := rawDo(cache.addr, "GET", "big:"+strconv.Itoa(i)); strings.HasPrefix(got, "-NOTCACHED") {
			notCachedDirect++
		}
	}
	if notCachedDirect == 0 {
		t.Fatalf("the cache holds everything: the test does not exercise the fall-through")
	}
	var cmds [][]string
	for i := 0; i < n; i++ {
		cmds = append(cmds, []string{"GET", "big:" + strconv.Itoa(i)})
	}
	for i, r := range sendPipeline(t, fe.addr, cmds) {
		if string(r) != bulk(val(i)) {
			t.Fatalf("GET big:%d through the frontend: %.60q", i, r)
		}
	}
	if got, _ := rawDo(fe.addr, "GET", "never-set"); got != "$-1\r\n" {
		t.Errorf("GET of a missing key: %q", got)
	}
	t.Logf("%d of %d sampled keys were not cached; every read returned the master's value", notCachedDirect, n/50)
}
