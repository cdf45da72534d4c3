package cluster

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/internal/waitload"
)

// writeLoad runs waitload.Writers on every frontend, each in its own
// goroutine writing fresh keys until halted.
type writeLoad struct {
	writers []*waitload.Writer
	stop    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

func startWriteLoad(t *testing.T, addrs []string, perFrontend int) *writeLoad {
	l := &writeLoad{stop: make(chan struct{})}
	ctx := context.Background()
	for i, addr := range addrs {
		for j := 0; j < perFrontend; j++ {
			w := waitload.NewWriter(client(t, addr), 100*time.Millisecond)
			prefix := fmt.Sprintf("w%d.%d:", i, j)
			l.writers = append(l.writers, w)
			l.wg.Go(func() {
				for seq := 1; ; seq++ {
					select {
					case <-l.stop:
						return
					default:
					}
					if _, err := w.Write(ctx, prefix+strconv.Itoa(seq), "v"+strconv.Itoa(seq)); err != nil {
						time.Sleep(5 * time.Millisecond) // pacing while a shard has no master
					}
				}
			})
		}
	}
	t.Cleanup(l.halt)
	return l
}

func (l *writeLoad) halt() {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
}

// verify halts the load and reads every acknowledged write back through
// rdb: each lost write WAIT confirmed is an error.
func (l *writeLoad) verify(t *testing.T, rdb *redis.Client) waitload.Tally {
	t.Helper()
	l.halt()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tally, err := waitload.Verify(ctx, rdb, l.writers...)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tally.Samples {
		t.Errorf("a write WAIT confirmed is lost: %s", s)
	}
	return tally
}

// keyOn returns a key the frontend routes to shard.
func keyOn(t *testing.T, fe *redis.Client, shard string) string {
	t.Helper()
	for i := 0; i < 10000; i++ {
		k := "probe:" + strconv.Itoa(i)
		res, err := fe.Do(context.Background(), "SHOAL", "ROUTE", k).Slice()
		if err != nil || len(res) == 0 {
			t.Fatalf("SHOAL ROUTE %s: %v %v", k, res, err)
		}
		if res[0] == shard {
			return k
		}
	}
	t.Fatalf("no key routes to %s", shard)
	return ""
}

// shoalMap reads SHOAL MAP from a shard node: shard → [master node, addr,
// epoch].
func shoalMap(t *testing.T, addr string) map[string][3]string {
	t.Helper()
	res, err := client(t, addr).Do(context.Background(), "SHOAL", "MAP").Slice()
	if err != nil {
		t.Fatalf("SHOAL MAP at %s: %v", addr, err)
	}
	m := map[string][3]string{}
	for _, e := range res {
		f, _ := e.([]any)
		if len(f) != 4 {
			t.Fatalf("SHOAL MAP at %s: entry %v", addr, e)
		}
		m[fmt.Sprint(f[0])] = [3]string{fmt.Sprint(f[1]), fmt.Sprint(f[2]), fmt.Sprint(f[3])}
	}
	return m
}

// writableAfter polls SET key through rdb every 5 ms from begin until it
// succeeds and returns the time since begin.
func writableAfter(t *testing.T, rdb *redis.Client, key string, begin time.Time) time.Duration {
	t.Helper()
	ctx := context.Background()
	var took time.Duration
	testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
		err := rdb.Set(ctx, key, "x", 0).Err()
		if err != nil {
			time.Sleep(5 * time.Millisecond) // the polling interval
			return false, err.Error()
		}
		took = time.Since(begin)
		return true, ""
	})
	return took
}

// waitRejoined waits until the node at addr is a replica of master with a
// connected link.
func waitRejoined(t *testing.T, addr, master string) {
	t.Helper()
	rdb := client(t, addr)
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		res, err := rdb.Do(context.Background(), "ROLE").Slice()
		if err != nil || len(res) < 4 {
			return false, fmt.Sprintf("ROLE %v %v", res, err)
		}
		got := fmt.Sprintf("%v %v:%v %v", res[0], res[1], res[2], res[3])
		return got == "slave "+master+" connected", got
	})
}

