package compose

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/hashring"
	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/internal/waitload"
)

// shardNames are the shards compose/docker-compose.yml runs.
var shardNames = []string{"shard-0", "shard-1", "shard-2"}

// figures collects the measurements the test prints at the end.
type figures struct {
	mu    sync.Mutex
	lines []string
}

func (f *figures) add(t *testing.T, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	t.Log("FIGURE " + line)
	f.mu.Lock()
	f.lines = append(f.lines, line)
	f.mu.Unlock()
}

// TestComposeCluster is the compose scenario of issue 6, against the
// real compose file and a FROM scratch image of the real binary:
//
//  1. up: 3 shards × (master + replica), 2 frontends, all healthy;
//  2. a mixed workload from the host through both frontends' published
//     ports (go-redis, MaxRetries -1, every acknowledged write recorded);
//  3. scale frontends 2 → 5 under load: the new ones are timed from
//     container start to first command served and to a full SHOAL SHARDS,
//     then get clients of their own; scale 5 → 2 under load: clients of
//     the frontends that stay see no error at all, clients of removed ones
//     see only clean closes;
//  4. failover (issue 7): docker kill shard-1's master under a SET + WAIT
//     1 100 load to every shard: the raft leader promotes its replica;
//     the time from the kill until its keys accept writes through each
//     frontend is printed; SHOAL MAP on a shard node names the replica at
//     the next epoch; docker start the old master: ROLE says it follows
//     the new one; no write WAIT confirmed is lost (others lost counted);
//  5. a whole shard down: docker kill both of shard-2's containers under
//     the same load: its keys answer -CLUSTERDOWN on every frontend while
//     the other shards' keys keep working, SHOAL SHARDS lists it without a
//     master; docker start its master, then its replica: its keys work
//     again and no acknowledged write is lost;
//  6. every acknowledged write of the mixed workload is read back;
//  7. down -v --remove-orphans, also when a step failed (t.Cleanup).
func TestComposeCluster(t *testing.T) {
	compose := requireDocker(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	var figs figures
	t.Cleanup(func() {
		if len(figs.lines) > 0 {
			t.Logf("figures:\n  %s", strings.Join(figs.lines, "\n  "))
		}
	})
	c := startCluster(t, compose)
	ctx := deadline(t, 12*time.Minute)
	led := newLedger()

	fes := c.frontends()
	if len(fes) != 2 {
		t.Fatalf("%d frontends after up, want 2: %v", len(fes), fes)
	}
	redisCLI(t, fes[0].addr, led)

	// --- 2. a mixed workload through both frontends -----------------------
	wctx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	var workers []*worker
	start := func(fe frontend, n int, step func(context.Context, *worker) bool) []*worker {
		var ws []*worker
		for i := 0; i < n; i++ {
			w := newWorker(len(workers)+1, fe, seed, led)
			workers = append(workers, w)
			ws = append(ws, w)
			go w.run(wctx, step)
		}
		return ws
	}
	for _, fe := range fes {
		start(fe, 2, mixedStep)
	}
	waitProgress(t, workers, 200)

	// --- 3a. scale 2 → 5 under load, timing the new frontends ---------------
	used := map[string]bool{}
	for _, fe := range fes {
		used[fe.addr] = true
	}
	type watch struct {
		cancel context.CancelFunc
		res    chan startup
	}
	watches := map[string]watch{}
	for p := c.portLo; p < c.portLo+10; p++ {
		addr := "127.0.0.1:" + strconv.Itoa(p)
		if used[addr] {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		w := watch{cancel, make(chan startup, 1)}
		watches[addr] = w
		go func(p int) { w.res <- watchStartup(pctx, p, len(shardNames)) }(p)
	}
	scaleAt := time.Now()
	c.must("up", "-d", "--no-recreate", "--scale", "frontend=5")
	scaleCmd := time.Since(scaleAt)
	var added []frontend
	for _, fe := range c.frontends() {
		if !used[fe.addr] {
			added = append(added, fe)
		}
	}
	if len(added) != 3 {
		t.Fatalf("after scale to 5: %d new frontends, want 3", len(added))
	}
	for addr, w := range watches {
		if !slices.ContainsFunc(added, func(fe frontend) bool { return fe.addr == addr }) {
			w.cancel()
		}
	}
	var cold, coldDocker, topo []time.Duration
	for _, fe := range added {
		s := <-watches[fe.addr].res
		if s.served.IsZero() || s.topo.IsZero() {
			t.Fatalf("new frontend %s (%s) never served a command or showed all shards: %+v", fe.name, fe.addr, s)
		}
		started := c.startedAt(fe.id)
		cold = append(cold, s.served.Sub(s.opened))
		coldDocker = append(coldDocker, s.served.Sub(started))
		topo = append(topo, s.topo.Sub(s.opened))
		t.Logf("%s: host port opened %s (Docker's StartedAt %+v from it); +%v listening, +%v first command served, +%v SHOAL SHARDS lists %d shards with masters (scale command issued %v before)",
			fe.name, s.opened.Format(time.StampMicro), started.Sub(s.opened).Round(time.Millisecond), s.listening.Sub(s.opened).Round(time.Millisecond),
			s.served.Sub(s.opened).Round(time.Millisecond), s.topo.Sub(s.opened).Round(time.Millisecond),
			len(shardNames), s.opened.Sub(scaleAt).Round(time.Millisecond))
	}
	figs.add(t, "frontend container cold start: Docker begins the start (host port opens) → first command served: %s; Docker's StartedAt (process running) → first command served: %s", durations(cold), durations(coldDocker))
	figs.add(t, "new frontend sees the full topology (host port opens → SHOAL SHARDS lists 3 shards with masters): %s", durations(topo))
	figs.add(t, "`up -d --scale frontend=5` command: %v", scaleCmd.Round(time.Millisecond))
	c.waitHealthy(time.Minute)
	for _, fe := range added {
		start(fe, 2, mixedStep)
	}
	waitProgress(t, workers, 200)

	// --- 3b. scale 5 → 2 under load ---------------------------------------
	before := c.frontends()
	scaleAt = time.Now()
	c.must("up", "-d", "--no-recreate", "--scale", "frontend=2")
	figs.add(t, "`up -d --scale frontend=2` command (3 frontends drain and leave): %v", time.Since(scaleAt).Round(time.Millisecond))
	stay := map[string]bool{}
	for _, fe := range c.frontends() {
		stay[fe.id] = true
	}
	if len(stay) != 2 {
		t.Fatalf("after scale to 2: %d frontends", len(stay))
	}
	var staying, leaving []*worker
	for _, w := range workers {
		if stay[w.fe.id] {
			staying = append(staying, w)
		} else {
			leaving = append(leaving, w)
		}
	}
	testutil.WaitFor(t, time.Minute, func() (bool, string) {
		for _, w := range leaving {
			select {
			case <-w.done:
			default:
				return false, fmt.Sprintf("worker %d on removed %s still running", w.id, w.fe.name)
			}
		}
		return true, ""
	})
	waitProgress(t, staying, 200)
	stopWorkers()
	for _, w := range workers {
		<-w.done
	}
	var total int64
	for _, w := range workers {
		fails, samples := w.failures()
		closed, _ := w.closed.Load().(string)
		total += w.ops.Load()
		switch {
		case stay[w.fe.id] && (len(fails) > 0 || closed != ""):
			t.Errorf("worker %d on %s (stays): %d ok, failures %v (%q), closed %q: want none", w.id, w.fe.name, w.ops.Load(), fails, samples, closed)
		case !stay[w.fe.id] && (len(fails) > 0 || closed == ""):
			t.Errorf("worker %d on %s (removed): %d ok, failures %v (%q), closed %q: want only a clean close", w.id, w.fe.name, w.ops.Load(), fails, samples, closed)
		default:
			t.Logf("worker %d on %s: %d commands answered, ended by %q", w.id, w.fe.name, w.ops.Load(), closed)
		}
	}
	figs.add(t, "scale phase: %d commands answered by %d clients over %d frontends (%d kept), %d acknowledged writes",
		total, len(workers), len(before), len(stay), led.writes())
	survivors := c.frontends()
	verifyAll(t, ctx, survivors[0], led)

	// --- 4. failover: kill shard-1's master under a SET + WAIT load -------
	ring, err := hashring.NewFromNames(hashring.DefaultConfig(), shardNames)
	if err != nil {
		t.Fatal(err)
	}
	checkRouting(t, survivors[0].addr, ring)
	c.logControl("before the kills")
	failover(t, ctx, c, &figs, survivors, ring, seed, shardNames[1])

	// --- 5. a whole shard down: -CLUSTERDOWN, then recovery ---------------
	shardDown(t, ctx, c, &figs, survivors, ring, seed, shardNames[2])

	// --- 6. nothing acknowledged was lost ---------------------------------
	verifyAll(t, ctx, survivors[1], led)
}

// shardLoad is a write load through the frontends, SET + WAIT 1 100 per
// write (waitload), each worker rotating over the shards; it counts the
// acknowledged writes per shard and records failures by kind.
type shardLoad struct {
	ok      [3]atomic.Int64 // acknowledged writes per shard
	workers []*worker
	writers []*waitload.Writer
	cancel  context.CancelFunc
}

func startShardLoad(ctx context.Context, t *testing.T, fes []frontend, ring hashring.Ring, seed uint64, name string, idBase int) *shardLoad {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	l := &shardLoad{cancel: cancel}
	t.Cleanup(l.stop)
	// One worker per shard and frontend: a worker whose shard is down
	// waits in the frontend's failover buffer (2 s per write) and must not
	// slow the writes to the other shards.
	for _, fe := range fes {
		for target := range shardNames {
			w := newWorker(idBase+len(l.workers), fe, seed, nil)
			wr := waitload.NewWriter(w.rdb, 100*time.Millisecond)
			l.workers, l.writers = append(l.workers, w), append(l.writers, wr)
			go w.run(ctx, func(ctx context.Context, w *worker) bool {
				w.seq++
				k := keyOn(ring, shardNames[target], fmt.Sprintf("%s:w%d:%d", name, w.id, w.seq))
				_, err := wr.Write(ctx, k, strconv.Itoa(w.seq))
				switch {
				case err == nil:
					w.ops.Add(1)
					l.ok[target].Add(1)
				case ctx.Err() != nil:
					return false
				default:
					w.failAs(shardNames[target]+" "+errKind(err), "SET "+k+": "+err.Error())
					time.Sleep(5 * time.Millisecond) // pacing while a shard is down
				}
				return true
			})
		}
	}
	waitProgress(t, l.workers, 100)
	return l
}

func (l *shardLoad) acked() [3]int64 { return [3]int64{l.ok[0].Load(), l.ok[1].Load(), l.ok[2].Load()} }

// stop ends the load and waits for its workers.
func (l *shardLoad) stop() {
	l.cancel()
	for _, w := range l.workers {
		<-w.done
	}
}

// finish stops the load, checks that only victim's writes failed and only
// with error replies, and reads every acknowledged write back.
func (l *shardLoad) finish(t *testing.T, ctx context.Context, fe frontend, victim string) waitload.Tally {
	t.Helper()
	l.stop()
	for _, w := range l.workers {
		fails, samples := w.failures()
		for kind, n := range fails {
			if !strings.HasPrefix(kind, victim+" ") || !isErrorReply(strings.TrimPrefix(kind, victim+" ")) {
				t.Errorf("worker %d on %s: %d × %s (%q): only %s's keys may fail, with an error reply", w.id, w.fe.name, n, kind, samples, victim)
			}
		}
		t.Logf("worker %d on %s: %d writes acknowledged, refused: %v, e.g. %q", w.id, w.fe.name, w.ops.Load(), fails, samples)
	}
	rdb := newClient(fe.addr)
	defer rdb.Close()
	vctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tally, err := waitload.Verify(vctx, rdb, l.writers...)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tally.Samples {
		t.Errorf("a write WAIT confirmed is lost: %s", s)
	}
	return tally
}

// failover kills victim's master container under a write load: its keys
// must accept writes again through every frontend once the raft leader
// has promoted the replica (timed from the kill), SHOAL MAP on a shard
// node must name the replica at the next epoch, and the old master,
// started again, must come back as the new master's replica (ROLE). No
// write WAIT confirmed may be lost; others lost are counted.
func failover(t *testing.T, ctx context.Context, c *cluster, figs *figures, fes []frontend, ring hashring.Ring, seed uint64, victim string) {
	load := startShardLoad(ctx, t, fes, ring, seed, "failover", 100)
	oldID := c.service(victim + "-master")
	before := c.clusterMap(c.service(shardNames[0] + "-master"))
	killAt := time.Now()
	if out, err := docker(t, "kill", oldID); err != nil {
		t.Fatalf("docker kill: %v: %s", err, out)
	}
	figs.add(t, "failover: `docker kill` of %s's master returned after %v", victim, time.Since(killAt).Round(time.Millisecond))
	took := make([]time.Duration, len(fes))
	var wg sync.WaitGroup
	for i, fe := range fes {
		wg.Go(func() { took[i] = writableAfter(fe, ring, victim, "failover", killAt, time.Minute) })
	}
	wg.Wait()
	for i, fe := range fes {
		if took[i] == 0 {
			t.Fatalf("failover: no write to %s through %s succeeded within a minute of the kill", victim, fe.name)
		}
		figs.add(t, "failover: %s: kill of %s's master → its keys accept writes again after %v", fe.name, victim, took[i].Round(time.Millisecond))
	}

	// Where the time went, from the nodes' own logs: the leader's decision,
	// the orders that timed out, the replica's promotion.
	since := killAt.Add(-time.Second)
	decided := c.logsSince(since, "control: failing over", "shard="+victim)
	promoted := c.logsSince(since, "promoted to master", "shard="+victim)
	undelivered := c.logsSince(since, "order not delivered", "kind=promote", "shard="+victim)
	if len(decided) > 0 && len(promoted) > 0 {
		figs.add(t, "failover: from the kill, the raft leader decided to fail %s over after %v, the replica was promoted after %v (%d PROMOTE orders timed out in between)",
			victim, decided[0].at.Sub(killAt).Round(time.Millisecond), promoted[0].at.Sub(killAt).Round(time.Millisecond), len(undelivered))
	} else {
		t.Logf("failover: no \"failing over\" (%d) or \"promoted to master\" (%d) log line found", len(decided), len(promoted))
	}
	for _, l := range undelivered {
		t.Logf("failover: %s", l.text)
	}

	// Master discovery: SHOAL SHARDS on a frontend, SHOAL MAP on a shard
	// node, both name the replica at the next epoch.
	newMaster := victim + "-replica:6379"
	var desc string
	p := probeUntil(t, fes[0].addr, 30*time.Second, "SHOAL SHARDS with "+newMaster, func(p *probe) bool {
		v, err := p.do("SHOAL", "SHARDS")
		_, desc = shardsWithMaster(v)
		return err == nil && strings.Contains(desc, victim+" master="+newMaster+" ")
	})
	p.close()
	t.Logf("SHOAL SHARDS after the failover: %s", desc)
	var after map[string]mapEntry
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		after = c.clusterMap(c.service(shardNames[0] + "-master"))
		return after[victim].addr == newMaster, fmt.Sprintf("SHOAL MAP %v", after)
	})
	if e := after[victim]; e.epoch != before[victim].epoch+1 || e.node != victim+"-replica-6379" {
		t.Errorf("SHOAL MAP after the failover: %s = %+v, want %s-replica-6379 at epoch %d", victim, e, victim, before[victim].epoch+1)
	}
	figs.add(t, "failover: SHOAL MAP on %s-master: %s master %s (%s), epoch %d → %d", shardNames[0], victim, after[victim].node, after[victim].addr,
		before[victim].epoch, after[victim].epoch)

	// The old master returns as the new master's replica.
	outage := load.acked()
	restartAt := time.Now()
	if out, err := docker(t, "start", oldID); err != nil {
		t.Fatalf("docker start: %v: %s", err, out)
	}
	c.waitRole(oldID, "slave "+victim+"-replica:6379 connected", time.Minute)
	figs.add(t, "failover: `docker start` of the old master → ROLE says replica of %s, link connected, after %v", newMaster, time.Since(restartAt).Round(time.Millisecond))
	testutil.WaitFor(t, time.Minute, func() (bool, string) {
		now := load.acked()
		for i := range now {
			if now[i] < outage[i]+100 {
				return false, fmt.Sprintf("acknowledged writes per shard %v since %v", now, outage)
			}
		}
		return true, ""
	})
	c.logControl("after the failover")
	tally := load.finish(t, ctx, fes[1], victim)
	figs.add(t, "failover: writes through the frontends, SET + WAIT 1 100: %v", tally)
	if tally.Waited == 0 {
		t.Errorf("failover: no write was confirmed by WAIT: the check proved nothing")
	}
}

