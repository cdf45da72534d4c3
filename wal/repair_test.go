package wal

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the fixtures in testdata/")

// recordingLogger collects log output so tests can check what repair said.
type recordingLogger struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *recordingLogger) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

func (r *recordingLogger) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

func (r *recordingLogger) logger() *slog.Logger { return slog.New(slog.NewTextHandler(r, nil)) }

// buildLog creates a closed log of n records (payloadFor, epoch 1) in a new
// directory and returns the directory.
func buildLog(t *testing.T, n int, segmentSize int) string {
	t.Helper()
	dir := t.TempDir()
	cfg := testConfig(t, dir, FsyncNo)
	cfg.SegmentSize = segmentSize
	l := mustOpen(t, cfg)
	appendN(t, l, n, 1)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// reopenAndContinue opens dir, checks records 1..wantLast, appends one more
// record, reopens and checks it landed at wantLast+1.
func reopenAndContinue(t *testing.T, dir string, wantLast uint64, logs *recordingLogger) {
	t.Helper()
	cfg := testConfig(t, dir, FsyncNo)
	if logs != nil {
		cfg.Logger = logs.logger()
	}
	l, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open after damage: %v", err)
	}
	if got := l.LastIndex(); got != wantLast {
		l.Close()
		t.Fatalf("LastIndex after repair = %d, want %d", got, wantLast)
	}
	checkRecords(t, l, 1, wantLast)
	idx, err := l.Append(9, int64(1000+wantLast+1), payloadFor(wantLast+1))
	if err != nil || idx != wantLast+1 {
		t.Fatalf("Append after repair = %d, %v; want %d", idx, err, wantLast+1)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, testConfig(t, dir, FsyncNo))
	defer l.Close()
	checkRecords(t, l, 1, wantLast+1)
	if e, _ := l.LastEpoch(); e != 9 {
		t.Fatalf("LastEpoch = %d, want 9", e)
	}
}

// TestTornTailEveryOffset cuts the last segment at every byte offset within
// its last record.
func TestTornTailEveryOffset(t *testing.T) {
	const n = 100
	src := buildLog(t, n, 4096)
	data, err := os.ReadFile(lastSegment(t, src))
	if err != nil {
		t.Fatal(err)
	}
	offs := entryOffsets(t, data)
	lastStart := offs[len(offs)-2]
	t.Logf("last segment %d bytes, last record at [%d,%d)", len(data), lastStart, len(data))
	for cut := lastStart; cut < len(data); cut++ {
		dir := t.TempDir()
		copyDir(t, src, dir)
		if err := os.Truncate(lastSegment(t, dir), int64(cut)); err != nil {
			t.Fatal(err)
		}
		logs := &recordingLogger{}
		reopenAndContinue(t, dir, n-1, logs)
		warned := strings.Contains(logs.String(), "cut torn or corrupt tail")
		if cut > lastStart && !warned {
			t.Fatalf("cut at %d: no warning logged; log: %s", cut, logs.String())
		}
		if cut == lastStart && warned {
			t.Fatalf("cut exactly at a record boundary reported damage: %s", logs.String())
		}
	}
}

// TestTornFirstEntryOfNewSegment: tidwall just switched to a new segment
// file and the crash tore its first entry; the file is cut to empty.
func TestTornFirstEntryOfNewSegment(t *testing.T) {
	dir := buildLog(t, 5, 1) // SegmentSize 1: one record per segment, empty last file
	last := lastSegment(t, dir)
	if data, _ := os.ReadFile(last); len(data) != 0 || filepath.Base(last) != "00000000000000000006" {
		t.Fatalf("expected an empty segment 6, got %s with %d bytes", last, len(data))
	}
	entry := appendEntry(nil, EncodeRecord(nil, Record{Index: 6, Payload: []byte("torn away")}))
	if err := os.WriteFile(last, entry[:20], 0o640); err != nil {
		t.Fatal(err)
	}
	reopenAndContinue(t, dir, 5, nil)
}

