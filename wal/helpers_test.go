package wal

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
)

func crcOf(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// testConfig returns a Config for tests: small segments, fast everysec.
func testConfig(t testing.TB, dir string, policy Policy) Config {
	cfg := DefaultConfig()
	cfg.Dir = dir
	cfg.Fsync = policy
	cfg.SegmentSize = 4096
	cfg.SyncInterval = 20 * time.Millisecond
	cfg.Logger = testutil.Logger(t)
	return cfg
}

func mustOpen(t testing.TB, cfg Config) *Log {
	t.Helper()
	l, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open(%s): %v", cfg.Dir, err)
	}
	return l
}

func payloadFor(i uint64) []byte {
	return []byte(fmt.Sprintf("effect-%d-%s", i, bytes.Repeat([]byte{'x'}, int(i%17))))
}

// appendN appends records with payloadFor(index) and waits for each to be
// durable; it returns the last index.
func appendN(t testing.TB, l *Log, n int, epoch uint64) uint64 {
	t.Helper()
	var last uint64
	for i := 0; i < n; i++ {
		next := l.NextIndex()
		idx, err := l.Append(epoch, int64(1000+next), payloadFor(next))
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		if idx != next {
			t.Fatalf("Append returned %d, NextIndex said %d", idx, next)
		}
		last = idx
	}
	if err := l.WaitDurable(context.Background(), last); err != nil {
		t.Fatalf("WaitDurable(%d): %v", last, err)
	}
	return last
}

// checkRecords verifies records first..last hold payloadFor(index).
func checkRecords(t testing.TB, l *Log, first, last uint64) {
	t.Helper()
	for i := first; i <= last; i++ {
		r, err := l.Read(i)
		if err != nil {
			t.Fatalf("Read(%d): %v", i, err)
		}
		if r.Index != i || !bytes.Equal(r.Payload, payloadFor(i)) || r.TimeMillis != int64(1000+i) {
			t.Fatalf("Read(%d) = {Index %d, Time %d, Payload %q}, want payload %q", i, r.Index, r.TimeMillis, r.Payload, payloadFor(i))
		}
	}
}

// segmentDir returns the current segment directory of a closed log.
func segmentDir(t testing.TB, dir string) string {
	t.Helper()
	m, err := readMeta(dir)
	if err != nil {
		t.Fatalf("readMeta: %v", err)
	}
	return filepath.Join(dir, genDirName(m.gen))
}

// lastSegment returns the path of the last segment file of a closed log.
func lastSegment(t testing.TB, dir string) string {
	t.Helper()
	segs, _, err := listSegments(segmentDir(t, dir))
	if err != nil || len(segs) == 0 {
		t.Fatalf("listSegments: %v (%d segments)", err, len(segs))
	}
	return segs[len(segs)-1].path
}

// copyDir copies a closed log's directory tree.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o750)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

// entryOffsets parses a segment file's tidwall framing and returns each
// entry's start offset plus the end.
func entryOffsets(t testing.TB, data []byte) []int {
	t.Helper()
	var offs []int
	for pos := 0; pos < len(data); {
		offs = append(offs, pos)
		size, n := binary.Uvarint(data[pos:])
		if n <= 0 {
			t.Fatalf("bad framing at %d", pos)
		}
		pos += n + int(size)
	}
	return append(offs, len(data))
}
