package integration

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/internal/waitload"
)

// waitWriter writes fresh keys through one frontend with a
// waitload.Writer (SET + WAIT 1 100 on one connection, or plain SETs)
// until stopped.
type waitWriter struct {
	*waitload.Writer
	cl     *redis.Client
	prefix string
	done   chan struct{}
}

func (w *waitWriter) run(stop <-chan struct{}) {
	defer close(w.done)
	ctx := context.Background()
	for seq := 1; ; seq++ {
		select {
		case <-stop:
			return
		default:
		}
		w.Write(ctx, w.prefix+":"+strconv.Itoa(seq), "v"+strconv.Itoa(seq))
	}
}

// writeLoad is a set of waitWriters on every frontend.
type writeLoad struct {
	writers []*waitWriter
	stop    chan struct{}
}

// startWriteLoad starts perFrontend writers on each frontend; with
// plainToo, one more per frontend that does not WAIT.
func startWriteLoad(fes []*node, perFrontend int, plainToo bool) *writeLoad {
	l := &writeLoad{stop: make(chan struct{})}
	n := perFrontend
	if plainToo {
		n++
	}
	for i, fe := range fes {
		for j := 0; j < n; j++ {
			cl := newClient(fe.addr, 1)
			w := &waitWriter{Writer: waitload.NewWriter(cl, 100*time.Millisecond), cl: cl,
				prefix: fmt.Sprintf("w%d.%d", i, j), done: make(chan struct{})}
			w.Plain = j == perFrontend
			l.writers = append(l.writers, w)
			go w.run(l.stop)
		}
	}
	return l
}

func (l *writeLoad) halt() {
	close(l.stop)
	for _, w := range l.writers {
		<-w.done
		w.cl.Close()
	}
}

// writeCounts is what verify found, for the writers that WAIT and for the
// plain ones.
type writeCounts struct {
	waitload.Tally
	plain waitload.Tally
}

func (c writeCounts) String() string {
	return fmt.Sprintf("with WAIT: %s; without WAIT: %d acknowledged, %d lost, %d failed with an error",
		c.Tally, c.plain.Acked, c.plain.LostOther, c.plain.Failed)
}

// verify reads every acknowledged key back through addr; a WAITed write
// that is lost fails the test.
func (l *writeLoad) verify(t testing.TB, addr string) (c writeCounts) {
	t.Helper()
	cl := newClient(addr, 8)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var waiting, plain []*waitload.Writer
	for _, w := range l.writers {
		if w.Plain {
			plain = append(plain, w.Writer)
		} else {
			waiting = append(waiting, w.Writer)
		}
	}
	var err error
	if c.Tally, err = waitload.Verify(ctx, cl, waiting...); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if c.plain, err = waitload.Verify(ctx, cl, plain...); err != nil {
		t.Fatalf("verify: %v", err)
	}
	for _, s := range c.Samples {
		t.Errorf("waited write lost: %s", s)
	}
	return c
}

// keyOn returns a key that the frontend at fe routes to shard s.
func keyOn(t testing.TB, fe, s string) string {
	t.Helper()
	for i := 0; i < 10000; i++ {
		k := "probe:" + strconv.Itoa(i)
		v, err := rawDo(fe, "SHOAL", "ROUTE", k)
		if err != nil {
			t.Fatalf("SHOAL ROUTE: %v", err)
		}
		if len(v.Array) > 0 && string(v.Array[0].Str) == s {
			return k
		}
	}
	t.Fatalf("no key routes to %s", s)
	return ""
}

