package integration

// A mixed workload checked against a model: each worker owns its keys,
// so its model is exact; every reply is compared with what the model
// says the command must answer.

import (
	"context"
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// model is what a worker wrote: one map per type, keyed by full key.
// Counters are strings holding integers.
type model struct {
	str  map[string]string
	hash map[string]map[string]string
	list map[string][]string
	set  map[string]map[string]bool
	zset map[string]map[string]float64
}

func newModel() *model {
	return &model{str: map[string]string{}, hash: map[string]map[string]string{},
		list: map[string][]string{}, set: map[string]map[string]bool{}, zset: map[string]map[string]float64{}}
}

// del removes key whatever its type and says whether it existed.
func (m *model) del(k string) bool {
	had := m.exists(k)
	delete(m.str, k)
	delete(m.hash, k)
	delete(m.list, k)
	delete(m.set, k)
	delete(m.zset, k)
	return had
}

func (m *model) exists(k string) bool {
	_, a := m.str[k]
	_, b := m.hash[k]
	_, c := m.list[k]
	_, d := m.set[k]
	_, e := m.zset[k]
	return a || b || c || d || e
}

// step is one command: issue queues or runs it on a client or pipeline,
// check compares its reply with what the model expected when the step was
// made (the model is updated then, in issue order).
type step struct {
	desc  string
	issue func(context.Context, redis.Cmdable)
	check func() error
}

// worker makes random steps over its own keys (prefix), with its own
// random source.
type worker struct {
	prefix string
	rnd    *rand.Rand
	m      *model
}

const keysPerType = 8

func (w *worker) key(kind string, i int) string { return w.prefix + kind + ":" + strconv.Itoa(i) }
func (w *worker) pick(kind string) string       { return w.key(kind, w.rnd.Intn(keysPerType)) }
func (w *worker) val() string                   { return "v" + strconv.Itoa(w.rnd.Intn(1e6)) }

// allKeys lists every key the worker may touch (transaction keys included).
func (w *worker) allKeys() []string {
	var out []string
	for _, kind := range []string{"s", "n", "h", "l", "S", "z"} {
		for i := 0; i < keysPerType; i++ {
			out = append(out, w.key(kind, i))
		}
	}
	return append(out, w.txKeys()...)
}

// txKeys share a hash tag: a transaction over them runs on one shard.
func (w *worker) txKeys() []string {
	tag := "{" + w.prefix + "tx}"
	return []string{tag + ":n", tag + ":l"}
}

// anyKey is a key of any type.
func (w *worker) anyKey() string {
	all := w.allKeys()
	return all[w.rnd.Intn(len(all)-2)]
}

// next makes one random step and updates the model.
func (w *worker) next() step {
	m := w.m
	switch w.rnd.Intn(24) {
	case 0, 1:
		k, v := w.pick("s"), w.val()
		m.str[k] = v
		var c *redis.StatusCmd
		return step{"SET " + k, func(ctx context.Context, p redis.Cmdable) { c = p.Set(ctx, k, v, 0) },
			func() error { return wantStatus(c, "OK") }}
	case 2, 3:
		k := w.pick("s")
		want, ok := m.str[k]
		var c *redis.StringCmd
		return step{"GET " + k, func(ctx context.Context, p redis.Cmdable) { c = p.Get(ctx, k) },
			func() error { return wantString(c, want, ok) }}
	case 4:
		k, s := w.pick("s"), w.val()
		m.str[k] += s
		n := int64(len(m.str[k]))
		var c *redis.IntCmd
		return step{"APPEND " + k, func(ctx context.Context, p redis.Cmdable) { c = p.Append(ctx, k, s) },
			func() error { return wantInt(c, n) }}
	case 5, 6:
		k, by := w.pick("n"), int64(w.rnd.Intn(200)-50)
		n, _ := strconv.ParseInt(m.str[k], 10, 64)
		m.str[k] = strconv.FormatInt(n+by, 10)
		var c *redis.IntCmd
		return step{"INCRBY " + k, func(ctx context.Context, p redis.Cmdable) { c = p.IncrBy(ctx, k, by) },
			func() error { return wantInt(c, n+by) }}
	case 7:
		var kv []any
		for i := 0; i < 4; i++ {
			k, v := w.pick("s"), w.val()
			kv = append(kv, k, v)
			m.str[k] = v
		}
		var c *redis.StatusCmd
		return step{fmt.Sprint("MSET ", kv), func(ctx context.Context, p redis.Cmdable) { c = p.MSet(ctx, kv...) },
			func() error { return wantStatus(c, "OK") }}
	case 8:
		keys := []string{w.pick("s"), w.pick("s"), w.pick("n"), w.pick("s"), w.prefix + "never", w.pick("s")}
		want := make([]any, len(keys))
		for i, k := range keys {
			if v, ok := m.str[k]; ok {
				want[i] = v
			}
		}
		var c *redis.SliceCmd
		return step{fmt.Sprint("MGET ", keys), func(ctx context.Context, p redis.Cmdable) { c = p.MGet(ctx, keys...) },
			func() error { return wantEqual(c, want) }}
	case 9:
		keys := []string{w.anyKey(), w.anyKey(), w.anyKey()}
		n := int64(0)
		for _, k := range dedup(keys) {
			if m.del(k) {
				n++
			}
		}
		var c *redis.IntCmd
		return step{fmt.Sprint("DEL ", keys), func(ctx context.Context, p redis.Cmdable) { c = p.Del(ctx, keys...) },
			func() error { return wantInt(c, n) }}
	case 10:
		keys := []string{w.anyKey(), w.anyKey(), w.anyKey(), w.anyKey()}
		n := int64(0)
		for _, k := range keys {
			if m.exists(k) {
				n++
			}
		}
		var c *redis.IntCmd
		return step{fmt.Sprint("EXISTS ", keys), func(ctx context.Context, p redis.Cmdable) { c = p.Exists(ctx, keys...) },
			func() error { return wantInt(c, n) }}
	case 11, 12:
		k := w.pick("h")
		if m.hash[k] == nil {
			m.hash[k] = map[string]string{}
		}
		var fv []any
		added := int64(0)
		seen := map[string]bool{}
		for i := 0; i < 1+w.rnd.Intn(3); i++ {
			f, v := "f"+strconv.Itoa(w.rnd.Intn(6)), w.val()
			if _, ok := m.hash[k][f]; !ok && !seen[f] {
				added++
			}
			seen[f] = true
			m.hash[k][f] = v
			fv = append(fv, f, v)
		}
		var c *redis.IntCmd
		return step{fmt.Sprint("HSET ", k, fv), func(ctx context.Context, p redis.Cmdable) { c = p.HSet(ctx, k, fv...) },
			func() error { return wantInt(c, added) }}
	case 13:
		k, f := w.pick("h"), "f"+strconv.Itoa(w.rnd.Intn(6))
		want, ok := m.hash[k][f]
		var c *redis.StringCmd
		return step{"HGET " + k + " " + f, func(ctx context.Context, p redis.Cmdable) { c = p.HGet(ctx, k, f) },
			func() error { return wantString(c, want, ok) }}
	case 14:
		k, by := w.pick("h"), int64(w.rnd.Intn(10)+1)
		if m.hash[k] == nil {
			m.hash[k] = map[string]string{}
		}
		n, _ := strconv.ParseInt(m.hash[k]["n"], 10, 64)
		m.hash[k]["n"] = strconv.FormatInt(n+by, 10)
		var c *redis.IntCmd
		return step{"HINCRBY " + k, func(ctx context.Context, p redis.Cmdable) { c = p.HIncrBy(ctx, k, "n", by) },
			func() error { return wantInt(c, n+by) }}
	case 15, 16:
		k := w.pick("l")
		vals := []any{w.val(), w.val()}[:1+w.rnd.Intn(2)]
		left := w.rnd.Intn(2) == 0
		for _, v := range vals {
			if left {
				m.list[k] = append([]string{v.(string)}, m.list[k]...)
			} else {
				m.list[k] = append(m.list[k], v.(string))
			}
		}
		n := int64(len(m.list[k]))
		var c *redis.IntCmd
		return step{fmt.Sprint("PUSH ", left, k, vals), func(ctx context.Context, p redis.Cmdable) {
			if left {
				c = p.LPush(ctx, k, vals...)
			} else {
				c = p.RPush(ctx, k, vals...)
			}
		}, func() error { return wantInt(c, n) }}
	case 17:
		k := w.pick("l")
		l := m.list[k]
		want, ok := "", len(l) > 0
		if ok {
			want = l[0]
			if len(l) == 1 {
				delete(m.list, k)
			} else {
				m.list[k] = l[1:]
			}
		}
		var c *redis.StringCmd
		return step{"LPOP " + k, func(ctx context.Context, p redis.Cmdable) { c = p.LPop(ctx, k) },
			func() error { return wantString(c, want, ok) }}
	case 18:
		k := w.pick("S")
		if m.set[k] == nil {
			m.set[k] = map[string]bool{}
		}
		var ms []any
		added := int64(0)
		for i := 0; i < 1+w.rnd.Intn(3); i++ {
			e := "m" + strconv.Itoa(w.rnd.Intn(10))
			if !m.set[k][e] {
				added++
			}
			m.set[k][e] = true
			ms = append(ms, e)
		}
		var c *redis.IntCmd
		return step{fmt.Sprint("SADD ", k, ms), func(ctx context.Context, p redis.Cmdable) { c = p.SAdd(ctx, k, ms...) },
			func() error { return wantInt(c, added) }}
	case 19:
		k, e := w.pick("S"), "m"+strconv.Itoa(w.rnd.Intn(10))
		n := int64(0)
		if m.set[k][e] {
			n = 1
			delete(m.set[k], e)
			if len(m.set[k]) == 0 {
				delete(m.set, k)
			}
		}
		var c *redis.IntCmd
		return step{"SREM " + k + " " + e, func(ctx context.Context, p redis.Cmdable) { c = p.SRem(ctx, k, e) },
			func() error { return wantInt(c, n) }}
	case 20:
		k := w.pick("z")
		if m.zset[k] == nil {
			m.zset[k] = map[string]float64{}
		}
		var zs []redis.Z
		added := int64(0)
		for i := 0; i < 1+w.rnd.Intn(2); i++ {
			e, s := "m"+strconv.Itoa(w.rnd.Intn(8)), float64(w.rnd.Intn(100))
			if _, ok := m.zset[k][e]; !ok {
				added++
			}
			m.zset[k][e] = s
			zs = append(zs, redis.Z{Score: s, Member: e})
		}
		var c *redis.IntCmd
		return step{fmt.Sprint("ZADD ", k, zs), func(ctx context.Context, p redis.Cmdable) { c = p.ZAdd(ctx, k, zs...) },
			func() error { return wantInt(c, added) }}
	case 21:
		k, e, by := w.pick("z"), "m"+strconv.Itoa(w.rnd.Intn(8)), float64(w.rnd.Intn(20)-5)
		if m.zset[k] == nil {
			m.zset[k] = map[string]float64{}
		}
		m.zset[k][e] += by
		want := m.zset[k][e]
		var c *redis.FloatCmd
		return step{"ZINCRBY " + k + " " + e, func(ctx context.Context, p redis.Cmdable) { c = p.ZIncrBy(ctx, k, by, e) },
			func() error { return wantEqual(c, want) }}
	default: // a read of a whole value of any type
		return w.read(w.anyKey())
	}
}

// read is a step that reads key's whole value with the command of its
// kind (the model knows the kind from the key's name).
func (w *worker) read(k string) step {
	m := w.m
	kind := k[len(w.prefix):]
	if k[0] == '{' {
		kind = k[len(k)-1:] // transaction keys: {...}:n or {...}:l
	}
	switch kind[0] {
	case 'h':
		want := map[string]string{}
		for f, v := range m.hash[k] {
			want[f] = v
		}
		var c *redis.MapStringStringCmd
		return step{"HGETALL " + k, func(ctx context.Context, p redis.Cmdable) { c = p.HGetAll(ctx, k) },
			func() error { return wantEqual(c, want) }}
	case 'l':
		want := append([]string{}, m.list[k]...)
		var c *redis.StringSliceCmd
		return step{"LRANGE " + k, func(ctx context.Context, p redis.Cmdable) { c = p.LRange(ctx, k, 0, -1) },
			func() error { return wantEqual(c, want) }}
	case 'S':
		want := []string{}
		for e := range m.set[k] {
			want = append(want, e)
		}
		sort.Strings(want)
		var c *redis.StringSliceCmd
		return step{"SMEMBERS " + k, func(ctx context.Context, p redis.Cmdable) { c = p.SMembers(ctx, k) },
			func() error {
				if c.Err() == nil {
					sort.Strings(c.Val())
				}
				return wantEqual(c, want)
			}}
	case 'z':
		want := []redis.Z{}
		for e, s := range m.zset[k] {
			want = append(want, redis.Z{Score: s, Member: e})
		}
		sort.Slice(want, func(i, j int) bool {
			if want[i].Score != want[j].Score {
				return want[i].Score < want[j].Score
			}
			return want[i].Member.(string) < want[j].Member.(string)
		})
		var c *redis.ZSliceCmd
		return step{"ZRANGE " + k + " WITHSCORES", func(ctx context.Context, p redis.Cmdable) { c = p.ZRangeWithScores(ctx, k, 0, -1) },
			func() error { return wantEqual(c, want) }}
	default: // s, n
		want, ok := m.str[k]
		var c *redis.StringCmd
		return step{"GET " + k, func(ctx context.Context, p redis.Cmdable) { c = p.Get(ctx, k) },
			func() error { return wantString(c, want, ok) }}
	}
}

// tx is MULTI/EXEC over the worker's hash-tagged keys: INCR, RPUSH, LLEN,
// GET, all on one shard.
func (w *worker) tx(ctx context.Context, cl *redis.Client) error {
	kn, kl := w.txKeys()[0], w.txKeys()[1]
	n, _ := strconv.ParseInt(w.m.str[kn], 10, 64)
	v := w.val()
	var incr, push, llen *redis.IntCmd
	var get *redis.StringCmd
	_, err := cl.TxPipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.Incr(ctx, kn)
		push = p.RPush(ctx, kl, v)
		llen = p.LLen(ctx, kl)
		get = p.Get(ctx, kn)
		return nil
	})
	w.m.str[kn] = strconv.FormatInt(n+1, 10)
	w.m.list[kl] = append(w.m.list[kl], v)
	if err != nil {
		return fmt.Errorf("MULTI/EXEC on %s: %w", kn, err)
	}
	l := int64(len(w.m.list[kl]))
	for _, e := range []error{wantInt(incr, n+1), wantInt(push, l), wantInt(llen, l),
		wantString(get, strconv.FormatInt(n+1, 10), true)} {
		if e != nil {
			return fmt.Errorf("MULTI/EXEC on %s: %w", kn, e)
		}
	}
	return nil
}

