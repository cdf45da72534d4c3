package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// TestProcessesEndToEnd runs the built shoal binary as 3 shards of a
// master and a replica and 2 frontends, each process on its own 127.0.0.x,
// joined by real gossip. A mixed workload (go-redis: every type,
// multi-key commands across shards, pipelines, MULTI/EXEC; redis-cli:
// arguments, a script compared with redis-server, --pipe) goes through
// both frontends and every reply is checked against a model. Then, under
// continuous load on every frontend, a third frontend starts (measured:
// process start → first command served and → full topology) and takes
// load, and one of the first two gets SIGTERM: clients of the frontends
// that stay see no error at all; clients of the drained one see only a
// clean close, after which they stop; the drained process exits 0; every
// acknowledged write reads back through the survivors.
func TestProcessesEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("processes and gossip")
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	began := time.Now()

	c := startProcCluster(t, []string{"shard-a", "shard-b", "shard-c"})
	feA, feB := c.startFrontend("frontend A"), c.startFrontend("frontend B")
	c.waitTopology(30*time.Second, feA, feB)
	t.Logf("cluster of %d processes up and seen by both frontends in %v", 8, time.Since(began).Round(time.Millisecond))

	clA, clB := newClient(feA.addr, 8), newClient(feB.addr, 8)
	defer clA.Close()
	defer clB.Close()
	ctx := context.Background()

	// 1. Mixed workload through both frontends, checked against models.
	workers := mixedWorkload(t, seed, []*redis.Client{clA, clB})
	cliReadBack := checkRedisCLI(t, feA.addr, feB.addr, seed)
	phase1 := time.Now()

	// 2. Continuous load on A and B; a third frontend joins.
	const perFrontend = 4
	stop := make(chan struct{})
	var wg sync.WaitGroup
	loaders := map[string][]*loader{}
	startLoaders := func(fe *node) {
		for i := 0; i < perFrontend; i++ {
			l := newLoader(fe.Name, fe.addr, fmt.Sprintf("load:%s:%d:", strings.TrimPrefix(fe.Name, "frontend "), i), seed+int64(len(loaders))*100+int64(i))
			loaders[fe.Name] = append(loaders[fe.Name], l)
			wg.Add(1)
			go func() { defer wg.Done(); l.run(stop) }()
		}
	}
	stopAll := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopAll()
	waitProgress := func(fes []*node, n int64, why string) {
		t.Helper()
		base := map[*loader]int64{}
		for _, fe := range fes {
			for _, l := range loaders[fe.Name] {
				base[l] = l.ops.Load()
			}
		}
		testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
			for l, b := range base {
				select {
				case <-l.done:
					return true, "" // it failed or was closed: reported below
				default:
				}
				if got := l.ops.Load() - b; got < n {
					return false, fmt.Sprintf("%s: a loader of %s did %d of %d requests", why, l.fe, got, n)
				}
			}
			return true, ""
		})
	}
	startLoaders(feA)
	startLoaders(feB)
	waitProgress([]*node{feA, feB}, 200, "before the new frontend")

	feC := c.startFrontend("frontend C")
	firstServed, fullTopo := measureStart(t, c, feC)
	t.Logf("frontend C: process start → first command served %v, → SHOAL SHARDS lists every shard with master and replica %v",
		firstServed.Round(time.Millisecond), fullTopo.Round(time.Millisecond))
	startLoaders(feC)
	waitProgress([]*node{feA, feB, feC}, 200, "with the new frontend")

	// 3. SIGTERM to B under load. A command B is executing when the drain
	// starts (a BLPOP, blocked until a push through A after B has closed
	// its listener) is answered before its connection closes.
	blocked := newClient(feB.addr, 1)
	defer blocked.Close()
	bconn := blocked.Conn()
	popped := make(chan []string, 1)
	var popErr error
	go func() {
		v, err := bconn.BLPop(ctx, 15*time.Second, "drain:list").Result()
		popErr = err
		popped <- v
	}()
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		info, err := rawDo(feB.addr, "INFO", "clients")
		return strings.Contains(string(info.Str), "blocked_clients:1\r\n"), fmt.Sprint("BLPOP not blocked yet: ", info, err)
	})
	if st, err := memberStatus(feA.addr, feB.addr); st != "alive" {
		t.Fatalf("before SIGTERM, frontend A sees B as %q (%v)", st, err)
	}
	term := time.Now()
	if err := feB.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		_, err := rawDo(feB.addr, "PING")
		return errors.Is(err, syscall.ECONNREFUSED), fmt.Sprint("B still accepts connections: ", err)
	})
	if err := clA.RPush(ctx, "drain:list", "x").Err(); err != nil {
		t.Fatalf("RPUSH through A: %v", err)
	}
	select {
	case v := <-popped:
		if popErr != nil || len(v) != 2 || v[1] != "x" {
			t.Errorf("BLPOP in flight on B during its drain: %v %v, want [drain:list x]", v, popErr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("BLPOP on B not answered")
	}
	code, err := feB.Wait(20 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := bconn.Ping(ctx).Err(); !errors.Is(err, io.EOF) {
		t.Errorf("next command on the drained connection: %v, want EOF", err)
	}
	drained := time.Since(term)
	if code != 0 {
		t.Errorf("frontend B exited with code %d after SIGTERM, want 0", code)
	}
	for _, l := range loaders[feB.Name] {
		select {
		case <-l.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("a client of frontend B still runs 10 s after B exited")
		}
	}
	testutil.WaitFor(t, 15*time.Second, func() (bool, string) {
		st, err := memberStatus(feA.addr, feB.addr)
		return err == nil && st != "alive", fmt.Sprint("frontend A sees B as ", st, err)
	})
	left := time.Since(term)
	waitProgress([]*node{feA, feC}, 300, "after the drain")
	stopAll()
	loadTime := time.Since(phase1)

	// 4. Assertions: errors, closes, and every write read back through the
	// survivors (A and C alternately).
	clC := newClient(feC.addr, 8)
	defer clC.Close()
	survivors := []*redis.Client{clA, clC}
	var total int64
	for _, fe := range []*node{feA, feB, feC} {
		var reqs, closes, resets, nerr int64
		for _, l := range loaders[fe.Name] {
			reqs += l.requests
			nerr += int64(len(l.errs))
			for _, e := range l.errs {
				t.Errorf("client of %s: %v", fe.Name, e)
			}
			switch {
			case fe == feB && !l.cut() && len(l.errs) == 0:
				t.Errorf("a client of the drained %s was never closed", fe.Name)
			case fe != feB && l.cut():
				t.Errorf("a client of %s, which stays, was cut: %v %v", fe.Name, l.closed, l.reset)
			case l.reset != nil:
				// The frontend closed a connection holding input it had not
				// read (a request sent as the drain began): Linux answers
				// with RST instead of FIN.
				t.Errorf("a client of the drained %s saw a reset, not a clean close: %v", fe.Name, l.reset)
			}
			if l.closed != nil {
				closes++
			}
			if l.reset != nil {
				resets++
			}
		}
		total += reqs
		t.Logf("%s: %d clients, %d requests, %d errors, %d clean closes, %d resets", fe.Name, len(loaders[fe.Name]), reqs, nerr, closes, resets)
	}
	cut := 0
	for i, l := range allLoaders(loaders) {
		cut += len(l.uncertain)
		if err := l.verify(ctx, survivors[i%2]); err != nil {
			t.Error(err)
		}
	}
	for i, w := range workers {
		if err := w.verify(ctx, survivors[i%2]); err != nil {
			t.Errorf("after the drain, mixed workload keys: %v", err)
		}
	}
	cliReadBack(feC.addr)
	t.Logf("load: %d requests in %v (%.0f/s); B drained and exited in %v, A saw it leave %v after SIGTERM; %d writes cut by B's closes (allowed either way); whole test %v",
		total, loadTime.Round(time.Millisecond), float64(total)/loadTime.Seconds(), drained.Round(time.Millisecond),
		left.Round(time.Millisecond), cut, time.Since(began).Round(time.Millisecond))
}

func allLoaders(m map[string][]*loader) []*loader {
	var out []*loader
	for _, name := range []string{"frontend A", "frontend B", "frontend C"} {
		out = append(out, m[name]...)
	}
	return out
}

// mixedWorkload runs workers concurrently, each over its own keys, each
// step through a randomly chosen frontend: single commands, pipelines and
// MULTI/EXEC. It fails the test on the first reply that differs from the
// model, then checks every key through every frontend.
func mixedWorkload(t *testing.T, seed int64, clients []*redis.Client) []*worker {
	t.Helper()
	const nWorkers, rounds = 4, 150
	ctx := context.Background()
	workers := make([]*worker, nWorkers)
	errs := make([]error, nWorkers)
	counts := make([]int, nWorkers)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{prefix: fmt.Sprintf("mix%d:", i), rnd: rand.New(rand.NewSource(seed + int64(i))), m: newModel()}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds && errs[i] == nil; r++ {
				cl := clients[w.rnd.Intn(len(clients))]
				switch p := w.rnd.Intn(10); {
				case p < 6:
					errs[i] = run(ctx, cl, []step{w.next()}, false)
					counts[i]++
				case p < 9:
					steps := make([]step, 5+w.rnd.Intn(20))
					for j := range steps {
						steps[j] = w.next()
					}
					errs[i] = run(ctx, cl, steps, true)
					counts[i] += len(steps)
				default:
					errs[i] = w.tx(ctx, cl)
					counts[i] += 6
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("worker %d (seed %d): %v", i, seed+int64(i), err)
		}
		total += counts[i]
	}
	for _, w := range workers {
		for _, cl := range clients {
			if err := w.verify(ctx, cl); err != nil {
				t.Fatalf("read back through %s: %v", cl.Options().Addr, err)
			}
		}
	}
	t.Logf("mixed workload: %d workers, %d commands checked against the model, every key read back through %d frontends", nWorkers, total, len(clients))
	return workers
}

// measureStart polls a starting frontend until it serves a data command
// and until its SHOAL SHARDS shows the whole cluster, and returns both
// times since its process started.
func measureStart(t *testing.T, c *procCluster, fe *node) (firstServed, fullTopology time.Duration) {
	t.Helper()
	deadline := fe.Started.Add(30 * time.Second)
	for firstServed == 0 || fullTopology == 0 {
		select {
		case <-fe.Exited():
			t.Fatalf("%s exited while starting", fe.Name)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: served %v, full topology %v, 30 s after its start", fe.Name, firstServed, fullTopology)
		}
		if firstServed == 0 && served(fe.addr) {
			firstServed = time.Since(fe.Started)
		}
		if fullTopology == 0 {
			if ok, _ := c.fullTopology(fe.addr); ok {
				fullTopology = time.Since(fe.Started)
			}
		}
		time.Sleep(2 * time.Millisecond) // the polling interval
	}
	return firstServed, fullTopology
}
