package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err == nil || !strings.Contains(err.Error(), "Dir") {
		t.Fatalf("DefaultConfig without Dir: got %v, want an error naming Dir", err)
	}
	cfg := DefaultConfig()
	cfg.Dir = t.TempDir()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	cfg.Fsync = Policy(9)
	cfg.SegmentSize = -1
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "Fsync") || !strings.Contains(err.Error(), "SegmentSize") {
		t.Fatalf("got %v, want errors naming Fsync and SegmentSize", err)
	}
	for _, s := range []string{"always", "everysec", "no"} {
		p, err := ParsePolicy(s)
		if err != nil || p.String() != s {
			t.Fatalf("ParsePolicy(%q) = %v, %v", s, p, err)
		}
		var q Policy
		if err := q.UnmarshalText([]byte(s)); err != nil || q != p {
			t.Fatalf("UnmarshalText(%q) = %v, %v", s, q, err)
		}
	}
	if _, err := ParsePolicy("sometimes"); err == nil {
		t.Fatal("ParsePolicy accepted an unknown word")
	}
}

func TestRoundTripAndReopen(t *testing.T) {
	for _, policy := range []Policy{FsyncAlways, FsyncEverySec, FsyncNo} {
		t.Run(policy.String(), func(t *testing.T) {
			dir := t.TempDir()
			l := mustOpen(t, testConfig(t, dir, policy))
			if l.FirstIndex() != 1 || l.LastIndex() != 0 || l.NextIndex() != 1 {
				t.Fatalf("new log: first %d last %d next %d, want 1 0 1", l.FirstIndex(), l.LastIndex(), l.NextIndex())
			}
			if _, ok := l.LastEpoch(); ok {
				t.Fatal("LastEpoch ok on an empty log")
			}
			last := appendN(t, l, 300, 4) // several 4 KiB segments
			if last != 300 || l.LastIndex() != 300 {
				t.Fatalf("last %d, LastIndex %d, want 300", last, l.LastIndex())
			}
			if e, ok := l.LastEpoch(); !ok || e != 4 {
				t.Fatalf("LastEpoch = %d, %v; want 4, true", e, ok)
			}
			checkRecords(t, l, 1, 300)
			recs, err := l.ReadFrom(290, 100)
			if err != nil || len(recs) != 11 || recs[0].Index != 290 || recs[10].Index != 300 {
				t.Fatalf("ReadFrom(290, 100) = %d records, %v", len(recs), err)
			}
			if recs, err := l.ReadFrom(301, 10); err != nil || len(recs) != 0 {
				t.Fatalf("ReadFrom(LastIndex+1) = %d records, %v; want none, nil", len(recs), err)
			}
			if _, err := l.Read(301); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Read(301): %v, want ErrUnavailable", err)
			}
			if _, err := l.Read(0); !errors.Is(err, ErrCompacted) {
				t.Fatalf("Read(0): %v, want ErrCompacted", err)
			}
			size := l.Size()
			if size <= 300*RecordHeaderSize {
				t.Fatalf("Size %d too small for 300 records", size)
			}
			if err := l.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := l.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if _, err := l.Append(1, 1, nil); !errors.Is(err, ErrClosed) {
				t.Fatalf("Append after Close: %v", err)
			}

			l = mustOpen(t, testConfig(t, dir, policy))
			defer l.Close()
			if l.FirstIndex() != 1 || l.LastIndex() != 300 || l.NextIndex() != 301 {
				t.Fatalf("reopened: first %d last %d next %d", l.FirstIndex(), l.LastIndex(), l.NextIndex())
			}
			if l.Size() != size {
				t.Fatalf("reopened Size %d, before %d", l.Size(), size)
			}
			if e, ok := l.LastEpoch(); !ok || e != 4 {
				t.Fatalf("reopened LastEpoch = %d, %v", e, ok)
			}
			checkRecords(t, l, 1, 300)
			appendN(t, l, 5, 5)
			checkRecords(t, l, 1, 305)
		})
	}
}

func TestLockedDirectory(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, testConfig(t, dir, FsyncNo))
	if _, err := Open(testConfig(t, dir, FsyncNo)); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	l.Close()
	l = mustOpen(t, testConfig(t, dir, FsyncNo))
	l.Close()
}

