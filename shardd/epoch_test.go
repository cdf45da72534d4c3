package shardd

// The control plane's orders on a shard daemon: SHOAL PROMOTE, FOLLOW,
// RETAIN, MAP and HELP, epoch fencing across restarts, an old master
// demoted by FOLLOW, the retention floor, and min-replicas fencing when a
// master is cut off from its replicas.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/proto"
)

// fakeMap is a MapSource with a fixed answer.
type fakeMap struct {
	reply []byte
	err   error
}

func (f fakeMap) Leader() (string, string) { return "node-x", "127.0.0.1:7000" }

func (f fakeMap) AppendMap(dst []byte) ([]byte, error) {
	if f.err != nil {
		return append(dst, "garbage that must not reach the client"...), f.err
	}
	return append(dst, f.reply...), nil
}

func stale(order, known int) string {
	return fmt.Sprintf("-STALEEPOCH order epoch %d is older than known epoch %d\r\n", order, known)
}

// expectReplies sends each command on c and compares the whole reply.
func expectReplies(t *testing.T, c *testutil.RawClient, cases [][2]string) {
	t.Helper()
	for _, tc := range cases {
		if got := string(c.Do(testutil.SplitArgs(tc[0])...)); got != tc[1] {
			t.Errorf("%s = %q, want %q", tc[0], got, tc[1])
		}
	}
}