// shardDown kills both containers of victim under a write load: its keys
// answer -CLUSTERDOWN on every frontend while the other shards' keys keep
// being written, and SHOAL SHARDS shows it without a master; its master is
// started again (then its replica): its keys are served again, with
// nothing acknowledged lost (its master kept its log).
func shardDown(t *testing.T, ctx context.Context, c *cluster, figs *figures, fes []frontend, ring hashring.Ring, seed uint64, victim string) {
	load := startShardLoad(ctx, t, fes, ring, seed, "down", 200)
	ids := []string{c.service(victim + "-master"), c.service(victim + "-replica")}
	vi := slices.Index(shardNames, victim)
	killAt := time.Now()
	if out, err := docker(t, append([]string{"kill"}, ids...)...); err != nil {
		t.Fatalf("docker kill: %v: %s", err, out)
	}
	figs.add(t, "shard down: `docker kill` of both %s containers returned after %v", victim, time.Since(killAt).Round(time.Millisecond))
	victimKey := keyOn(ring, victim, "probe:victim")
	for _, fe := range fes {
		p := probeUntil(t, fe.addr, 30*time.Second, "a -CLUSTERDOWN for "+victim+"'s keys", func(p *probe) bool {
			v, err := p.do("GET", victimKey)
			e, isErr := v.(redisErr)
			return err == nil && isErr && strings.HasPrefix(string(e), "CLUSTERDOWN")
		})
		figs.add(t, "shard down: %s: %s's keys answer -CLUSTERDOWN %v after the kill", fe.name, victim, time.Since(killAt).Round(time.Millisecond))
		for _, sh := range shardNames {
			k := keyOn(ring, sh, "probe:"+fe.name+":during")
			v, err := p.do("SET", k, "x")
			if sh == victim {
				if e, _ := v.(redisErr); err != nil || !strings.HasPrefix(string(e), "CLUSTERDOWN") {
					t.Errorf("%s: SET %s (on %s) during the outage: %v %v, want -CLUSTERDOWN", fe.name, k, sh, v, err)
				}
			} else if err != nil || v != "OK" {
				t.Errorf("%s: SET %s (on %s) during the outage: %v %v, want OK", fe.name, k, sh, v, err)
			}
		}
		p.close()
	}
	// Gossip then reports both failed: SHOAL SHARDS lists the shard
	// without a master (serf's LAN timings: seconds).
	for _, fe := range fes {
		var desc string
		p := probeUntil(t, fe.addr, time.Minute, "SHOAL SHARDS without "+victim+"'s master", func(p *probe) bool {
			v, err := p.do("SHOAL", "SHARDS")
			var n int
			n, desc = shardsWithMaster(v)
			return err == nil && n == len(shardNames)-1 && strings.Contains(desc, victim+" master=(none)")
		})
		p.close()
		figs.add(t, "shard down: %s: gossip reports %s without a master (SHOAL SHARDS) %v after the kill", fe.name, victim, time.Since(killAt).Round(time.Millisecond))
		t.Logf("%s: SHOAL SHARDS during the outage: %s", fe.name, desc)
	}
	outage := load.acked()
	testutil.WaitFor(t, time.Minute, func() (bool, string) {
		now := load.acked()
		for i := range shardNames {
			if i != vi && now[i] < outage[i]+200 {
				return false, fmt.Sprintf("%s: %d acknowledged writes since the outage began", shardNames[i], now[i]-outage[i])
			}
		}
		return true, ""
	})
	if n := load.ok[vi].Load(); n != outage[vi] {
		t.Errorf("%d writes to %s acknowledged while both its nodes were down", n-outage[vi], victim)
	}

	// The master first: it comes back with its log and is still the map's
	// master (no replica was alive to promote); then its replica.
	restartAt := time.Now()
	if out, err := docker(t, "start", ids[0]); err != nil {
		t.Fatalf("docker start: %v: %s", err, out)
	}
	c.waitRole(ids[0], "master", time.Minute)
	if out, err := docker(t, "start", ids[1]); err != nil {
		t.Fatalf("docker start: %v: %s", err, out)
	}
	for _, fe := range fes {
		took := writableAfter(fe, ring, victim, "after", restartAt, time.Minute)
		if took == 0 {
			t.Fatalf("shard down: no write to %s through %s succeeded within a minute of its restart", victim, fe.name)
		}
		figs.add(t, "shard down: %s: `docker start` of %s's master → its keys served again after %v", fe.name, victim, took.Round(time.Millisecond))
	}
	c.waitRole(ids[1], "slave "+victim+"-master:6379 connected", time.Minute)
	figs.add(t, "shard down: %s's replica following its master again %v after the first `docker start`", victim, time.Since(restartAt).Round(time.Millisecond))
	if m := c.clusterMap(c.service(shardNames[0] + "-master")); m[victim].addr != victim+"-master:6379" {
		t.Errorf("SHOAL MAP after the restart: %s = %+v, want its master unchanged", victim, m[victim])
	}
	recovered := load.ok[vi].Load()
	testutil.WaitFor(t, time.Minute, func() (bool, string) {
		return load.ok[vi].Load() >= recovered+100, fmt.Sprintf("%d writes to %s since it came back", load.ok[vi].Load()-recovered, victim)
	})
	tally := load.finish(t, ctx, fes[0], victim)
	figs.add(t, "shard down: writes through the frontends, SET + WAIT 1 100: %v; acknowledged per shard %v", tally, load.acked())
	if tally.LostOther > 0 {
		t.Errorf("shard down: %d acknowledged writes lost: the restarted master kept its log, nothing may be", tally.LostOther)
	}
}

