package wal

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"testing"
)

// testSeed returns the seed for random tests: WAL_TEST_SEED or a fixed
// default, and logs it.
func testSeed(t *testing.T) int64 {
	seed := int64(20261122)
	if s := os.Getenv("WAL_TEST_SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("WAL_TEST_SEED: %v", err)
		}
		seed = v
	}
	t.Logf("seed %d (set WAL_TEST_SEED to replay)", seed)
	return seed
}

// TestConcurrentReadsOfOldSegments: many goroutines read random records from
// hundreds of tiny segments (tail cache off, so every read goes to tidwall)
// while a writer appends and the front is truncated. tidwall/wal v1.2.1
// panics under this load (its issue #34) unless reads are serialized.
func TestConcurrentReadsOfOldSegments(t *testing.T) {
	seed := testSeed(t)
	cfg := testConfig(t, t.TempDir(), FsyncNo)
	cfg.SegmentSize = 256
	cfg.TailCacheBytes = -1
	l := mustOpen(t, cfg)
	defer l.Close()
	const n = 2000
	appendN(t, l, n, 1)
	segs, _, _ := listSegments(l.genDir)
	t.Logf("%d segments", len(segs))

	const readers, reads = 16, 300
	var wg sync.WaitGroup
	for g := 0; g < readers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed + int64(g)))
			for i := 0; i < reads; i++ {
				idx := 1 + uint64(rng.Intn(n))
				if i%10 == 0 {
					recs, err := l.ReadFrom(idx, 20)
					if errors.Is(err, ErrCompacted) {
						continue
					}
					if err != nil {
						t.Errorf("ReadFrom(%d): %v", idx, err)
						return
					}
					for j, r := range recs {
						if r.Index != idx+uint64(j) || !bytes.Equal(r.Payload, payloadFor(r.Index)) {
							t.Errorf("ReadFrom(%d)[%d] = record %d %q", idx, j, r.Index, r.Payload)
							return
						}
					}
					continue
				}
				r, err := l.Read(idx)
				if errors.Is(err, ErrCompacted) {
					continue
				}
				if err != nil || !bytes.Equal(r.Payload, payloadFor(idx)) {
					t.Errorf("Read(%d) = %q, %v", idx, r.Payload, err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // a writer keeps the tail moving
		defer wg.Done()
		for i := 0; i < 200; i++ {
			next := l.NextIndex()
			idx, err := l.Append(1, int64(1000+next), payloadFor(next))
			if err != nil || idx != next {
				t.Errorf("Append = %d, %v; want %d", idx, err, next)
				return
			}
		}
	}()
	if err := l.TruncateFront(100); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := l.WaitDurable(context.Background(), n+200); err != nil {
		t.Fatal(err)
	}
	checkRecords(t, l, 100, n+200)
}

// TestTailCacheServesReads: with the cache on, recent records come from
// memory and agree with the files.
func TestTailCacheServesReads(t *testing.T) {
	cfg := testConfig(t, t.TempDir(), FsyncNo)
	cfg.TailCacheBytes = 2048
	l := mustOpen(t, cfg)
	defer l.Close()
	appendN(t, l, 500, 3)
	l.mu.Lock()
	cf, ok := l.cache.firstCached()
	cached := l.cache.len()
	bytesCached := l.cache.bytes
	l.mu.Unlock()
	if !ok || cf+uint64(cached)-1 != 500 || bytesCached > 2048 || cached < 10 {
		t.Fatalf("cache holds %d records from %d (%d bytes)", cached, cf, bytesCached)
	}
	checkRecords(t, l, 1, 500)
	recs, err := l.ReadFrom(cf-5, 20) // straddles files and cache
	if err != nil || len(recs) != 20 {
		t.Fatalf("ReadFrom across the cache boundary: %d records, %v", len(recs), err)
	}
	for j, r := range recs {
		if r.Index != cf-5+uint64(j) || !bytes.Equal(r.Payload, payloadFor(r.Index)) {
			t.Fatalf("record %d wrong: %+v", j, r)
		}
	}
	if err := l.TruncateBack(495); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Read(496); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Read(496) after TruncateBack: %v", err)
	}
	appendN(t, l, 3, 4)
	if r, _ := l.Read(496); r.Epoch != 4 {
		t.Fatalf("Read(496) served a stale cached record: epoch %d", r.Epoch)
	}
}