func TestShoalOrdersRepliesAndErrors(t *testing.T) {
	m := startNode(t)
	other := startNode(t)
	raw := testutil.DialRaw(t, m.addr)
	mc := m.client()
	help := string(raw.Do("SHOAL", "HELP"))
	if !strings.HasPrefix(help, fmt.Sprintf("*%d\r\n+SHOAL <subcommand>", len(shoalHelp))) ||
		!strings.Contains(help, "+PROMOTE <epoch>\r\n") || !strings.Contains(help, "+FOLLOW <host> <port> <epoch>\r\n") ||
		!strings.Contains(help, "+RETAIN <index>\r\n") || !strings.Contains(help, "+MAP\r\n") {
		t.Errorf("SHOAL HELP = %q", help)
	}
	self := strings.Replace(m.addr, ":", " ", 1)
	expectReplies(t, raw, [][2]string{
		{"SHOAL PROMOTE", "-ERR wrong number of arguments for 'shoal|promote' command\r\n"},
		{"SHOAL PROMOTE 1 2", "-ERR wrong number of arguments for 'shoal|promote' command\r\n"},
		{"SHOAL FOLLOW 127.0.0.1 1", "-ERR wrong number of arguments for 'shoal|follow' command\r\n"},
		{"SHOAL RETAIN", "-ERR wrong number of arguments for 'shoal|retain' command\r\n"},
		{"SHOAL MAP x", "-ERR wrong number of arguments for 'shoal|map' command\r\n"},
		{"SHOAL HELP x", "-ERR wrong number of arguments for 'shoal|help' command\r\n"},
		{"SHOAL PROMOTE x", "-" + errBadEpoch + "\r\n"},
		{"SHOAL PROMOTE 0", "-" + errBadEpoch + "\r\n"},
		{"SHOAL PROMOTE -3", "-" + errBadEpoch + "\r\n"},
		{"SHOAL FOLLOW 127.0.0.1 port 2", "-ERR Invalid master port\r\n"},
		{"SHOAL FOLLOW 127.0.0.1 70000 2", "-ERR Invalid master port\r\n"},
		{"SHOAL FOLLOW 127.0.0.1 1 x", "-" + errBadEpoch + "\r\n"},
		{"SHOAL FOLLOW " + self + " 9", "-ERR a node cannot follow itself\r\n"},
		{"SHOAL RETAIN x", "-ERR value is not an integer or out of range\r\n"},
		{"SHOAL RETAIN -1", "-ERR value is not an integer or out of range\r\n"},
		{"SHOAL NOPE", "-ERR unknown subcommand 'NOPE'. Try SHOAL HELP.\r\n"},
		{"SHOAL MAP", "-ERR no cluster map: this node runs no control plane (start it with --raft)\r\n"},
		{"SHOAL LEADER", "-ERR no cluster map: this node runs no control plane (start it with --raft)\r\n"},
		{"SHOAL LEADER x", "-ERR wrong number of arguments for 'shoal|leader' command\r\n"},
		// A master at epoch 1: PROMOTE 1 is already done, PROMOTE 3 moves
		// it to epoch 3 (one empty record), then 2 is stale.
		{"SHOAL PROMOTE 1", "+OK\r\n"},
		{"ROLE", "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n"},
		{"SHOAL PROMOTE 3", "+OK\r\n"},
		{"ROLE", "*3\r\n$6\r\nmaster\r\n:1\r\n*0\r\n"},
		{"SHOAL PROMOTE 2", stale(2, 3)},
		{"SHOAL FOLLOW " + strings.Replace(other.addr, ":", " ", 1) + " 2", stale(2, 3)},
		{"REPLICAOF NO ONE", "+OK\r\n"}, // a master stays as it is
		{"SHOAL RETAIN 5", "+OK\r\n"},
	})
	st := infoFields(t, mc, "replication")
	if st["shoal_epoch"] != "3" || st["shoal_known_epoch"] != "3" || st["shoal_retain_floor"] != "5" || st["master_repl_offset"] != "1" {
		t.Errorf("INFO replication after the orders: %v", st)
	}
	expectReplies(t, raw, [][2]string{{"SHOAL RETAIN 0", "+OK\r\n"}})
	if _, ok := infoFields(t, mc, "replication")["shoal_retain_floor"]; ok {
		t.Errorf("RETAIN 0 left a floor")
	}
	// Orders are not allowed inside a transaction; RETAIN is.
	expectReplies(t, raw, [][2]string{
		{"MULTI", "+OK\r\n"},
		{"SHOAL PROMOTE 4", "+QUEUED\r\n"},
		{"SHOAL RETAIN 1", "+QUEUED\r\n"},
		{"EXEC", "*2\r\n-ERR Command not allowed inside a transaction\r\n+OK\r\n"},
	})

	// SHOAL MAP with a control plane: its answer, or its error alone.
	mapReply := proto.AppendArray(nil, 1)
	mapReply = proto.AppendArray(mapReply, 4)
	for _, s := range []string{"shard-0", "node-a", "127.0.0.1:7001"} {
		mapReply = proto.AppendBulkString(mapReply, s)
	}
	mapReply = proto.AppendInt(mapReply, 3)
	withMap := startNode(t, func(c *Config) { c.MapSource = fakeMap{reply: mapReply} })
	failing := startNode(t, func(c *Config) { c.MapSource = fakeMap{err: errors.New("no leader yet")} })
	expectReplies(t, testutil.DialRaw(t, withMap.addr), [][2]string{{"SHOAL MAP", string(mapReply)}, {"PING", "+PONG\r\n"},
		{"SHOAL LEADER", "*2\r\n$6\r\nnode-x\r\n$14\r\n127.0.0.1:7000\r\n"}})
	expectReplies(t, testutil.DialRaw(t, failing.addr), [][2]string{{"SHOAL MAP", "-ERR cluster map: no leader yet\r\n"}, {"PING", "+PONG\r\n"}})
	// Set after start (the control plane needs the server's gossip agent).
	m.srv.SetMapSource(fakeMap{reply: mapReply})
	expectReplies(t, raw, [][2]string{{"SHOAL MAP", string(mapReply)}})
	m.srv.SetMapSource(nil)
	expectReplies(t, raw, [][2]string{{"SHOAL MAP", "-ERR no cluster map: this node runs no control plane (start it with --raft)\r\n"}})

	// requirepass applies to orders.
	locked := startNode(t, func(c *Config) { c.RequirePass = "pw" })
	expectReplies(t, testutil.DialRaw(t, locked.addr), [][2]string{
		{"SHOAL PROMOTE 2", "-NOAUTH Authentication required.\r\n"},
		{"AUTH pw", "+OK\r\n"},
		{"SHOAL PROMOTE 2", "+OK\r\n"},
	})
}

