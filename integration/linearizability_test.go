package integration

// Issue 7's linearizability check: clients run GET/SET/DEL on a few keys
// through the frontends of a real-process cluster with the control plane
// on, and their histories are checked with porcupine (integration/lincheck).
//
// Phase 1 changes everything but the masters: frontends are added and
// removed (SIGTERM) and replicas are killed (SIGKILL) and restarted. Reads
// go to masters, so the history must be linearizable.
//
// Phase 2 kills each shard's master in turn while the same clients run,
// each write followed by WAIT 1 100 on the same connection. Asynchronous
// replication lets a read see a write that the failover then loses, so
// the check there is lincheck.CheckWaited: no write whose WAIT returned
// >= 1 is lost, and no read returns a value older than the newest such
// write completed before the read began.

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/shoal-kv/shoal/integration/lincheck"
	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/proto"
)

// linOpTimeout bounds one operation; a write that runs out is recorded
// with an unknown outcome. Longer than the frontend's failover buffer (2 s).
const linOpTimeout = 5 * time.Second

// feSet is the frontends clients may connect to. Safe for concurrent use.
type feSet struct {
	mu  sync.Mutex
	fes []*node
}

func (s *feSet) add(fe *node) {
	s.mu.Lock()
	s.fes = append(s.fes, fe)
	s.mu.Unlock()
}

func (s *feSet) remove(fe *node) {
	s.mu.Lock()
	s.fes = slices.DeleteFunc(s.fes, func(n *node) bool { return n == fe })
	s.mu.Unlock()
}

// pick returns a random frontend of the set, nil when it is empty.
func (s *feSet) pick(rnd *rand.Rand) *node {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fes) == 0 {
		return nil
	}
	return s.fes[rnd.Intn(len(s.fes))]
}

// linStats counts what a client saw; summed over clients for the log.
type linStats struct {
	ops, unknown, timeouts, failedReads, waited, redials int
	closes, resets                                       int // connections ended by EOF, by a reset
}

func (s *linStats) add(o linStats) {
	s.ops += o.ops
	s.unknown += o.unknown
	s.timeouts += o.timeouts
	s.failedReads += o.failedReads
	s.waited += o.waited
	s.redials += o.redials
	s.closes += o.closes
	s.resets += o.resets
}

// linClient runs single-key GET/SET/DEL on keys through one frontend at a
// time, recording every operation in h. It moves to another frontend now
// and then and whenever its connection fails. Owned by its goroutine.
type linClient struct {
	id      int
	rnd     *rand.Rand
	h       *lincheck.History
	keys    []string
	fes     *feSet
	wait    bool // WAIT 1 100 after every write (phase 2)
	seq     *int // values are "c<id>-<seq>", unique across phases
	stats   linStats
	lastErr error

	nc net.Conn
	fe string // the frontend nc goes to
	rd *proto.Reader
}

// do sends one command on the client's connection (connect made it) and
// reads the reply. A transport error closes the connection.
func (c *linClient) do(args ...string) (proto.Value, error) {
	c.nc.SetDeadline(time.Now().Add(linOpTimeout))
	_, err := c.nc.Write(proto.AppendCommandStrings(nil, args...))
	var raw []byte
	if err == nil {
		raw, err = c.rd.ReadReply()
	}
	var v proto.Value
	if err == nil {
		v, err = proto.ParseReply(raw)
	}
	if err != nil {
		c.hangUp()
		c.lastErr = err
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			c.stats.timeouts++
		case errors.Is(err, io.EOF):
			c.stats.closes++
		case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
			c.stats.resets++
		}
	}
	return v, err
}

func (c *linClient) hangUp() {
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
}

// connect dials a live frontend; false when none answers.
func (c *linClient) connect() bool {
	fe := c.fes.pick(c.rnd)
	if fe == nil {
		return false
	}
	nc, err := net.DialTimeout("tcp", fe.addr, time.Second)
	if err != nil {
		return false
	}
	c.nc, c.fe, c.rd = nc, strings.TrimPrefix(fe.Name, "frontend "), proto.NewReader(nc, proto.Limits{})
	c.stats.redials++
	return true
}

