package frontend

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/hashring"
	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/proto"
)

// sendPipeline writes all commands at once and reads every reply.
func sendPipeline(t testing.TB, addr string, cmds [][]string) [][]byte {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var req []byte
	for _, cmd := range cmds {
		req = proto.AppendCommandStrings(req, cmd...)
	}
	go func() { c.Write(req) }()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	rd := proto.NewReader(bufio.NewReader(c), proto.Limits{})
	out := make([][]byte, len(cmds))
	for i := range cmds {
		f, err := rd.ReadReply()
		if err != nil {
			t.Fatalf("reply %d of %d: %v", i, len(cmds), err)
		}
		out[i] = append([]byte(nil), f...)
	}
	return out
}

// TestPipelineOrderAcrossShards sends pipelines of 1000 mixed commands,
// spread over every shard, to redis-server and through a frontend: the
// replies come back in order and equal.
func TestPipelineOrderAcrossShards(t *testing.T) {
	rng := rand.New(rand.NewPCG(testutil.Seed(t, 7), 7))
	raddr := testutil.StartRedis(t)
	mc := newMemCluster(t, 3)
	_, faddr := mc.frontend()
	for round := 0; round < 3; round++ {
		var cmds [][]string
		for i := 0; i < 1000; i++ {
			k := "key:" + strconv.Itoa(rng.IntN(300))
			k2 := "key:" + strconv.Itoa(rng.IntN(300))
			switch rng.IntN(9) {
			case 0:
				cmds = append(cmds, []string{"SET", k, strconv.Itoa(i)})
			case 1:
				cmds = append(cmds, []string{"GET", k})
			case 2:
				cmds = append(cmds, []string{"INCR", "ctr:" + strconv.Itoa(rng.IntN(20))})
			case 3:
				cmds = append(cmds, []string{"MGET", k, k2, "nope"})
			case 4:
				cmds = append(cmds, []string{"MSET", k, "m" + strconv.Itoa(i), k2, "n" + strconv.Itoa(i)})
			case 5:
				cmds = append(cmds, []string{"DEL", k, k2})
			case 6:
				cmds = append(cmds, []string{"RPUSH", "list:" + strconv.Itoa(rng.IntN(10)), strconv.Itoa(i)})
			case 7:
				cmds = append(cmds, []string{"PING", strconv.Itoa(i)})
			case 8:
				cmds = append(cmds, []string{"EXISTS", k, k2, k})
			}
		}
		want := sendPipeline(t, raddr, cmds)
		got := sendPipeline(t, faddr, cmds)
		for i := range cmds {
			if !bytes.Equal(want[i], got[i]) {
				t.Fatalf("round %d command %d %q:\n  redis:    %q\n  frontend: %q", round, i, cmds[i], want[i], got[i])
			}
		}
	}
}

