package compose

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// newClient is a go-redis client for one frontend that never retries on
// its own (MaxRetries -1: a command whose connection broke is reported,
// not silently re-sent, so acknowledgements can be counted).
func newClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:            addr,
		Protocol:        2,
		DisableIdentity: true,
		MaxRetries:      -1,
		PoolSize:        1,
		DialTimeout:     2 * time.Second,
		ReadTimeout:     10 * time.Second,
		WriteTimeout:    10 * time.Second,
	})
}

// errKind names an error for counting: a server error reply by its code
// (CLUSTERDOWN), a connection that ended (eof, refused, reset), or the
// message.
func errKind(err error) string {
	var rerr redis.Error
	switch {
	case errors.Is(err, redis.Nil):
		return "nil reply"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.As(err, &rerr):
		code, _, _ := strings.Cut(rerr.Error(), " ")
		return code
	}
	return err.Error()
}

// cleanClose: the connection ended without a reply to the command just
// sent, which the server never read: the frontend closed it while
// draining (eof), nothing listens any more (refused), or (most likely) Docker's
// userland proxy in front of the published port closed with that command
// still unread, which makes the kernel answer with a reset (reset: a
// request-response client like this one sends a command only after the
// previous reply arrived, so no reply was lost; the frontend itself ends
// drained connections with EOF, which the direct tests assert). Anything
// else is a failure.
func cleanClose(kind string) bool { return kind == "eof" || kind == "refused" || kind == "reset" }

// span bounds a counter whose increments were not all acknowledged: its
// value must lie in [acked, tried].
type span struct {
	acked, tried int64
}

// ledger records every acknowledged write, to check at the end that none
// was lost. Safe for concurrent use.
type ledger struct {
	mu     sync.Mutex
	values map[string]string            // SET, each key written once
	hashes map[string]map[string]string // HSET, each field written once
	incrs  map[string]*span             // INCR counters
	lists  map[string]*span             // RPUSH lists (length)
}

func newLedger() *ledger {
	return &ledger{values: map[string]string{}, hashes: map[string]map[string]string{},
		incrs: map[string]*span{}, lists: map[string]*span{}}
}

func (l *ledger) set(k, v string) {
	l.mu.Lock()
	l.values[k] = v
	l.mu.Unlock()
}

func (l *ledger) hset(k, f, v string) {
	l.mu.Lock()
	if l.hashes[k] == nil {
		l.hashes[k] = map[string]string{}
	}
	l.hashes[k][f] = v
	l.mu.Unlock()
}

// try counts an attempt on a counter and returns a function that counts
// its acknowledgement.
func (l *ledger) try(m map[string]*span, k string) (ack func()) {
	l.mu.Lock()
	s := m[k]
	if s == nil {
		s = &span{}
		m[k] = s
	}
	s.tried++
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		s.acked++
		l.mu.Unlock()
	}
}

// writes is the number of acknowledged writes recorded.
func (l *ledger) writes() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.values)
	for _, h := range l.hashes {
		n += len(h)
	}
	for _, s := range l.incrs {
		n += int(s.acked)
	}
	for _, s := range l.lists {
		n += int(s.acked)
	}
	return n
}

// verify reads everything back through rdb: every acknowledged write is
// there, and counters lie within their spans.
func (l *ledger) verify(t *testing.T, ctx context.Context, rdb *redis.Client) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range l.values {
			if !yield(k) {
				return
			}
		}
	})
	bad := 0
	report := func(format string, args ...any) {
		if bad++; bad <= 10 {
			t.Errorf(format, args...)
		}
	}
	for i := 0; i < len(keys); i += 500 {
		batch := keys[i:min(i+500, len(keys))]
		got, err := rdb.MGet(ctx, batch...).Result()
		if err != nil {
			t.Fatalf("verify: MGET: %v", err)
		}
		for j, k := range batch {
			if s, _ := got[j].(string); s != l.values[k] {
				report("lost acknowledged write: %s = %q, read %v", k, l.values[k], got[j])
			}
		}
	}
	pipe := rdb.Pipeline()
	hcmds := map[string]*redis.MapStringStringCmd{}
	for k := range l.hashes {
		hcmds[k] = pipe.HGetAll(ctx, k)
	}
	icmds := map[string]*redis.StringCmd{}
	for k := range l.incrs {
		icmds[k] = pipe.Get(ctx, k)
	}
	lcmds := map[string]*redis.IntCmd{}
	for k := range l.lists {
		lcmds[k] = pipe.LLen(ctx, k)
	}
	pipe.Exec(ctx) // errors are checked per command
	for k, fields := range l.hashes {
		got, err := hcmds[k].Result()
		for f, v := range fields {
			if err != nil || got[f] != v {
				report("lost acknowledged HSET %s %s = %q: read %q (%v)", k, f, v, got[f], err)
			}
		}
	}
	for k, s := range l.incrs {
		n, err := icmds[k].Int64()
		if err != nil || n < s.acked || n > s.tried {
			report("counter %s = %d (%v), want %d..%d (acknowledged..tried)", k, n, err, s.acked, s.tried)
		}
	}
	for k, s := range l.lists {
		n, err := lcmds[k].Result()
		if err != nil || n < s.acked || n > s.tried {
			report("list %s has %d elements (%v), want %d..%d", k, n, err, s.acked, s.tried)
		}
	}
	if bad > 10 {
		t.Errorf("... %d problems in all", bad)
	}
}