func (c *linClient) run(stop <-chan struct{}, done *sync.WaitGroup) {
	defer done.Done()
	defer c.hangUp()
	for {
		select {
		case <-stop:
			return
		default:
		}
		if c.nc != nil && c.rnd.Intn(50) == 0 {
			c.hangUp() // move to another frontend now and then
		}
		if c.nc == nil && !c.connect() {
			time.Sleep(5 * time.Millisecond) // polling for a live frontend
			continue
		}
		c.step()
	}
}

// step runs one operation and records it.
func (c *linClient) step() {
	op := lincheck.Op{Client: c.id, Key: c.keys[c.rnd.Intn(len(c.keys))], Via: c.fe}
	var args []string
	switch r := c.rnd.Intn(20); {
	case r < 10:
		op.Kind, args = lincheck.Get, []string{"GET", op.Key}
	case r < 18:
		*c.seq++
		op.Kind, op.Value = lincheck.Set, fmt.Sprintf("c%d-%d", c.id, *c.seq)
		args = []string{"SET", op.Key, op.Value}
	default:
		op.Kind, args = lincheck.Del, []string{"DEL", op.Key}
	}
	op.Call = c.h.Now()
	v, err := c.do(args...)
	op.Return = c.h.Now()
	c.stats.ops++
	switch {
	case op.Kind == lincheck.Get:
		if err != nil || (v.Kind != proto.KindBulk && v.Kind != proto.KindNullBulk) {
			c.stats.failedReads++
			if err == nil {
				c.lastErr = fmt.Errorf("GET: %v", v)
			}
			return // a failed read tells nothing
		}
		op.Found, op.Value = v.Kind == proto.KindBulk, string(v.Str)
	case err != nil || (op.Kind == lincheck.Set && v.Kind != proto.KindSimpleString) ||
		(op.Kind == lincheck.Del && v.Kind != proto.KindInteger):
		op.Outcome = lincheck.Unknown
		c.stats.unknown++
		if err == nil {
			c.lastErr = fmt.Errorf("%s: %v", op.Kind, v)
		}
	case c.wait:
		// WAIT on the same connection; the write is complete for the
		// client once WAIT has answered.
		if w, err := c.do("WAIT", "1", "100"); err == nil && w.Kind == proto.KindInteger && w.Int >= 1 {
			op.Waited, op.Return = true, c.h.Now()
			c.stats.waited++
		}
	}
	c.h.Add(op)
}

// linLoad is the clients of one phase.
type linLoad struct {
	clients []*linClient
	stop    chan struct{}
	done    sync.WaitGroup
}

func startLinLoad(h *lincheck.History, fes *feSet, keys []string, n int, seed int64, wait bool, seqs []int) *linLoad {
	l := &linLoad{stop: make(chan struct{})}
	for i := 0; i < n; i++ {
		c := &linClient{id: i, rnd: rand.New(rand.NewSource(seed + int64(i))), h: h, keys: keys, fes: fes, wait: wait, seq: &seqs[i]}
		l.clients = append(l.clients, c)
		l.done.Add(1)
		go c.run(l.stop, &l.done)
	}
	return l
}

func (l *linLoad) halt() linStats {
	close(l.stop)
	l.done.Wait()
	var s linStats
	for _, c := range l.clients {
		s.add(c.stats)
	}
	return s
}

func (l *linLoad) lastErrors() []string {
	var out []string
	for _, c := range l.clients {
		if c.lastErr != nil {
			out = append(out, fmt.Sprintf("c%d: %v", c.id, c.lastErr))
		}
	}
	return out
}

// waitOps waits until the history has n more operations than at mark.
func waitOps(t testing.TB, h *lincheck.History, mark, n int) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		return h.Len() >= mark+n, fmt.Sprintf("history at %d operations, want %d", h.Len(), mark+n)
	})
}