// run executes steps one by one or as one pipeline and checks each.
func run(ctx context.Context, cl *redis.Client, steps []step, pipelined bool) error {
	if pipelined {
		cl.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, s := range steps {
				s.issue(ctx, p)
			}
			return nil
		})
	} else {
		for _, s := range steps {
			s.issue(ctx, cl)
		}
	}
	for i, s := range steps {
		if err := s.check(); err != nil {
			return fmt.Errorf("%s (step %d of %d, pipelined %v): %w", s.desc, i+1, len(steps), pipelined, err)
		}
	}
	return nil
}

// verify reads every key of the worker through cl and compares it with
// the model.
func (w *worker) verify(ctx context.Context, cl *redis.Client) error {
	var steps []step
	for _, k := range w.allKeys() {
		steps = append(steps, w.read(k))
	}
	return run(ctx, cl, steps, true)
}

func dedup(keys []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// ---- reply checks ----

func wantStatus(c *redis.StatusCmd, want string) error {
	if c.Err() != nil || c.Val() != want {
		return fmt.Errorf("got %q, %v; want %q", c.Val(), c.Err(), want)
	}
	return nil
}

// wantString checks a bulk reply; ok false means a nil reply.
func wantString(c *redis.StringCmd, want string, ok bool) error {
	if !ok {
		if c.Err() != redis.Nil {
			return fmt.Errorf("got %q, %v; want nil", c.Val(), c.Err())
		}
		return nil
	}
	if c.Err() != nil || c.Val() != want {
		return fmt.Errorf("got %q, %v; want %q", c.Val(), c.Err(), want)
	}
	return nil
}

func wantInt(c *redis.IntCmd, want int64) error {
	if c.Err() != nil || c.Val() != want {
		return fmt.Errorf("got %d, %v; want %d", c.Val(), c.Err(), want)
	}
	return nil
}

// wantEqual checks any command's value with reflect.DeepEqual (empty
// collections of the model and of the reply compare equal).
func wantEqual[T any](c interface {
	Err() error
	Val() T
}, want T) error {
	got := c.Val()
	if c.Err() != nil || !(reflect.DeepEqual(got, want) || (isEmpty(got) && isEmpty(want))) {
		return fmt.Errorf("got %v, %v; want %v", got, c.Err(), want)
	}
	return nil
}

func isEmpty(v any) bool {
	r := reflect.ValueOf(v)
	return (r.Kind() == reflect.Slice || r.Kind() == reflect.Map) && r.Len() == 0
}
