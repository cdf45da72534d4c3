package integration

import (
	"context"
	"fmt"
	"math/rand"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/internal/waitload"
	"github.com/shoal-kv/shoal/proto"
)

// partitionMaxLag is min-replicas-max-lag in the partition test: an
// isolated master must refuse writes this long after its replicas went
// quiet.
const partitionMaxLag = 500 * time.Millisecond

// TestPartitionIsolatedMaster is issue 7's partition test. Two shards of a
// master and 2 replicas, every process in its own network namespace, five
// raft voters, shardd with --min-replicas-to-write 1 and
// --min-replicas-max-lag 500ms, a frontend with SET + WAIT 1 100 writers.
// One shard's master is cut off together with a replica of the other shard
// (two of the five voters: a minority for raft too; the raft leader is cut
// off with it when it was that master). While cut:
//   - the isolated master must refuse writes (-NOREPLICAS) within
//     min-replicas-max-lag (plus a margin) of the cut: writes sent to it
//     directly from the test process, which still reaches every host;
//   - the majority side must fail the shard over to a replica.
//
// After healing there must be exactly one master per shard (ROLE on every
// node), the old master and the cut-off replica must follow the current
// masters, every node's SHOAL MAP must agree, and no write whose WAIT
// returned >= 1 may be lost, neither through the frontend nor sent directly
// to the isolated master.
func TestPartitionIsolatedMaster(t *testing.T) {
	if testing.Short() {
		t.Skip("real-process partition test")
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewSource(seed))
	began := time.Now()

	// Hosts 0-5: a-0 b-0 a-1 b-1 a-2 b-2 (startRaftCluster's order), 6: the frontend.
	hn := testutil.NewHostNet(t, 7)
	c := startRaftCluster(t, raftClusterConfig{
		shards: []string{"a", "b"}, replicas: 2, hn: hn,
		// Five voters: all but b-2. Cutting either master with replica 1
		// of the other shard leaves three voters on the majority side.
		voters: func(s string, i int) bool { return !(s == "b" && i == 2) },
		extra:  []string{"--min-replicas-to-write", "1", "--min-replicas-max-lag", partitionMaxLag.String()},
	})
	// A request the isolated master never answers fails after 2 s instead
	// of 10, so writers go on to the new master sooner.
	fe := c.startFrontend("frontend", "--upstream-timeout", "2s")
	testutil.WaitFor(t, 20*time.Second, func() (bool, string) { return c.fullTopologyRaft(fe.addr) })
	t.Logf("cluster and frontend up after %v", time.Since(began).Round(time.Millisecond))

	// The shard to cut: the raft leader's when the leader is a master (the
	// harder case: the majority must elect a leader before failing over),
	// otherwise one picked by the seed.
	leader := c.leader(t)
	s := c.names[rnd.Intn(len(c.names))]
	if leader == c.shards["a"][0] || leader == c.shards["b"][0] {
		s = leader.shard
	}
	other := "a"
	if s == "a" {
		other = "b"
	}
	old, companion := c.shards[s][0], c.shards[other][1]
	t.Logf("cutting off master %s of shard %s with %s (raft leader: %s)", old.name, s, companion.name, leader.name)

	load := startWriteLoad([]*node{fe}, 2, false)
	defer func() {
		select {
		case <-load.stop:
		default:
			load.halt()
		}
	}()
	direct := startDirectWriter(t, old.addr)
	defer direct.halt()
	// Direct writes WAITed on the master before the cut (the frontend's
	// writers run meanwhile; verify checks they got WAITed writes too).
	testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
		if n := direct.waitedCount(); n < 20 {
			return false, fmt.Sprintf("%d direct writes WAITed", n)
		}
		return true, ""
	})

	probe := keyOn(t, fe.addr, s)
	cutStart := time.Now()
	direct.markCut(cutStart)
	hn.Partition(old.host, companion.host)
	cut := time.Now() // every rule is in place: the replicas' last ack is older
	t.Logf("the cut took %v to install; times below are from its end", cut.Sub(cutStart).Round(time.Millisecond))

	// Majority side: a node of s other than the old master accepts a
	// write; through the frontend, a write to a key of s succeeds.
	var viaFE time.Duration
	var feErrs []string // each change of the error the frontend answered, with its time
	feDone := make(chan struct{})
	go func() {
		defer close(feDone)
		last := ""
		for time.Since(cut) < 30*time.Second {
			v, err := rawDo(fe.addr, "SET", probe, "x")
			if err == nil {
				err = v.Err()
			}
			if err == nil {
				viaFE = time.Since(cut)
				return
			}
			if err.Error() != last {
				last = err.Error()
				feErrs = append(feErrs, fmt.Sprintf("%v: %s", time.Since(cut).Round(time.Millisecond), last))
			}
			time.Sleep(5 * time.Millisecond) // the polling interval
		}
	}()
	var newMaster *ctlNode
	var failover time.Duration
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		for _, n := range c.shards[s][1:] {
			if v, err := rawDo(n.addr, "SET", "partition-probe", "x"); err == nil && v.Err() == nil {
				newMaster, failover = n, time.Since(cut)
				return true, ""
			}
		}
		return false, "no node of shard " + s + " on the majority side accepts writes"
	})
	<-feDone
	refusedAt, lastAccepted, ok := direct.refusal(10 * time.Second)
	if !ok {
		t.Fatalf("isolated master %s still accepted writes 10 s after the cut", old.name)
	}
	refused := refusedAt.Sub(cut)
	t.Logf("isolated master %s: last write accepted %v after the cut, first -NOREPLICAS %v after it (min-replicas-max-lag %v)",
		old.name, lastAccepted.Sub(cut).Round(time.Millisecond), refused.Round(time.Millisecond), partitionMaxLag)
	t.Logf("majority side: %s accepts writes %v after the cut (through the frontend: %v)",
		newMaster.name, failover.Round(time.Millisecond), viaFE.Round(time.Millisecond))
	t.Logf("the frontend's answers to a write to shard %s until then: %s", s, strings.Join(feErrs, "; "))
	// The margin covers the probe's own WAIT (20 ms) and a loaded box.
	if bound := partitionMaxLag + 250*time.Millisecond; refused > bound {
		t.Errorf("isolated master refused writes %v after the cut, want <= %v (min-replicas-max-lag + 250ms)", refused, bound)
	}
	if viaFE == 0 {
		t.Errorf("no write to shard %s through the frontend succeeded within 30 s of the cut", s)
	}
	if failover > 10*time.Second {
		t.Errorf("the majority side failed over %v after the cut, want <= 10 s", failover)
	}
	// The writers go on through the new master for a while.
	from := offset(t, newMaster.addr)
	testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
		n := offset(t, newMaster.addr)
		return n >= from+100, fmt.Sprintf("%s logged %d records since it took over", newMaster.name, n-from)
	})
	direct.halt()
	if n := direct.acceptedAfterRefusal; n > 0 {
		t.Errorf("isolated master accepted %d writes after it had refused one, while still cut off", n)
	}

	healStart := time.Now()
	hn.Heal()
	waitRejoined(t, old, newMaster)
	rejoined := time.Since(healStart)
	waitRejoined(t, companion, c.shards[other][0])
	t.Logf("after healing: %s follows %s after %v", old.name, newMaster.name, rejoined.Round(time.Millisecond))
	for _, sh := range c.names {
		if ms := c.masters(sh); len(ms) != 1 {
			t.Errorf("shard %s has masters %v after healing, want exactly one", sh, names(ms))
		}
	}
	c.waitMapsAgree(t)

	load.halt()
	fc := load.verify(t, fe.addr)
	t.Logf("through the frontend: %s", fc)
	dw := waitload.NewWriter(nil, 0)
	dw.Acked, dw.Waited, dw.Failed = direct.acked, direct.waited, direct.failed
	dl := &writeLoad{writers: []*waitWriter{{Writer: dw}}}
	dc := dl.verify(t, newMaster.addr)
	t.Logf("direct to the isolated master (failed = refused or failed): %s", dc)
	if fc.Waited == 0 || dc.Waited == 0 {
		t.Fatal("no write was confirmed by WAIT: the test proved nothing")
	}
	// The old master dropped the suffix nobody replicated: it holds what
	// the new master holds for every key written to it directly.
	keys := make([]string, 0, len(direct.acked))
	for k := range direct.acked {
		keys = append(keys, k)
	}
	waitSameValues(t, keys, newMaster, old)
}