// writableAfter sends SET to a key of shard through fe every 5 ms (each
// on a fresh connection after an error) until one succeeds or timeout
// passes, and returns the time from from to that success; 0 if none did.
// Safe from any goroutine.
func writableAfter(fe frontend, ring hashring.Ring, shard, tag string, from time.Time, timeout time.Duration) time.Duration {
	k := keyOn(ring, shard, "probe:"+fe.name+":"+tag)
	var p *probe
	defer func() {
		if p != nil {
			p.close()
		}
	}()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) { // the polling interval
		if p == nil {
			var err error
			if p, err = dialProbe(fe.addr); err != nil {
				continue
			}
		}
		v, err := p.do("SET", k, "y")
		if err == nil && v == "OK" {
			return time.Since(from)
		}
		p.close()
		p = nil
	}
	return 0
}

// waitProgress waits until every worker has answered n more commands.
func waitProgress(t *testing.T, ws []*worker, n int64) {
	t.Helper()
	base := make([]int64, len(ws))
	for i, w := range ws {
		base[i] = w.ops.Load()
	}
	testutil.WaitFor(t, 2*time.Minute, func() (bool, string) {
		for i, w := range ws {
			if w.ops.Load() < base[i]+n {
				fails, samples := w.failures()
				return false, fmt.Sprintf("worker %d on %s: %d of %d commands (failures %v %q)", w.id, w.fe.name, w.ops.Load()-base[i], n, fails, samples)
			}
		}
		return true, ""
	})
}

