package wal

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

func writeSnapshot(t *testing.T, dir string, index, epoch uint64, body []byte) {
	t.Helper()
	w, err := CreateSnapshot(dir, index, epoch)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for chunk := body; len(chunk) > 0; {
		n := min(len(chunk), 1000)
		if _, err := w.Write(chunk[:n]); err != nil {
			t.Fatal(err)
		}
		chunk = chunk[n:]
	}
	if err := w.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func readLatest(t *testing.T, dir string) (*SnapshotReader, []byte, error) {
	t.Helper()
	r, err := OpenLatestSnapshot(dir)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	body, err := io.ReadAll(r)
	return r, body, err
}

func TestSnapshotRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(testSeed(t)))
	dir := t.TempDir()
	if _, err := OpenLatestSnapshot(dir); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("empty dir: %v, want ErrNoSnapshot", err)
	}
	if _, err := OpenLatestSnapshot(filepath.Join(dir, "missing")); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("missing dir: %v, want ErrNoSnapshot", err)
	}
	body := make([]byte, 1<<20+7)
	rng.Read(body)
	writeSnapshot(t, dir, 100, 3, body)
	r, got, err := readLatest(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Index != 100 || r.Epoch != 3 || r.BodySize != int64(len(body)) || !bytes.Equal(got, body) {
		t.Fatalf("read back index %d epoch %d size %d, body equal %v", r.Index, r.Epoch, r.BodySize, bytes.Equal(got, body))
	}

	// A newer snapshot replaces the older one; an empty body is fine.
	os.WriteFile(filepath.Join(dir, "snapshot-00000000000000000150.snap.tmp"), []byte("stale"), 0o640)
	writeSnapshot(t, dir, 200, 4, nil)
	r, got, err = readLatest(t, dir)
	if err != nil || r.Index != 200 || r.Epoch != 4 || len(got) != 0 {
		t.Fatalf("latest = %+v, %d bytes, %v", r, len(got), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != snapshotName(200) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("files after second commit: %v, want only %s", names, snapshotName(200))
	}
}

func TestSnapshotAbort(t *testing.T) {
	dir := t.TempDir()
	writeSnapshot(t, dir, 5, 1, []byte("kept"))
	w, err := CreateSnapshot(dir, 9, 1)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("discarded"))
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err == nil {
		t.Fatal("Commit after Abort succeeded")
	}
	r, got, err := readLatest(t, dir)
	if err != nil || r.Index != 5 || string(got) != "kept" {
		t.Fatalf("after abort: %+v %q %v", r, got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, snapshotName(9)+".tmp")); !os.IsNotExist(err) {
		t.Fatalf("temp file left after Abort: %v", err)
	}
}

func TestSnapshotCorruptionDetected(t *testing.T) {
	body := bytes.Repeat([]byte("store image "), 5000)
	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte
	}{
		{"flipped body byte", func(b []byte) []byte { b[snapHeaderSize+777] ^= 1; return b }},
		{"flipped header byte", func(b []byte) []byte { b[17] ^= 1; return b }},
		{"flipped footer crc", func(b []byte) []byte { b[len(b)-12] ^= 1; return b }},
		{"truncated", func(b []byte) []byte { return b[:len(b)-100] }},
		{"cut to header", func(b []byte) []byte { return b[:snapHeaderSize] }},
		{"zero-filled tail", func(b []byte) []byte { clear(b[len(b)-4096:]); return b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeSnapshot(t, dir, 10, 1, body)
			path := filepath.Join(dir, snapshotName(10))
			b, _ := os.ReadFile(path)
			if err := os.WriteFile(path, tc.damage(b), 0o640); err != nil {
				t.Fatal(err)
			}
			if _, err := OpenLatestSnapshot(dir); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("OpenLatestSnapshot: %v, want ErrCorrupt", err)
			}
		})
	}
	t.Run("latest corrupt, older intact: no silent fallback", func(t *testing.T) {
		dir := t.TempDir()
		writeSnapshot(t, dir, 10, 1, body)
		old, _ := os.ReadFile(filepath.Join(dir, snapshotName(10)))
		writeSnapshot(t, dir, 20, 1, body)
		os.WriteFile(filepath.Join(dir, snapshotName(10)), old, 0o640)
		latest := filepath.Join(dir, snapshotName(20))
		b, _ := os.ReadFile(latest)
		b[snapHeaderSize] ^= 0xff
		os.WriteFile(latest, b, 0o640)
		if _, err := OpenLatestSnapshot(dir); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("OpenLatestSnapshot: %v, want ErrCorrupt for snapshot 20", err)
		}
	})
	t.Run("changed while streaming", func(t *testing.T) {
		dir := t.TempDir()
		writeSnapshot(t, dir, 10, 1, body)
		r, err := OpenLatestSnapshot(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		f, _ := os.OpenFile(r.Path, os.O_WRONLY, 0)
		f.WriteAt([]byte{'X'}, snapHeaderSize+5)
		f.Close()
		if _, err := io.ReadAll(r); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("streaming a modified snapshot: %v, want ErrCorrupt", err)
		}
	})
	t.Run("only an uncommitted temp file", func(t *testing.T) {
		dir := t.TempDir()
		w, _ := CreateSnapshot(dir, 10, 1)
		w.Write(body)
		defer w.Abort()
		if _, err := OpenLatestSnapshot(dir); !errors.Is(err, ErrNoSnapshot) {
			t.Fatalf("OpenLatestSnapshot with only a .tmp: %v, want ErrNoSnapshot", err)
		}
	})
}
