package shardd

// Replication across real processes: a replica killed with SIGKILL resumes
// from its own log, one whose position the master truncated away gets a
// snapshot, and a cached (diskless) replica stays within its memory bound
// without ever answering a wrong value or a false "no such key".

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoal-kv/shoal/internal/testutil"
)

func TestReplicaKill9ResumesFromItsLog(t *testing.T) {
	_, seed := seedRNG(t)
	bin := testutil.BuildBinary(t, "./cmd/shoal")
	ctx := context.Background()
	m := startNode(t, func(c *Config) { c.SnapshotLogSize = 0 })
	mc := m.client()
	dir := t.TempDir()
	startReplica := func() (*shardProc, *redis.Client) {
		p := startShardProc(t, bin, dir, "--replicaof", m.addr, "--snapshot-log-size", "0")
		c := newClient(p.addr)
		t.Cleanup(func() { c.Close() })
		return p, c
	}
	p, rc := startReplica()

	lctx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	wl := startWriteLoad(lctx, t, m.addr, 4, seed)
	// Kill -9 once the replica has applied part of the load.
	testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
		off := infoInt(t, rc, "replication", "slave_repl_offset")
		return off > 300, fmt.Sprintf("replica offset %d", off)
	})
	p.kill()
	killedAt := infoInt(t, mc, "replication", "master_repl_offset")
	t.Logf("replica killed; master at offset %d", killedAt)
	// The master goes on writing; the replica restarts on its data.
	testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
		off := infoInt(t, mc, "replication", "master_repl_offset")
		return off > killedAt+200, fmt.Sprintf("master offset %d", off)
	})
	p, rc = startReplica()
	testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
		st := infoFields(t, rc, "replication")
		return st["master_link_status"] == "up", "link " + st["master_link_status"]
	})
	stopLoad()
	wl.wait(t)
	if n, err := wl.clients[0].Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 5000 = %d, %v", n, err)
	}
	waitConverged(t, 30*time.Second, mc, rc)
	// It resumed from its log: the master never sent a snapshot, and the
	// replica's only sync since its restart was a partial one.
	ms := infoFields(t, mc, "replication")
	rs := infoFields(t, rc, "replication")
	if ms["shoal_sync_full"] != "0" || ms["shoal_sync_partial_ok"] != "2" {
		t.Fatalf("master syncs: full %s, partial %s; want 0 and 2", ms["shoal_sync_full"], ms["shoal_sync_partial_ok"])
	}
	if rs["shoal_sync_full_received"] != "0" || rs["shoal_sync_partial_received"] != "1" {
		t.Fatalf("replica syncs after restart: full %s, partial %s", rs["shoal_sync_full_received"], rs["shoal_sync_partial_received"])
	}

	// Now stop the replica, write, and truncate the master's log past the
	// replica's position (SAVE snapshots and truncates): on restart the
	// replica needs a snapshot.
	stoppedAt := infoInt(t, rc, "replication", "slave_repl_offset")
	p.kill()
	for i := 0; i < 500; i++ {
		mc.Set(ctx, "after-stop:"+strconv.Itoa(i), i, 0)
	}
	mc.HSet(ctx, "after-stop:h", "f", "v")
	if err := mc.Save(ctx).Err(); err != nil {
		t.Fatalf("SAVE: %v", err)
	}
	if first := infoInt(t, mc, "replication", "repl_backlog_first_byte_offset"); first <= stoppedAt+1 {
		t.Fatalf("the master's log starts at %d, not past the replica's %d", first, stoppedAt)
	}
	p, rc = startReplica()
	waitConverged(t, 30*time.Second, mc, rc)
	if n := infoInt(t, mc, "replication", "shoal_sync_full"); n != 1 {
		t.Fatalf("master sent %d snapshots, want 1", n)
	}
	if n := infoInt(t, rc, "replication", "shoal_sync_full_received"); n != 1 {
		t.Fatalf("replica received %d snapshots, want 1", n)
	}
	// And it keeps streaming afterwards, then restarts from the snapshot
	// it saved plus its log, without another snapshot.
	mc.Set(ctx, "after-snapshot", "x", 0)
	if n, err := mc.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT = %d, %v", n, err)
	}
	p.kill()
	p, rc = startReplica()
	waitConverged(t, 30*time.Second, mc, rc)
	if n := infoInt(t, mc, "replication", "shoal_sync_full"); n != 1 {
		t.Fatalf("master sent %d snapshots after the last restart, want still 1", n)
	}
	_ = p
}