// waitSameValues waits until every node in ns returns what ns[0] returns
// for keys (nodes that replicate from ns[0] catching up).
func waitSameValues(t testing.TB, keys []string, ns ...*ctlNode) {
	t.Helper()
	ctx := context.Background()
	testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
		var want []any
		for i, n := range ns {
			cl := newClient(n.addr, 1)
			got, err := cl.MGet(ctx, keys...).Result()
			cl.Close()
			if err != nil {
				return false, fmt.Sprintf("MGET at %s: %v", n.name, err)
			}
			if i == 0 {
				want = got
				continue
			}
			for j, k := range keys {
				if got[j] != want[j] {
					return false, fmt.Sprintf("%s = %v at %s, %v at %s", k, got[j], n.name, want[j], ns[0].name)
				}
			}
		}
		return true, ""
	})
}

// directWriter sends SET + WAIT 1 20 to one shardd over one connection,
// paced by a short polling interval, and records when, after the cut, the
// node first refuses a write with -NOREPLICAS. Its maps and counters belong
// to its goroutine until halt returns; refusedAt and acceptedBefore are
// set before refused is closed and not changed after.
type directWriter struct {
	t      testing.TB
	addr   string
	cut    chan time.Time // the cut's start, handed to the goroutine
	nwait  chan int       // the goroutine answers waitedCount
	stop   chan struct{}
	done   chan struct{}
	acked  map[string]string
	waited map[string]bool
	failed int // refused, or failed with the outcome unknown
	err    error

	refused        chan struct{}
	refusedAt      time.Time // first -NOREPLICAS after the cut
	acceptedBefore time.Time // last write accepted before it
	// acceptedAfterRefusal counts writes accepted after refusedAt: none
	// may be while the node is cut off.
	acceptedAfterRefusal int
}