// verifyAll reads every acknowledged write back through one frontend.
func verifyAll(t *testing.T, ctx context.Context, fe frontend, led *ledger) {
	t.Helper()
	start := time.Now()
	rdb := newClient(fe.addr)
	defer rdb.Close()
	led.verify(t, ctx, rdb)
	t.Logf("verified %d acknowledged writes through %s in %v", led.writes(), fe.name, time.Since(start).Round(time.Millisecond))
}

// probeUntil dials addr and polls cond on a raw connection until it holds,
// redialling after errors; it returns the connection.
func probeUntil(t *testing.T, addr string, timeout time.Duration, what string, cond func(*probe) bool) *probe {
	t.Helper()
	var p *probe
	testutil.WaitFor(t, timeout, func() (bool, string) {
		if p == nil {
			var err error
			if p, err = dialProbe(addr); err != nil {
				return false, err.Error()
			}
		}
		if cond(p) {
			return true, ""
		}
		p.close()
		p = nil
		return false, "waiting for " + what + " at " + addr
	})
	return p
}

// keyOn returns a key starting with prefix that the ring routes to shard.
func keyOn(ring hashring.Ring, shard, prefix string) string {
	for i := 0; ; i++ {
		k := prefix + ":" + strconv.Itoa(i)
		if ring.Lookup([]byte(k)) == shard {
			return k
		}
	}
}

