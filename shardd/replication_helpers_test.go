package shardd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/wal"
)

// node is an in-process shard server that a test can stop and restart on
// the same data directory (and the same address).
type node struct {
	t    testing.TB
	cfg  Config
	srv  *Server
	addr string
	errc chan error
}

// startNode starts a server on a fresh loopback port, with its data in a
// temp dir unless mutate sets DataDir or Diskless. It is stopped when the
// test ends.
func startNode(t testing.TB, mutate ...func(*Config)) *node {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Logger = testutil.Logger(t)
	cfg.ReplTimeout = 5 * time.Second
	for _, m := range mutate {
		m(&cfg)
	}
	n := &node{t: t, cfg: cfg}
	ln := testutil.Listen(t)
	n.addr = ln.Addr().String()
	n.cfg.RESPAddr = n.addr
	n.serve(ln)
	t.Cleanup(n.stop)
	return n
}

func (n *node) serve(ln net.Listener) {
	n.t.Helper()
	srv, err := New(n.cfg)
	if err != nil {
		ln.Close()
		n.t.Fatalf("New: %v", err)
	}
	n.srv = srv
	n.errc = make(chan error, 1)
	go func() { n.errc <- srv.Serve(ln) }()
}

// stop shuts the server down (idempotent).
func (n *node) stop() {
	if n.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.srv.Shutdown(ctx); err != nil && !errors.Is(err, wal.ErrWriteFailed) {
		n.t.Errorf("Shutdown %s: %v", n.addr, err)
	}
	if err := <-n.errc; !errors.Is(err, ErrServerClosed) {
		n.t.Errorf("Serve returned %v", err)
	}
	n.srv = nil
}

// restart stops the server and starts it again on the same data and
// address, with mutate applied to its config.
func (n *node) restart(mutate ...func(*Config)) {
	n.t.Helper()
	n.stop()
	for _, m := range mutate {
		m(&n.cfg)
	}
	var ln net.Listener
	testutil.WaitFor(n.t, 5*time.Second, func() (bool, string) {
		var err error
		ln, err = net.Listen("tcp", n.addr)
		return err == nil, fmt.Sprint(err)
	})
	n.serve(ln)
}

func (n *node) client() *redis.Client {
	c := newClient(n.addr)
	n.t.Cleanup(func() { c.Close() })
	return c
}