// registerKeys returns n keys per shard as the frontend at fe routes them.
func registerKeys(t testing.TB, fe string, shards []string, n int) []string {
	t.Helper()
	per := map[string]int{}
	var keys []string
	for i := 0; len(keys) < n*len(shards) && i < 10000; i++ {
		k := "reg:" + strconv.Itoa(i)
		v, err := rawDo(fe, "SHOAL", "ROUTE", k)
		if err != nil || len(v.Array) == 0 {
			t.Fatalf("SHOAL ROUTE %s: %v %v", k, v, err)
		}
		if s := string(v.Array[0].Str); per[s] < n {
			per[s]++
			keys = append(keys, k)
		}
	}
	if len(keys) != n*len(shards) {
		t.Fatalf("keys per shard: %v", per)
	}
	return keys
}

// linSeed returns SHOAL_SEED or a fresh seed, logged.
func linSeed(t testing.TB) int64 {
	seed := time.Now().UnixNano()
	if s := os.Getenv("SHOAL_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("SHOAL_SEED: %v", err)
		}
	}
	t.Logf("seed %d (set SHOAL_SEED to repeat the schedule)", seed)
	return seed
}

// liveMap reads SHOAL MAP from the first live node of c that answers.
func (c *raftCluster) liveMap() (map[string]mapEntry, error) {
	err := errors.New("no live node")
	for _, n := range c.all {
		select {
		case <-n.Exited():
			continue
		default:
		}
		var m map[string]mapEntry
		if m, err = c.clusterMap(n.addr); err == nil {
			return m, nil
		}
	}
	return nil, err
}

// epochs is SHOAL MAP's epoch per shard.
func (c *raftCluster) epochs(t testing.TB) map[string]int64 {
	t.Helper()
	var m map[string]mapEntry
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		var err error
		m, err = c.liveMap()
		return err == nil, fmt.Sprint("SHOAL MAP: ", err)
	})
	out := map[string]int64{}
	for s, e := range m {
		out[s] = e.epoch
	}
	return out
}

// seesMasters reports whether the frontend at addr routes every shard to
// the master in the cluster map.
func (c *raftCluster) seesMasters(t testing.TB, addr string) (bool, string) {
	v, err := rawDo(addr, "SHOAL", "SHARDS")
	if err != nil || len(v.Array) != len(c.names) {
		return false, fmt.Sprintf("SHOAL SHARDS: %v %v", v, err)
	}
	m, err := c.liveMap()
	if err != nil {
		return false, err.Error()
	}
	for _, r := range v.Array {
		if len(r.Array) < 2 || string(r.Array[1].Str) != m[string(r.Array[0].Str)].addr {
			return false, fmt.Sprintf("SHOAL SHARDS row %v, map %v", r, m)
		}
	}
	return true, ""
}

// drainFrontend removes fe from the clients' choices, sends it SIGTERM and
// waits for a clean exit.
func drainFrontend(t testing.TB, fes *feSet, fe *node) {
	t.Helper()
	fes.remove(fe)
	if err := fe.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", fe.Name, err)
	}
	if code, err := fe.Wait(20 * time.Second); err != nil || code != 0 {
		t.Fatalf("%s after SIGTERM: exit %d, %v", fe.Name, code, err)
	}
}

