package shardd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// A master with a durable replica and a diskless one (cached mode, with a
// bound large enough to hold everything) under concurrent writes of every
// type: once writes stop, both replicas hold exactly the master's keyspace,
// expiries included, and WAIT 2 counts both.
func TestReplicationConvergesUnderLoad(t *testing.T) {
	_, seed := seedRNG(t)
	m := startNode(t, func(c *Config) { c.SnapshotLogSize = 64 << 10 }) // snapshots during the load
	durable := startNode(t, func(c *Config) { c.ReplicaOf = m.addr })
	cached := startNode(t, func(c *Config) {
		c.ReplicaOf = m.addr
		c.Diskless, c.DataDir, c.MaxMemory = true, "", 256<<20
	})
	mc, dc, cc := m.client(), durable.client(), cached.client()
	ctx := context.Background()
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		n := infoInt(t, mc, "replication", "connected_slaves")
		return n == 2, "connected_slaves " + strconv.FormatInt(n, 10)
	})

	lctx, stop := context.WithTimeout(ctx, 1500*time.Millisecond)
	wl := startWriteLoad(lctx, t, m.addr, 6, seed)
	// Replicas refuse writes but serve reads meanwhile.
	if err := dc.Set(ctx, "x", "1", 0).Err(); err == nil || err.Error() != errReadonly {
		t.Fatalf("SET on a replica: %v, want %q", err, errReadonly)
	}
	if err := cc.Get(ctx, "s:0:0").Err(); err != nil && err != redis.Nil {
		t.Fatalf("GET on the cached replica: %v", err)
	}
	<-lctx.Done()
	stop()
	wl.wait(t)
	t.Logf("%d writes", wl.ops.get())

	// WAIT 2 on a writer's connection: both replicas acknowledged its last write.
	start := time.Now()
	if n, err := wl.clients[0].Do(ctx, "WAIT", 2, 1000).Int(); err != nil || n != 2 {
		t.Fatalf("WAIT 2 1000 = %d, %v; want 2", n, err)
	}
	t.Logf("WAIT 2 1000 answered in %v", time.Since(start))
	waitConverged(t, 30*time.Second, mc, dc, cc)

	// Expiry: the master deletes expired keys and the replicas follow.
	mc.Set(ctx, "short", "v", 150*time.Millisecond)
	if n, err := mc.Do(ctx, "WAIT", 2, 1000).Int(); err != nil || n != 2 {
		t.Fatalf("WAIT = %d, %v", n, err)
	}
	if v := dc.Get(ctx, "short").Val(); v != "v" {
		t.Fatalf("replica GET short = %q before expiry", v)
	}
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		e, err := dc.Exists(ctx, "short").Result()
		return err == nil && e == 0, "short still visible on the replica"
	})
	waitConverged(t, 10*time.Second, mc, dc, cc)
	if got := infoFields(t, cc, "replication")["shoal_cache_complete"]; got != "1" {
		t.Errorf("cached replica with room for everything is not complete: %s", got)
	}
	if st := infoFields(t, mc, "replication"); !strings.HasPrefix(st["slave0"], "ip=127.0.0.1,port=") || !strings.Contains(st["slave0"], "state=online") {
		t.Errorf("INFO replication slave0 = %q", st["slave0"])
	}
}