// With the control plane (the default), the cluster fails over on its
// own. Under a SET + WAIT 1 100 load through two frontends, a random
// shard's master is killed (KillShardNode: a crash): its keys are writable
// again through a frontend once the leader has promoted the replica
// (printed), SHOAL MAP on a shard node names the new master at the next
// epoch, and the old master, restarted, rejoins as its replica. Then
// another shard's master is stopped gracefully: a master that left is
// failed over too. No write WAIT confirmed is lost.
func TestFailover(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewSource(seed))
	cl := start(t, func(c *Config) { c.Frontends = 2 })
	t.Logf("time to ready with the control plane: %v", cl.TimeToReady())

	var voters []string
	for _, n := range cl.Nodes() {
		if n.Role != RoleFrontend && n.RaftAddr == "" {
			t.Errorf("%s has no raft address", n.Name)
		}
		if n.Voter {
			voters = append(voters, n.Name)
		}
	}
	if want := "[shard-0-replica-1 shard-1-replica-1 shard-2-replica-1]"; fmt.Sprint(voters) != want || cl.Voters() != 3 {
		t.Fatalf("voters %v (%d), want %s", voters, cl.Voters(), want)
	}
	leader, ok := cl.Leader()
	if !ok || !leader.Voter {
		t.Fatalf("leader %+v %v", leader, ok)
	}
	ctx := context.Background()
	m0, _ := cl.ShardNode("shard-0", 0)
	if res, err := client(t, m0.RESPAddr).Do(ctx, "SHOAL", "LEADER").Slice(); err != nil || len(res) != 2 || res[0] != leader.Name || res[1] != leader.RaftAddr {
		t.Errorf("SHOAL LEADER on %s: %v %v, want %s %s", m0.Name, res, err, leader.Name, leader.RaftAddr)
	}
	before := shoalMap(t, m0.RESPAddr)
	for _, s := range cl.ShardNames() {
		m, _ := cl.ShardNode(s, 0)
		if e := before[s]; e[0] != m.Name || e[1] != m.RESPAddr {
			t.Fatalf("SHOAL MAP before any failover: %s = %v, want %s at %s", s, e, m.Name, m.RESPAddr)
		}
	}

	fes := cl.FrontendAddrs()
	load := startWriteLoad(t, fes, 2)
	fe := client(t, fes[rnd.Intn(len(fes))])
	// The load is under way on every shard before the first kill.
	testutil.WaitFor(t, 20*time.Second, func() (bool, string) {
		v, err := fe.DBSize(ctx).Result()
		return err == nil && v >= 300, fmt.Sprint(v, err)
	})

	// 1. A crash.
	victim := cl.ShardNames()[rnd.Intn(cl.Config().Shards)]
	old, _ := cl.ShardNode(victim, 0)
	replica, _ := cl.ShardNode(victim, 1)
	key := keyOn(t, fe, victim)
	begin := time.Now()
	if err := cl.KillShardNode(victim, 0); err != nil {
		t.Fatalf("KillShardNode: %v", err)
	}
	killed := time.Since(begin)
	took := writableAfter(t, fe, key, begin)
	t.Logf("FIGURE %s: master killed (KillShardNode returned after %v); its keys writable again through a frontend %v after the kill",
		victim, killed.Round(time.Millisecond), took.Round(time.Millisecond))
	if took > 10*time.Second {
		t.Errorf("failover took %v, want about 1 s (10 s on a loaded machine)", took)
	}
	var other Node
	for _, n := range cl.Nodes() {
		if n.Role != RoleFrontend && n.Shard != victim {
			other = n
			break
		}
	}
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		m := shoalMap(t, other.RESPAddr)
		return m[victim][0] == replica.Name, fmt.Sprintf("SHOAL MAP on %s: %v", other.Name, m)
	})
	after := shoalMap(t, other.RESPAddr)
	e0, _ := strconv.Atoi(before[victim][2])
	if e := after[victim]; e[1] != replica.RESPAddr || e[2] != strconv.Itoa(e0+1) {
		t.Errorf("SHOAL MAP after the failover: %s = %v, want %s at %s, epoch %d", victim, e, replica.Name, replica.RESPAddr, e0+1)
	}
	if m, ok := cl.Master(victim); !ok || m.Name != replica.Name {
		t.Errorf("Master(%s) = %+v %v, want %s", victim, m, ok, replica.Name)
	}
	if err := cl.RestartShardNode(ctx, victim, 0); err != nil {
		t.Fatalf("RestartShardNode: %v", err)
	}
	waitRejoined(t, old.RESPAddr, replica.RESPAddr)
	t.Logf("%s: the old master rejoined as a replica of %s %v after the kill", victim, replica.Name, time.Since(begin).Round(time.Millisecond))

	// 2. A graceful stop of another shard's master.
	victim2 := cl.ShardNames()[(slices.Index(cl.ShardNames(), victim)+1)%cl.Config().Shards]
	old2, _ := cl.ShardNode(victim2, 0)
	replica2, _ := cl.ShardNode(victim2, 1)
	key2 := keyOn(t, fe, victim2)
	begin = time.Now()
	if err := cl.StopShardNode(ctx, victim2, 0); err != nil {
		t.Fatalf("StopShardNode: %v", err)
	}
	stopped := time.Since(begin)
	took = writableAfter(t, fe, key2, begin)
	t.Logf("FIGURE %s: master stopped gracefully (StopShardNode returned after %v); its keys writable again through a frontend %v after the stop began",
		victim2, stopped.Round(time.Millisecond), took.Round(time.Millisecond))
	if m, ok := cl.Master(victim2); !ok || m.Name != replica2.Name {
		t.Errorf("Master(%s) = %+v %v, want %s", victim2, m, ok, replica2.Name)
	}
	if err := cl.RestartShardNode(ctx, victim2, 0); err != nil {
		t.Fatalf("RestartShardNode: %v", err)
	}
	waitRejoined(t, old2.RESPAddr, replica2.RESPAddr)

	tally := load.verify(t, fe)
	t.Logf("FIGURE writes: %v", tally)
	if tally.LostWaited > 0 {
		t.Errorf("%d writes WAIT confirmed are lost", tally.LostWaited)
	}
	if tally.Waited == 0 {
		t.Fatal("no write was confirmed by WAIT: the test proved nothing")
	}
}