func TestAppendRecordOrder(t *testing.T) {
	l := mustOpen(t, testConfig(t, t.TempDir(), FsyncNo))
	defer l.Close()
	if err := l.AppendRecord(Record{Index: 2, Payload: []byte("x")}); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("AppendRecord(2) on empty log: %v, want ErrOutOfOrder", err)
	}
	for i := uint64(1); i <= 3; i++ {
		if err := l.AppendRecord(Record{Index: i, Epoch: 2, TimeMillis: int64(1000 + i), Payload: payloadFor(i)}); err != nil {
			t.Fatalf("AppendRecord(%d): %v", i, err)
		}
	}
	if err := l.WaitDurable(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	checkRecords(t, l, 1, 3)
	if err := l.WaitDurable(context.Background(), 10); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("WaitDurable(never appended): %v", err)
	}
}

// TestGroupCommit runs 50 concurrent appenders per policy and counts fsyncs.
func TestGroupCommit(t *testing.T) {
	const writers, perWriter = 50, 40
	for _, policy := range []Policy{FsyncAlways, FsyncEverySec, FsyncNo} {
		t.Run(policy.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(t, dir, policy)
			cfg.SegmentSize = 64 << 10
			l := mustOpen(t, cfg)
			start := time.Now()
			var wg sync.WaitGroup
			var mu sync.Mutex
			seen := map[uint64]string{}
			errs := make(chan error, writers)
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < perWriter; i++ {
						p := []byte("w" + string(rune('A'+w%26)) + "-" + time.Now().String())
						idx, err := l.Append(1, 7, p)
						if err != nil {
							errs <- err
							return
						}
						mu.Lock()
						seen[idx] = string(p)
						mu.Unlock()
						if err := l.WaitDurable(context.Background(), idx); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			st := l.Stats()
			total := uint64(writers * perWriter)
			t.Logf("policy %s: %d records in %v (%.0f/s), %d batches, %d fsyncs, %.3f fsyncs/record",
				policy, total, elapsed, float64(total)/elapsed.Seconds(), st.Batches, st.Fsyncs, float64(st.Fsyncs)/float64(total))
			if st.Appends != total || l.LastIndex() != total || len(seen) != int(total) {
				t.Fatalf("appends %d, LastIndex %d, distinct indexes %d, want %d", st.Appends, l.LastIndex(), len(seen), total)
			}
			switch policy {
			case FsyncAlways:
				if st.Fsyncs != st.Batches {
					t.Fatalf("always: %d fsyncs for %d batches", st.Fsyncs, st.Batches)
				}
				if st.Fsyncs*4 > total {
					t.Fatalf("always: %d fsyncs for %d records: group commit is not batching", st.Fsyncs, total)
				}
			case FsyncEverySec:
				if max := uint64(elapsed/cfg.SyncInterval) + 2; st.Fsyncs > max {
					t.Fatalf("everysec: %d fsyncs in %v with interval %v", st.Fsyncs, elapsed, cfg.SyncInterval)
				}
			case FsyncNo:
				if st.Fsyncs != 0 {
					t.Fatalf("no: %d fsyncs before Close", st.Fsyncs)
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = mustOpen(t, cfg)
			defer l.Close()
			for idx, p := range seen {
				r, err := l.Read(idx)
				if err != nil || string(r.Payload) != p {
					t.Fatalf("after reopen Read(%d) = %q, %v; want %q", idx, r.Payload, err, p)
				}
			}
		})
	}
}

func TestTruncateFront(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir, FsyncAlways)
	l := mustOpen(t, cfg)
	appendN(t, l, 200, 1)
	sizeBefore := l.Size()
	if err := l.TruncateFront(120); err != nil {
		t.Fatalf("TruncateFront(120): %v", err)
	}
	if l.FirstIndex() != 120 || l.LastIndex() != 200 {
		t.Fatalf("after TruncateFront: first %d last %d", l.FirstIndex(), l.LastIndex())
	}
	if l.Size() >= sizeBefore {
		t.Fatalf("Size did not shrink: %d -> %d", sizeBefore, l.Size())
	}
	if _, err := l.Read(119); !errors.Is(err, ErrCompacted) {
		t.Fatalf("Read(119): %v, want ErrCompacted", err)
	}
	if _, err := l.ReadFrom(100, 5); !errors.Is(err, ErrCompacted) {
		t.Fatalf("ReadFrom(100): %v, want ErrCompacted", err)
	}
	if err := l.TruncateFront(50); err != nil {
		t.Fatalf("TruncateFront before first: %v, want no-op", err)
	}
	if err := l.TruncateFront(202); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("TruncateFront(202): %v, want ErrOutOfRange", err)
	}
	checkRecords(t, l, 120, 200)
	l.Close()

	l = mustOpen(t, cfg)
	if l.FirstIndex() != 120 || l.LastIndex() != 200 {
		t.Fatalf("reopened: first %d last %d", l.FirstIndex(), l.LastIndex())
	}
	checkRecords(t, l, 120, 200)
	// Empty the log; its position stays.
	if err := l.TruncateFront(201); err != nil {
		t.Fatalf("TruncateFront(201): %v", err)
	}
	if l.FirstIndex() != 201 || l.LastIndex() != 200 {
		t.Fatalf("emptied: first %d last %d", l.FirstIndex(), l.LastIndex())
	}
	if _, ok := l.LastEpoch(); ok {
		t.Fatal("LastEpoch ok on an emptied log")
	}
	l.Close()
	l = mustOpen(t, cfg)
	defer l.Close()
	if l.FirstIndex() != 201 || l.LastIndex() != 200 || l.NextIndex() != 201 {
		t.Fatalf("reopened empty: first %d last %d next %d", l.FirstIndex(), l.LastIndex(), l.NextIndex())
	}
	appendN(t, l, 10, 2)
	checkRecords(t, l, 201, 210)

	// A snapshot taken under the store lock covers NextIndex()-1, which may
	// not be durable yet: TruncateFront writes the queue first.
	var lastQueued uint64
	for i := uint64(211); i <= 215; i++ {
		idx, err := l.Append(1, int64(1000+i), payloadFor(i))
		if err != nil {
			t.Fatal(err)
		}
		lastQueued = idx
	}
	if err := l.TruncateFront(lastQueued + 1); err != nil {
		t.Fatalf("TruncateFront(NextIndex) with records queued: %v", err)
	}
	if l.FirstIndex() != 216 || l.LastIndex() != 215 || l.NextIndex() != 216 {
		t.Fatalf("after TruncateFront(NextIndex): first %d last %d next %d", l.FirstIndex(), l.LastIndex(), l.NextIndex())
	}
	if err := l.TruncateFront(217); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("TruncateFront(NextIndex+1): %v, want ErrOutOfRange", err)
	}
}

