package frontend

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/internal/testutil"
)

// callsOf returns how many times cmd ran on the redis at addr.
func callsOf(t testing.TB, addr, cmd string) int {
	t.Helper()
	info := do(testutil.DialRaw(t, addr), "INFO", "commandstats")
	m := regexp.MustCompile(`cmdstat_` + cmd + `:calls=(\d+)`).FindStringSubmatch(info)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// replicaSetup: shard s0 with a redis master and a real redis replica of
// it, both announced in gossip.
func replicaSetup(t *testing.T, policy ReadPolicy, maxLag time.Duration) (*Server, string, string, string, *memCluster) {
	t.Helper()
	mc := newMemCluster(t, 1)
	master := mc.masters["s0"]
	host, port, _ := strings.Cut(master, ":")
	do(testutil.DialRaw(t, master), "CONFIG", "SET", "repl-diskless-sync-delay", "0")
	replica := testutil.StartRedis(t, "--replicaof", host, port)
	mc.net.Join("s0-r", shardTags("s0", gossip.ReplReplica, replica, 1))
	srv, faddr := mc.frontend(func(c *Config) {
		c.ReadPolicy = policy
		c.MaxReplicaLag = maxLag
		c.ReplicaLagInterval = 20 * time.Millisecond
	})
	return srv, faddr, master, replica, mc
}

func TestReadPolicyPreferReplica(t *testing.T) {
	srv, faddr, master, replica, _ := replicaSetup(t, ReadPreferReplica, 5*time.Second)
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		st := srv.ClusterStatus()
		ok := len(st.Shards) == 1 && len(st.Shards[0].Replicas) == 1 && st.Shards[0].Replicas[0].Usable
		return ok, "replica not usable yet"
	})
	c := testutil.DialRaw(t, faddr)
	if got := do(c, "SET", "k", "v"); got != "+OK\r\n" {
		t.Fatalf("SET: %q", got)
	}
	// Reads go to the replica (and eventually see the write).
	before := callsOf(t, replica, "get")
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		got := do(c, "GET", "k")
		return got == bulk("v"), got
	})
	if after := callsOf(t, replica, "get"); after <= before {
		t.Errorf("GET did not reach the replica (%d calls before, %d after)", before, after)
	}
	if n := callsOf(t, master, "get"); n != 0 {
		t.Errorf("master served %d GETs under prefer-replica", n)
	}
	// Writes still go to the master.
	if got := do(c, "INCR", "n"); got != ":1\r\n" {
		t.Errorf("INCR: %q", got)
	}
	// The replica stops replicating: its lag is unknown, reads fall back
	// to the master.
	do(testutil.DialRaw(t, replica), "REPLICAOF", "NO", "ONE")
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		st := srv.ClusterStatus()
		return !st.Shards[0].Replicas[0].Usable, "replica still usable"
	})
	before = callsOf(t, master, "get")
	if got := do(c, "GET", "k"); got != bulk("v") {
		t.Errorf("GET after the replica detached: %q", got)
	}
	if callsOf(t, master, "get") != before+1 {
		t.Errorf("GET did not fall back to the master")
	}
}

func TestReadPolicyReplicaOnly(t *testing.T) {
	srv, faddr, _, replica, _ := replicaSetup(t, ReadReplica, 5*time.Second)
	c := testutil.DialRaw(t, faddr)
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		return srv.ClusterStatus().Shards[0].Replicas[0].Usable, "replica not usable yet"
	})
	do(c, "SET", "k", "v")
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		got := do(c, "GET", "k")
		return got == bulk("v"), got
	})
	do(testutil.DialRaw(t, replica), "REPLICAOF", "NO", "ONE")
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		got := do(c, "GET", "k")
		return got == "-CLUSTERDOWN shard s0 has no usable replica\r\n", got
	})
	if got := do(c, "SET", "k", "w"); got != "+OK\r\n" {
		t.Errorf("writes still go to the master: %q", got)
	}
}