// worker is one client connection to one frontend, issuing commands in a
// loop and counting what happened.
type worker struct {
	id   int
	fe   frontend
	rdb  *redis.Client
	rng  *rand.Rand
	led  *ledger
	keys []string // this worker's acknowledged SET keys, to read back
	seq  int

	ops    atomic.Int64  // commands answered without error
	closed atomic.Value  // string: the clean close that ended the worker
	done   chan struct{} // closed when run returns

	mu      sync.Mutex
	fails   map[string]int // error kind → count
	samples []string
}

func newWorker(id int, fe frontend, seed uint64, led *ledger) *worker {
	return &worker{id: id, fe: fe, rdb: newClient(fe.addr), rng: rand.New(rand.NewPCG(seed, uint64(id))),
		led: led, fails: map[string]int{}, done: make(chan struct{})}
}

func (w *worker) fail(what string, err error) { w.failAs(errKind(err), what+": "+err.Error()) }

// failAs records a failure of the given kind with a sample message.
func (w *worker) failAs(kind, sample string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fails[kind]++
	if len(w.samples) < 5 {
		w.samples = append(w.samples, sample)
	}
}

func (w *worker) failures() (map[string]int, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.fails), slices.Clone(w.samples)
}

// run calls step until ctx ends or step reports that the worker is done.
func (w *worker) run(ctx context.Context, step func(context.Context, *worker) bool) {
	defer close(w.done)
	defer w.rdb.Close()
	defer func() {
		// A bug here must fail the test, not kill the process before
		// its cleanups tear the cluster down.
		if r := recover(); r != nil {
			w.failAs("panic", fmt.Sprintf("%v\n%s", r, debug.Stack()))
		}
	}()
	for ctx.Err() == nil {
		if !step(ctx, w) {
			return
		}
	}
}

// result handles a command's outcome: it counts success, ends the worker
// on a clean close (its frontend went away) and records any other error.
func (w *worker) result(what string, err error) (ok, goOn bool) {
	if err == nil {
		w.ops.Add(1)
		return true, true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false, false
	}
	if k := errKind(err); cleanClose(k) {
		w.closed.Store(k)
		return false, false
	}
	w.fail(what, err)
	return false, true
}

// mixedStep issues one command of a mixed workload: new SETs, GETs and
// MGETs of acknowledged keys (checked), INCR, HSET, RPUSH.
func mixedStep(ctx context.Context, w *worker) bool {
	w.seq++
	r := w.rng.IntN(100)
	switch {
	case r < 35 || len(w.keys) < 3:
		k, v := fmt.Sprintf("mix:w%d:%d", w.id, w.seq), strconv.FormatUint(w.rng.Uint64(), 36)
		ok, goOn := w.result("SET "+k, w.rdb.Set(ctx, k, v, 0).Err())
		if ok {
			w.led.set(k, v)
			w.keys = append(w.keys, k)
		}
		return goOn
	case r < 55:
		k := w.keys[w.rng.IntN(len(w.keys))]
		got, err := w.rdb.Get(ctx, k).Result()
		ok, goOn := w.result("GET "+k, err)
		if ok && got != w.led.get(k) {
			w.fail("GET "+k, fmt.Errorf("wrong value %q", got))
		}
		return goOn
	case r < 65:
		ks := []string{w.keys[w.rng.IntN(len(w.keys))], w.keys[w.rng.IntN(len(w.keys))], w.keys[w.rng.IntN(len(w.keys))]}
		got, err := w.rdb.MGet(ctx, ks...).Result()
		ok, goOn := w.result("MGET", err)
		for i := range ks {
			if !ok {
				break
			}
			if s, _ := got[i].(string); s != w.led.get(ks[i]) {
				w.fail("MGET "+ks[i], fmt.Errorf("wrong value %v", got[i]))
			}
		}
		return goOn
	case r < 75:
		k := fmt.Sprintf("mix:w%d:ctr%d", w.id, w.rng.IntN(4))
		ack := w.led.try(w.led.incrs, k)
		ok, goOn := w.result("INCR "+k, w.rdb.Incr(ctx, k).Err())
		if ok {
			ack()
		}
		return goOn
	case r < 88:
		k, f, v := fmt.Sprintf("mix:w%d:h%d", w.id, w.rng.IntN(8)), "f"+strconv.Itoa(w.seq), strconv.Itoa(w.seq)
		ok, goOn := w.result("HSET "+k, w.rdb.HSet(ctx, k, f, v).Err())
		if ok {
			w.led.hset(k, f, v)
		}
		return goOn
	default:
		k := fmt.Sprintf("mix:w%d:list", w.id)
		ack := w.led.try(w.led.lists, k)
		ok, goOn := w.result("RPUSH "+k, w.rdb.RPush(ctx, k, w.seq).Err())
		if ok {
			ack()
		}
		return goOn
	}
}