func TestTruncateBack(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir, FsyncEverySec)
	l := mustOpen(t, cfg)
	appendN(t, l, 150, 1)
	appendN(t, l, 50, 2)
	if err := l.TruncateBack(130); err != nil {
		t.Fatalf("TruncateBack(130): %v", err)
	}
	if l.LastIndex() != 130 || l.NextIndex() != 131 {
		t.Fatalf("after TruncateBack: last %d next %d", l.LastIndex(), l.NextIndex())
	}
	if e, _ := l.LastEpoch(); e != 1 {
		t.Fatalf("LastEpoch after TruncateBack = %d, want 1", e)
	}
	if _, err := l.Read(131); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Read(131): %v, want ErrUnavailable", err)
	}
	if err := l.TruncateBack(500); err != nil {
		t.Fatalf("TruncateBack past last: %v, want no-op", err)
	}
	// New records continue at 131 with other content.
	idx, err := l.Append(3, 1131, []byte("new-131"))
	if err != nil || idx != 131 {
		t.Fatalf("Append after TruncateBack = %d, %v", idx, err)
	}
	if err := l.WaitDurable(context.Background(), idx); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = mustOpen(t, cfg)
	if l.LastIndex() != 131 {
		t.Fatalf("reopened LastIndex %d, want 131", l.LastIndex())
	}
	checkRecords(t, l, 1, 130)
	if r, err := l.Read(131); err != nil || string(r.Payload) != "new-131" || r.Epoch != 3 {
		t.Fatalf("Read(131) = %+v, %v", r, err)
	}
	if err := l.TruncateFront(100); err != nil {
		t.Fatal(err)
	}
	if err := l.TruncateBack(98); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("TruncateBack below first-1: %v, want ErrOutOfRange", err)
	}
	if err := l.TruncateBack(99); err != nil { // empties the log
		t.Fatalf("TruncateBack(first-1): %v", err)
	}
	if l.FirstIndex() != 100 || l.LastIndex() != 99 || l.NextIndex() != 100 {
		t.Fatalf("emptied: first %d last %d next %d", l.FirstIndex(), l.LastIndex(), l.NextIndex())
	}
	l.Close()
	l = mustOpen(t, cfg)
	defer l.Close()
	if l.FirstIndex() != 100 || l.LastIndex() != 99 {
		t.Fatalf("reopened emptied: first %d last %d", l.FirstIndex(), l.LastIndex())
	}
	appendN(t, l, 3, 4)
	checkRecords(t, l, 100, 102)
}

