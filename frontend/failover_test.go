package frontend

// The failover buffer (Config.FailoverBuffer): requests for a shard
// without a reachable master wait for a new one instead of failing at once.

import (
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/hashring"
	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/proto"
)

// gossipFrontend runs a frontend in this process with its own gossip
// agent (fast profile, a free port on its own loopback IP) joining seed.
func gossipFrontend(t *testing.T, seed string, mutate ...func(*Config)) (*Server, string) {
	t.Helper()
	ln := testutil.Listen(t)
	g := gossip.DefaultConfig()
	g.BindAddr = testutil.LoopbackIP()
	g.BindPort = testutil.FreePort(t, g.BindAddr)
	g.Profile = gossip.ProfileFast
	return startServer(t, ln, append([]func(*Config){func(c *Config) {
		c.Gossip = &g
		c.Join = []string{seed}
		c.RESPAddr = ln.Addr().String()
	}}, mutate...)...)
}

// keysOn returns n keys that ring routes to shard.
func keysOn(ring hashring.Ring, shard string, n int) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		k := "k" + strconv.Itoa(i)
		if ring.Lookup([]byte(k)) == shard {
			out = append(out, k)
		}
	}
	return out
}

// shardStatus returns shard's entry of srv's /cluster view.
func shardStatus(srv *Server, shard string) ShardStatus {
	for _, sh := range srv.ClusterStatus().Shards {
		if sh.Name == shard {
			return sh
		}
	}
	return ShardStatus{}
}

// metricValue sums a metric family of srv's registry: counter and gauge
// values, histogram sample counts.
func metricValue(t testing.TB, srv *Server, name string) float64 {
	t.Helper()
	mfs, err := srv.gather.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// waitConnsDead waits until srv has noticed that the node at addr closed
// its pipelined connections (a killed process): a request sent now is not
// written to a dead socket first.
func waitConnsDead(t testing.TB, srv *Server, addr string) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		live := 0
		srv.router.eachNode(func(n *node) {
			if n.addr != addr {
				return
			}
			for i := range n.slots {
				if u := n.slots[i].cur.Load(); u != nil && !u.dead.Load() {
					live++
				}
			}
		})
		return live == 0, strconv.Itoa(live) + " live connections to " + addr
	})
}

// sendRaw writes cmds to c as one pipeline (one write).
func sendRaw(t testing.TB, c *testutil.RawClient, cmds ...[]string) {
	t.Helper()
	var req []byte
	for _, cmd := range cmds {
		req = proto.AppendCommandStrings(req, cmd...)
	}
	if _, err := c.Conn().Write(req); err != nil {
		t.Fatal(err)
	}
}