func (l *ledger) get(k string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.values[k]
}

// --- raw probes, for timing a frontend from its first connection ----------

// probe is a bare RESP connection used to time a starting frontend
// without a client library's dial retries in the way.
type probe struct {
	c net.Conn
	r *bufio.Reader
}

func dialProbe(addr string) (*probe, error) {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return nil, err
	}
	return &probe{c: c, r: bufio.NewReader(c)}, nil
}

// do sends a command and reads one reply: string, int64, nil, []any or
// an error reply as redisErr.
func (p *probe) do(args ...string) (any, error) {
	p.c.SetDeadline(time.Now().Add(5 * time.Second)) // a frontend may hold a request up to failover-buffer (2 s)
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(p.c, b.String()); err != nil {
		return nil, err
	}
	return readValue(p.r)
}

type redisErr string

func (e redisErr) Error() string { return string(e) }

func readValue(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty reply line")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return redisErr(line[1:]), nil
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = readValue(r); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("bad reply line %q", line)
}

func (p *probe) close() { p.c.Close() }

// shardsWithMaster counts the shards SHOAL SHARDS lists with a master.
func shardsWithMaster(v any) (n int, desc string) {
	shards, _ := v.([]any)
	var parts []string
	for _, s := range shards {
		f, _ := s.([]any)
		if len(f) < 4 {
			continue
		}
		master, _ := f[1].(string)
		if master != "" {
			n++
		} else {
			master = "(none)"
		}
		parts = append(parts, fmt.Sprintf("%v master=%s epoch=%v replicas=%v", f[0], master, f[2], f[3]))
	}
	return n, strings.Join(parts, "; ")
}

// startup is what a probe saw of one port while a frontend started there.
type startup struct {
	port int
	// opened: the host port first accepted a connection. Docker's proxy
	// for it starts while the container's network is set up, before its
	// process runs, so this is a host-clock bound on the container start.
	opened                  time.Time
	listening, served, topo time.Time // first PONG, first data command served, SHOAL SHARDS complete
}

// watchStartup polls 127.0.0.1:port every 2 ms until a frontend there
// answers PING, serves a data command (GET; -CLUSTERDOWN until it is
// ready) and lists shards shards with a master, or ctx ends.
func watchStartup(ctx context.Context, port, shards int) startup {
	s := startup{port: port}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	var p *probe
	defer func() {
		if p != nil {
			p.close()
		}
	}()
	for ctx.Err() == nil && (s.listening.IsZero() || s.served.IsZero() || s.topo.IsZero()) {
		if p == nil {
			p, _ = dialProbe(addr)
			if p != nil && s.opened.IsZero() {
				s.opened = time.Now()
			}
		}
		if p != nil {
			if err := s.poll(p, shards); err != nil {
				p.close()
				p = nil
			}
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	return s
}

func (s *startup) poll(p *probe, shards int) error {
	v, err := p.do("PING")
	if err != nil {
		return err
	}
	now := time.Now()
	if v != "PONG" {
		return nil
	}
	if s.listening.IsZero() {
		s.listening = now
	}
	v, err = p.do("GET", "startup-probe")
	if err != nil {
		return err
	}
	now = time.Now()
	if _, isErr := v.(redisErr); !isErr && s.served.IsZero() {
		s.served = now
	}
	v, err = p.do("SHOAL", "SHARDS")
	if err != nil {
		return err
	}
	now = time.Now()
	if n, _ := shardsWithMaster(v); n == shards && s.topo.IsZero() {
		s.topo = now
	}
	return nil
}
