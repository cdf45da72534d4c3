// Package waitload is the write side of failover tests: a Writer sends
// each write as SET key value + WAIT 1 <timeout> in one pipeline and
// records what was acknowledged and what WAIT confirmed on a replica;
// Verify reads it all back and counts what was lost. Across a master
// failover asynchronous replication may lose an acknowledged write that
// no replica had yet; a write WAIT confirmed must never be lost.
//
// A Writer belongs to one goroutine; read its fields, or pass it to
// Verify, only once that goroutine is done with it.
package waitload

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Writer writes through one client and records the outcomes.
type Writer struct {
	// Acked holds every write whose SET was answered +OK.
	Acked map[string]string
	// Waited marks the acknowledged writes whose WAIT returned >= 1.
	Waited map[string]bool
	// Failed counts SETs that ended in an error (applied or not: unknown).
	Failed int
	// Plain makes Write send the SET alone, without WAIT: the control
	// group for "lost without WAIT" counts. Set it before the first Write.
	Plain bool

	rdb  *redis.Client
	wait time.Duration
}

// NewWriter returns a Writer over rdb whose WAIT waits up to wait for one
// replica (0: 100 ms). rdb should not retry on its own (MaxRetries -1),
// so an error means the outcome is unknown rather than maybe doubled.
func NewWriter(rdb *redis.Client, wait time.Duration) *Writer {
	if wait <= 0 {
		wait = 100 * time.Millisecond
	}
	return &Writer{Acked: map[string]string{}, Waited: map[string]bool{}, rdb: rdb, wait: wait}
}

// Write sets key to value, then WAITs for one replica, and records the
// outcome. It returns the SET's error (nil: acknowledged) and whether WAIT
// confirmed it. Write each key once: the record keeps the last value.
func (w *Writer) Write(ctx context.Context, key, value string) (waited bool, err error) {
	pipe := w.rdb.Pipeline()
	set := pipe.Set(ctx, key, value, 0)
	var wait *redis.Cmd
	if !w.Plain {
		wait = pipe.Do(ctx, "WAIT", 1, w.wait.Milliseconds())
	}
	pipe.Exec(ctx) // errors are read per command
	if err := set.Err(); err != nil {
		w.Failed++
		return false, err
	}
	w.Acked[key] = value
	if wait == nil {
		return false, nil
	}
	if n, err := wait.Int(); err == nil && n >= 1 {
		w.Waited[key] = true
		return true, nil
	}
	return false, nil
}

// Tally is what Verify found.
type Tally struct {
	Acked      int      // acknowledged writes
	Waited     int      // ... of which WAIT confirmed
	LostWaited int      // confirmed writes not read back: must be 0
	LostOther  int      // unconfirmed acknowledged writes not read back
	Failed     int      // writes that ended in an error (not checked)
	Samples    []string // up to 10 losses of confirmed writes, described
}

func (t Tally) String() string {
	return fmt.Sprintf("%d acknowledged, %d confirmed by WAIT >= 1; lost: %d of the WAITed, %d of the rest; %d failed with an error",
		t.Acked, t.Waited, t.LostWaited, t.LostOther, t.Failed)
}

// Verify reads every acknowledged write of ws back through rdb (MGET in
// batches, each retried every 10 ms until it succeeds or ctx ends) and
// counts what was lost.
func Verify(ctx context.Context, rdb *redis.Client, ws ...*Writer) (Tally, error) {
	var t Tally
	for _, w := range ws {
		t.Failed += w.Failed
		keys := make([]string, 0, len(w.Acked))
		for k := range w.Acked {
			keys = append(keys, k)
		}
		for len(keys) > 0 {
			batch := keys[:min(len(keys), 500)]
			keys = keys[len(batch):]
			vals, err := mget(ctx, rdb, batch)
			if err != nil {
				return t, err
			}
			for i, k := range batch {
				t.Acked++
				ok := vals[i] == w.Acked[k]
				switch {
				case w.Waited[k]:
					t.Waited++
					if !ok {
						t.LostWaited++
						if len(t.Samples) < 10 {
							t.Samples = append(t.Samples, fmt.Sprintf("%s = %q, read %v", k, w.Acked[k], vals[i]))
						}
					}
				case !ok:
					t.LostOther++
				}
			}
		}
	}
	return t, nil
}

// mget reads keys, retrying until it succeeds or ctx ends.
func mget(ctx context.Context, rdb *redis.Client, keys []string) ([]any, error) {
	for {
		vals, err := rdb.MGet(ctx, keys...).Result()
		if err == nil {
			return vals, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waitload: MGET: %w", errors.Join(err, ctx.Err()))
		case <-time.After(10 * time.Millisecond):
		}
	}
}