// Promote a replica, keep writing to the old master (its unreplicated
// suffix), then point the old master at the new one: the suffix is
// discarded and both converge to the new master's history. With "snapshot",
// the old master saved a snapshot covering its suffix, so it cannot
// rebuild the common prefix locally and starts over from the new master.
// "replicaof" does it by hand (REPLICAOF NO ONE, REPLICAOF host port);
// "orders" as the leader does (SHOAL PROMOTE 2, SHOAL FOLLOW host port 2),
// with a second replica of the old master told to follow the new one too.
func TestPromoteDiscardsUnreplicatedSuffix(t *testing.T) {
	for _, tc := range []struct{ mode, via string }{
		{"log", "replicaof"}, {"snapshot", "replicaof"}, {"log", "orders"}, {"snapshot", "orders"},
	} {
		t.Run(tc.mode+"/"+tc.via, func(t *testing.T) {
			ctx := context.Background()
			orders := tc.via == "orders"
			noSnap := func(c *Config) { c.SnapshotLogSize = 0 }
			a := startNode(t, noSnap)
			b := startNode(t, noSnap, func(c *Config) { c.ReplicaOf = a.addr })
			ac, bc := a.client(), b.client()
			followers := []*redis.Client{ac}
			if orders {
				c3 := startNode(t, noSnap, func(c *Config) { c.ReplicaOf = a.addr })
				followers = append(followers, c3.client())
			}
			for i := 0; i < 50; i++ {
				ac.Set(ctx, "k"+strconv.Itoa(i), "v1", 0)
			}
			ac.HSet(ctx, "h", "f", "a")
			if n, err := ac.Do(ctx, "WAIT", len(followers), 5000).Int(); err != nil || n != len(followers) {
				t.Fatalf("WAIT = %d, %v", n, err)
			}
			if tc.mode == "snapshot" {
				// A snapshot before the divergence.
				if err := ac.Save(ctx).Err(); err != nil {
					t.Fatal(err)
				}
			}

			bHostPort := []any{"127.0.0.1", portOf(b.addr)}
			if orders {
				if err := bc.Do(ctx, "SHOAL", "PROMOTE", 2).Err(); err != nil {
					t.Fatalf("SHOAL PROMOTE: %v", err)
				}
				// The old master's other replica moves at once.
				if err := followers[1].Do(ctx, append([]any{"SHOAL", "FOLLOW"}, append(bHostPort, 2)...)...).Err(); err != nil {
					t.Fatalf("SHOAL FOLLOW: %v", err)
				}
			} else if err := bc.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
				t.Fatalf("REPLICAOF NO ONE: %v", err)
			}
			if role := bc.Do(ctx, "ROLE").Val().([]any); role[0] != "master" {
				t.Fatalf("ROLE after promotion: %v", role)
			}
			if e := infoInt(t, bc, "replication", "shoal_epoch"); e != 2 {
				t.Fatalf("new master's epoch = %d, want 2", e)
			}
			// The old master does not know yet: it takes writes that will
			// never be replicated.
			for i := 0; i < 20; i++ {
				ac.Set(ctx, "a-only:"+strconv.Itoa(i), "lost", 0)
			}
			ac.Set(ctx, "k1", "from-old-master", 0)
			ac.HSet(ctx, "h", "g", "lost")
			ac.Incr(ctx, "ctr")
			if tc.mode == "snapshot" {
				if err := ac.Save(ctx).Err(); err != nil { // covers the suffix
					t.Fatal(err)
				}
			}
			// The new master's history.
			bc.Set(ctx, "k2", "from-new-master", 0)
			bc.Set(ctx, "b-only", "kept", 0)
			bc.Incr(ctx, "ctr")
			bc.Incr(ctx, "ctr")

			var err error
			if orders {
				// Epoch 1 is the old master's own: not stale.
				err = ac.Do(ctx, append([]any{"SHOAL", "FOLLOW"}, append(bHostPort, 1)...)...).Err()
			} else {
				err = ac.Do(ctx, append([]any{"REPLICAOF"}, bHostPort...)...).Err()
			}
			if err != nil {
				t.Fatalf("pointing the old master at the new one: %v", err)
			}
			if err := ac.Set(ctx, "x", "1", 0).Err(); err == nil || err.Error() != errReadonly {
				t.Fatalf("write on the demoted master: %v", err)
			}
			waitConverged(t, 20*time.Second, bc, followers...)
			if n, err := ac.Exists(ctx, "a-only:0", "a-only:19").Result(); err != nil || n != 0 {
				t.Fatalf("the old master's suffix survived: %d %v", n, err)
			}
			if v := ac.Get(ctx, "k1").Val(); v != "v1" {
				t.Fatalf("k1 = %q on the old master, want the common history's v1", v)
			}
			if v := ac.Get(ctx, "ctr").Val(); v != "2" {
				t.Fatalf("ctr = %q, want 2 (the new master's INCRs only)", v)
			}
			if e := infoInt(t, ac, "replication", "shoal_epoch"); e != 2 {
				t.Fatalf("old master's epoch = %d, want 2", e)
			}
			if n := infoInt(t, ac, "replication", "shoal_sync_truncations"); n < 1 {
				t.Fatalf("the old master was not told to truncate (shoal_sync_truncations %d)", n)
			}
			if orders {
				// Re-sent orders: the same epoch again changes nothing (no
				// reconnect), an older one is refused.
				raw := testutil.DialRaw(t, a.addr)
				hp := bHostPort[0].(string) + " " + bHostPort[1].(string)
				expectReplies(t, raw, [][2]string{
					{"SHOAL FOLLOW " + hp + " 2", "+OK\r\n"},
					{"SHOAL FOLLOW " + hp + " 2", "+OK\r\n"},
					{"SHOAL FOLLOW " + hp + " 1", stale(1, 2)},
				})
				if n := infoInt(t, ac, "replication", "shoal_master_connects"); n != 1 {
					t.Errorf("re-sent FOLLOW reconnected: %d connects", n)
				}
			}
			// It follows the new master from now on.
			bc.Set(ctx, "after", "yes", 0)
			if n, err := bc.Do(ctx, "WAIT", len(followers), 5000).Int(); err != nil || n != len(followers) {
				t.Fatalf("WAIT on the new master = %d, %v", n, err)
			}
			if v := ac.Get(ctx, "after").Val(); v != "yes" {
				t.Fatalf("after = %q on the old master", v)
			}
			// The new epoch and both roles are durable: they survive
			// restarts (the role file wins over b's replicaof setting).
			b.restart()
			a.restart()
			bc, ac = b.client(), a.client()
			followers[0] = ac
			if e := infoInt(t, bc, "replication", "shoal_epoch"); e != 2 {
				t.Fatalf("new master's epoch after restart = %d, want 2", e)
			}
			if st := infoFields(t, bc, "replication"); st["role"] != "master" {
				t.Fatalf("the new master restarted as %s", st["role"])
			}
			waitConverged(t, 20*time.Second, bc, followers...)
		})
	}
}

