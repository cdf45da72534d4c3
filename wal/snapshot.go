package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Snapshot files hold a store image covering the log up to Index. The body
// is opaque to this package (the store writes and reads it).
//
//	header (28 bytes): magic "SHOALSN" | version byte 1 | index u64 | epoch u64 | CRC32C of the previous 24 bytes
//	body   (n bytes)
//	footer (20 bytes): body length n u64 | CRC32C of the body u32 | magic "SNAPEND" | version byte 1
//
// Integers are little endian. Committed snapshots are named
// snapshot-<index, 20 digits>.snap; a snapshot being written is
// snapshot-<index>.snap.tmp.
const (
	snapHeaderSize = 28
	snapFooterSize = 20
	snapMagic      = "SHOALSN\x01"
	snapEndMagic   = "SNAPEND\x01"
	snapPrefix     = "snapshot-"
	snapSuffix     = ".snap"
	snapTmpSuffix  = ".snap.tmp"
)

func snapshotName(index uint64) string {
	return fmt.Sprintf("%s%020d%s", snapPrefix, index, snapSuffix)
}

// parseSnapshotName returns the index in a snapshot file name with the given
// suffix.
func parseSnapshotName(name, suffix string) (uint64, bool) {
	if !strings.HasPrefix(name, snapPrefix) || !strings.HasSuffix(name, suffix) {
		return 0, false
	}
	digits := name[len(snapPrefix) : len(name)-len(suffix)]
	if len(digits) != 20 || !isDigits(digits) {
		return 0, false
	}
	idx, err := strconv.ParseUint(digits, 10, 64)
	return idx, err == nil
}

// SnapshotWriter streams one snapshot into a temporary file; Commit puts it
// in place. It is an io.Writer, not safe for concurrent use. `defer
// w.Abort()` right after CreateSnapshot is the intended pattern: Abort after
// Commit does nothing.
type SnapshotWriter struct {
	dir, tmpPath, path string
	index, epoch       uint64
	f                  *os.File
	bw                 *bufio.Writer
	crc                hash.Hash32
	n                  uint64
	err                error // sticky write error
	done               bool
}

// CreateSnapshot starts a snapshot of the store as of log index index,
// written in epoch epoch, in directory dir (created if missing).
func CreateSnapshot(dir string, index, epoch uint64) (*SnapshotWriter, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("wal: snapshot: %w", err)
	}
	path := filepath.Join(dir, snapshotName(index))
	w := &SnapshotWriter{
		dir: dir, path: path, tmpPath: path + ".tmp",
		index: index, epoch: epoch,
		crc: crc32.New(castagnoli),
	}
	f, err := os.OpenFile(w.tmpPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("wal: snapshot: %w", err)
	}
	w.f = f
	w.bw = bufio.NewWriterSize(f, 256<<10)
	var h [snapHeaderSize]byte
	copy(h[:], snapMagic)
	binary.LittleEndian.PutUint64(h[8:], index)
	binary.LittleEndian.PutUint64(h[16:], epoch)
	binary.LittleEndian.PutUint32(h[24:], crc32.Checksum(h[:24], castagnoli))
	if _, err := w.bw.Write(h[:]); err != nil {
		w.Abort()
		return nil, fmt.Errorf("wal: snapshot: %w", err)
	}
	return w, nil
}

// Index returns the log index the snapshot covers.
func (w *SnapshotWriter) Index() uint64 { return w.index }

// Write appends p to the snapshot body.
func (w *SnapshotWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("wal: snapshot already committed or aborted")
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.bw.Write(p)
	w.crc.Write(p[:n])
	w.n += uint64(n)
	if err != nil {
		w.err = fmt.Errorf("wal: snapshot write: %w", err)
		return n, w.err
	}
	return n, nil
}

// Commit writes the footer, fsyncs the file, renames it into place, fsyncs
// the directory and removes older snapshots (and stale temporary files of
// snapshots up to this index). On error the temporary file is removed and
// any previous snapshot is left untouched.
func (w *SnapshotWriter) Commit() error {
	if w.done {
		return errors.New("wal: snapshot already committed or aborted")
	}
	err := w.err
	if err == nil {
		var ft [snapFooterSize]byte
		binary.LittleEndian.PutUint64(ft[0:], w.n)
		binary.LittleEndian.PutUint32(ft[8:], w.crc.Sum32())
		copy(ft[12:], snapEndMagic)
		_, err = w.bw.Write(ft[:])
	}
	if err == nil {
		err = w.bw.Flush()
	}
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	if err == nil {
		err = os.Rename(w.tmpPath, w.path)
	}
	if err == nil {
		err = syncDir(w.dir)
	}
	w.done = true
	if err != nil {
		os.Remove(w.tmpPath)
		return fmt.Errorf("wal: snapshot commit: %w", err)
	}
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return fmt.Errorf("wal: snapshot cleanup: %w", err)
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		idx, ok := parseSnapshotName(name, snapSuffix)
		stale := ok && idx < w.index
		if !ok {
			idx, ok = parseSnapshotName(name, snapTmpSuffix)
			stale = ok && idx <= w.index
		}
		if stale {
			if err := os.Remove(filepath.Join(w.dir, name)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := syncDir(w.dir); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("wal: snapshot committed, cleanup of older ones failed: %w", err)
	}
	return nil
}

// Abort discards the snapshot being written. It does nothing after Commit or
// a previous Abort.
func (w *SnapshotWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	if err := os.Remove(w.tmpPath); err != nil && !isNotExist(err) {
		return fmt.Errorf("wal: snapshot abort: %w", err)
	}
	return nil
}

// SnapshotReader reads the body of a committed snapshot. It is an io.Reader
// (not safe for concurrent use); Close it when done.
//
// OpenLatestSnapshot has already read the whole body once and verified its
// CRC32C, so a corrupt snapshot is reported before the caller loads anything.
// The reader checks the CRC again while streaming and returns an error
// wrapping ErrCorrupt instead of io.EOF if the file changed in between.
type SnapshotReader struct {
	Index    uint64 // log index the snapshot covers
	Epoch    uint64 // epoch it was taken in
	BodySize int64  // bytes of body
	Path     string

	f    *os.File
	body *io.SectionReader
	crc  hash.Hash32
	want uint32
}

// Read reads the snapshot body.
func (r *SnapshotReader) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	r.crc.Write(p[:n])
	if err == io.EOF && r.crc.Sum32() != r.want {
		return n, fmt.Errorf("%w: snapshot %s: body checksum changed while reading", ErrCorrupt, r.Path)
	}
	return n, err
}

