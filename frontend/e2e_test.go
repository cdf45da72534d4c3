package frontend

// End-to-end: shard daemons and frontends as processes of the shoal
// binary, joined by real gossip (serf, fast profile) on 127.0.0.x.

import (
	"bytes"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/hashring"
	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/proto"
)

// proc is a running shoal process.
type proc struct {
	cmd    *exec.Cmd
	addr   string // RESP address
	gossip string
	exited chan struct{} // closed when the process has exited
	err    error         // its exit status, once exited is closed
}

func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

// startProc runs the shoal binary with args and stops it when the test ends.
func startProc(t testing.TB, name string, args ...string) *proc {
	t.Helper()
	bin := testutil.BuildBinary(t, "./cmd/shoal")
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &prefixWriter{t: t, prefix: name + ": "}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.kill)
	return p
}

// gossipAddr returns a free gossip address on a distinct loopback IP.
func gossipAddr(t testing.TB) string {
	ip := testutil.LoopbackIP()
	return net.JoinHostPort(ip, strconv.Itoa(testutil.FreePort(t, ip)))
}

// startShardProc runs `shoal shardd` for shard with gossip, joining seed
// (none for the first).
func startShardProc(t testing.TB, shard, seed string) *proc {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(t, "127.0.0.1")))
	g := gossipAddr(t)
	args := []string{"shardd", "--listen", addr, "--shard", shard, "--data-dir", t.TempDir(),
		"--gossip", g, "--gossip-profile", "fast", "--log-level", "warn"}
	if seed != "" {
		args = append(args, "--join", seed)
	}
	p := startProc(t, "shardd "+shard, args...)
	p.addr, p.gossip = addr, g
	waitListening(t, addr)
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

// TestClusterEndToEnd: three shard daemons and two frontends on loopback.
// 100,000 keys written through frontend A all read back through B; each
// shard holds a third of them; SHOAL ROUTE agrees across frontends; SCAN
// through a frontend returns every key once; pub/sub crosses frontends,
// also after the channel's master changes; a killed master's keys answer
// CLUSTERDOWN while the rest is served; malformed input does not hurt a
// frontend; a new frontend is ready quickly; SIGTERM drains and exits 0.
func TestClusterEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("processes and gossip")
	}
	shards := map[string]*proc{}
	seed := ""
	for _, name := range []string{"shard-a", "shard-b", "shard-c"} {
		p := startShardProc(t, name, seed)
		if seed == "" {
			seed = p.gossip
		}
		shards[name] = p
	}
	feA := startFrontendProc(t, "frontend A", seed)
	feB := startFrontendProc(t, "frontend B", seed)
	waitServing(t, feA.addr, 30*time.Second)
	waitServing(t, feB.addr, 30*time.Second)

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
	// Each shard holds a third of them, ±3 %.
	for name, p := range shards {
		got, _ := rawDo(p.addr, "DBSIZE")
		v, _ := proto.ParseReply([]byte(got))
		if share := float64(v.Int) / float64(n); share < (1.0/3)*0.97 || share > (1.0/3)*1.03 {
			t.Errorf("%s holds %d keys (%.2f %%)", name, v.Int, 100*share)
		} else {
			t.Logf("%s holds %d keys (%.2f %%)", name, v.Int, 100*share)
		}
	}
	// SHOAL ROUTE agrees across frontends for every key, and with hashring.
	ring, _ := hashring.NewFromNames(hashring.DefaultConfig(), []string{"shard-a", "shard-b", "shard-c"})
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

	// Kill the master of the channel's shard: its keys answer CLUSTERDOWN,
	// the other shards keep serving.
	victim := ring.Lookup([]byte("events"))
	shards[victim].kill()
	var victimKey, otherKey string
	for _, k := range keys {
		if ring.Lookup([]byte(k)) == victim {
			victimKey = k
		} else {
			otherKey = k
		}
		if victimKey != "" && otherKey != "" {
			break
		}
	}
	for _, fe := range []*proc{feA, feB} {
		testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
			got, _ := rawDo(fe.addr, "GET", victimKey)
			return got == "-CLUSTERDOWN shard "+victim+" has no reachable master\r\n", got
		})
		if got, _ := rawDo(fe.addr, "GET", otherKey); !strings.HasPrefix(got, "$") {
			t.Errorf("other shards stopped serving: %q", got)
		}
	}
	// A new master for that shard (a fresh daemon: with replication, the
	// promoted replica). The frontends route to it without a restart, and
	// the subscription on A follows.
	live := feA.gossip // the seed may have been the victim
	repl := startShardProc(t, victim, live)
	shards[victim] = repl
	for _, fe := range []*proc{feA, feB} {
		testutil.WaitFor(t, 15*time.Second, func() (bool, string) {
			got, _ := rawDo(fe.addr, "SET", victimKey, "new")
			return got == "+OK\r\n", got
		})
	}
	if got, _ := rawDo(repl.addr, "GET", victimKey); got != bulk("new") {
		t.Errorf("write did not reach the new master: %q", got)
	}
	testutil.WaitFor(t, 15*time.Second, func() (bool, string) {
		got := do(pub, "PUBLISH", "events", "second")
		return got == ":1\r\n", got
	})
	if got, err := sub.ReadTimeout(5 * time.Second); err != nil || !strings.HasSuffix(string(got), "$6\r\nsecond\r\n") {
		t.Fatalf("message after the master change: %q %v", got, err)
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
	feB.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-feB.exited:
		if feB.err != nil {
			t.Errorf("frontend B after SIGTERM: %v", feB.err)
		}
		t.Logf("frontend B exited %v after SIGTERM", time.Since(start))
	case <-time.After(15 * time.Second):
		t.Fatal("frontend B did not exit after SIGTERM")
	}
}