// TestScanVisitsEveryKeyOnce iterates SCAN through a frontend over three
// shards: every key comes back exactly once, with COUNT and MATCH too.
func TestScanVisitsEveryKeyOnce(t *testing.T) {
	mc := newMemCluster(t, 3)
	_, faddr := mc.frontend()
	c := testutil.DialRaw(t, faddr)
	const n = 3000
	var cmds [][]string
	for i := 0; i < n; i++ {
		cmds = append(cmds, []string{"SET", "k" + strconv.Itoa(i), "v"})
	}
	sendPipeline(t, faddr, cmds)
	if got := do(c, "DBSIZE"); got != ":"+strconv.Itoa(n)+"\r\n" {
		t.Fatalf("DBSIZE = %q", got)
	}
	// Every shard holds some.
	for name, addr := range mc.masters {
		r := testutil.DialRaw(t, addr)
		v, _ := proto.ParseReply(r.Do("DBSIZE"))
		if v.Int < n/6 {
			t.Errorf("shard %s holds %d of %d keys", name, v.Int, n)
		}
	}
	for _, extra := range [][]string{nil, {"COUNT", "7"}, {"COUNT", "1000"}, {"MATCH", "k1*"}} {
		seen := map[string]int{}
		cursor := "0"
		calls := 0
		for {
			args := append([]string{"SCAN", cursor}, extra...)
			v, err := proto.ParseReply(c.Do(args...))
			if err != nil || v.Kind != proto.KindArray || len(v.Array) != 2 {
				t.Fatalf("SCAN %v: %v %v", args, v, err)
			}
			for _, k := range v.Array[1].Array {
				seen[string(k.Str)]++
			}
			cursor = string(v.Array[0].Str)
			calls++
			if cursor == "0" {
				break
			}
			if calls > 10*n {
				t.Fatalf("SCAN does not end")
			}
		}
		want := 0
		for i := 0; i < n; i++ {
			k := "k" + strconv.Itoa(i)
			if len(extra) == 2 && extra[0] == "MATCH" && !strings.HasPrefix(k, "k1") {
				continue
			}
			want++
			if seen[k] != 1 {
				t.Fatalf("SCAN %v: key %s seen %d times", extra, k, seen[k])
			}
		}
		if len(seen) != want {
			t.Fatalf("SCAN %v: %d keys, want %d", extra, len(seen), want)
		}
	}
	if got := do(c, "SCAN", "notanumber"); got != "-ERR invalid cursor\r\n" {
		t.Errorf("SCAN bad cursor: %q", got)
	}
	if got := do(c, "SCAN", "65535"); got != "-ERR invalid cursor\r\n" {
		t.Errorf("SCAN cursor naming no shard: %q", got)
	}
	// KEYS, RANDOMKEY, FLUSHALL fan out.
	v, _ := proto.ParseReply(c.Do("KEYS", "k1*"))
	if len(v.Array) != 1111 {
		t.Errorf("KEYS k1*: %d keys, want 1111", len(v.Array))
	}
	if got := do(c, "RANDOMKEY"); !strings.HasPrefix(got, "$") || got == "$-1\r\n" {
		t.Errorf("RANDOMKEY = %q", got)
	}
	if got := do(c, "FLUSHALL"); got != "+OK\r\n" {
		t.Errorf("FLUSHALL = %q", got)
	}
	if got := do(c, "DBSIZE"); got != ":0\r\n" {
		t.Errorf("DBSIZE after FLUSHALL = %q", got)
	}
	if got := do(c, "RANDOMKEY"); got != "$-1\r\n" {
		t.Errorf("RANDOMKEY on empty = %q", got)
	}
}

// TestRouteAgreesWithHashring: SHOAL ROUTE and the data's location follow
// hashring's contract (hash tags keep keys together).
func TestRouteAgreesWithHashring(t *testing.T) {
	mc := newMemCluster(t, 3)
	_, faddr := mc.frontend()
	ring, _ := hashring.NewFromNames(hashring.DefaultConfig(), mc.names)
	c := testutil.DialRaw(t, faddr)
	for i := 0; i < 200; i++ {
		k := fmt.Sprintf("{user%d}:cart", i%20)
		if i%2 == 1 {
			k = "plain" + strconv.Itoa(i)
		}
		v, _ := proto.ParseReply(c.Do("SHOAL", "ROUTE", k))
		want := ring.Lookup([]byte(k))
		if len(v.Array) != 2 || string(v.Array[0].Str) != want || string(v.Array[1].Str) != mc.masters[want] {
			t.Fatalf("SHOAL ROUTE %s = %v, want [%s %s]", k, v, want, mc.masters[want])
		}
		do(c, "SET", k, "x")
		r := testutil.DialRaw(t, mc.masters[want])
		if got := do(r, "EXISTS", k); got != ":1\r\n" {
			t.Fatalf("key %s not on its shard %s", k, want)
		}
	}
	// {user1}:a and {user1}:b land together: MSETNX works.
	if got := do(c, "MSETNX", "{user1}:a", "1", "{user1}:b", "2"); got != ":1\r\n" {
		t.Errorf("MSETNX with a hash tag: %q", got)
	}
}