// Close closes the file.
func (r *SnapshotReader) Close() error { return r.f.Close() }

// OpenLatestSnapshot opens the committed snapshot with the highest index in
// dir and verifies it whole (header, footer, body CRC32C) before returning.
// It returns ErrNoSnapshot when there is none (or dir does not exist), and
// an error wrapping ErrCorrupt when the latest one fails verification: a
// corrupt snapshot is never loaded, and never silently skipped for an older
// one (the log may already be truncated past it).
func OpenLatestSnapshot(dir string) (*SnapshotReader, error) {
	entries, err := os.ReadDir(dir)
	if isNotExist(err) {
		return nil, ErrNoSnapshot
	}
	if err != nil {
		return nil, fmt.Errorf("wal: snapshot: %w", err)
	}
	var best uint64
	found := false
	for _, e := range entries {
		if idx, ok := parseSnapshotName(e.Name(), snapSuffix); ok && !e.IsDir() && (!found || idx > best) {
			best, found = idx, true
		}
	}
	if !found {
		return nil, ErrNoSnapshot
	}
	return openSnapshot(filepath.Join(dir, snapshotName(best)), best)
}

func openSnapshot(path string, nameIndex uint64) (*SnapshotReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wal: snapshot: %w", err)
	}
	r, err := verifySnapshot(f, path, nameIndex)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func verifySnapshot(f *os.File, path string, nameIndex uint64) (*SnapshotReader, error) {
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: snapshot %s: %s", ErrCorrupt, path, fmt.Sprintf(format, args...))
	}
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("wal: snapshot: %w", err)
	}
	size := info.Size()
	if size < snapHeaderSize+snapFooterSize {
		return nil, corrupt("file of %d bytes is too short", size)
	}
	var h [snapHeaderSize]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		return nil, fmt.Errorf("wal: snapshot %s: %w", path, err)
	}
	if string(h[:8]) != snapMagic {
		return nil, corrupt("bad header magic")
	}
	if crc32.Checksum(h[:24], castagnoli) != binary.LittleEndian.Uint32(h[24:]) {
		return nil, corrupt("header checksum mismatch")
	}
	index := binary.LittleEndian.Uint64(h[8:])
	if index != nameIndex {
		return nil, corrupt("header says index %d, file name %d", index, nameIndex)
	}
	var ft [snapFooterSize]byte
	if _, err := f.ReadAt(ft[:], size-snapFooterSize); err != nil {
		return nil, fmt.Errorf("wal: snapshot %s: %w", path, err)
	}
	if string(ft[12:]) != snapEndMagic {
		return nil, corrupt("bad footer (incomplete file?)")
	}
	bodyLen := binary.LittleEndian.Uint64(ft[0:])
	if bodyLen != uint64(size-snapHeaderSize-snapFooterSize) {
		return nil, corrupt("footer says %d body bytes, file holds %d", bodyLen, size-snapHeaderSize-snapFooterSize)
	}
	want := binary.LittleEndian.Uint32(ft[8:])
	crc := crc32.New(castagnoli)
	if _, err := io.CopyBuffer(crc, io.NewSectionReader(f, snapHeaderSize, int64(bodyLen)), make([]byte, 256<<10)); err != nil {
		return nil, fmt.Errorf("wal: snapshot %s: %w", path, err)
	}
	if got := crc.Sum32(); got != want {
		return nil, corrupt("body checksum mismatch (stored %08x, computed %08x)", want, got)
	}
	return &SnapshotReader{
		Index:    index,
		Epoch:    binary.LittleEndian.Uint64(h[16:]),
		BodySize: int64(bodyLen),
		Path:     path,
		f:        f,
		body:     io.NewSectionReader(f, snapHeaderSize, int64(bodyLen)),
		crc:      crc32.New(castagnoli),
		want:     want,
	}, nil
}
