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
//  4. docker kill shard-1's master under a write load: its keys answer
//     -CLUSTERDOWN on every frontend while the other shards' keys keep
//     working; docker start it: its keys work again;
//  5. every acknowledged write is read back;
//  6. down -v --remove-orphans, also when a step failed (t.Cleanup).
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

	// --- 4. kill shard-1's master under a write load ----------------------
	ring, err := hashring.NewFromNames(hashring.DefaultConfig(), shardNames)
	if err != nil {
		t.Fatal(err)
	}
	checkRouting(t, survivors[0].addr, ring)
	victim := shardNames[1]
	victimID := c.service(victim + "-master")
	kctx, stopKill := context.WithCancel(ctx)
	defer stopKill()
	var ok [3]atomic.Int64 // acknowledged writes per shard
	killStep := func(ctx context.Context, w *worker) bool {
		w.seq++
		target := w.seq % len(shardNames)
		k := keyOn(ring, shardNames[target], fmt.Sprintf("kill:w%d:%d", w.id, w.seq))
		v := strconv.Itoa(w.seq)
		err := w.rdb.Set(ctx, k, v, 0).Err()
		switch {
		case err == nil:
			w.ops.Add(1)
			ok[target].Add(1)
			w.led.set(k, v)
		case ctx.Err() != nil:
			return false
		default:
			w.failAs(shardNames[target]+" "+errKind(err), "SET "+k+": "+err.Error())
		}
		return true
	}
	var killers []*worker
	for _, fe := range survivors {
		killers = append(killers, newWorker(100+len(killers), fe, seed, led), newWorker(101+len(killers), fe, seed, led))
	}
	for _, w := range killers {
		go w.run(kctx, killStep)
	}
	waitProgress(t, killers, 100)

	killAt := time.Now()
	if out, err := docker(t, "kill", victimID); err != nil {
		t.Fatalf("docker kill: %v: %s", err, out)
	}
	figs.add(t, "`docker kill` of %s's master returned after %v", victim, time.Since(killAt).Round(time.Millisecond))
	victimKey := keyOn(ring, victim, "probe:victim")
	for _, fe := range survivors {
		p := probeUntil(t, fe.addr, 30*time.Second, "a -CLUSTERDOWN for "+victim+"'s keys", func(p *probe) bool {
			v, err := p.do("GET", victimKey)
			e, isErr := v.(redisErr)
			return err == nil && isErr && strings.HasPrefix(string(e), "CLUSTERDOWN")
		})
		figs.add(t, "%s: kill of %s's master → its keys answer -CLUSTERDOWN after %v", fe.name, victim, time.Since(killAt).Round(time.Millisecond))
		for _, sh := range shardNames {
			k := keyOn(ring, sh, "probe:"+fe.name+":during")
			v, err := p.do("SET", k, "x")
			if sh == victim {
				if e, _ := v.(redisErr); err != nil || !strings.HasPrefix(string(e), "CLUSTERDOWN") {
					t.Errorf("%s: SET %s (on %s) during the outage: %v %v, want -CLUSTERDOWN", fe.name, k, sh, v, err)
				}
				continue
			}
			if err != nil || v != "OK" {
				t.Errorf("%s: SET %s (on %s) during the outage: %v %v, want OK", fe.name, k, sh, v, err)
			} else {
				led.set(k, "x")
			}
		}
		p.close()
	}
	// Gossip then reports the master failed: SHOAL SHARDS lists the shard
	// without one (serf's LAN timings: seconds).
	for _, fe := range survivors {
		var desc string
		p := probeUntil(t, fe.addr, time.Minute, "SHOAL SHARDS without "+victim+"'s master", func(p *probe) bool {
			v, err := p.do("SHOAL", "SHARDS")
			var n int
			n, desc = shardsWithMaster(v)
			return err == nil && n == len(shardNames)-1 && !strings.Contains(desc, victim+"-master")
		})
		p.close()
		figs.add(t, "%s: kill of %s's master → gossip reports it failed (SHOAL SHARDS) after %v", fe.name, victim, time.Since(killAt).Round(time.Millisecond))
		t.Logf("%s: SHOAL SHARDS during the outage: %s", fe.name, desc)
	}
	// The load keeps being served on the other shards during the outage.
	outage := [3]int64{ok[0].Load(), ok[1].Load(), ok[2].Load()}
	testutil.WaitFor(t, time.Minute, func() (bool, string) {
		for i := range shardNames {
			if i != 1 && ok[i].Load() < outage[i]+200 {
				return false, fmt.Sprintf("%s: %d acknowledged writes since the outage began", shardNames[i], ok[i].Load()-outage[i])
			}
		}
		return true, ""
	})
	if ok[1].Load() != outage[1] {
		t.Errorf("%d writes to %s acknowledged while its master was down", ok[1].Load()-outage[1], victim)
	}

	restartAt := time.Now()
	if out, err := docker(t, "start", victimID); err != nil {
		t.Fatalf("docker start: %v: %s", err, out)
	}
	figs.add(t, "`docker start` of %s's master returned after %v", victim, time.Since(restartAt).Round(time.Millisecond))
	for _, fe := range survivors {
		k := keyOn(ring, victim, "probe:"+fe.name+":after")
		p := probeUntil(t, fe.addr, time.Minute, "a write to "+victim+" after the restart", func(p *probe) bool {
			v, err := p.do("SET", k, "y")
			return err == nil && v == "OK"
		})
		led.set(k, "y")
		figs.add(t, "%s: docker start of %s's master → its keys served again after %v", fe.name, victim, time.Since(restartAt).Round(time.Millisecond))
		p.close()
		var desc string
		p = probeUntil(t, fe.addr, time.Minute, "SHOAL SHARDS with every master", func(p *probe) bool {
			v, err := p.do("SHOAL", "SHARDS")
			var n int
			n, desc = shardsWithMaster(v)
			return err == nil && n == len(shardNames)
		})
		p.close()
		t.Logf("%s: SHOAL SHARDS after the restart: %s", fe.name, desc)
	}
	recovered := ok[1].Load()
	testutil.WaitFor(t, time.Minute, func() (bool, string) {
		return ok[1].Load() >= recovered+100, fmt.Sprintf("%d writes to %s since it came back", ok[1].Load()-recovered, victim)
	})
	stopKill()
	for _, w := range killers {
		<-w.done
		fails, samples := w.failures()
		for kind, n := range fails {
			if !strings.HasPrefix(kind, victim+" ") || !isErrorReply(strings.TrimPrefix(kind, victim+" ")) {
				t.Errorf("worker %d on %s: %d × %s (%q): only %s's keys may fail, with an error reply", w.id, w.fe.name, n, kind, samples, victim)
			}
		}
		t.Logf("kill-phase worker %d on %s: %d writes acknowledged, refused: %v, e.g. %q", w.id, w.fe.name, w.ops.Load(), fails, samples)
	}
	figs.add(t, "kill phase: acknowledged writes per shard %v (shard-1 had none while down)", []int64{ok[0].Load(), ok[1].Load(), ok[2].Load()})

	// --- 5. nothing acknowledged was lost ---------------------------------
	verifyAll(t, ctx, survivors[1], led)
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