// An order's epoch is recorded before +OK: after a restart the node still
// refuses older orders, keeps the role the last order gave it (over its
// replicaof setting), and completes a promotion a crash interrupted.
// Diskless nodes keep the epoch in memory.
func TestStaleEpochRefusedAfterRestart(t *testing.T) {
	ctx := context.Background()
	a := startNode(t)
	n := startNode(t, func(c *Config) { c.ReplicaOf = a.addr })
	expectReplies(t, testutil.DialRaw(t, n.addr), [][2]string{{"SHOAL PROMOTE 5", "+OK\r\n"}})
	n.restart()
	raw := testutil.DialRaw(t, n.addr)
	aHostPort := strings.Replace(a.addr, ":", " ", 1)
	expectReplies(t, raw, [][2]string{
		{"ROLE", "*3\r\n$6\r\nmaster\r\n:1\r\n*0\r\n"}, // promoted, although its config says replicaof
		{"SHOAL PROMOTE 4", stale(4, 5)},
		{"SHOAL FOLLOW " + aHostPort + " 4", stale(4, 5)},
		{"SHOAL FOLLOW " + aHostPort + " 7", "+OK\r\n"},
	})
	if tags := n.srv.gossipTags(); tags.ReplRole != "replica" || tags.Epoch != 7 {
		t.Errorf("tags after FOLLOW at 7: %+v", tags)
	}
	n.restart(func(c *Config) { c.ReplicaOf = "" })
	raw = testutil.DialRaw(t, n.addr)
	expectReplies(t, raw, [][2]string{
		{"SHOAL PROMOTE 6", stale(6, 7)},
		{"SHOAL FOLLOW " + aHostPort + " 6", stale(6, 7)},
		{"SHOAL FOLLOW " + aHostPort + " 7", "+OK\r\n"}, // idempotent
	})
	if st := infoFields(t, n.client(), "replication"); st["role"] != "slave" || st["master_port"] != portOf(a.addr) || st["shoal_known_epoch"] != "7" {
		t.Fatalf("after a restart the node should follow a at epoch 7: %v", st)
	}
	if tags := n.srv.gossipTags(); tags.ReplRole != "replica" || tags.Epoch != 7 {
		t.Errorf("tags after restart: %+v", tags)
	}

	// A promotion recorded in the role file whose first record a crash
	// prevented is completed at start.
	n.stop()
	if err := os.WriteFile(filepath.Join(n.cfg.DataDir, roleFile), []byte(`{"epoch":9,"replicaof":""}`), 0o644); err != nil {
		t.Fatal(err)
	}
	n.restart()
	nc := n.client()
	if st := infoFields(t, nc, "replication"); st["role"] != "master" || st["shoal_epoch"] != "9" {
		t.Fatalf("interrupted promotion not completed: %v", st)
	}
	if err := nc.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("write on the promoted node: %v", err)
	}
	// A corrupt role file stops the start rather than guessing a role.
	n.stop()
	os.WriteFile(filepath.Join(n.cfg.DataDir, roleFile), []byte("{"), 0o644)
	if _, err := New(n.cfg); err == nil || !strings.Contains(err.Error(), "role file") {
		t.Fatalf("New with a corrupt role file: %v", err)
	}

	d := startNode(t, func(c *Config) { c.Diskless, c.DataDir = true, "" })
	expectReplies(t, testutil.DialRaw(t, d.addr), [][2]string{
		{"SHOAL PROMOTE 4", "+OK\r\n"},
		{"SHOAL PROMOTE 3", stale(3, 4)},
		{"SHOAL FOLLOW " + aHostPort + " 2", stale(2, 4)},
	})
}