func portOf(addr string) string {
	_, p, _ := strings.Cut(addr, ":")
	return p
}

// WAIT, ROLE, INFO replication, HELLO, READONLY and min-replicas-to-write
// answer as Redis does.
func TestReplicationCommands(t *testing.T) {
	ctx := context.Background()
	m := startNode(t)
	raw := testutil.DialRaw(t, m.addr)
	// No replica: WAIT 0 answers at once, WAIT 1 after its timeout.
	if got := string(raw.Do("WAIT", "0", "0")); got != ":0\r\n" {
		t.Fatalf("WAIT 0 0 = %q", got)
	}
	start := time.Now()
	if got := string(raw.Do("WAIT", "1", "100")); got != ":0\r\n" || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("WAIT 1 100 = %q after %v", got, time.Since(start))
	}
	if got := string(raw.Do("ROLE")); got != "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n" {
		t.Fatalf("ROLE of a lone master = %q", got)
	}

	r := startNode(t, func(c *Config) { c.ReplicaOf = m.addr })
	rraw := testutil.DialRaw(t, r.addr)
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		got := string(rraw.Do("ROLE"))
		return strings.Contains(got, "connected"), got
	})
	// A write and WAIT in one pipeline: WAIT covers the write.
	raw.Send("SET", "a", "1")
	raw.Send("WAIT", "1", "5000")
	for _, want := range []string{"+OK\r\n", ":1\r\n"} {
		if got, err := raw.Read(); err != nil || string(got) != want {
			t.Fatalf("pipelined SET, WAIT: %q, %v; want %q", got, err, want)
		}
	}
	// A connection that never wrote waits for every write so far (a
	// frontend sends WAIT apart from the writes).
	other := testutil.DialRaw(t, m.addr)
	if got := string(other.Do("WAIT", "1", "5000")); got != ":1\r\n" {
		t.Fatalf("WAIT on a connection without writes = %q", got)
	}
	start = time.Now()
	if got := string(raw.Do("WAIT", "2", "150")); got != ":1\r\n" || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("WAIT 2 150 with one replica = %q after %v", got, time.Since(start))
	}
	if got := string(rraw.Do("WAIT", "1", "0")); !strings.HasPrefix(got, "-ERR WAIT cannot be used with replica instances") {
		t.Fatalf("WAIT on a replica = %q", got)
	}
	// ROLE in Redis's shapes.
	port := portOf(r.addr)
	want := fmt.Sprintf("*3\r\n$6\r\nmaster\r\n:1\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$%d\r\n%s\r\n$1\r\n1\r\n", len(port), port)
	if got := string(raw.Do("ROLE")); got != want {
		t.Fatalf("master ROLE = %q, want %q", got, want)
	}
	want = fmt.Sprintf("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:%s\r\n$9\r\nconnected\r\n:1\r\n", portOf(m.addr))
	if got := string(rraw.Do("ROLE")); got != want {
		t.Fatalf("replica ROLE = %q, want %q", got, want)
	}
	// INFO replication on both sides.
	mi := infoFields(t, m.client(), "replication")
	// lag is whole seconds since the last ack (every 100 ms): 0, or 1 on
	// a busy machine.
	slave0 := strings.TrimSuffix(strings.TrimSuffix(mi["slave0"], ",lag=0"), ",lag=1")
	if mi["role"] != "master" || mi["connected_slaves"] != "1" || mi["master_repl_offset"] != "1" ||
		slave0 != fmt.Sprintf("ip=127.0.0.1,port=%s,state=online,offset=1", port) {
		t.Fatalf("master INFO replication: %v", mi)
	}
	ri := infoFields(t, r.client(), "replication")
	if io := ri["master_last_io_seconds_ago"]; io != "0" && io != "1" { // heartbeats every second
		t.Errorf("master_last_io_seconds_ago = %q", io)
	}
	for k, v := range map[string]string{"role": "slave", "master_host": "127.0.0.1", "master_port": portOf(m.addr),
		"master_link_status": "up", "master_sync_in_progress": "0",
		"master_repl_offset": "1", "slave_repl_offset": "1", "shoal_shard": "shard-0", "shoal_epoch": "1"} {
		if ri[k] != v {
			t.Errorf("replica INFO %s = %q, want %q", k, ri[k], v)
		}
	}
	if got := string(rraw.Do("HELLO", "2")); !strings.Contains(got, "$4\r\nrole\r\n$7\r\nreplica\r\n") {
		t.Errorf("HELLO on a replica: %q", got)
	}
	// Writes are refused on the replica, also inside MULTI; reads work.
	if got := string(rraw.Do("SET", "b", "2")); got != "-"+errReadonly+"\r\n" {
		t.Fatalf("SET on a replica = %q", got)
	}
	rraw.Do("MULTI")
	rraw.Do("SET", "b", "2")
	if got := string(rraw.Do("EXEC")); !strings.HasPrefix(got, "-EXECABORT") {
		t.Fatalf("EXEC of a write on a replica = %q", got)
	}
	if got := string(rraw.Do("GET", "a")); got != "$1\r\n1\r\n" {
		t.Fatalf("GET on a replica = %q", got)
	}
	// min-replicas-to-write.
	if got := string(raw.Do("CONFIG", "SET", "min-replicas-to-write", "2")); got != "+OK\r\n" {
		t.Fatalf("CONFIG SET = %q", got)
	}
	if got := string(raw.Do("SET", "c", "3")); got != "-NOREPLICAS Not enough good replicas to write.\r\n" {
		t.Fatalf("SET with too few replicas = %q", got)
	}
	if got := string(raw.Do("GET", "a")); got != "$1\r\n1\r\n" {
		t.Fatalf("GET with too few replicas = %q", got)
	}
	raw.Do("CONFIG", "SET", "min-replicas-to-write", "1")
	if got := string(raw.Do("SET", "c", "3")); got != "+OK\r\n" {
		t.Fatalf("SET with enough replicas = %q", got)
	}
	if got := infoFields(t, m.client(), "replication")["min_slaves_good_slaves"]; got != "1" {
		t.Errorf("min_slaves_good_slaves = %q", got)
	}
	raw.Do("CONFIG", "SET", "min-replicas-to-write", "0")
	// REPLICAOF to the same master again, and the internal commands.
	if got := string(rraw.Do("REPLICAOF", "127.0.0.1", portOf(m.addr))); got != "+OK Already connected to specified master\r\n" {
		t.Errorf("REPLICAOF same master = %q", got)
	}
	if got := string(raw.Do("SHOAL", "ACK", "1", "1")); !strings.HasPrefix(got, "-ERR SHOAL ACK is only valid") {
		t.Errorf("SHOAL ACK outside a stream = %q", got)
	}
	if got := string(raw.Do("SHOAL", "SYNC", "1")); !strings.HasPrefix(got, "-ERR wrong number of arguments for 'shoal|sync'") {
		t.Errorf("SHOAL SYNC with bad arity = %q", got)
	}
	diskless := startNode(t, func(c *Config) { c.Diskless, c.DataDir = true, "" })
	if got := string(testutil.DialRaw(t, diskless.addr).Do("SHOAL", "SYNC", "1", "0", "1")); !strings.HasPrefix(got, "-ERR this node is diskless") {
		t.Errorf("SHOAL SYNC on a diskless node = %q", got)
	}
	if err := m.client().Do(ctx, "COMMAND", "INFO", "shoal").Err(); err != nil {
		t.Errorf("COMMAND INFO shoal: %v", err)
	}
}

