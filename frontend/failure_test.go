package frontend

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/proto"
)

// fakeShard is a RESP server whose answers a test scripts: handle returns
// the reply, "" to never answer, or "CLOSE" to drop the connection.
type fakeShard struct {
	ln     net.Listener
	conns  atomic.Int32
	mu     sync.Mutex
	open   []net.Conn
	handle func(conn int32, args [][]byte) string
}

func startFakeShard(t testing.TB, handle func(conn int32, args [][]byte) string) *fakeShard {
	f := &fakeShard{ln: testutil.Listen(t), handle: handle}
	go func() {
		for {
			nc, err := f.ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.open = append(f.open, nc)
			f.mu.Unlock()
			id := f.conns.Add(1)
			go f.serve(id, nc)
		}
	}()
	t.Cleanup(func() {
		f.ln.Close()
		f.mu.Lock()
		for _, c := range f.open {
			c.Close()
		}
		f.mu.Unlock()
	})
	return f
}

func (f *fakeShard) serve(id int32, nc net.Conn) {
	defer nc.Close()
	rd := proto.NewReader(nc, proto.Limits{})
	for {
		args, err := rd.ReadCommand()
		if err != nil {
			return
		}
		switch r := f.handle(id, args); r {
		case "":
		case "CLOSE":
			return
		default:
			nc.Write([]byte(r))
		}
	}
}

func (f *fakeShard) addr() string { return f.ln.Addr().String() }

// fakeCluster announces one fake shard s0.
func fakeCluster(t testing.TB, f *fakeShard) *memCluster {
	mc := &memCluster{t: t, net: newNet(), masters: map[string]string{"s0": f.addr()}, names: []string{"s0"}}
	mc.net.Join("s0-m", shardTags("s0", gossip.ReplMaster, f.addr(), 1))
	return mc
}