// TestCachedReplicaMissFallsThrough: a read a cached replica cannot vouch
// for (-NOTCACHED) is answered by the master, so eviction never turns into
// a wrong answer; what the cache holds, and its nils, are its own answers.
func TestCachedReplicaMissFallsThrough(t *testing.T) {
	mc := newMemCluster(t, 1)
	// The cache stand-in holds "k" (with its own value, to see who
	// answered) and knows "gone" is absent; everything else is unknown.
	cache := startFakeShard(t, func(_ int32, args [][]byte) string {
		cmd := strings.ToLower(string(args[0]))
		key := ""
		if len(args) > 1 {
			key = string(args[1])
		}
		switch {
		case cmd == "get" && key == "k":
			return bulk("from-cache")
		case cmd == "get" && key == "gone":
			return "$-1\r\n"
		case cmd == "mget" && len(args) == 2 && key == "k":
			return "*1\r\n" + bulk("from-cache")
		}
		return "-NOTCACHED key not held by this cached replica; read it from the master\r\n"
	})
	tags := shardTags("s0", gossip.ReplReplica, cache.addr(), 1)
	tags.Extra = map[string]string{TagCached: "1"}
	mc.net.Join("s0-cache", tags)
	_, faddr := mc.frontend(func(c *Config) {
		c.ReadPolicy = ReadReplica
		c.MaxReplicaLag = 0 // no lag check
	})
	c := testutil.DialRaw(t, faddr)
	do(c, "SET", "k", "from-master")
	do(c, "SET", "gone", "still-on-master")
	do(c, "HSET", "h", "f", "1")
	if got := do(c, "GET", "k"); got != bulk("from-cache") {
		t.Errorf("GET held by the cache: %q", got)
	}
	if got := do(c, "GET", "gone"); got != "$-1\r\n" {
		t.Errorf("GET of a key the cache knows is absent: %q", got)
	}
	if got := do(c, "HGETALL", "h"); got != "*2\r\n$1\r\nf\r\n$1\r\n1\r\n" {
		t.Errorf("HGETALL not cached: %q", got)
	}
	if got := do(c, "DBSIZE"); got != ":3\r\n" {
		t.Errorf("DBSIZE (the cache refuses keyless reads): %q", got)
	}
	if got := do(c, "GET", "nowhere"); got != "$-1\r\n" {
		t.Errorf("GET unknown to the cache, absent on the master: %q", got)
	}
}

func TestParseInfoReplication(t *testing.T) {
	info := "# Replication\r\nrole:master\r\nconnected_slaves:3\r\n" +
		"slave0:ip=127.0.0.1,port=7002,state=online,offset=100,lag=0\r\n" +
		"slave1:ip=10.0.0.9,port=7003,state=online,offset=90,lag=3\r\n" +
		"slave2:ip=127.0.0.1,port=7004,state=wait_bgsave,offset=0,lag=0\r\n" +
		"master_repl_offset:100\r\n"
	got := matchReplicaLags(parseInfoReplicas(info), []string{"127.0.0.1:7002", "127.0.0.5:7003", "127.0.0.1:7004", "127.0.0.1:7009"})
	want := map[string]time.Duration{"127.0.0.1:7002": 0, "127.0.0.5:7003": 3 * time.Second}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
}

// TestPubSubSurvivesMasterChange: subscribers keep receiving after their
// channel's shard gets a new master; the frontend subscribes again.
func TestPubSubSurvivesMasterChange(t *testing.T) {
	mc := newMemCluster(t, 1)
	_, faddr := mc.frontend()
	sub := testutil.DialRaw(t, faddr)
	if got := do(sub, "SUBSCRIBE", "news"); got != "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n" {
		t.Fatalf("SUBSCRIBE: %q", got)
	}
	if got := do(sub, "PSUBSCRIBE", "sp*"); got != "*3\r\n$10\r\npsubscribe\r\n$3\r\nsp*\r\n:2\r\n" {
		t.Fatalf("PSUBSCRIBE: %q", got)
	}
	pub := testutil.DialRaw(t, faddr)
	if got := do(pub, "PUBLISH", "news", "one"); got != ":1\r\n" {
		t.Fatalf("PUBLISH: %q", got)
	}
	if got, err := sub.Read(); err != nil || string(got) != "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$3\r\none\r\n" {
		t.Fatalf("message: %q %v", got, err)
	}
	mc.net.Fail("s0-m")
	newAddr := testutil.StartRedis(t)
	mc.net.Join("s0-new", shardTags("s0", gossip.ReplMaster, newAddr, 2))
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		got := do(pub, "SHOAL", "ROUTE", "news")
		return strings.Contains(got, newAddr), got
	})
	// Publish until the frontend has subscribed on the new master.
	for _, ch := range []string{"news", "sport"} {
		testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
			got := do(pub, "PUBLISH", ch, "two")
			return got == ":1\r\n", got
		})
		msg, err := sub.ReadTimeout(5 * time.Second)
		if err != nil || !strings.Contains(string(msg), ch) || !strings.Contains(string(msg), "two") {
			t.Fatalf("message on %s after the change: %q %v", ch, msg, err)
		}
	}
}