// A diskless replica with a memory bound smaller than the data set: its
// resident memory stays under the bound, and every read it answers is the
// master's value, a nil the master would give, or -NOTCACHED (which the
// frontend turns into a read at the master).
func TestCachedReplicaStaysBoundedAndNeverLies(t *testing.T) {
	rng, _ := seedRNG(t)
	bin := testutil.BuildBinary(t, "./cmd/shoal")
	ctx := context.Background()
	m := startNode(t, func(c *Config) { c.SnapshotLogSize = 0; c.AppendFsync = "no"; c.Logger = nil })
	mc := m.client()
	const maxMemory = 48 << 20
	p := startCachedProc(t, bin, m.addr, "48mb")
	rc := newClient(p.addr)
	defer rc.Close()

	// Data: ~95 MB of 2 KB strings (twice the bound), plus counters and
	// hashes updated after they may have been evicted, and deleted keys.
	const nVals, nCtr, nDel = 30000, 2000, 2000
	val := func(i, round int) string {
		return fmt.Sprintf("%d:%d:%s", i, round, strings.Repeat("v", 2000))
	}
	pipe := func(f func(p redis.Pipeliner, i int), n int) {
		for start := 0; start < n; start += 1000 {
			_, err := mc.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i := start; i < min(start+1000, n); i++ {
					f(p, i)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	pipe(func(p redis.Pipeliner, i int) { p.Set(ctx, "v:"+strconv.Itoa(i), val(i, 0), 0) }, nVals)
	pipe(func(p redis.Pipeliner, i int) { p.Set(ctx, "d:"+strconv.Itoa(i), "doomed", 0) }, nDel)
	pipe(func(p redis.Pipeliner, i int) { p.Incr(ctx, "n:"+strconv.Itoa(i)) }, nCtr)
	pipe(func(p redis.Pipeliner, i int) { p.HSet(ctx, "h:"+strconv.Itoa(i), "a", i) }, nCtr)
	// Second round: more values (evicting), then updates of early keys.
	pipe(func(p redis.Pipeliner, i int) { p.Set(ctx, "w:"+strconv.Itoa(i), val(i, 1), 0) }, nVals/2)
	pipe(func(p redis.Pipeliner, i int) {
		p.Incr(ctx, "n:"+strconv.Itoa(i))
		p.HSet(ctx, "h:"+strconv.Itoa(i), "b", i)
		p.Del(ctx, "d:"+strconv.Itoa(i))
	}, nCtr)
	pipe(func(p redis.Pipeliner, i int) { p.Set(ctx, "v:"+strconv.Itoa(i), val(i, 2), 0) }, nVals/10)
	off := infoInt(t, mc, "replication", "master_repl_offset")
	testutil.WaitFor(t, 60*time.Second, func() (bool, string) {
		got := infoInt(t, rc, "replication", "slave_repl_offset")
		return got == off, fmt.Sprintf("replica at %d, master at %d", got, off)
	})

	// Every answer must be the master's.
	var served, notCached, nils int
	check := func(key string, read func(c *redis.Client) (string, error)) {
		t.Helper()
		got, err := read(rc)
		var rerr redis.Error
		if errors.As(err, &rerr) && strings.HasPrefix(err.Error(), "NOTCACHED ") {
			notCached++
			return
		}
		want, werr := read(mc)
		if errors.Is(werr, redis.Nil) {
			if !errors.Is(err, redis.Nil) {
				t.Fatalf("%s: replica answered %q, %v; the master has no such key", key, got, err)
			}
			nils++
			return
		}
		if werr != nil {
			t.Fatalf("%s on the master: %v", key, werr)
		}
		if err != nil || got != want {
			t.Fatalf("%s: replica answered %.40q, %v; master %.40q", key, got, err, want)
		}
		served++
	}
	for i := 0; i < 4000; i++ {
		switch rng.IntN(5) {
		case 0, 1:
			k := "v:" + strconv.Itoa(rng.IntN(nVals))
			check(k, func(c *redis.Client) (string, error) { return c.Get(ctx, k).Result() })
		case 2:
			k := "n:" + strconv.Itoa(rng.IntN(nCtr))
			check(k, func(c *redis.Client) (string, error) { return c.Get(ctx, k).Result() })
		case 3:
			k := "h:" + strconv.Itoa(rng.IntN(nCtr))
			check(k, func(c *redis.Client) (string, error) {
				m, err := c.HGetAll(ctx, k).Result()
				if err == nil && len(m) == 0 {
					return "", redis.Nil
				}
				return fmt.Sprint(m), err
			})
		case 4:
			k := "d:" + strconv.Itoa(rng.IntN(nDel))
			check(k, func(c *redis.Client) (string, error) { return c.Get(ctx, k).Result() })
		}
	}
	if err := rc.DBSize(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOTCACHED ") {
		t.Errorf("DBSIZE on a partial cached replica: %v, want a NOTCACHED error", err)
	}
	rss := processMemory(t, p.cmd.Process.Pid, "VmRSS")
	peak := processMemory(t, p.cmd.Process.Pid, "VmHWM")
	st := infoFields(t, rc, "replication")
	t.Logf("cached replica: resident %.1f MiB now, %.1f MiB at peak, for a bound of %d MiB; data set ~%d MiB; reads: %d served, %d nil (deleted on the master), %d NOTCACHED; cache used %s of %s, evicted %s, rejected %s, dropped %s",
		float64(rss)/(1<<20), float64(peak)/(1<<20), maxMemory>>20, (nVals*3/2+nVals/10)*2/1024, served, nils, notCached,
		st["shoal_cache_used_cost"], st["shoal_cache_max_cost"], st["shoal_cache_evicted"], st["shoal_cache_rejected"], st["shoal_cache_dropped"])
	if peak > maxMemory {
		t.Errorf("peak resident memory %d bytes exceeds the %d-byte bound", peak, maxMemory)
	}
	// No file is open for writing (the Go runtime reads cgroup files).
	pid := p.cmd.Process.Pid
	if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		for _, fd := range fds {
			target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
			if err != nil || !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "/dev/") {
				continue // sockets, pipes, anonymous inodes, devices
			}
			info, _ := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, fd.Name()))
			for _, line := range strings.Split(string(info), "\n") {
				if v, ok := strings.CutPrefix(line, "flags:"); ok {
					if flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64); err == nil && flags&3 != 0 {
						t.Errorf("the diskless process has %s open for writing", target)
					}
				}
			}
		}
	}
	if served == 0 || notCached == 0 {
		t.Errorf("expected both cached answers and NOTCACHED (served %d, notcached %d)", served, notCached)
	}
}

// startCachedProc starts `shoal shardd --diskless --maxmemory` replicating
// master, with no data directory at all.
func startCachedProc(t *testing.T, bin, master, maxMemory string) *shardProc {
	t.Helper()
	port := testutil.FreePort(t, "127.0.0.1")
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "shardd", "--listen", addr, "--diskless", "--maxmemory", maxMemory,
		"--replicaof", master, "--log-level", "warn")
	cmd.Stderr = os.Stderr
	cmd.Dir = t.TempDir() // nothing may be written there either
	if err := cmd.Start(); err != nil {
		t.Fatalf("start shardd: %v", err)
	}
	p := &shardProc{cmd: cmd, addr: addr}
	t.Cleanup(func() {
		p.kill()
		if entries, _ := os.ReadDir(cmd.Dir); len(entries) > 0 {
			t.Errorf("the diskless process wrote %d files in its working directory", len(entries))
		}
	})
	waitListening(t, addr)
	return p
}

// processMemory reads a memory field (VmRSS: resident now, VmHWM: peak
// resident) of a process from /proc.
func processMemory(t *testing.T, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("%s %q: %v", field, rest, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc status", field)
	return 0
}