// TestTruncateBackWithConcurrentAppends: appends racing a TruncateBack are
// ordered before it (and cut) or after it (continuing at index+1); indexes
// stay consecutive.
func TestTruncateBackWithConcurrentAppends(t *testing.T) {
	cfg := testConfig(t, t.TempDir(), FsyncNo)
	cfg.MaxPendingBytes = 64 << 10
	l := mustOpen(t, cfg)
	defer l.Close()
	appendN(t, l, 100, 1)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := l.Append(1, 1, []byte("racing")); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 20; i++ {
		if err := l.TruncateBack(50 + uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	last := l.NextIndex() - 1
	if err := l.WaitDurable(context.Background(), last); err != nil {
		t.Fatal(err)
	}
	recs, err := l.ReadFrom(1, int(last))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if r.Index != uint64(i+1) {
			t.Fatalf("record %d has index %d", i+1, r.Index)
		}
	}
}

func TestReset(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir, FsyncAlways)
	l := mustOpen(t, cfg)
	appendN(t, l, 100, 1)
	if err := l.Reset(0); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("Reset(0): %v", err)
	}
	if err := l.Reset(5000); err != nil {
		t.Fatalf("Reset(5000): %v", err)
	}
	if l.FirstIndex() != 5000 || l.LastIndex() != 4999 || l.NextIndex() != 5000 || l.Size() != 0 {
		t.Fatalf("after Reset: first %d last %d next %d size %d", l.FirstIndex(), l.LastIndex(), l.NextIndex(), l.Size())
	}
	if _, err := l.Read(50); !errors.Is(err, ErrCompacted) {
		t.Fatalf("Read(50) after Reset: %v", err)
	}
	l.Close()
	l = mustOpen(t, cfg)
	if l.FirstIndex() != 5000 || l.NextIndex() != 5000 {
		t.Fatalf("reopened after Reset: first %d next %d", l.FirstIndex(), l.NextIndex())
	}
	appendN(t, l, 300, 2) // several segments
	checkRecords(t, l, 5000, 5299)
	if err := l.Reset(10); err != nil { // backwards works too
		t.Fatal(err)
	}
	appendN(t, l, 5, 3)
	l.Close()
	l = mustOpen(t, cfg)
	defer l.Close()
	checkRecords(t, l, 10, 14)
	if l.FirstIndex() != 10 || l.LastIndex() != 14 {
		t.Fatalf("reopened: first %d last %d", l.FirstIndex(), l.LastIndex())
	}
	entries, _ := os.ReadDir(dir)
	var logDirs []string
	for _, e := range entries {
		if e.IsDir() {
			logDirs = append(logDirs, e.Name())
		}
	}
	if len(logDirs) != 1 {
		t.Fatalf("segment directories after Reset: %v, want one", logDirs)
	}
}

// TestResetLeftovers: an interrupted Reset leaves another generation's
// directory; Open removes it and keeps the one wal.meta names.
func TestResetLeftovers(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir, FsyncNo)
	l := mustOpen(t, cfg)
	appendN(t, l, 10, 1)
	l.Close()
	stray := filepath.Join(dir, genDirName(2))
	if err := os.MkdirAll(stray, 0o750); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(stray, "00000000000000000001"), []byte("junk"), 0o640)
	os.WriteFile(filepath.Join(dir, metaName+".tmp"), []byte("junk"), 0o640)
	l = mustOpen(t, cfg)
	defer l.Close()
	checkRecords(t, l, 1, 10)
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Fatalf("stray generation directory still there: %v", err)
	}
}

func TestMissingMetadataWithRecords(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir, FsyncNo)
	l := mustOpen(t, cfg)
	appendN(t, l, 3, 1)
	l.Close()
	if err := os.Remove(filepath.Join(dir, metaName)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(cfg); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open without wal.meta but with records: %v, want ErrCorrupt", err)
	}
}