// TestFailoverBufferEndToEnd: shard daemons as processes and real gossip,
// the frontend in this process with the default failover buffer (2 s).
//
// A shard's master is killed: a pipeline with requests for it and for
// another shard is held (nothing fails), REPLICAOF NO ONE on the replica
// makes a new master, and the pipeline's replies arrive in order, the
// writes applied on the new master. Then that master is killed too and
// nothing replaces it: a write fails with -CLUSTERDOWN after the buffer
// time (measured), while the other shard serves without delay during the
// hold.
func TestFailoverBufferEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("processes and gossip")
	}
	names := []string{"shard-a", "shard-b"}
	ma := startShardProc(t, "shard-a", "")
	seed := ma.gossip
	mb := startShardProc(t, "shard-b", seed)
	ra := startShardProc(t, "shard-a", seed, "--replicaof", ma.addr)
	srv, faddr := gossipFrontend(t, seed, func(c *Config) { c.ExpectShards = 2 })
	if srv.cfg.FailoverBuffer != 2*time.Second {
		t.Fatalf("default failover buffer %v, want 2s", srv.cfg.FailoverBuffer)
	}
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		a, b := shardStatus(srv, "shard-a"), shardStatus(srv, "shard-b")
		return a.Master == ma.addr && len(a.Replicas) == 1 && b.Master == mb.addr, "waiting for the view"
	})
	epoch := shardStatus(srv, "shard-a").Epoch
	ring, _ := hashring.NewFromNames(hashring.DefaultConfig(), names)
	ka, kb := keysOn(ring, "shard-a", 4), keysOn(ring, "shard-b", 3)
	c := testutil.DialRaw(t, faddr)
	for _, k := range []string{ka[0], kb[0]} {
		if got := do(c, "SET", k, "before"); got != "+OK\r\n" {
			t.Fatalf("SET %s: %q", k, got)
		}
	}
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		got, _ := rawDo(ra.addr, "GET", ka[0])
		return got == bulk("before"), "replica has " + got
	})

	// 1. Kill shard-a's master; a pipeline is held until the promotion.
	ma.Kill()
	killed := time.Now()
	waitConnsDead(t, srv, ma.addr)
	pc := testutil.DialRaw(t, faddr)
	sent := time.Now()
	sendRaw(t, pc,
		[]string{"SET", ka[1], "v1"},
		[]string{"GET", kb[0]},
		[]string{"INCR", ka[2]},
		[]string{"GET", ka[1]},
		[]string{"GET", ka[0]},
		[]string{"SET", kb[1], "b1"})
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		h := shardStatus(srv, "shard-a").Held
		return h == 4, strconv.Itoa(h) + " requests held"
	})
	promoted := time.Now()
	if got, _ := rawDo(ra.addr, "REPLICAOF", "NO", "ONE"); got != "+OK\r\n" {
		t.Fatalf("REPLICAOF NO ONE: %q", got)
	}
	want := []string{"+OK\r\n", bulk("before"), ":1\r\n", bulk("v1"), bulk("before"), "+OK\r\n"}
	for i, w := range want {
		got, err := pc.Read()
		if err != nil || string(got) != w {
			t.Fatalf("pipeline reply %d: %q %v, want %q", i, got, err, w)
		}
	}
	done := time.Now()
	t.Logf("held pipeline answered %v after the kill, %v after it was sent, %v after REPLICAOF NO ONE was sent",
		done.Sub(killed).Round(time.Millisecond), done.Sub(sent).Round(time.Millisecond), done.Sub(promoted).Round(time.Millisecond))
	for k, w := range map[string]string{ka[1]: bulk("v1"), ka[2]: bulk("1")} {
		if got, _ := rawDo(ra.addr, "GET", k); got != w {
			t.Errorf("promoted master: GET %s = %q, want %q", k, got, w)
		}
	}
	if st := shardStatus(srv, "shard-a"); st.Master != ra.addr || st.Epoch <= epoch || st.Held != 0 {
		t.Errorf("/cluster after the promotion: %+v (epoch before %d)", st, epoch)
	}
	if n := metricValue(t, srv, "shoal_frontend_failover_buffered_total"); n != 4 {
		t.Errorf("failover_buffered_total %v, want 4", n)
	}
	if n := metricValue(t, srv, "shoal_frontend_failover_hold_duration_seconds"); n != 4 {
		t.Errorf("failover_hold_duration_seconds has %v samples, want 4", n)
	}

	// 2. Kill the new master; nothing replaces it.
	ra.Kill()
	waitConnsDead(t, srv, ra.addr)
	wc := testutil.DialRaw(t, faddr)
	start := time.Now()
	if err := wc.Send("SET", ka[3], "lost"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, time.Second, func() (bool, string) {
		h := shardStatus(srv, "shard-a").Held
		return h == 1, strconv.Itoa(h) + " requests held"
	})
	// Meanwhile shard-b serves without delay.
	oc := testutil.DialRaw(t, faddr)
	var slowest time.Duration
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		if got := do(oc, "INCR", kb[2]); got != ":"+strconv.Itoa(i+1)+"\r\n" {
			t.Fatalf("INCR on shard-b during the hold: %q", got)
		}
		slowest = max(slowest, time.Since(t0))
	}
	if h := shardStatus(srv, "shard-a").Held; h != 1 {
		t.Fatalf("the hold ended (%d held) before the other shard's requests were done", h)
	}
	t.Logf("shard-b during shard-a's hold: slowest of 20 requests %v", slowest)
	if slowest > 500*time.Millisecond {
		t.Errorf("shard-b was held up: a request took %v", slowest)
	}
	got, err := wc.ReadTimeout(10 * time.Second)
	held := time.Since(start)
	if err != nil || string(got) != "-"+clusterDownMsg("shard-a")+"\r\n" {
		t.Fatalf("write with no master to come: %q %v", got, err)
	}
	t.Logf("write to a shard with no master failed with CLUSTERDOWN after %v (failover-buffer %v)", held.Round(time.Millisecond), srv.cfg.FailoverBuffer)
	if held < srv.cfg.FailoverBuffer-10*time.Millisecond || held > srv.cfg.FailoverBuffer+1500*time.Millisecond {
		t.Errorf("CLUSTERDOWN after %v, want about %v", held, srv.cfg.FailoverBuffer)
	}
	if n := metricValue(t, srv, "shoal_frontend_failover_buffer_timeouts_total"); n != 1 {
		t.Errorf("failover_buffer_timeouts_total %v, want 1", n)
	}
	if n := metricValue(t, srv, "shoal_frontend_failover_buffer_requests"); n != 0 {
		t.Errorf("failover_buffer_requests %v after the timeout, want 0", n)
	}
}