// TestUpstreamTimeout: a shard node that stops answering makes its
// requests fail after UpstreamTimeout instead of hanging.
func TestUpstreamTimeout(t *testing.T) {
	f := startFakeShard(t, func(_ int32, args [][]byte) string {
		if strings.EqualFold(string(args[0]), "ping") {
			return "+PONG\r\n"
		}
		return "" // never
	})
	_, faddr := fakeCluster(t, f).frontend(func(c *Config) { c.UpstreamTimeout = 150 * time.Millisecond })
	c := testutil.DialRaw(t, faddr)
	start := time.Now()
	got := do(c, "SET", "k", "v")
	want := "-ERR shard s0: no reply from " + f.addr() + " within 150ms (the command may have been applied)\r\n"
	if got != want {
		t.Fatalf("SET to a hung node: %q, want %q", got, want)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestLostConnectionRetriesReadsOnly: when the connection to a node drops
// with requests in flight, read-only ones are sent again once; writes fail
// with an error saying they may have run.
func TestLostConnectionRetriesReadsOnly(t *testing.T) {
	var gets, sets atomic.Int32
	f := startFakeShard(t, func(conn int32, args [][]byte) string {
		switch strings.ToLower(string(args[0])) {
		case "get":
			if gets.Add(1) == 1 {
				return "CLOSE"
			}
			return "$2\r\nok\r\n"
		case "set":
			if sets.Add(1) == 1 {
				return "CLOSE"
			}
			return "+OK\r\n"
		}
		return "-ERR unexpected\r\n"
	})
	_, faddr := fakeCluster(t, f).frontend()
	c := testutil.DialRaw(t, faddr)
	if got := do(c, "GET", "k"); got != bulk("ok") {
		t.Errorf("GET after a lost connection: %q (retried: %d GETs)", got, gets.Load())
	}
	want := "-ERR shard s0: connection to " + f.addr() + " lost (the command may have been applied)\r\n"
	if got := do(c, "SET", "k", "v"); got != want {
		t.Errorf("SET after a lost connection: %q", got)
	}
	if got := do(c, "SET", "k", "v"); got != "+OK\r\n" {
		t.Errorf("SET on a new connection: %q", got)
	}
	if sets.Load() != 2 {
		t.Errorf("SET ran %d times, want 2 (never re-sent)", sets.Load())
	}
}

// TestUnreachableMaster: with the failover buffer off, a master gossip
// still lists but that refuses connections answers CLUSTERDOWN (fast, with
// a dial backoff).
func TestUnreachableMaster(t *testing.T) {
	ln := testutil.Listen(t)
	addr := ln.Addr().String()
	ln.Close()
	mc := &memCluster{t: t, net: newNet(), masters: map[string]string{"s0": addr}, names: []string{"s0"}}
	mc.net.Join("s0-m", shardTags("s0", gossip.ReplMaster, addr, 1))
	_, faddr := mc.frontend(func(c *Config) { c.FailoverBuffer = 0 })
	c := testutil.DialRaw(t, faddr)
	for i := 0; i < 3; i++ {
		if got := do(c, "GET", "k"); got != "-"+clusterDownMsg("s0")+"\r\n" {
			t.Errorf("GET on an unreachable master: %q", got)
		}
	}
}

// TestShutdownDrains: Shutdown lets an in-flight command finish and closes
// idle connections at once, each with EOF, never a reset; a blocked one is
// closed when the context ends.
func TestShutdownDrains(t *testing.T) {
	release := make(chan struct{})
	f := startFakeShard(t, func(_ int32, args [][]byte) string {
		switch strings.ToLower(string(args[0])) {
		case "get":
			<-release
			return "$4\r\nslow\r\n"
		case "blpop":
			return "" // blocks forever
		}
		return "+OK\r\n"
	})
	mc := fakeCluster(t, f)
	ln := testutil.Listen(t)
	node := mc.net.Join("fe", gossip.Tags{Role: gossip.RoleFrontend, RESPAddr: ln.Addr().String()})
	cfg := DefaultConfig()
	cfg.Membership = node
	cfg.Logger = testutil.Logger(t)
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	faddr := ln.Addr().String()
	idle := testutil.DialRaw(t, faddr)
	do(idle, "SET", "a", "1")
	busy := testutil.DialRaw(t, faddr)
	busy.Send("GET", "k")
	blocked := testutil.DialRaw(t, faddr)
	blocked.Send("BLPOP", "q", "0")
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		return srv.stats.blockedClients.Load() == 1, "BLPOP not blocked yet"
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- srv.Shutdown(ctx) }()
	// The idle client is closed promptly.
	if _, err := idle.ReadTimeout(2 * time.Second); err == nil || isTimeout(err) {
		t.Errorf("idle connection not closed: %v", err)
	}
	if srv.Ready() {
		t.Error("still ready while draining")
	}
	// The drain has begun: a request busy sends now stays unread. That
	// must not turn the close into a reset (Linux answers a close with
	// unread input with RST): the client sees EOF.
	busy.Send("SET", "b", "1")
	close(release)
	if got, err := busy.Read(); err != nil || string(got) != bulk("slow") {
		t.Errorf("in-flight GET: %q %v", got, err)
	}
	got, err := busy.ReadTimeout(5 * time.Second)
	if string(got) == "+OK\r\n" { // the SET was read before the drain after all
		got, err = busy.ReadTimeout(5 * time.Second)
	}
	if !errors.Is(err, io.EOF) {
		t.Errorf("after the drain: %q %v, want EOF", got, err)
	}
	if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want the deadline (a command stayed blocked)", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	if _, err := blocked.ReadTimeout(time.Second); err == nil {
		t.Error("blocked client still open after Shutdown")
	}
	if err := <-serveErr; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestGoRedisClient: go-redis with its defaults (HELLO 3, CLIENT SETINFO,
// retries) works through a frontend: it falls back to RESP2 and sees the
// same reply types as from Redis.
func TestGoRedisClient(t *testing.T) {
	mc := newMemCluster(t, 3)
	_, faddr := mc.frontend()
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: faddr, MaxRetries: -1})
	defer rdb.Close()
	if err := rdb.Set(ctx, "a", "1", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if v, err := rdb.Get(ctx, "a").Result(); err != nil || v != "1" {
		t.Fatalf("GET: %q %v", v, err)
	}
	if _, err := rdb.Get(ctx, "missing").Result(); err != redis.Nil {
		t.Fatalf("GET missing: %v", err)
	}
	if err := rdb.MSet(ctx, "b", "2", "c", "3").Err(); err != nil {
		t.Fatal(err)
	}
	vals, err := rdb.MGet(ctx, "a", "b", "c", "d").Result()
	if err != nil || len(vals) != 4 || vals[0] != "1" || vals[2] != "3" || vals[3] != nil {
		t.Fatalf("MGET: %v %v", vals, err)
	}
	cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i < 50; i++ {
			p.Incr(ctx, "ctr")
		}
		return nil
	})
	if err != nil || cmds[49].(*redis.IntCmd).Val() != 50 {
		t.Fatalf("pipeline: %v", err)
	}
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "{tx}a", "x", 0)
		p.Incr(ctx, "{tx}n")
		return nil
	})
	if err != nil {
		t.Fatalf("MULTI/EXEC: %v", err)
	}
	ps := rdb.Subscribe(ctx, "chan")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatalf("SUBSCRIBE: %v", err)
	}
	if err := rdb.Publish(ctx, "chan", "hi").Err(); err != nil {
		t.Fatal(err)
	}
	msg, err := ps.ReceiveMessage(ctx)
	if err != nil || msg.Payload != "hi" {
		t.Fatalf("message: %v %v", msg, err)
	}
	n, err := rdb.DBSize(ctx).Result()
	if err != nil || n != 6 {
		t.Fatalf("DBSIZE: %d %v", n, err)
	}
}