// checkRouting compares the test's ring with the frontend's SHOAL ROUTE.
func checkRouting(t *testing.T, addr string, ring hashring.Ring) {
	t.Helper()
	p, err := dialProbe(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	for i := 0; i < 50; i++ {
		k := "route:" + strconv.Itoa(i)
		v, err := p.do("SHOAL", "ROUTE", k)
		r, _ := v.([]any)
		if err != nil || len(r) == 0 || r[0] != ring.Lookup([]byte(k)) {
			t.Fatalf("SHOAL ROUTE %s = %v %v, the test's ring says %s", k, v, err, ring.Lookup([]byte(k)))
		}
	}
}

// isErrorReply: an error kind that is a server error code (CLUSTERDOWN),
// not a broken connection.
func isErrorReply(kind string) bool {
	if kind == "" {
		return false
	}
	for _, r := range kind {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// redisCLI runs the README's redis-cli commands through a frontend when
// redis-cli is installed.
func redisCLI(t *testing.T, addr string, led *ledger) {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Log("redis-cli not installed; skipping its check")
		return
	}
	host, port := host(addr), strconv.Itoa(portOf(addr))
	cli := func(args ...string) string {
		out, err := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %q: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := cli("SET", "cli:hello", "world"); got != "OK" {
		t.Fatalf("redis-cli SET: %q", got)
	}
	led.set("cli:hello", "world")
	if got := cli("GET", "cli:hello"); got != "world" {
		t.Fatalf("redis-cli GET: %q", got)
	}
	t.Logf("redis-cli -p %s SHOAL SHARDS:\n%s", port, cli("SHOAL", "SHARDS"))
}

func portOf(addr string) int {
	_, p, _ := strings.Cut(addr, ":")
	n, _ := strconv.Atoi(p)
	return n
}

// durations formats a list of durations with their maximum.
func durations(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Round(time.Millisecond).String()
	}
	return strings.Join(parts, ", ") + " (max " + slices.Max(ds).Round(time.Millisecond).String() + ")"
}