// TestFailoverBufferUnwritten: requests queued on a connection that
// breaks before they were written are held and go to the new master; the
// request that was being written when it broke is not sent again (it may
// have been applied) and fails as before.
func TestFailoverBufferUnwritten(t *testing.T) {
	// The old master accepts connections and never reads: the frontend's
	// write of a big request blocks, and what is queued behind it stays
	// unwritten.
	ln := testutil.Listen(t)
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- nc
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for len(accepted) > 0 {
			(<-accepted).Close()
		}
	})
	old := ln.Addr().String()
	mc := &memCluster{t: t, net: newNet(), masters: map[string]string{"s0": old}, names: []string{"s0"}}
	mc.net.Join("s0-m", shardTags("s0", gossip.ReplMaster, old, 1))
	srv, faddr := mc.frontend()

	big := testutil.DialRaw(t, faddr)
	sendRaw(t, big, []string{"SET", "big", strings.Repeat("x", 32<<20)})
	var up net.Conn
	select {
	case up = <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("the frontend did not connect to the shard")
	}
	defer up.Close()
	// The big request is being written: its first bytes arrived (the
	// frontend reads all 32 MB from the client first: slow under -race on
	// a loaded machine).
	up.SetReadDeadline(time.Now().Add(60 * time.Second))
	head := make([]byte, 1024)
	if _, err := io.ReadFull(up, head); err != nil || !strings.HasPrefix(string(head), "*3\r\n$3\r\nSET\r\n") {
		t.Fatalf("shard side: %q %v", head[:16], err)
	}
	small := testutil.DialRaw(t, faddr)
	if err := small.Send("SET", "small", "v"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		n := metricValue(t, srv, "shoal_frontend_upstream_requests_total")
		return n == 2, "upstream requests queued: " + strconv.FormatFloat(n, 'f', 0, 64)
	})
	// Gossip reports the old master failed: the node leaves the view and
	// its connection is closed; the unwritten request is held until a new
	// master (higher epoch) appears.
	mc.net.Fail("s0-m")
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		h := shardStatus(srv, "s0").Held
		return h == 1, strconv.Itoa(h) + " held"
	})
	newAddr := testutil.StartRedis(t)
	mc.net.Join("s0-new", shardTags("s0", gossip.ReplMaster, newAddr, 2))
	if got, err := small.Read(); err != nil || string(got) != "+OK\r\n" {
		t.Errorf("unwritten SET after the switch: %q %v", got, err)
	}
	want := "-ERR shard s0: connection to " + old + " lost (the command may have been applied)\r\n"
	if got, err := big.ReadTimeout(10 * time.Second); err != nil || string(got) != want {
		t.Errorf("SET being written when the connection broke: %.120q %v", got, err)
	}
	r := testutil.DialRaw(t, newAddr)
	if got := do(r, "GET", "small"); got != bulk("v") {
		t.Errorf("new master: GET small = %q", got)
	}
	if got := do(r, "EXISTS", "big"); got != ":0\r\n" {
		t.Errorf("the written request was sent again: EXISTS big = %q", got)
	}
	if n := metricValue(t, srv, "shoal_frontend_failover_buffered_total"); n != 1 {
		t.Errorf("failover_buffered_total %v, want 1", n)
	}
}