// TestMetadataMismatchIsAnError: when wal.meta and the records disagree
// about indexes, Open refuses and cuts nothing, whether the log has one
// segment or many (the last holding a single record, which a naive tail
// repair would cut).
func TestMetadataMismatchIsAnError(t *testing.T) {
	for _, tc := range []struct {
		name        string
		segmentSize int
		resetTo     uint64 // Reset before appending (real base = resetTo-1)
		wrongBase   uint64
	}{
		{"one segment, base too high", 1 << 20, 0, 10},
		{"many segments, base too high", 1, 0, 10},
		{"many segments, base too low", 1, 50, 0},
		{"one segment, base too low", 1 << 20, 50, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(t, dir, FsyncNo)
			cfg.SegmentSize = tc.segmentSize
			l := mustOpen(t, cfg)
			if tc.resetTo > 0 {
				if err := l.Reset(tc.resetTo); err != nil {
					t.Fatal(err)
				}
			}
			appendN(t, l, 4, 1)
			l.Close()
			m, _ := readMeta(dir)
			if err := writeMeta(dir, meta{gen: m.gen, base: tc.wrongBase}); err != nil {
				t.Fatal(err)
			}
			if tc.segmentSize == 1 { // make the last segment hold one record
				last := lastSegment(t, dir)
				idx := tc.resetTo + 4
				if tc.resetTo == 0 {
					idx = 5
				}
				rec := appendEntry(nil, EncodeRecord(nil, Record{Index: idx, Epoch: 1, TimeMillis: int64(1000 + idx), Payload: payloadFor(idx)}))
				os.WriteFile(last, rec, 0o640)
			}
			before := snapshotFiles(t, segmentDir(t, dir))
			_, err := Open(cfg)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open with a wrong base: %v, want ErrCorrupt", err)
			}
			t.Log(err)
			if after := snapshotFiles(t, segmentDir(t, dir)); after != before {
				t.Fatalf("Open modified the segments:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// snapshotFiles summarizes a directory's files (name, size, checksum).
func snapshotFiles(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		fmt.Fprintf(&b, "%s:%d:%08x ", e.Name(), len(data), crcOf(data))
	}
	return b.String()
}

// TestWaitIndexAndNotify: a follower waits for records without polling.
func TestWaitIndexAndNotify(t *testing.T) {
	l := mustOpen(t, testConfig(t, t.TempDir(), FsyncAlways))
	ch := l.Notify()
	got := make(chan []Record, 1)
	go func() {
		if err := l.WaitIndex(context.Background(), 3); err != nil {
			t.Error(err)
		}
		recs, err := l.ReadFrom(1, 10)
		if err != nil {
			t.Error(err)
		}
		got <- recs
	}()
	select {
	case <-ch:
		t.Fatal("Notify channel closed before anything changed")
	default:
	}
	appendN(t, l, 3, 1)
	<-ch // closed by the commit
	recs := <-got
	if len(recs) < 3 || recs[2].Index != 3 {
		t.Fatalf("follower read %d records", len(recs))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := l.WaitIndex(ctx, 100); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitIndex(100): %v, want deadline exceeded", err)
	}
	done := make(chan error, 1)
	go func() { done <- l.WaitIndex(context.Background(), 100) }()
	l.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("WaitIndex across Close: %v, want ErrClosed", err)
	}
}

func TestCloseFlushesQueued(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir, FsyncNo)
	l := mustOpen(t, cfg)
	var last uint64
	for i := uint64(1); i <= 500; i++ {
		idx, err := l.Append(1, int64(1000+i), payloadFor(i))
		if err != nil {
			t.Fatal(err)
		}
		last = idx
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.WaitDurable(context.Background(), last); err != nil {
		t.Fatalf("WaitDurable after Close for a flushed record: %v", err)
	}
	l = mustOpen(t, cfg)
	defer l.Close()
	checkRecords(t, l, 1, 500)
}

func TestMaxPendingBlocksAppend(t *testing.T) {
	cfg := testConfig(t, t.TempDir(), FsyncAlways)
	cfg.MaxPendingBytes = 1 << 10
	release := make(chan struct{})
	var once sync.Once
	cfg.FaultHook = func(op DiskOp) error {
		if op == DiskSync {
			once.Do(func() { <-release }) // hold the first fsync
		}
		return nil
	}
	l := mustOpen(t, cfg)
	defer l.Close()
	done := make(chan uint64)
	go func() {
		var last uint64
		for i := 0; i < 200; i++ {
			idx, err := l.Append(1, 1, bytes.Repeat([]byte("p"), 64))
			if err != nil {
				t.Error(err)
				break
			}
			last = idx
		}
		done <- last
	}()
	// The writer must stall: ~1 KiB of queue holds about 10 records.
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		return l.NextIndex() > 5, "writer has not started"
	})
	select {
	case <-done:
		t.Fatal("200 appends went through while the committer was stuck")
	case <-time.After(50 * time.Millisecond):
	}
	if n := l.NextIndex(); n > 40 {
		t.Fatalf("%d records queued past a 1 KiB limit", n-1)
	}
	close(release)
	last := <-done
	if err := l.WaitDurable(context.Background(), last); err != nil {
		t.Fatal(err)
	}
}