// PROMOTE at the epoch the node is already master at changes nothing, also
// when several arrive at once (the leader re-sends orders): one empty
// record for the epoch, never two.
func TestPromoteIsIdempotent(t *testing.T) {
	ctx := context.Background()
	m := startNode(t)
	r := startNode(t, func(c *Config) { c.ReplicaOf = m.addr })
	mc, rc := m.client(), r.client()
	for i := 0; i < 10; i++ {
		mc.Set(ctx, "k"+strconv.Itoa(i), i, 0)
	}
	if n, err := mc.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT = %d, %v", n, err)
	}
	var wg sync.WaitGroup
	replies := make([]string, 8)
	for i := range replies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := testutil.DialRaw(t, r.addr)
			replies[i] = string(c.Do("SHOAL", "PROMOTE", "3"))
		}()
	}
	wg.Wait()
	for i, got := range replies {
		if got != "+OK\r\n" {
			t.Errorf("concurrent PROMOTE 3 #%d = %q", i, got)
		}
	}
	raw := testutil.DialRaw(t, r.addr)
	expectReplies(t, raw, [][2]string{
		{"ROLE", "*3\r\n$6\r\nmaster\r\n:11\r\n*0\r\n"},
		{"SHOAL PROMOTE 3", "+OK\r\n"},
		{"ROLE", "*3\r\n$6\r\nmaster\r\n:11\r\n*0\r\n"},
		{"SET after promote", "+OK\r\n"},
		{"SHOAL PROMOTE 3", "+OK\r\n"},
		{"ROLE", "*3\r\n$6\r\nmaster\r\n:12\r\n*0\r\n"},
	})
	if e := infoInt(t, rc, "replication", "shoal_epoch"); e != 3 {
		t.Fatalf("epoch = %d, want 3", e)
	}
	// REPLICAOF NO ONE shares the path: on a replica it picks known+1.
	expectReplies(t, testutil.DialRaw(t, m.addr), [][2]string{
		{"SHOAL FOLLOW " + strings.Replace(r.addr, ":", " ", 1) + " 3", "+OK\r\n"},
		{"REPLICAOF NO ONE", "+OK\r\n"},
	})
	if e := infoInt(t, mc, "replication", "shoal_epoch"); e != 4 {
		t.Fatalf("REPLICAOF NO ONE after FOLLOW at 3: epoch %d, want 4", e)
	}
}

// RETAIN keeps the records a replica still needs when a snapshot
// truncates the log: a replica that was away resumes from the log instead
// of needing a snapshot. RETAIN 0 lifts the floor.
func TestRetainFloorKeepsRecordsReplicasNeed(t *testing.T) {
	ctx := context.Background()
	m := startNode(t, func(c *Config) { c.SnapshotLogSize = 0 })
	r := startNode(t, func(c *Config) { c.ReplicaOf = m.addr; c.SnapshotLogSize = 0 })
	mc := m.client()
	for i := 0; i < 100; i++ {
		mc.Set(ctx, "a"+strconv.Itoa(i), i, 0)
	}
	if n, err := mc.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT = %d, %v", n, err)
	}
	r.stop()
	for i := 0; i < 100; i++ {
		mc.Set(ctx, "b"+strconv.Itoa(i), i, 0)
	}
	expectReplies(t, testutil.DialRaw(t, m.addr), [][2]string{{"SHOAL RETAIN 101", "+OK\r\n"}, {"SAVE", "+OK\r\n"}})
	// The replica needs 101 on; 100 stays too, for its epoch check.
	if first := infoInt(t, mc, "replication", "repl_backlog_first_byte_offset"); first != 100 {
		t.Fatalf("after SAVE with RETAIN 101 the log starts at %d, want 100", first)
	}
	r.restart()
	rc := r.client()
	waitConverged(t, 20*time.Second, mc, rc)
	if full, partial := infoInt(t, mc, "replication", "shoal_sync_full"), infoInt(t, mc, "replication", "shoal_sync_partial_ok"); full != 0 || partial != 2 {
		t.Fatalf("syncs: full %d, partial %d; want 0 and 2", full, partial)
	}
	expectReplies(t, testutil.DialRaw(t, m.addr), [][2]string{{"SHOAL RETAIN 0", "+OK\r\n"}, {"SAVE", "+OK\r\n"}})
	if first := infoInt(t, mc, "replication", "repl_backlog_first_byte_offset"); first != 201 {
		t.Fatalf("after SAVE without a floor the log starts at %d, want 201", first)
	}
}

// freezer is a TCP proxy that can stop forwarding without closing the
// connections (a partition: nothing arrives, nothing fails), resume, or
// cut everything.
type freezer struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cond   *sync.Cond
	frozen bool
	closed bool
	conns  []net.Conn
}

func startFreezer(t *testing.T, target string) *freezer {
	f := &freezer{ln: testutil.Listen(t), target: target}
	f.cond = sync.NewCond(&f.mu)
	go func() {
		for {
			c, err := f.ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c, up)
			f.mu.Unlock()
			go f.pipe(c, up)
			go f.pipe(up, c)
		}
	}()
	t.Cleanup(f.cut)
	return f
}

func (f *freezer) addr() string { return f.ln.Addr().String() }

func (f *freezer) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		f.mu.Lock()
		for f.frozen && !f.closed {
			f.cond.Wait()
		}
		f.mu.Unlock()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				dst.Close()
			}
			return
		}
	}
}