// TestFailoverBufferFull: beyond FailoverBufferSize held requests, a
// request fails at once with a CLUSTERDOWN error that says so (its reply
// still comes in pipeline order); the held ones time out.
func TestFailoverBufferFull(t *testing.T) {
	mc := newMemCluster(t, 2)
	srv, faddr := mc.frontend(func(c *Config) {
		c.FailoverBuffer = 300 * time.Millisecond
		c.FailoverBufferSize = 2
	})
	ring, _ := hashring.NewFromNames(hashring.DefaultConfig(), mc.names)
	k1, k0 := keysOn(ring, "s1", 3), keysOn(ring, "s0", 1)
	mc.net.Fail("s1-m")
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		return shardStatus(srv, "s1").Master == "", "s1 still has a master"
	})
	c := testutil.DialRaw(t, faddr)
	start := time.Now()
	sendRaw(t, c, []string{"SET", k1[0], "1"}, []string{"SET", k1[1], "2"}, []string{"SET", k1[2], "3"}, []string{"SET", k0[0], "0"})
	down := "-" + clusterDownMsg("s1") + "\r\n"
	want := []string{down, down, "-" + clusterDownMsg("s1") + " (failover buffer full: 2 requests held)\r\n", "+OK\r\n"}
	for i, w := range want {
		if got, err := c.Read(); err != nil || string(got) != w {
			t.Fatalf("reply %d: %q %v, want %q", i, got, err, w)
		}
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("replies after %v: the held requests did not wait", d)
	}
	for name, want := range map[string]float64{
		"shoal_frontend_failover_buffer_full_total":     1,
		"shoal_frontend_failover_buffer_timeouts_total": 2,
		"shoal_frontend_failover_buffered_total":        2,
		"shoal_frontend_failover_buffer_requests":       0,
	} {
		if got := metricValue(t, srv, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// TestFailoverBufferDedicated: commands on dedicated connections (BLPOP,
// WATCH) wait for a new master too, on their client's goroutine, and run
// there once it appears.
func TestFailoverBufferDedicated(t *testing.T) {
	mc := newMemCluster(t, 1)
	srv, faddr := mc.frontend(func(c *Config) { c.FailoverBuffer = 10 * time.Second })
	failover := func(member string) string {
		t.Helper()
		mc.net.Fail(member)
		testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
			return shardStatus(srv, "s0").Master == "", "s0 still has a master"
		})
		return testutil.StartRedis(t)
	}
	waitHeld := func() {
		t.Helper()
		testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
			h := shardStatus(srv, "s0").Held
			return h == 1, strconv.Itoa(h) + " held"
		})
	}
	addr := failover("s0-m")
	c := testutil.DialRaw(t, faddr)
	if err := c.Send("BLPOP", "q", "0"); err != nil {
		t.Fatal(err)
	}
	waitHeld()
	mc.net.Join("s0-2", shardTags("s0", gossip.ReplMaster, addr, 2))
	p := testutil.DialRaw(t, faddr)
	if got := do(p, "RPUSH", "q", "x"); got != ":1\r\n" {
		t.Fatalf("RPUSH on the new master: %q", got)
	}
	if got, err := c.Read(); err != nil || string(got) != "*2\r\n$1\r\nq\r\n$1\r\nx\r\n" {
		t.Fatalf("BLPOP held across the failover: %q %v", got, err)
	}

	addr = failover("s0-2")
	if err := c.Send("WATCH", "w"); err != nil {
		t.Fatal(err)
	}
	waitHeld()
	mc.net.Join("s0-3", shardTags("s0", gossip.ReplMaster, addr, 3))
	if got, err := c.Read(); err != nil || string(got) != "+OK\r\n" {
		t.Fatalf("WATCH held across the failover: %q %v", got, err)
	}
	do(c, "MULTI")
	do(c, "SET", "w", "1")
	if got := do(c, "EXEC"); got != "*1\r\n+OK\r\n" {
		t.Errorf("EXEC after the held WATCH: %q", got)
	}
	if got := do(testutil.DialRaw(t, addr), "GET", "w"); got != bulk("1") {
		t.Errorf("the transaction did not run on the new master: %q", got)
	}
}

// TestFailoverBufferWrittenRequests: requests already written to a master
// that then dies are not sent again, except read-only ones: those are held
// like new requests and answered by the new master.
func TestFailoverBufferWrittenRequests(t *testing.T) {
	var seen atomic.Int32
	f := startFakeShard(t, func(_ int32, args [][]byte) string {
		seen.Add(1)
		return "" // written, never answered
	})
	mc := fakeCluster(t, f)
	srv, faddr := mc.frontend()
	get, set := testutil.DialRaw(t, faddr), testutil.DialRaw(t, faddr)
	if err := get.Send("GET", "k"); err != nil {
		t.Fatal(err)
	}
	if err := set.Send("SET", "k", "from-frontend"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		return seen.Load() == 2, "the old master has not read both requests"
	})
	mc.net.Fail("s0-m")
	want := "-ERR shard s0: connection to " + f.addr() + " lost (the command may have been applied)\r\n"
	if got, err := set.Read(); err != nil || string(got) != want {
		t.Fatalf("written SET when its master died: %q %v", got, err)
	}
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		h := shardStatus(srv, "s0").Held
		return h == 1, strconv.Itoa(h) + " held"
	})
	newAddr := testutil.StartRedis(t)
	do(testutil.DialRaw(t, newAddr), "SET", "k", "on-new-master")
	mc.net.Join("s0-new", shardTags("s0", gossip.ReplMaster, newAddr, 2))
	if got, err := get.Read(); err != nil || string(got) != bulk("on-new-master") {
		t.Fatalf("written GET when its master died: %q %v", got, err)
	}
	if got := do(testutil.DialRaw(t, newAddr), "GET", "k"); got != bulk("on-new-master") {
		t.Errorf("the written SET was sent again: GET k = %q", got)
	}
}