// failoverTimes kills shard s's master and measures, from the kill, when a
// surviving node of s accepts a write directly and when a write through fe
// to a key of s succeeds. It returns the new master.
func (c *raftCluster) failoverTimes(t *testing.T, s string, fe string, alsoKill func()) (*ctlNode, time.Duration, time.Duration) {
	t.Helper()
	ms := c.masters(s)
	if len(ms) != 1 {
		t.Fatalf("shard %s has %d masters before the kill", s, len(ms))
	}
	old := ms[0]
	probe := keyOn(t, fe, s)
	var direct, viaFE time.Duration
	var newMaster *ctlNode
	start := time.Now()
	old.Kill()
	if alsoKill != nil {
		alsoKill()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Since(start) < 20*time.Second {
			v, err := rawDo(fe, "SET", probe, "x")
			if err == nil && v.Err() == nil {
				viaFE = time.Since(start)
				return
			}
			time.Sleep(5 * time.Millisecond) // the polling interval
		}
	}()
	testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
		for _, n := range c.shards[s] {
			if n == old {
				continue
			}
			if v, err := rawDo(n.addr, "SET", "failover-probe", "x"); err == nil && v.Err() == nil {
				direct, newMaster = time.Since(start), n
				return true, ""
			}
		}
		return false, "no node of " + s + " accepts writes"
	})
	wg.Wait()
	if viaFE == 0 {
		t.Fatalf("shard %s: no write through the frontend succeeded within 20 s of the kill", s)
	}
	return newMaster, direct, viaFE
}

// waitRejoined waits until n (restarted) is a replica of master and has
// caught up with its offset.
func waitRejoined(t testing.TB, n, master *ctlNode) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		v, err := rawDo(n.addr, "ROLE")
		if err != nil || len(v.Array) < 5 || string(v.Array[0].Str) != "slave" {
			return false, fmt.Sprintf("%s ROLE %v %v", n.name, v, err)
		}
		if got := string(v.Array[1].Str) + ":" + strconv.FormatInt(v.Array[2].Int, 10); got != master.addr {
			return false, fmt.Sprintf("%s follows %s, want %s", n.name, got, master.addr)
		}
		if string(v.Array[3].Str) != "connected" {
			return false, fmt.Sprintf("%s link %s", n.name, v.Array[3].Str)
		}
		return true, ""
	})
}