func TestFlippedByteInLastRecord(t *testing.T) {
	const n = 60
	src := buildLog(t, n, 1<<20)
	data, err := os.ReadFile(lastSegment(t, src))
	if err != nil {
		t.Fatal(err)
	}
	offs := entryOffsets(t, data)
	lastStart := offs[len(offs)-2]
	masks := []byte{0x01, 0x80, 0xff} // one per position, rotating: low bit, high bit, all bits
	for pos := lastStart; pos < len(data); pos++ {
		for _, mask := range masks[(pos-lastStart)%3 : (pos-lastStart)%3+1] {
			dir := t.TempDir()
			copyDir(t, src, dir)
			seg := lastSegment(t, dir)
			b := append([]byte(nil), data...)
			b[pos] ^= mask
			if err := os.WriteFile(seg, b, 0o640); err != nil {
				t.Fatal(err)
			}
			logs := &recordingLogger{}
			reopenAndContinue(t, dir, n-1, logs)
			if !strings.Contains(logs.String(), "cut torn or corrupt tail") {
				t.Fatalf("flip at %d: no warning", pos)
			}
		}
	}
}

func TestZeroFilledTail(t *testing.T) {
	const n = 40
	for _, tc := range []struct {
		name     string
		damage   func(data []byte, lastStart int) []byte
		wantLast uint64
		entries  string
	}{
		{"5 zero bytes appended", func(d []byte, _ int) []byte { return append(d, make([]byte, 5)...) }, n, "entries_cut=5"},
		{"4 KiB of zeros appended", func(d []byte, _ int) []byte { return append(d, make([]byte, 4096)...) }, n, "entries_cut=4096"},
		{"last record zeroed", func(d []byte, s int) []byte { clear(d[s:]); return d }, n - 1, "entries_cut="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := buildLog(t, n, 1<<20)
			seg := lastSegment(t, dir)
			data, _ := os.ReadFile(seg)
			offs := entryOffsets(t, data)
			if err := os.WriteFile(seg, tc.damage(data, offs[len(offs)-2]), 0o640); err != nil {
				t.Fatal(err)
			}
			logs := &recordingLogger{}
			reopenAndContinue(t, dir, tc.wantLast, logs)
			if out := logs.String(); !strings.Contains(out, "cut torn or corrupt tail") || !strings.Contains(out, tc.entries) {
				t.Fatalf("warning missing or without %q: %s", tc.entries, out)
			}
			t.Log(strings.TrimSpace(logs.String()))
		})
	}
}

// TestMidLogCorruptionInLastSegment: damage followed by intact records is
// not a torn tail; Open refuses and leaves the file alone.
func TestMidLogCorruptionInLastSegment(t *testing.T) {
	const n = 50
	for _, tc := range []struct {
		name   string
		damage func(data []byte, offs []int) []byte
	}{
		{"flipped payload byte", func(d []byte, offs []int) []byte { d[offs[25]-2] ^= 0x10; return d }},
		{"bytes missing mid-file", func(d []byte, offs []int) []byte {
			return append(d[:offs[20]+10:offs[20]+10], d[offs[20]+13:]...)
		}},
		{"zeroed record mid-file", func(d []byte, offs []int) []byte { clear(d[offs[10]:offs[11]]); return d }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := buildLog(t, n, 1<<20)
			seg := lastSegment(t, dir)
			data, _ := os.ReadFile(seg)
			damaged := tc.damage(append([]byte(nil), data...), entryOffsets(t, data))
			if err := os.WriteFile(seg, damaged, 0o640); err != nil {
				t.Fatal(err)
			}
			_, err := Open(testConfig(t, dir, FsyncNo))
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "middle of the log") {
				t.Fatalf("Open: %v, want ErrCorrupt naming mid-log corruption", err)
			}
			after, _ := os.ReadFile(seg)
			if !bytes.Equal(after, damaged) {
				t.Fatal("Open modified the damaged segment")
			}
		})
	}
}

// TestCorruptionInOlderSegment: older segments are not scanned at Open;
// reading a damaged record reports ErrCorrupt.
func TestCorruptionInOlderSegment(t *testing.T) {
	dir := buildLog(t, 300, 4096)
	segs, _, err := listSegments(segmentDir(t, dir))
	if err != nil || len(segs) < 3 {
		t.Fatalf("want several segments, got %d (%v)", len(segs), err)
	}
	data, _ := os.ReadFile(segs[0].path)
	offs := entryOffsets(t, data)
	data[offs[6]-1] ^= 0x04 // last payload byte of record 6
	if err := os.WriteFile(segs[0].path, data, 0o640); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, dir, FsyncNo)
	cfg.TailCacheBytes = -1
	l := mustOpen(t, cfg)
	defer l.Close()
	if l.LastIndex() != 300 {
		t.Fatalf("LastIndex %d", l.LastIndex())
	}
	checkRecords(t, l, 1, 5)
	if _, err := l.Read(6); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Read(6): %v, want ErrCorrupt", err)
	}
	if _, err := l.ReadFrom(3, 10); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadFrom(3): %v, want ErrCorrupt", err)
	}
	checkRecords(t, l, 7, 300)
}