// info returns the fields of INFO section sec.
func infoFields(t testing.TB, c *redis.Client, sec string) map[string]string {
	t.Helper()
	s, err := c.Info(context.Background(), sec).Result()
	if err != nil {
		t.Fatalf("INFO %s: %v", sec, err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(s, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

func infoInt(t testing.TB, c *redis.Client, sec, field string) int64 {
	t.Helper()
	v, ok := infoFields(t, c, sec)[field]
	if !ok {
		t.Fatalf("INFO %s has no %s", sec, field)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("INFO %s: %s=%q", sec, field, v)
	}
	return n
}

// keyDump is one key's content as typed reads return it (no DUMP).
type keyDump struct {
	typ     string
	value   string // canonical rendering of the value
	expires int64  // PEXPIRETIME: -1 none
}

// readKeyspace reads every key with a full SCAN and per-key typed reads.
// ok is false (with why) when a read failed, e.g. a key vanished between
// the scan and the read: the caller polls.
func readKeyspace(c *redis.Client) (map[string]keyDump, string) {
	ctx := context.Background()
	keys := map[string]bool{}
	var cursor uint64
	for {
		ks, next, err := c.Scan(ctx, cursor, "*", 1000).Result()
		if err != nil {
			return nil, "SCAN: " + err.Error()
		}
		for _, k := range ks {
			keys[k] = true
		}
		if next == 0 {
			break
		}
		cursor = next
	}
	out := make(map[string]keyDump, len(keys))
	for k := range keys {
		d, err := readKey(c, k)
		if err != nil {
			return nil, fmt.Sprintf("reading %q: %v", k, err)
		}
		if d.typ == "none" {
			continue // expired or deleted since the scan
		}
		out[k] = d
	}
	return out, ""
}

func readKey(c *redis.Client, k string) (keyDump, error) {
	ctx := context.Background()
	typ, err := c.Type(ctx, k).Result()
	if err != nil {
		return keyDump{}, err
	}
	d := keyDump{typ: typ}
	var vals []string
	switch typ {
	case "none":
		return d, nil
	case "string":
		v, err := c.Get(ctx, k).Result()
		if err != nil {
			return d, err
		}
		vals = []string{v}
	case "hash":
		m, err := c.HGetAll(ctx, k).Result()
		if err != nil {
			return d, err
		}
		for _, f := range slices.Sorted(maps.Keys(m)) {
			vals = append(vals, f+"="+m[f])
		}
	case "list":
		vals, err = c.LRange(ctx, k, 0, -1).Result()
	case "set":
		vals, err = c.SMembers(ctx, k).Result()
		slices.Sort(vals)
	case "zset":
		var zs []redis.Z
		zs, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
		for _, z := range zs {
			vals = append(vals, fmt.Sprintf("%v:%v", z.Member, z.Score))
		}
	default:
		return d, fmt.Errorf("unexpected type %q", typ)
	}
	if err != nil {
		return d, err
	}
	d.value = strings.Join(vals, "\x00")
	d.expires, err = c.Do(ctx, "PEXPIRETIME", k).Int64()
	return d, err
}

// sameKeyspace compares two nodes' keyspaces.
func sameKeyspace(master, replica *redis.Client) (bool, string) {
	want, why := readKeyspace(master)
	if want == nil {
		return false, "master: " + why
	}
	got, why := readKeyspace(replica)
	if got == nil {
		return false, "replica: " + why
	}
	if len(got) != len(want) {
		return false, fmt.Sprintf("replica has %d keys, master %d (%s)", len(got), len(want), diffKeys(want, got))
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			return false, fmt.Sprintf("key %q: master %+v, replica %+v", k, w, g)
		}
	}
	return true, ""
}

func diffKeys(want, got map[string]keyDump) string {
	var missing, extra []string
	for k := range want {
		if _, ok := got[k]; !ok && len(missing) < 5 {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok && len(extra) < 5 {
			extra = append(extra, k)
		}
	}
	return fmt.Sprintf("missing e.g. %q, extra e.g. %q", missing, extra)
}

// waitConverged polls until every replica's keyspace equals the master's
// and its offset reached the master's.
func waitConverged(t testing.TB, timeout time.Duration, master *redis.Client, replicas ...*redis.Client) {
	t.Helper()
	testutil.WaitFor(t, timeout, func() (bool, string) {
		off := infoFields(t, master, "replication")["master_repl_offset"]
		for i, r := range replicas {
			if got := infoFields(t, r, "replication")["slave_repl_offset"]; got != off {
				return false, fmt.Sprintf("replica %d at offset %s, master at %s", i, got, off)
			}
			if ok, why := sameKeyspace(master, r); !ok {
				return false, fmt.Sprintf("replica %d: %s", i, why)
			}
		}
		return true, ""
	})
}

// seedRNG returns a logged random source (SHOAL_SEED repeats a run).
func seedRNG(t testing.TB) (*rand.Rand, uint64) {
	seed := testutil.Seed(t, uint64(time.Now().UnixNano()))
	return rand.New(rand.NewPCG(seed, 7)), seed
}

// hasZSets reports whether the server implements sorted sets.
func hasZSets(c *redis.Client) bool {
	err := c.ZAdd(context.Background(), "__probe_zset", redis.Z{Score: 1, Member: "m"}).Err()
	c.Del(context.Background(), "__probe_zset")
	return err == nil
}

// writeLoad runs writers of every data type against addr until ctx ends.
// Each writer uses its own connection and key space; it returns the
// writers' clients (still open) so the caller can WAIT on them.
type writeLoad struct {
	wg      sync.WaitGroup
	ops     atomicCounter
	errs    chan error
	clients []*redis.Client
}

type atomicCounter struct {
	mu sync.Mutex
	n  int64
}

func (a *atomicCounter) add(n int64) { a.mu.Lock(); a.n += n; a.mu.Unlock() }
func (a *atomicCounter) get() int64  { a.mu.Lock(); defer a.mu.Unlock(); return a.n }

func startWriteLoad(ctx context.Context, t testing.TB, addr string, writers int, seed uint64) *writeLoad {
	wl := &writeLoad{errs: make(chan error, writers)}
	zsets := hasZSets(newClient(addr))
	for w := 0; w < writers; w++ {
		c := newClient(addr)
		t.Cleanup(func() { c.Close() })
		wl.clients = append(wl.clients, c)
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		wl.wg.Add(1)
		go func() {
			defer wl.wg.Done()
			for ctx.Err() == nil {
				var rerr redis.Error // a command's error reply (WRONGTYPE, no such key) is fine
				if err := randomWrite(ctx, c, rng, w, zsets); err != nil && ctx.Err() == nil && !errors.Is(err, redis.Nil) && !errors.As(err, &rerr) {
					wl.errs <- err
					return
				}
				wl.ops.add(1)
			}
		}()
	}
	return wl
}

func (wl *writeLoad) wait(t testing.TB) {
	t.Helper()
	wl.wg.Wait()
	select {
	case err := <-wl.errs:
		t.Fatalf("writer: %v", err)
	default:
	}
}

// randomWrite sends one random write (or a pipeline / transaction of a
// few) touching strings, hashes, lists, sets and sorted sets, with
// expiries both far and near.
func randomWrite(ctx context.Context, c *redis.Client, rng *rand.Rand, w int, zsets bool) error {
	k := func(prefix string) string { return fmt.Sprintf("%s:%d:%d", prefix, w, rng.IntN(40)) }
	v := func() string { return strconv.Itoa(rng.IntN(1000)) }
	switch rng.IntN(24) {
	case 0:
		return c.Set(ctx, k("s"), v(), 0).Err()
	case 1:
		return c.Set(ctx, k("s"), v(), time.Duration(50+rng.IntN(300))*time.Millisecond).Err()
	case 2:
		return c.Incr(ctx, k("n")).Err()
	case 3:
		return c.Append(ctx, k("s"), "x").Err()
	case 4:
		return c.Del(ctx, k("s"), k("h"), k("l")).Err()
	case 5:
		return c.Expire(ctx, k("h"), time.Hour).Err()
	case 6:
		return c.HSet(ctx, k("h"), "f"+v(), v()).Err()
	case 7:
		return c.HDel(ctx, k("h"), "f"+v()).Err()
	case 8:
		return c.HIncrBy(ctx, k("h"), "ctr", 3).Err()
	case 9:
		return c.LPush(ctx, k("l"), v(), v()).Err()
	case 10:
		return c.RPop(ctx, k("l")).Err()
	case 11:
		return c.LTrim(ctx, k("l"), 0, 5).Err()
	case 12:
		return c.SAdd(ctx, k("set"), v(), v(), v()).Err()
	case 13:
		return c.SRem(ctx, k("set"), v()).Err()
	case 14:
		return c.SPop(ctx, k("set")).Err()
	case 15:
		return c.IncrByFloat(ctx, k("f"), 1.5).Err()
	case 16:
		_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Incr(ctx, k("n"))
			p.HSet(ctx, k("h"), "tx", v())
			p.SAdd(ctx, k("set"), v())
			return nil
		})
		return err
	case 17:
		return c.Rename(ctx, k("s"), k("s")).Err()
	case 18:
		return c.SetEx(ctx, k("e"), v(), time.Duration(1+rng.IntN(3))*time.Second).Err()
	case 19:
		return c.PExpire(ctx, k("l"), time.Duration(100+rng.IntN(400))*time.Millisecond).Err()
	case 20, 21:
		if zsets {
			return c.ZAdd(ctx, k("z"), redis.Z{Score: float64(rng.IntN(100)), Member: v()}).Err()
		}
		return c.Set(ctx, k("s"), v(), 0).Err()
	case 22:
		if zsets {
			return c.ZIncrBy(ctx, k("z"), 2, v()).Err()
		}
		return c.MSet(ctx, k("s"), v(), k("s"), v()).Err()
	default:
		if zsets {
			return c.ZRem(ctx, k("z"), v()).Err()
		}
		return c.GetDel(ctx, k("s")).Err()
	}
}