func TestAdminHTTP(t *testing.T) {
	mc := newMemCluster(t, 2)
	srv, faddr := mc.frontend()
	hs := httptest.NewServer(srv.AdminHandler())
	defer hs.Close()
	c := testutil.DialRaw(t, faddr)
	do(c, "SET", "a", "1")
	do(c, "GET", "a")
	do(c, "NOSUCH")
	get := func(path string) (int, string) {
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz: %d", code)
	}
	code, body := get("/metrics")
	for _, want := range []string{
		`shoal_frontend_commands_total{cmd="get"} 1`,
		`shoal_frontend_commands_total{cmd="set"} 1`,
		`shoal_frontend_error_replies_total{code="ERR"} 1`,
		`shoal_frontend_connections 1`,
		`shoal_frontend_command_duration_seconds_bucket{cmd="get"`,
		`shoal_frontend_upstream_duration_seconds_bucket{node="`,
		`shoal_frontend_ready 1`,
		`shoal_frontend_shards_with_master 2`,
		`shoal_frontend_failover_buffer_requests 0`,
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	code, body = get("/cluster")
	var st ClusterStatus
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != 200 {
		t.Fatalf("/cluster: %d %v %s", code, err, body)
	}
	if !st.Ready || len(st.Shards) != 2 || st.Shards[0].Master != mc.masters["s0"] || st.Shards[0].Epoch != 1 || len(st.Members) != 3 {
		t.Errorf("/cluster: %+v", st)
	}
	if !strings.Contains(body, `"epoch": 1`) || !strings.Contains(body, `"held": 0`) {
		t.Errorf("/cluster lacks each shard's epoch and held requests: %s", body)
	}
	// SHOAL SHARDS / MEMBERS agree.
	if got := do(c, "SHOAL", "SHARDS"); !strings.Contains(got, mc.masters["s1"]) || !strings.HasPrefix(got, "*2\r\n*4\r\n$2\r\ns0\r\n") {
		t.Errorf("SHOAL SHARDS: %q", got)
	}
	if got := do(c, "SHOAL", "MEMBERS"); !strings.HasPrefix(got, "*3\r\n*8\r\n") || !strings.Contains(got, "alive") {
		t.Errorf("SHOAL MEMBERS: %q", got)
	}
	if got := do(c, "INFO", "cluster"); !strings.Contains(got, "cluster_state:ok") || !strings.Contains(got, "shard1:name=s1,master="+mc.masters["s1"]) {
		t.Errorf("INFO cluster: %q", got)
	}
	// Draining: /readyz goes 503.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		code, body := get("/readyz")
		return code == 503, body
	})
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestPubSubLinksFollowSubscriptions: upstream pub/sub connections exist
// only while some client subscribes.
func TestPubSubLinksFollowSubscriptions(t *testing.T) {
	mc := newMemCluster(t, 3)
	srv, faddr := mc.frontend()
	links := func() int {
		srv.hub.mu.Lock()
		defer srv.hub.mu.Unlock()
		return len(srv.hub.links)
	}
	sub := testutil.DialRaw(t, faddr)
	do(sub, "SUBSCRIBE", "a")
	if n := links(); n != 1 {
		t.Errorf("%d links for one channel", n)
	}
	do(sub, "PSUBSCRIBE", "x*")
	if n := links(); n != 3 {
		t.Errorf("%d links with a pattern over 3 shards", n)
	}
	do(sub, "PUNSUBSCRIBE")
	do(sub, "UNSUBSCRIBE")
	if n := links(); n != 0 {
		t.Errorf("%d links after unsubscribing everything", n)
	}
	// Subscribing again works.
	do(sub, "SUBSCRIBE", "a")
	pub := testutil.DialRaw(t, faddr)
	if got := do(pub, "PUBLISH", "a", "m"); got != ":1\r\n" {
		t.Errorf("PUBLISH after resubscribing: %q", got)
	}
}