func (f *freezer) set(frozen bool) {
	f.mu.Lock()
	f.frozen = frozen
	f.cond.Broadcast()
	f.mu.Unlock()
}

// cut closes the listener and every connection (a crash, not a partition).
func (f *freezer) cut() {
	f.ln.Close()
	f.mu.Lock()
	f.closed = true
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
	f.cond.Broadcast()
	f.mu.Unlock()
}

// A master with min-replicas-to-write 1 and a sub-second
// min-replicas-max-lag refuses writes within the lag of being cut off from
// its only replica (issue 7's partition: the cut-off master stops taking
// writes before the other side fails over), and takes them again when the
// replica is back.
func TestMinReplicasFencesACutOffMaster(t *testing.T) {
	const lag = 500 * time.Millisecond
	ctx := context.Background()
	m := startNode(t, func(c *Config) { c.MinReplicasToWrite, c.MinReplicasMaxLag = 1, lag })
	raw := testutil.DialRaw(t, m.addr)
	expectReplies(t, raw, [][2]string{
		{"CONFIG GET min-replicas-max-lag", "*2\r\n$20\r\nmin-replicas-max-lag\r\n$5\r\n500ms\r\n"},
		{"SET k v", "-NOREPLICAS Not enough good replicas to write.\r\n"},
	})
	px := startFreezer(t, m.addr)
	r := startNode(t, func(c *Config) { c.ReplicaOf = px.addr() })
	mc := m.client()
	writable := func() (bool, string) {
		err := mc.Set(ctx, "k", "v", 0).Err()
		return err == nil, fmt.Sprint(err)
	}
	testutil.WaitFor(t, 10*time.Second, writable)

	// Refused within the lag of the partition. Writes are tried every few
	// milliseconds; the figure is the time from the partition to the first
	// refusal.
	refusedWithin := func(cutoff func()) time.Duration {
		t.Helper()
		start := time.Now()
		cutoff()
		for {
			err := mc.Set(ctx, "k", "v", 0).Err()
			if err != nil {
				if !strings.HasPrefix(err.Error(), "NOREPLICAS") {
					t.Fatalf("write after the cut: %v", err)
				}
				return time.Since(start)
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("the cut-off master still takes writes after %v", time.Since(start))
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	for round := 0; round < 3; round++ {
		took := refusedWithin(func() { px.set(true) })
		t.Logf("partition %d: writes refused %v after the replica was cut off (min-replicas-max-lag %v)", round, took.Round(time.Millisecond), lag)
		if took > lag+250*time.Millisecond {
			t.Errorf("writes refused only after %v, min-replicas-max-lag is %v", took, lag)
		}
		start := time.Now()
		px.set(false)
		testutil.WaitFor(t, 10*time.Second, writable)
		t.Logf("partition %d healed: writes accepted again after %v", round, time.Since(start).Round(time.Millisecond))
	}
	// A crash of the link (connection closed) is noticed at once.
	took := refusedWithin(px.cut)
	t.Logf("link closed: writes refused after %v", took.Round(time.Millisecond))
	if took > lag+250*time.Millisecond {
		t.Errorf("writes refused only after %v", took)
	}
	_ = r

	expectReplies(t, raw, [][2]string{
		{"CONFIG SET min-replicas-max-lag 2", "+OK\r\n"},
		{"CONFIG GET min-replicas-max-lag", "*2\r\n$20\r\nmin-replicas-max-lag\r\n$1\r\n2\r\n"},
		{"CONFIG SET min-replicas-max-lag 250ms", "+OK\r\n"},
		{"CONFIG GET min-replicas-max-lag", "*2\r\n$20\r\nmin-replicas-max-lag\r\n$5\r\n250ms\r\n"},
	})
	if got := string(raw.Do("CONFIG", "SET", "min-replicas-max-lag", "-1")); !strings.HasPrefix(got, "-ERR") {
		t.Errorf("CONFIG SET min-replicas-max-lag -1 = %q", got)
	}
	if got := string(raw.Do("CONFIG", "SET", "min-replicas-max-lag", "soon")); !strings.HasPrefix(got, "-ERR") {
		t.Errorf("CONFIG SET min-replicas-max-lag soon = %q", got)
	}
}