// TestShardPassword: shards with requirepass are reached with
// ShardPassword on every kind of connection.
func TestShardPassword(t *testing.T) {
	mc := newMemClusterOf(t, 2, func(t testing.TB, _ string) string { return testutil.StartRedis(t, "--requirepass", "shardpw") })
	_, faddr := mc.frontend(func(c *Config) { c.ShardPassword = "shardpw" })
	c := testutil.DialRaw(t, faddr)
	if got := do(c, "MSET", "a", "1", "b", "2", "c", "3"); got != "+OK\r\n" {
		t.Fatalf("MSET: %q", got)
	}
	if got := do(c, "BLPOP", "nolist", "0.01"); got != "*-1\r\n" {
		t.Errorf("BLPOP on a dedicated connection: %q", got)
	}
	sub := testutil.DialRaw(t, faddr)
	do(sub, "SUBSCRIBE", "ch")
	if got := do(c, "PUBLISH", "ch", "m"); got != ":1\r\n" {
		t.Errorf("PUBLISH to a subscribed link: %q", got)
	}
}

// TestDrainEndsWithEOFNotReset: a request that arrives while a connection
// drains is never read; the connection must still end with the replies
// already written and then EOF. Closing a socket with unread input makes
// the kernel send RST, which would discard the reply still waiting in the
// client's receive buffer (the client reads only after the frontend has
// finished shutting down, so the reset would always win).
func TestDrainEndsWithEOFNotReset(t *testing.T) {
	release, arrived := make(chan struct{}), make(chan struct{}, 1)
	f := startFakeShard(t, func(_ int32, args [][]byte) string {
		if strings.EqualFold(string(args[0]), "get") {
			arrived <- struct{}{}
			<-release
			return "$4\r\nslow\r\n"
		}
		return "+OK\r\n"
	})
	mc := fakeCluster(t, f)
	srv, faddr := mc.frontend()
	busy := testutil.DialRaw(t, faddr)
	busy.Send("GET", "k")
	<-arrived
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) { return !srv.Ready(), "still ready" })
	busy.Send("SET", "late", "1") // arrives during the drain: never read
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got, err := busy.Read(); err != nil || string(got) != bulk("slow") {
		t.Fatalf("in-flight GET after the drain: %q %v", got, err)
	}
	if got, err := busy.ReadTimeout(2 * time.Second); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last reply: %q %v, want EOF", got, err)
	}
}

// TestWaitAfterMasterChange: WAIT vouches for the client's last write only
// on the master that took it. Once the shard's master has changed, the new
// master's replicas know nothing of that write, so WAIT answers 0 instead
// of asking the new master (which would count its own replicas).
func TestWaitAfterMasterChange(t *testing.T) {
	fake := func() *fakeShard {
		return startFakeShard(t, func(_ int32, args [][]byte) string {
			if strings.EqualFold(string(args[0]), "wait") {
				return ":1\r\n"
			}
			return "+OK\r\n"
		})
	}
	old, repl := fake(), fake()
	mc := fakeCluster(t, old)
	mc.net.Join("s0-r", shardTags("s0", gossip.ReplReplica, repl.addr(), 1))
	_, faddr := mc.frontend()
	c := testutil.DialRaw(t, faddr)
	if got := do(c, "SET", "k", "v"); got != "+OK\r\n" {
		t.Fatalf("SET: %q", got)
	}
	if got := do(c, "WAIT", "1", "100"); got != ":1\r\n" {
		t.Fatalf("WAIT with the same master: %q", got)
	}
	mc.net.Fail("s0-m")
	if err := mc.net.SetTags("s0-r", shardTags("s0", gossip.ReplMaster, repl.addr(), 2)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		got := do(testutil.DialRaw(t, faddr), "SHOAL", "ROUTE", "k")
		return strings.Contains(got, repl.addr()), "route: " + got
	})
	if got := do(c, "WAIT", "1", "100"); got != ":0\r\n" {
		t.Errorf("WAIT after the master changed: %q, want :0", got)
	}
	if got := do(c, "SET", "k", "v2"); got != "+OK\r\n" {
		t.Fatalf("SET on the new master: %q", got)
	}
	if got := do(c, "WAIT", "1", "100"); got != ":1\r\n" {
		t.Errorf("WAIT after a write to the new master: %q, want :1", got)
	}
}