// TestFailoverKillEachMaster is issue 7's acceptance run: 3 shards of a
// master and 2 replicas with raft on every node (5 voters), 2 frontends,
// writers doing SET + WAIT 1 100 through both; each shard's master is
// killed with SIGKILL in turn. A new master must serve writes within
// 1.5 s, the old master must come back as a replica, and no write whose
// WAIT returned >= 1 may be lost. Then the raft leader is killed together
// with a master: a new leader must finish that failover.
func TestFailoverKillEachMaster(t *testing.T) {
	if testing.Short() {
		t.Skip("real-process failover test")
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewSource(seed))
	c := startRaftCluster(t, raftClusterConfig{
		shards: []string{"a", "b", "c"}, replicas: 2,
		// Five voters among the replicas: killing a master that is a voter
		// and the leader together still leaves a quorum of three.
		voters: func(s string, i int) bool { return i >= 1 && !(s == "c" && i == 2) },
	})
	feA, feB := c.startFrontend("frontend A"), c.startFrontend("frontend B")
	for _, fe := range []*node{feA, feB} {
		testutil.WaitFor(t, 20*time.Second, func() (bool, string) { return c.fullTopologyRaft(fe.addr) })
	}
	load := startWriteLoad([]*node{feA, feB}, 2, true)
	defer func() {
		select {
		case <-load.stop:
		default:
			load.halt()
		}
	}()

	order := slices.Clone(c.names)
	rnd.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	kills := len(order) // each shard's master once; SHOAL_FAILOVER_KILLS for more (figures)
	if v, err := strconv.Atoi(os.Getenv("SHOAL_FAILOVER_KILLS")); err == nil && v > 0 {
		kills = v
	}
	var directs, viaFEs []time.Duration
	for k := 0; k < kills; k++ {
		s := order[k%len(order)]
		old := c.masters(s)[0]
		fe := []*node{feA, feB}[rnd.Intn(2)]
		nm, direct, viaFE := c.failoverTimes(t, s, fe.addr, nil)
		t.Logf("shard %s: killed master %s; %s serves writes %v after the kill (through %s: %v)",
			s, old.name, nm.name, direct.Round(time.Millisecond), fe.Name, viaFE.Round(time.Millisecond))
		directs, viaFEs = append(directs, direct), append(viaFEs, viaFE)
		if direct > 1500*time.Millisecond {
			t.Errorf("shard %s: new master after %v, want <= 1.5 s", s, direct)
		}
		c.restart(old)
		waitRejoined(t, old, nm)
		if ms := c.masters(s); len(ms) != 1 || ms[0] != nm {
			t.Fatalf("shard %s: masters after the old one rejoined: %v", s, names(ms))
		}
	}

	// The leader dies right after a master: the failover it was about to
	// run must be finished by the next leader.
	leader := c.leader(t)
	var victim string
	for _, s := range order {
		if m := c.masters(s); len(m) == 1 && m[0] != leader {
			victim = s
			break
		}
	}
	old := c.masters(victim)[0]
	nm, direct, viaFE := c.failoverTimes(t, victim, feA.addr, func() { leader.Kill() })
	t.Logf("shard %s: killed master %s and the raft leader %s; %s serves writes %v after the kill (through frontend A: %v)",
		victim, old.name, leader.name, nm.name, direct.Round(time.Millisecond), viaFE.Round(time.Millisecond))
	newLeader := c.leader(t)
	if newLeader == leader {
		t.Fatalf("leader still %s after it was killed", leader.name)
	}
	c.restart(old)
	restarted := time.Now()
	c.restart(leader) // when it was a master too, its shard failed over as well
	waitRejoined(t, old, nm)
	// A restarted old master serves as the master of its old epoch until
	// it sees the higher one (gossip, or the leader's FOLLOW order); no
	// frontend routes to it meanwhile (a lower epoch than the map's).
	testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
		for _, s := range c.names {
			if ms := c.masters(s); len(ms) != 1 {
				return false, fmt.Sprintf("shard %s has masters %v", s, names(ms))
			}
		}
		return true, ""
	})
	t.Logf("one master per shard again %v after the restarts", time.Since(restarted).Round(time.Millisecond))

	load.halt()
	counts := load.verify(t, feB.addr)
	sortDurations(directs)
	sortDurations(viaFEs)
	t.Logf("failover over %d kills (kill -> new master accepts writes): p50 %v max %v; through a frontend: p50 %v max %v",
		len(directs), directs[len(directs)/2].Round(time.Millisecond), directs[len(directs)-1].Round(time.Millisecond),
		viaFEs[len(viaFEs)/2].Round(time.Millisecond), viaFEs[len(viaFEs)-1].Round(time.Millisecond))
	t.Logf("writes: %s", counts)
	if counts.Waited == 0 {
		t.Fatal("no write was confirmed by WAIT: the test proved nothing")
	}
	for _, s := range c.names {
		if ms := c.masters(s); len(ms) != 1 {
			t.Errorf("shard %s ends with masters %v", s, names(ms))
		}
	}
}

func sortDurations(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }

func names(ns []*ctlNode) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.name)
	}
	return out
}

// leader asks SHOAL LEADER on live nodes until one names the raft leader.
func (c *raftCluster) leader(t testing.TB) *ctlNode {
	t.Helper()
	var l *ctlNode
	testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
		for _, n := range c.all {
			select {
			case <-n.Exited():
				continue
			default:
			}
			v, err := rawDo(n.addr, "SHOAL", "LEADER")
			if err != nil || len(v.Array) < 1 {
				continue
			}
			for _, m := range c.all {
				if m.name == string(v.Array[0].Str) {
					select {
					case <-m.Exited():
						return false, "leader " + m.name + " is dead"
					default:
					}
					l = m
					return true, ""
				}
			}
		}
		return false, "no node names a leader"
	})
	return l
}

// fullTopologyRaft reports whether the frontend at addr sees every shard
// of c with the master it was started with and both replicas.
func (c *raftCluster) fullTopologyRaft(addr string) (bool, string) {
	v, err := rawDo(addr, "SHOAL", "SHARDS")
	if err != nil || len(v.Array) != len(c.names) {
		return false, fmt.Sprintf("SHOAL SHARDS: %v %v", v, err)
	}
	for _, r := range v.Array {
		name := string(r.Array[0].Str)
		if len(r.Array) != 4 || len(c.shards[name]) == 0 || string(r.Array[1].Str) != c.shards[name][0].addr ||
			len(r.Array[3].Array) != len(c.shards[name])-1 {
			return false, fmt.Sprintf("SHOAL SHARDS row %v", r)
		}
	}
	return true, ""
}