func startDirectWriter(t testing.TB, addr string) *directWriter {
	w := &directWriter{t: t, addr: addr, cut: make(chan time.Time, 1), nwait: make(chan int),
		stop: make(chan struct{}), done: make(chan struct{}), refused: make(chan struct{}),
		acked: map[string]string{}, waited: map[string]bool{}}
	go w.run()
	return w
}

func (w *directWriter) run() {
	defer close(w.done)
	nc, err := net.DialTimeout("tcp", w.addr, time.Second)
	if err != nil {
		w.err = err
		return
	}
	defer nc.Close()
	rd := proto.NewReader(nc, proto.Limits{})
	do := func(args ...string) (proto.Value, error) {
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := nc.Write(proto.AppendCommandStrings(nil, args...)); err != nil {
			return proto.Value{}, err
		}
		f, err := rd.ReadReply()
		if err != nil {
			return proto.Value{}, err
		}
		return proto.ParseReply(f)
	}
	var cut, lastAccepted time.Time
	for seq := 1; ; seq++ {
		select {
		case <-w.stop:
			return
		case cut = <-w.cut:
		case w.nwait <- len(w.waited):
			continue
		default:
		}
		k, val := "direct:"+strconv.Itoa(seq), "d"+strconv.Itoa(seq)
		v, err := do("SET", k, val)
		now := time.Now()
		switch {
		case err != nil:
			w.err, w.failed = err, w.failed+1
			return
		case v.Kind == proto.KindError:
			w.failed++
			if !strings.HasPrefix(string(v.Str), "NOREPLICAS") {
				w.err = fmt.Errorf("SET %s: %s", k, v.Str)
				return
			}
			if !cut.IsZero() && w.refusedAt.IsZero() {
				w.refusedAt, w.acceptedBefore = now, lastAccepted
				close(w.refused)
			}
		default:
			w.acked[k], lastAccepted = val, now
			if !w.refusedAt.IsZero() {
				w.acceptedAfterRefusal++
			}
			v, err := do("WAIT", "1", "20")
			if err != nil {
				w.err = err
				return
			}
			if v.Kind == proto.KindInteger && v.Int >= 1 {
				w.waited[k] = true
			}
		}
		time.Sleep(2 * time.Millisecond) // the polling interval
	}
}

// markCut tells the writer when the cut started.
func (w *directWriter) markCut(at time.Time) { w.cut <- at }

// waitedCount is how many writes WAIT has confirmed so far.
func (w *directWriter) waitedCount() int {
	select {
	case n := <-w.nwait:
		return n
	case <-w.done:
		w.t.Fatalf("direct writer to %s stopped: %v", w.addr, w.err)
		return 0
	}
}

// refusal waits up to timeout for the first refusal after the cut and
// returns when it came and when the last write before it was accepted.
func (w *directWriter) refusal(timeout time.Duration) (refused, lastAccepted time.Time, ok bool) {
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	select {
	case <-w.refused:
		return w.refusedAt, w.acceptedBefore, true
	case <-w.done:
		w.t.Fatalf("direct writer to %s stopped: %v", w.addr, w.err)
	case <-tm.C:
	}
	return time.Time{}, time.Time{}, false
}

// halt stops the writer and waits for it. Idempotent.
func (w *directWriter) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// offset is the replication offset ROLE reports at addr.
func offset(t testing.TB, addr string) int64 {
	t.Helper()
	v, err := rawDo(addr, "ROLE")
	if err != nil || len(v.Array) < 2 {
		t.Fatalf("ROLE at %s: %v %v", addr, v, err)
	}
	if string(v.Array[0].Str) == "master" {
		return v.Array[1].Int
	}
	return v.Array[len(v.Array)-1].Int
}

// waitMapsAgree waits until every node's SHOAL MAP names, for each shard,
// the node that says it is master, all at the same epoch.
func (c *raftCluster) waitMapsAgree(t testing.TB) {
	t.Helper()
	testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
		var first map[string]mapEntry
		for _, n := range c.all {
			m, err := c.clusterMap(n.addr)
			if err != nil {
				return false, n.name + ": " + err.Error()
			}
			if first == nil {
				first = m
			}
			for _, s := range c.names {
				if m[s] != first[s] {
					return false, fmt.Sprintf("%s maps %s to %v, %s to %v", n.name, s, m[s], c.all[0].name, first[s])
				}
				if ms := c.masters(s); len(ms) != 1 || ms[0].addr != m[s].addr {
					return false, fmt.Sprintf("map %s -> %v, masters %v", s, m[s], names(ms))
				}
			}
		}
		return true, ""
	})
}