// TestLinearizability runs the two phases described at the top of the
// file on 3 shards × (master + 2 replicas) with 5 raft voters.
func TestLinearizability(t *testing.T) {
	if testing.Short() {
		t.Skip("real-process linearizability test")
	}
	start := time.Now()
	seed := linSeed(t)
	rnd := rand.New(rand.NewSource(seed))
	c := startRaftCluster(t, raftClusterConfig{
		shards: []string{"a", "b", "c"}, replicas: 2,
		voters: func(s string, i int) bool { return i >= 1 && !(s == "c" && i == 2) },
	})
	fes := &feSet{}
	fe := map[string]*node{}
	addFrontend := func(name string) {
		n := c.startFrontend("frontend " + name)
		testutil.WaitFor(t, 20*time.Second, func() (bool, string) { return c.seesMasters(t, n.addr) })
		fe[name] = n
		fes.add(n)
	}
	addFrontend("A")
	addFrontend("B")
	keys := registerKeys(t, fe["A"].addr, c.names, 2)
	const nclients = 8
	seqs := make([]int, nclients)
	h := lincheck.NewHistory()
	t.Logf("cluster up after %v; keys %v; %d clients", time.Since(start).Round(time.Millisecond), keys, nclients)

	// Phase 1: frontends come and go, replicas die and come back.
	phase1 := time.Now()
	epochs := c.epochs(t)
	load := startLinLoad(h, fes, keys, nclients, seed, false, seqs)
	replica := func(s string) *ctlNode { return c.shards[s][1+rnd.Intn(2)] }
	order := slices.Clone(c.names)
	rnd.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	const step = 1500 // operations between two changes
	waitOps(t, h, 0, step)
	r1 := replica(order[0])
	r1.Kill()
	t.Logf("killed replica %s", r1.name)
	waitOps(t, h, h.Len(), step)
	addFrontend("C")
	waitOps(t, h, h.Len(), step)
	c.restart(r1)
	waitRejoined(t, r1, c.shards[r1.shard][0])
	t.Logf("replica %s is back", r1.name)
	drainFrontend(t, fes, fe["A"])
	t.Logf("frontend A stopped")
	waitOps(t, h, h.Len(), step)
	r2 := replica(order[1])
	r2.Kill()
	t.Logf("killed replica %s", r2.name)
	addFrontend("D")
	waitOps(t, h, h.Len(), step)
	drainFrontend(t, fes, fe["B"])
	t.Logf("frontend B stopped")
	waitOps(t, h, h.Len(), step)
	c.restart(r2)
	waitRejoined(t, r2, c.shards[r2.shard][0])
	t.Logf("replica %s is back", r2.name)
	waitOps(t, h, h.Len(), step)
	st := load.halt()
	ops1 := h.Ops()
	if after := c.epochs(t); !maps.Equal(after, epochs) {
		t.Logf("NOTE: the map's epochs moved during phase 1 (%v -> %v): a master failed over although none was killed", epochs, after)
	}
	t.Logf("phase 1: %d operations in %v (%d writes with an unknown outcome, %d timeouts; %d failed reads dropped; %d connects, %d ended by a clean close, %d by a reset); last errors %v",
		len(ops1), time.Since(phase1).Round(time.Millisecond), st.unknown, st.timeouts, st.failedReads, st.redials, st.closes, st.resets, load.lastErrors())
	checkStart := time.Now()
	res := lincheck.CheckLinearizable(ops1, 30*time.Second)
	t.Logf("phase 1: porcupine says %s in %v", res, time.Since(checkStart).Round(time.Millisecond))
	switch res {
	case porcupine.Ok:
	case porcupine.Unknown:
		t.Errorf("phase 1: porcupine ran out of time on %d operations", len(ops1))
	default:
		t.Errorf("phase 1: the history is not linearizable")
		if v, ok := firstViolation(ops1); ok {
			t.Logf("%s", v)
			visualizeHistory(t, ops1)
		}
	}
	if st.timeouts > 0 {
		t.Errorf("phase 1: %d operations timed out after %v", st.timeouts, linOpTimeout)
	}
	if st.resets > 0 {
		t.Errorf("phase 1: %d connections to draining frontends ended with a reset, not a clean close", st.resets)
	}

	// Phase 2: each master is killed in turn; writes are WAITed.
	phase2 := time.Now()
	mark := h.Len()
	load = startLinLoad(h, fes, keys, nclients, seed+1000, true, seqs)
	rnd.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for _, s := range order {
		waitOps(t, h, h.Len(), step/2)
		ms := c.masters(s)
		if len(ms) != 1 {
			t.Fatalf("shard %s has masters %v before the kill", s, names(ms))
		}
		old := ms[0]
		old.Kill()
		killed := time.Now()
		var nm *ctlNode
		testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
			ms := c.masters(s)
			if len(ms) != 1 {
				return false, fmt.Sprintf("shard %s masters %v", s, names(ms))
			}
			nm = ms[0]
			return true, ""
		})
		t.Logf("shard %s: killed master %s; %s is master %v later", s, old.name, nm.name, time.Since(killed).Round(time.Millisecond))
		waitOps(t, h, h.Len(), step/2)
		restarted := time.Now()
		c.restart(old)
		waitRejoined(t, old, nm)
		t.Logf("shard %s: %s restarted and rejoined as a replica of %s in %v", s, old.name, nm.name, time.Since(restarted).Round(time.Millisecond))
	}
	waitOps(t, h, h.Len(), step/2)
	st = load.halt()
	final := finalValues(t, fes, keys)
	all := h.Ops()
	ops2 := all[mark:]
	t.Logf("phase 2: %d operations in %v (%d writes WAITed, %d with an unknown outcome, %d timeouts; %d failed reads dropped); last errors %v",
		len(ops2), time.Since(phase2).Round(time.Millisecond), st.waited, st.unknown, st.timeouts, st.failedReads, load.lastErrors())
	if st.timeouts > 0 {
		t.Errorf("phase 2: %d operations timed out after %v", st.timeouts, linOpTimeout)
	}
	if st.waited == 0 {
		t.Errorf("phase 2: no write was confirmed by WAIT: the check proved nothing")
	}
	// Phase 1's writes explain reads of values they left behind.
	errs := lincheck.CheckWaited(all, final)
	for _, err := range errs {
		t.Errorf("phase 2: %v", err)
	}
	t.Logf("phase 2: CheckWaited: %d violations", len(errs))
	t.Logf("total wall time %v", time.Since(start).Round(time.Millisecond))
}

