package integration

// Steady load on one connection per loader, with a record of what was
// acknowledged, so a test can tell error replies, clean closes and lost
// writes apart.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"strconv"
	"sync/atomic"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// loader sends a mix of writes and reads of its own keys on one
// connection to one frontend until stopped or until the frontend closes
// the connection; then it is done. Fields other than ops are owned by the
// loader's goroutine until done is closed.
type loader struct {
	fe     string // frontend name
	prefix string
	rnd    *rand.Rand
	cl     *redis.Client
	conn   *redis.Conn // one sticky connection: no silent reconnects

	ops  atomic.Int64 // requests answered so far
	done chan struct{}

	seq       int
	acked     map[string]string // key → value of every acknowledged SET
	keys      []string          // acked keys, for picking reads
	counter   int64             // acknowledged INCRs of prefix+"ctr"
	uncertain map[string]string // writes cut by a close: the key holds this value or nothing
	incrCut   bool              // an INCR was cut by a close
	requests  int64             // commands sent
	closed    error             // the clean close that ended the loader, if any
	reset     error             // a reset (RST) that ended it, if any
	errs      []error           // error replies, wrong answers, other transport errors
}

func newLoader(fe, addr, prefix string, seed int64) *loader {
	cl := newClient(addr, 1)
	return &loader{fe: fe, prefix: prefix, rnd: rand.New(rand.NewSource(seed)), cl: cl,
		conn: cl.Conn(), done: make(chan struct{}),
		acked: map[string]string{}, uncertain: map[string]string{}}
}

// run loops until stop is closed or the connection ends.
func (l *loader) run(stop <-chan struct{}) {
	defer close(l.done)
	defer l.cl.Close()
	defer l.conn.Close()
	ctx := context.Background()
	for len(l.errs) == 0 && !l.cut() {
		select {
		case <-stop:
			return
		default:
		}
		l.step(ctx)
	}
}

// outcome sorts a command's error: nil, a clean close (the loader is
// done), or an error.
func (l *loader) outcome(what string, err error) (ok bool) {
	switch {
	case err == nil:
		return true
	case errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed):
		if l.closed == nil {
			l.closed = err
		}
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		l.reset = err
	default:
		var reply redis.Error
		if errors.As(err, &reply) && err != redis.Nil {
			l.errs = append(l.errs, fmt.Errorf("%s: error reply %w", what, err))
		} else {
			l.errs = append(l.errs, fmt.Errorf("%s: %w", what, err))
		}
	}
	return false
}

// cut reports whether the frontend ended the connection.
func (l *loader) cut() bool { return l.closed != nil || l.reset != nil }

func (l *loader) wrong(what string, got, want any) {
	l.errs = append(l.errs, fmt.Errorf("%s: got %v, want %v", what, got, want))
}

func (l *loader) newKey() (string, string) {
	l.seq++
	return l.prefix + strconv.Itoa(l.seq), "v" + strconv.Itoa(l.seq) + "-" + strconv.Itoa(l.rnd.Intn(1e6))
}

func (l *loader) ack(k, v string) {
	l.acked[k] = v
	l.keys = append(l.keys, k)
}

func (l *loader) pickAcked() string { return l.keys[l.rnd.Intn(len(l.keys))] }

func (l *loader) step(ctx context.Context) {
	r := l.rnd.Intn(20)
	if len(l.keys) < 4 {
		r = 0
	}
	switch {
	case r < 9: // SET of a new key
		k, v := l.newKey()
		l.requests++
		err := l.conn.Set(ctx, k, v, 0).Err()
		if l.outcome("SET "+k, err) {
			l.ack(k, v)
		} else if l.cut() {
			l.uncertain[k] = v
		}
	case r < 12: // INCR of the loader's counter
		l.requests++
		n, err := l.conn.Incr(ctx, l.prefix+"ctr").Result()
		if l.outcome("INCR", err) {
			l.counter++
			if n != l.counter {
				l.wrong("INCR", n, l.counter)
			}
		} else if l.cut() {
			l.incrCut = true
		}
	case r < 15: // GET of an acknowledged key
		k := l.pickAcked()
		l.requests++
		v, err := l.conn.Get(ctx, k).Result()
		if l.outcome("GET "+k, err) && v != l.acked[k] {
			l.wrong("GET "+k, v, l.acked[k])
		}
	case r < 18: // MGET of acknowledged keys, across shards
		keys := []string{l.pickAcked(), l.pickAcked(), l.pickAcked(), l.pickAcked()}
		l.requests++
		vals, err := l.conn.MGet(ctx, keys...).Result()
		if l.outcome(fmt.Sprint("MGET ", keys), err) {
			for i, k := range keys {
				if vals[i] != l.acked[k] {
					l.wrong("MGET "+k, vals[i], l.acked[k])
				}
			}
		}
	default: // a pipeline: two SETs of new keys and a GET
		k1, v1 := l.newKey()
		k2, v2 := l.newKey()
		kr := l.pickAcked()
		var s1, s2 *redis.StatusCmd
		var g *redis.StringCmd
		l.requests += 3
		l.conn.Pipelined(ctx, func(p redis.Pipeliner) error {
			s1, s2, g = p.Set(ctx, k1, v1, 0), p.Set(ctx, k2, v2, 0), p.Get(ctx, kr)
			return nil
		})
		for _, s := range []struct {
			k, v string
			c    *redis.StatusCmd
		}{{k1, v1, s1}, {k2, v2, s2}} {
			if l.outcome("pipelined SET "+s.k, s.c.Err()) {
				l.ack(s.k, s.v)
			} else if l.cut() {
				l.uncertain[s.k] = s.v
			}
		}
		if v, err := g.Result(); l.outcome("pipelined GET "+kr, err) && v != l.acked[kr] {
			l.wrong("pipelined GET "+kr, v, l.acked[kr])
		}
	}
	if !l.cut() {
		l.ops.Add(1)
	}
}

// verify reads every key the loader wrote through cl: acknowledged writes
// must be there, writes cut by a close may be there or not.
func (l *loader) verify(ctx context.Context, cl *redis.Client) error {
	keys := make([]string, 0, len(l.acked)+len(l.uncertain))
	for k := range l.acked {
		keys = append(keys, k)
	}
	for k := range l.uncertain {
		keys = append(keys, k)
	}
	for lo := 0; lo < len(keys); lo += 200 {
		chunk := keys[lo:min(lo+200, len(keys))]
		vals, err := cl.MGet(ctx, chunk...).Result()
		if err != nil {
			return fmt.Errorf("read back %s: %w", l.prefix, err)
		}
		for i, k := range chunk {
			if want, ok := l.acked[k]; ok && vals[i] != want {
				return fmt.Errorf("acknowledged write lost: %s = %v, want %q", k, vals[i], want)
			}
			if want, ok := l.uncertain[k]; ok && vals[i] != nil && vals[i] != want {
				return fmt.Errorf("cut write %s = %v, want %q or nothing", k, vals[i], want)
			}
		}
	}
	n, err := cl.Get(ctx, l.prefix+"ctr").Int64()
	if err != nil && !(err == redis.Nil && l.counter == 0) {
		return fmt.Errorf("read back %sctr: %w", l.prefix, err)
	}
	if n != l.counter && !(l.incrCut && n == l.counter+1) {
		return fmt.Errorf("%sctr = %d, acknowledged INCRs %d (one cut: %v)", l.prefix, n, l.counter, l.incrCut)
	}
	return nil
}