// TestFixtureTornV1 opens a log written by this package's first on-disk
// format (testdata/torn-v1, last record torn): the format stays readable
// and the tail is repaired. Regenerate with go test -run Fixture -rewrite.
func TestFixtureTornV1(t *testing.T) {
	const n = 20
	fixture := filepath.Join("testdata", "torn-v1")
	if *rewrite {
		os.RemoveAll(fixture)
		src := buildLog(t, n, 1<<20)
		os.Remove(filepath.Join(src, "LOCK"))
		seg := lastSegment(t, src)
		data, _ := os.ReadFile(seg)
		if err := os.Truncate(seg, int64(len(data)-7)); err != nil {
			t.Fatal(err)
		}
		copyDir(t, src, fixture)
	}
	dir := t.TempDir()
	copyDir(t, fixture, dir)
	logs := &recordingLogger{}
	reopenAndContinue(t, dir, n-1, logs)
	if !strings.Contains(logs.String(), "bytes_cut=") {
		t.Fatalf("no repair warning: %s", logs.String())
	}
}

// TestInterruptedTruncateFront: tidwall's TruncateFront writes a .START
// file, deletes older segments and renames it; a crash in between leaves the
// .START file. Open lets tidwall finish the job before repairing.
func TestInterruptedTruncateFront(t *testing.T) {
	dir := buildLog(t, 300, 4096)
	segs, _, _ := listSegments(segmentDir(t, dir))
	if len(segs) < 4 {
		t.Fatalf("want several segments, got %d", len(segs))
	}
	seg := segs[2]
	data, _ := os.ReadFile(seg.path)
	offs := entryOffsets(t, data)
	cutIndex := seg.index + 3 // tidwall index (base 0 here)
	start := filepath.Join(segmentDir(t, dir), segmentNameForTest(cutIndex)+".START")
	if err := os.WriteFile(start, data[offs[3]:], 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(segs[0].path); err != nil { // deletion got this far
		t.Fatal(err)
	}
	l := mustOpen(t, testConfig(t, dir, FsyncNo))
	defer l.Close()
	if l.FirstIndex() != cutIndex || l.LastIndex() != 300 {
		t.Fatalf("first %d last %d, want %d 300", l.FirstIndex(), l.LastIndex(), cutIndex)
	}
	checkRecords(t, l, cutIndex, 300)
}

func segmentNameForTest(index uint64) string { return fmt.Sprintf("%020d", index) }

// TestSegmentSwitchTracking: the log follows tidwall's segment switches
// (to fsync the directory when a file is created); its idea of the tail
// segment's size must match the file after every batch.
func TestSegmentSwitchTracking(t *testing.T) {
	rng := rand.New(rand.NewSource(testSeed(t)))
	cfg := testConfig(t, t.TempDir(), FsyncAlways)
	cfg.SegmentSize = 1000
	l := mustOpen(t, cfg)
	defer l.Close()
	for round := 0; round < 200; round++ {
		var last uint64
		for i := 0; i < 1+rng.Intn(20); i++ {
			idx, err := l.Append(1, 1, make([]byte, rng.Intn(300)))
			if err != nil {
				t.Fatal(err)
			}
			last = idx
		}
		if err := l.WaitDurable(context.Background(), last); err != nil {
			t.Fatal(err)
		}
		l.opMu.Lock()
		segs, _, err := listSegments(l.genDir)
		tracked, dirty := l.segBytes, l.dirDirty
		l.opMu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if got := int(segs[len(segs)-1].size); got != tracked {
			t.Fatalf("round %d: tail segment %s has %d bytes, log tracked %d", round, segs[len(segs)-1].path, got, tracked)
		}
		if dirty {
			t.Fatalf("round %d: directory not fsynced after a segment switch under policy always", round)
		}
	}
}