// TestShardWithoutMaster: with the failover buffer off, a shard whose
// master fails answers CLUSTERDOWN for its keys at once while the others
// keep serving; when a new master appears (another node, a higher epoch),
// requests go there without a restart.
func TestShardWithoutMaster(t *testing.T) {
	mc := newMemCluster(t, 3)
	_, faddr := mc.frontend(func(c *Config) { c.FailoverBuffer = 0 })
	ring, _ := hashring.NewFromNames(hashring.DefaultConfig(), mc.names)
	c := testutil.DialRaw(t, faddr)
	keyOf := map[string]string{}
	for i := 0; len(keyOf) < 3; i++ {
		k := "k" + strconv.Itoa(i)
		if s := ring.Lookup([]byte(k)); keyOf[s] == "" {
			keyOf[s] = k
		}
	}
	for _, k := range keyOf {
		do(c, "SET", k, "before")
	}
	mc.net.Fail("s1-m")
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		got := do(c, "GET", keyOf["s1"])
		return got == "-"+clusterDownMsg("s1")+"\r\n", got
	})
	start := time.Now()
	if got := do(c, "SET", keyOf["s1"], "x"); got != "-"+clusterDownMsg("s1")+"\r\n" {
		t.Errorf("SET on a shard without a master: %q", got)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("CLUSTERDOWN took %v with the failover buffer off", d)
	} else {
		t.Logf("CLUSTERDOWN after %v with the failover buffer off", d)
	}
	for s, k := range keyOf {
		if s == "s1" {
			continue
		}
		if got := do(c, "GET", k); got != bulk("before") {
			t.Errorf("shard %s still serving: GET %s = %q", s, k, got)
		}
	}
	// Split commands touching the failed shard fail as a whole.
	if got := do(c, "MGET", keyOf["s0"], keyOf["s1"]); got != "-"+clusterDownMsg("s1")+"\r\n" {
		t.Errorf("MGET across a down shard: %q", got)
	}
	if got := do(c, "DBSIZE"); got != "-"+clusterDownMsg("s1")+"\r\n" {
		t.Errorf("DBSIZE with a down shard: %q", got)
	}
	// A new master for s1 (a fresh server, epoch 2).
	addr := testutil.StartRedis(t)
	mc.net.Join("s1-new", shardTags("s1", gossip.ReplMaster, addr, 2))
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		got := do(c, "SET", keyOf["s1"], "after")
		return got == "+OK\r\n", got
	})
	r := testutil.DialRaw(t, addr)
	if got := do(r, "GET", keyOf["s1"]); got != bulk("after") {
		t.Errorf("write did not reach the new master: %q", got)
	}
}

// TestMasterChangeByTags: a replica promoted (tags: master, higher epoch)
// and the old master demoted takes new requests within one event.
func TestMasterChangeByTags(t *testing.T) {
	mc := newMemCluster(t, 1)
	old := mc.masters["s0"]
	newAddr := testutil.StartRedis(t)
	mc.net.Join("s0-r", shardTags("s0", gossip.ReplReplica, newAddr, 1))
	_, faddr := mc.frontend()
	c := testutil.DialRaw(t, faddr)
	do(c, "SET", "k", "on-old")
	if err := mc.net.SetTags("s0-r", shardTags("s0", gossip.ReplMaster, newAddr, 2)); err != nil {
		t.Fatal(err)
	}
	if err := mc.net.SetTags("s0-m", shardTags("s0", gossip.ReplReplica, old, 2)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		got := do(c, "SHOAL", "ROUTE", "k")
		return strings.Contains(got, newAddr), got
	})
	do(c, "SET", "k", "on-new")
	if got := do(testutil.DialRaw(t, newAddr), "GET", "k"); got != bulk("on-new") {
		t.Errorf("new master has %q", got)
	}
	if got := do(testutil.DialRaw(t, old), "GET", "k"); got != bulk("on-old") {
		t.Errorf("old master has %q", got)
	}
}

// TestBlockedCommandEndsOnMasterChange: a BLPOP waiting on a master ends
// with -UNBLOCKED when the shard's master changes.
func TestBlockedCommandEndsOnMasterChange(t *testing.T) {
	mc := newMemCluster(t, 1)
	_, faddr := mc.frontend()
	c := testutil.DialRaw(t, faddr)
	if err := c.Send("BLPOP", "q", "0"); err != nil {
		t.Fatal(err)
	}
	admin := testutil.DialRaw(t, faddr)
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		info := do(admin, "INFO", "clients")
		return strings.Contains(info, "blocked_clients:1"), info
	})
	newAddr := testutil.StartRedis(t)
	mc.net.Join("s0-new", shardTags("s0", gossip.ReplMaster, newAddr, 2))
	got, err := c.ReadTimeout(5 * time.Second)
	if err != nil || !strings.HasPrefix(string(got), "-UNBLOCKED") {
		t.Fatalf("blocked BLPOP after a master change: %q %v", got, err)
	}
	// The connection still works, on the new master.
	if got := do(c, "RPUSH", "q", "x"); got != ":1\r\n" {
		t.Errorf("RPUSH after: %q", got)
	}
	if got := do(c, "BLPOP", "q", "0"); got != "*2\r\n$1\r\nq\r\n$1\r\nx\r\n" {
		t.Errorf("BLPOP after: %q", got)
	}
}