// A client blocked on a master that becomes a replica is unblocked with
// an error (a replica must not pop what its master pushes).
func TestDemotionUnblocksBlockedClients(t *testing.T) {
	other := startNode(t)
	n := startNode(t)
	c := testutil.DialRaw(t, n.addr)
	if err := c.Send("BLPOP", "q", "0"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		b := infoFields(t, n.client(), "clients")["blocked_clients"]
		return b == "1", "blocked_clients " + b
	})
	n.client().Do(context.Background(), "REPLICAOF", "127.0.0.1", portOf(other.addr))
	got, err := c.Read()
	if err != nil || string(got) != "-"+errUnblocked+"\r\n" {
		t.Fatalf("blocked client got %q, %v", got, err)
	}
}

// Diskless replicas joining a master whose log was truncated get a
// snapshot: an unbounded one loads it whole, a cached one (a bound far
// smaller than the data) admits what fits. Then the cached replica's key
// states: an evicted counter the master increments is never rebuilt from
// nothing, a deleted key answers nil, and FLUSHALL makes the keyspace
// complete again.
func TestDisklessReplicasFromSnapshotAndCachedKeyStates(t *testing.T) {
	ctx := context.Background()
	m := startNode(t, func(c *Config) { c.SnapshotLogSize = 0 })
	mc := m.client()
	filler := strings.Repeat("f", 1000)
	const nFill, nCtr = 3000, 500
	_, err := mc.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i < nCtr; i++ {
			p.Set(ctx, "c:"+strconv.Itoa(i), 100, 0)
		}
		for i := 0; i < nFill; i++ {
			p.Set(ctx, "f:"+strconv.Itoa(i), filler, 0)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	plain := startNode(t, func(c *Config) { c.ReplicaOf, c.Diskless, c.DataDir = m.addr, true, "" })
	cached := startNode(t, func(c *Config) { c.ReplicaOf, c.Diskless, c.DataDir, c.MaxMemory = m.addr, true, "", 2<<20 })
	pc, cc := plain.client(), cached.client()
	waitConverged(t, 20*time.Second, mc, pc)
	off := infoFields(t, mc, "replication")["master_repl_offset"]
	testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
		got := infoFields(t, cc, "replication")["slave_repl_offset"]
		return got == off, "cached replica at " + got + ", master at " + off
	})
	for _, c := range []*redis.Client{pc, cc} {
		if n := infoInt(t, c, "replication", "shoal_sync_full_received"); n != 1 {
			t.Fatalf("snapshots received: %d, want 1", n)
		}
	}
	st := infoFields(t, cc, "replication")
	if st["shoal_cache_complete"] != "0" || st["shoal_cache_evicted"] == "0" && st["shoal_cache_rejected"] == "0" {
		t.Fatalf("a 1 MB cache took a 3 MB snapshot without dropping keys: %v", st)
	}
	if err := cc.DBSize(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOTCACHED") {
		t.Fatalf("DBSIZE on a partial cached replica: %v", err)
	}

	// The master increments every counter and deletes some.
	mc.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i < nCtr; i++ {
			p.IncrBy(ctx, "c:"+strconv.Itoa(i), 3)
			if i%5 == 0 {
				p.Del(ctx, "c:"+strconv.Itoa(i))
			}
		}
		return nil
	})
	if n, err := mc.Do(ctx, "WAIT", 2, 5000).Int(); err != nil || n != 2 {
		t.Fatalf("WAIT = %d, %v", n, err)
	}
	var held, deleted, unknown int
	for i := 0; i < nCtr; i++ {
		k := "c:" + strconv.Itoa(i)
		v, err := cc.Get(ctx, k).Result()
		switch {
		case err != nil && strings.HasPrefix(err.Error(), "NOTCACHED"):
			unknown++
		case i%5 == 0 && errors.Is(err, redis.Nil):
			deleted++
		case i%5 != 0 && err == nil && v == "103":
			held++
		default:
			t.Fatalf("GET %s on the cached replica = %q, %v (master: %q)", k, v, err, mc.Get(ctx, k).Val())
		}
	}
	t.Logf("counters on the cached replica: %d held, %d known deleted, %d not cached", held, deleted, unknown)
	if deleted == 0 {
		t.Errorf("no deletion was remembered")
	}
	// FLUSHALL: everything is known again (absent), and new keys are held.
	mc.FlushAll(ctx)
	mc.Set(ctx, "new", "v", 0)
	if n, err := mc.Do(ctx, "WAIT", 2, 5000).Int(); err != nil || n != 2 {
		t.Fatalf("WAIT = %d, %v", n, err)
	}
	if n, err := cc.DBSize(ctx).Result(); err != nil || n != 1 {
		t.Fatalf("DBSIZE after FLUSHALL = %d, %v", n, err)
	}
	if err := cc.Get(ctx, "c:1").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET after FLUSHALL: %v", err)
	}
	if v := cc.Get(ctx, "new").Val(); v != "v" {
		t.Fatalf("GET new = %q", v)
	}
	waitConverged(t, 10*time.Second, mc, pc, cc)
}