// finalValues reads every key through a live frontend once the clients have
// stopped; nil for an absent key.
func finalValues(t testing.TB, fes *feSet, keys []string) map[string]*string {
	t.Helper()
	rnd := rand.New(rand.NewSource(1))
	final := map[string]*string{}
	for _, k := range keys {
		testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
			v, err := rawDo(fes.pick(rnd).addr, "GET", k)
			if err != nil || (v.Kind != proto.KindBulk && v.Kind != proto.KindNullBulk) {
				return false, fmt.Sprintf("GET %s: %v %v", k, v, err)
			}
			if v.Kind == proto.KindBulk {
				s := string(v.Str)
				final[k] = &s
			} else {
				final[k] = nil
			}
			return true, ""
		})
	}
	return final
}

// linViolation is the first violation of linearizability in a history.
type linViolation struct {
	key    string
	end    int64         // when the operation no linearization can place returned
	prefix []lincheck.Op // lincheck.Shortest's prefix of key's history
}

// firstViolation finds the shortest illegal prefix of the first key whose
// history is not linearizable.
func firstViolation(ops []lincheck.Op) (linViolation, bool) {
	key, prefix, ok := lincheck.Shortest(ops, 30*time.Second)
	if !ok {
		return linViolation{}, false
	}
	return linViolation{key: key, prefix: prefix}, true
}

// String lists the end of the prefix (its last operations and all that
// overlapped them) and the writes of the values read there.
func (v linViolation) String() string {
	tail := v.prefix[max(0, len(v.prefix)-12):]
	from := tail[0].Call
	for _, o := range v.prefix {
		if o.Return >= from && o.Call < from {
			from = o.Call
		}
	}
	sets := map[string]lincheck.Op{}
	for _, o := range v.prefix {
		if o.Kind == lincheck.Set {
			sets[o.Value] = o
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "key %s: the shortest prefix that is not linearizable has %d operations; its end:", v.key, len(v.prefix))
	for _, o := range v.prefix {
		if o.Return < from {
			continue
		}
		fmt.Fprintf(&b, "\n  %v", o)
		if w, ok := sets[o.Value]; ok && o.Kind == lincheck.Get && o.Found && w.Return < from {
			fmt.Fprintf(&b, "   (written by %v)", w)
		}
	}
	return b.String()
}

// visualizeHistory writes porcupine's visualization of ops to a file and logs
// its path.
func visualizeHistory(t testing.TB, ops []lincheck.Op) {
	_, info := porcupine.CheckOperationsVerbose(lincheck.Model, lincheck.Porcupine(ops), 30*time.Second)
	path := filepath.Join(os.TempDir(), fmt.Sprintf("shoal-lincheck-%d.html", time.Now().UnixNano()))
	if err := porcupine.VisualizePath(lincheck.Model, info, path); err != nil {
		t.Logf("porcupine's visualization: %v", err)
		return
	}
	t.Logf("porcupine's visualization: %s", path)
}