// TestNotReadyUntilExpectedShards: data commands answer CLUSTERDOWN until
// ExpectShards shards have a master; PING works meanwhile.
func TestNotReadyUntilExpectedShards(t *testing.T) {
	mc := newMemCluster(t, 2)
	srv, faddr := mc.frontend(func(c *Config) { c.ExpectShards = 3 })
	c := testutil.DialRaw(t, faddr)
	if got := do(c, "PING"); got != "+PONG\r\n" {
		t.Fatalf("PING: %q", got)
	}
	want := "-CLUSTERDOWN frontend not ready: 2 of 3 expected shards have a master\r\n"
	for _, cmd := range [][]string{{"GET", "a"}, {"MGET", "a", "b"}, {"DBSIZE"}, {"SCAN", "0"}, {"CONFIG", "GET", "maxclients"}} {
		if got := do(c, cmd...); got != want {
			t.Errorf("%q not ready: %q", cmd, got)
		}
	}
	if srv.Ready() {
		t.Fatal("ready with 2 of 3 shards")
	}
	mc.net.Join("s2-m", shardTags("s2", gossip.ReplMaster, testutil.StartRedis(t), 1))
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		return srv.Ready(), "not ready"
	})
	if got := do(c, "GET", "a"); got != "$-1\r\n" {
		t.Errorf("GET when ready: %q", got)
	}
}

// TestMalformedInput: protocol errors are answered and the connection
// closed, as Redis does; the crashing bulk length of redcon v1.6.2 is just
// another error; the frontend keeps serving.
func TestMalformedInput(t *testing.T) {
	mc := newMemCluster(t, 1)
	_, faddr := mc.frontend()
	cases := map[string]string{
		"*1\r\n$9223372036854775807\r\n": "-ERR Protocol error: invalid bulk length\r\n",
		"*1\r\n$-5\r\n":                  "-ERR Protocol error: invalid bulk length\r\n",
		"*2\r\n+PING\r\n":                "-ERR Protocol error: expected '$', got '+'\r\n",
		"*abc\r\n":                       "-ERR Protocol error: invalid multibulk length\r\n",
		"SET \"unbalanced\r\n":           "-ERR Protocol error: unbalanced quotes in request\r\n",
	}
	for in, want := range cases {
		nc, err := net.Dial("tcp", faddr)
		if err != nil {
			t.Fatal(err)
		}
		nc.Write([]byte(in))
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		var buf bytes.Buffer
		b := make([]byte, 512)
		for {
			n, err := nc.Read(b)
			buf.Write(b[:n])
			if err != nil {
				break // the server closed the connection
			}
		}
		nc.Close()
		if buf.String() != want {
			t.Errorf("%q: got %q, want %q then close", in, buf.String(), want)
		}
	}
	c := testutil.DialRaw(t, faddr)
	if got := do(c, "SET", "still", "alive"); got != "+OK\r\n" {
		t.Fatalf("after malformed input: %q", got)
	}
	// Inline commands work.
	nc, _ := net.Dial("tcp", faddr)
	defer nc.Close()
	nc.Write([]byte("GET still\r\n"))
	rd := bufio.NewReader(nc)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := rd.ReadString('\n')
	body, _ := rd.ReadString('\n')
	if line+body != bulk("alive") {
		t.Errorf("inline GET: %q", line+body)
	}
}

// TestAuth: requirepass at the frontend.
func TestAuth(t *testing.T) {
	mc := newMemCluster(t, 1)
	_, faddr := mc.frontend(func(c *Config) { c.RequirePass = "s3cret" })
	c := testutil.DialRaw(t, faddr)
	if got := do(c, "GET", "a"); got != "-NOAUTH Authentication required.\r\n" {
		t.Errorf("before AUTH: %q", got)
	}
	if got := do(c, "AUTH", "wrong"); !strings.HasPrefix(got, "-WRONGPASS") {
		t.Errorf("AUTH wrong: %q", got)
	}
	if got := do(c, "AUTH", "s3cret"); got != "+OK\r\n" {
		t.Errorf("AUTH: %q", got)
	}
	if got := do(c, "SET", "a", "1"); got != "+OK\r\n" {
		t.Errorf("after AUTH: %q", got)
	}
	c2 := testutil.DialRaw(t, faddr)
	if got := do(c2, "HELLO", "2", "AUTH", "default", "s3cret"); !strings.HasPrefix(got, "*14\r\n") {
		t.Errorf("HELLO 2 AUTH: %q", got)
	}
	if got := do(c2, "GET", "a"); got != bulk("1") {
		t.Errorf("after HELLO AUTH: %q", got)
	}
}