// A master with requirepass: a replica authenticates with masterauth, and
// one without it stays disconnected.
func TestReplicaAuthenticates(t *testing.T) {
	ctx := context.Background()
	m := startNode(t, func(c *Config) { c.RequirePass = "s3cret" })
	good := startNode(t, func(c *Config) { c.ReplicaOf, c.MasterAuth = m.addr, "s3cret" })
	bad := startNode(t, func(c *Config) { c.ReplicaOf = m.addr })
	mc := redis.NewClient(&redis.Options{Addr: m.addr, Password: "s3cret", Protocol: 2, MaxRetries: -1, DisableIdentity: true})
	defer mc.Close()
	mc.Set(ctx, "k", "v", 0)
	if n, err := mc.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT = %d, %v", n, err)
	}
	if v := good.client().Get(ctx, "k").Val(); v != "v" {
		t.Fatalf("replica with masterauth: k = %q", v)
	}
	if st := infoFields(t, bad.client(), "replication"); st["master_link_status"] != "down" || st["slave_repl_offset"] != "0" {
		t.Fatalf("replica without masterauth: %v", st)
	}
}

// Gossip tags say replica or master, and cached mode (frontend.TagCached).
func TestReplicationGossipTags(t *testing.T) {
	m := startNode(t)
	c := startNode(t, func(c *Config) { c.ReplicaOf, c.Diskless, c.DataDir, c.MaxMemory = m.addr, true, "", 64<<20 })
	if tags := m.srv.gossipTags(); tags.ReplRole != "master" || tags.Extra[tagCached] != "" {
		t.Fatalf("master tags %+v", tags)
	}
	if tags := c.srv.gossipTags(); tags.ReplRole != "replica" || tags.Extra[tagCached] != "1" {
		t.Fatalf("cached replica tags %+v", tags)
	}
}
