package wal

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
)

var errInjected = errors.New("injected EIO")

// TestFsyncFailureIsSticky: with policy always, 50 writers run until the
// 5th fsync fails. Nothing covered by the failed fsync is acknowledged, every
// later WaitDurable and Append fails with ErrWriteFailed, and what was
// acknowledged survives a reopen.
func TestFsyncFailureIsSticky(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir, FsyncAlways)
	var logp atomic.Pointer[Log]
	var syncs atomic.Int64
	var durableAtFailure atomic.Uint64
	cfg.FaultHook = func(op DiskOp) error {
		if op == DiskSync && syncs.Add(1) == 5 {
			durableAtFailure.Store(logp.Load().LastIndex())
			return errInjected
		}
		return nil
	}
	l := mustOpen(t, cfg)
	logp.Store(l)

	var mu sync.Mutex
	acked := map[uint64]string{}
	var failedWaits []uint64
	var wg sync.WaitGroup
	for w := 0; w < 50; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				p := fmt.Sprintf("w%d-%d", w, i)
				idx, err := l.Append(1, 1, []byte(p))
				if err != nil {
					if !errors.Is(err, ErrWriteFailed) {
						t.Errorf("Append: %v, want ErrWriteFailed", err)
					}
					return
				}
				err = l.WaitDurable(context.Background(), idx)
				mu.Lock()
				if err == nil {
					acked[idx] = p
				} else {
					failedWaits = append(failedWaits, idx)
				}
				mu.Unlock()
				if err != nil {
					if !errors.Is(err, ErrWriteFailed) || !errors.Is(err, errInjected) {
						t.Errorf("WaitDurable: %v, want ErrWriteFailed wrapping the injected error", err)
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	d := durableAtFailure.Load()
	t.Logf("fsync 5 failed with %d records durable; %d acknowledged, %d waits failed", d, len(acked), len(failedWaits))
	if d == 0 || len(failedWaits) == 0 {
		t.Fatalf("the failure was not exercised: durable %d, failed waits %d", d, len(failedWaits))
	}
	for idx := range acked {
		if idx > d {
			t.Fatalf("record %d acknowledged after the fsync covering it failed (durable was %d)", idx, d)
		}
	}
	for _, idx := range failedWaits {
		if idx <= d {
			t.Fatalf("WaitDurable(%d) failed although %d was durable", idx, d)
		}
	}
	if l.LastIndex() != d {
		t.Fatalf("LastIndex %d after failure, want %d", l.LastIndex(), d)
	}
	if err := l.Err(); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("Err() = %v", err)
	}
	if err := l.WaitDurable(context.Background(), d); err != nil {
		t.Fatalf("WaitDurable(%d) for a record durable before the failure: %v", d, err)
	}
	if _, err := l.Append(1, 1, []byte("late")); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("Append after failure: %v", err)
	}
	if err := l.TruncateBack(1); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("TruncateBack after failure: %v", err)
	}
	if err := l.Close(); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("Close after failure: %v, want ErrWriteFailed", err)
	}
	cfg.FaultHook = nil
	l = mustOpen(t, cfg)
	defer l.Close()
	for idx, p := range acked {
		r, err := l.Read(idx)
		if err != nil || string(r.Payload) != p {
			t.Fatalf("after reopen Read(%d) = %q, %v; want %q", idx, r.Payload, err, p)
		}
	}
}

// TestWriteFailureIsSticky: a failed write(2) fails the batch's waiters and
// everything after.
func TestWriteFailureIsSticky(t *testing.T) {
	cfg := testConfig(t, t.TempDir(), FsyncNo)
	var writes atomic.Int64
	cfg.FaultHook = func(op DiskOp) error {
		if op == DiskWrite && writes.Add(1) >= 3 {
			return errInjected
		}
		return nil
	}
	l := mustOpen(t, cfg)
	defer l.Close()
	ctx := context.Background()
	for i := 1; i <= 2; i++ {
		idx, err := l.Append(1, 1, []byte("ok"))
		if err != nil {
			t.Fatal(err)
		}
		if err := l.WaitDurable(ctx, idx); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	idx, err := l.Append(1, 1, []byte("fails"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WaitDurable(ctx, idx); !errors.Is(err, ErrWriteFailed) || !errors.Is(err, errInjected) {
		t.Fatalf("WaitDurable of the failed write: %v", err)
	}
	if _, err := l.Append(1, 1, []byte("later")); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("Append after failure: %v", err)
	}
	if err := l.WaitIndex(ctx, idx); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("WaitIndex after failure: %v", err)
	}
	if l.LastIndex() != 2 || !l.Stats().Failed {
		t.Fatalf("LastIndex %d, stats %+v", l.LastIndex(), l.Stats())
	}
	if _, err := l.Read(2); err != nil {
		t.Fatalf("reading a durable record after failure: %v", err)
	}
}

// TestEverySecFsyncFailure: the background fsync fails; records already
// acknowledged stay acknowledged (everysec acknowledges at write), the log
// fails and refuses new appends.
func TestEverySecFsyncFailure(t *testing.T) {
	cfg := testConfig(t, t.TempDir(), FsyncEverySec)
	cfg.SyncInterval = 5 * time.Millisecond
	cfg.FaultHook = func(op DiskOp) error {
		if op == DiskSync {
			return errInjected
		}
		return nil
	}
	l := mustOpen(t, cfg)
	defer l.Close()
	idx, err := l.Append(1, 1, []byte("acked at write"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WaitDurable(context.Background(), idx); err != nil {
		t.Fatalf("WaitDurable: %v", err)
	}
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		return l.Err() != nil, "background fsync has not failed yet"
	})
	if !errors.Is(l.Err(), ErrWriteFailed) || !errors.Is(l.Err(), errInjected) {
		t.Fatalf("Err() = %v", l.Err())
	}
	if _, err := l.Append(1, 1, []byte("refused")); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("Append after fsync failure: %v", err)
	}
}