// TestEjectFailedShards: in pure cache mode a shard without a master
// leaves the ring and its keys move to the others.
func TestEjectFailedShards(t *testing.T) {
	mc := newMemCluster(t, 3)
	_, faddr := mc.frontend(func(c *Config) { c.EjectFailedShards = true })
	ring, _ := hashring.NewFromNames(hashring.DefaultConfig(), mc.names)
	k := ""
	for i := 0; k == ""; i++ {
		if ring.Lookup([]byte("k"+strconv.Itoa(i))) == "s1" {
			k = "k" + strconv.Itoa(i)
		}
	}
	c := testutil.DialRaw(t, faddr)
	mc.net.Fail("s1-m") // its redis-server still runs: wait for the view
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		got := do(c, "SHOAL", "ROUTE", k)
		return !strings.Contains(got, "$2\r\ns1\r\n"), got
	})
	if got := do(c, "SET", k, "moved"); got != "+OK\r\n" {
		t.Fatalf("SET after the ejection: %q", got)
	}
	if got := do(c, "GET", k); got != bulk("moved") {
		t.Errorf("GET after the move: %q", got)
	}
	if got := do(c, "DBSIZE"); got != ":1\r\n" {
		t.Errorf("DBSIZE skips the ejected shard: %q", got)
	}
}

// TestMaxClients refuses connections beyond the limit with Redis's error.
func TestMaxClients(t *testing.T) {
	mc := newMemCluster(t, 1)
	_, faddr := mc.frontend(func(c *Config) { c.MaxClients = 2 })
	a, b := testutil.DialRaw(t, faddr), testutil.DialRaw(t, faddr)
	do(a, "PING")
	do(b, "PING")
	c := testutil.DialRaw(t, faddr)
	if got, err := c.Read(); string(got) != "-ERR max number of clients reached\r\n" {
		t.Errorf("third client: %q %v", got, err)
	}
}

// TestBigValuesSlowClient: a reply bigger than the socket buffers, to a
// client that reads slowly, arrives whole (the rest of a partial write is
// finished off the upstream reader), and other clients are not held up.
func TestBigValuesSlowClient(t *testing.T) {
	mc := newMemCluster(t, 1)
	_, faddr := mc.frontend()
	big := strings.Repeat("0123456789abcdef", 1<<19) // 8 MiB
	c := testutil.DialRaw(t, faddr)
	if got := do(c, "SET", "big", big); got != "+OK\r\n" {
		t.Fatalf("SET big: %q", got)
	}
	slow, err := net.Dial("tcp", faddr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.Write(proto.AppendCommandStrings(nil, "GET", "big"))
	// Meanwhile another client on the same upstream connection is served.
	for i := 0; i < 20; i++ {
		if got := do(c, "INCR", "n"); got != ":"+strconv.Itoa(i+1)+"\r\n" {
			t.Fatalf("INCR while a slow client reads: %q", got)
		}
	}
	slow.SetReadDeadline(time.Now().Add(20 * time.Second))
	rd := bufio.NewReaderSize(slow, 1024)
	var got bytes.Buffer
	want := bulk(big)
	buf := make([]byte, 1024)
	for got.Len() < len(want) {
		n, err := rd.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			t.Fatalf("after %d bytes: %v", got.Len(), err)
		}
		if got.Len()%(1<<20) < 1024 {
			time.Sleep(time.Millisecond) // read slowly
		}
	}
	if got.String() != want {
		t.Fatalf("GET big: %d bytes, want %d", got.Len(), len(want))
	}
	// The connection is still in order.
	slow.Write(proto.AppendCommandStrings(nil, "PING"))
	line, _ := rd.ReadString('\n')
	if line != "+PONG\r\n" {
		t.Errorf("after the big reply: %q", line)
	}
}
