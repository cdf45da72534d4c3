// Package raftstore is hashicorp/raft's log store and stable store on
// disk, for the control plane: the log is shoal's own write-ahead log
// (package wal: checksummed records, torn-tail repair, fsync on every
// append), the stable store a small file replaced atomically.
//
// It exists instead of raft-boltdb v1 because boltdb/bolt v1.3.1's unsafe
// pointer conversions abort the process under the race detector (Go's
// checkptr: "converted pointer straddles multiple allocations" in
// Bucket.write), and every shoal test runs with -race; raft-boltdb v2
// needs a go-metrics version serf's cannot live with.
//
// # On disk
//
// Dir/log holds the wal (see package wal). Each raft entry is one wal
// record: the record's index is the entry's index, its epoch the entry's
// term, its time the entry's AppendedAt (milliseconds), and its payload
//
//	type byte | uvarint len(data) | data | uvarint len(extensions) | extensions
//
// Dir/stable holds the stable store's keys and values: the magic
// "SHOALKV1", then for each key, in key order, uvarint len(key), key,
// uvarint len(value), value, then a CRC32C (Castagnoli, little endian) of
// everything before it. It is rewritten whole (temporary file, fsync,
// rename, fsync of Dir) on every Set: raft sets keys on term changes and
// votes only.
//
// # Concurrency
//
// A Store is safe for concurrent use, as raft requires (replication reads
// entries while the main loop appends and the snapshot loop compacts).
// Mutations are serialized.
package raftstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/shoal-kv/shoal/wal"
)

// errNotFound is what raft expects for a missing key: it compares the
// error text with "not found".
var errNotFound = errors.New("not found")

// ErrCorrupt wraps errors reading a damaged stable file.
var ErrCorrupt = errors.New("raftstore: corrupt stable store")

// Store is a raft.LogStore and raft.StableStore in a directory.
type Store struct {
	dir string
	log *wal.Log

	mu     sync.Mutex // serializes StoreLogs, DeleteRange and Set*
	stable map[string][]byte
}

var (
	_ raft.LogStore    = (*Store)(nil)
	_ raft.StableStore = (*Store)(nil)
)

// Open opens (or creates) the store in dir. Only one Store may have dir
// open at a time (the wal locks it).
func Open(dir string, logger *slog.Logger) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("raftstore: %w", err)
	}
	cfg := wal.DefaultConfig()
	cfg.Dir = filepath.Join(dir, "log")
	cfg.Fsync = wal.FsyncAlways
	cfg.SegmentSize = 1 << 20
	cfg.TailCacheBytes = 1 << 20
	cfg.Logger = logger
	l, err := wal.Open(cfg)
	if err != nil {
		return nil, fmt.Errorf("raftstore: %w", err)
	}
	s := &Store{dir: dir, log: l}
	if s.stable, err = readStable(s.stablePath()); err != nil {
		l.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the log. The store is unusable afterwards.
func (s *Store) Close() error { return s.log.Close() }

func (s *Store) empty() bool { return s.log.LastIndex() < s.log.FirstIndex() }

// FirstIndex returns the first entry's index, 0 when there is none.
func (s *Store) FirstIndex() (uint64, error) {
	if s.empty() {
		return 0, s.log.Err()
	}
	return s.log.FirstIndex(), nil
}

// LastIndex returns the last entry's index, 0 when there is none.
func (s *Store) LastIndex() (uint64, error) {
	if s.empty() {
		return 0, s.log.Err()
	}
	return s.log.LastIndex(), nil
}

// GetLog reads entry index into out; raft.ErrLogNotFound when absent.
func (s *Store) GetLog(index uint64, out *raft.Log) error {
	rec, err := s.log.Read(index)
	switch {
	case errors.Is(err, wal.ErrCompacted) || errors.Is(err, wal.ErrUnavailable):
		return raft.ErrLogNotFound
	case err != nil:
		return fmt.Errorf("raftstore: %w", err)
	}
	return decodeEntry(rec, out)
}

// StoreLog appends one entry.
func (s *Store) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

// StoreLogs appends consecutive entries and returns once they are on disk.
// The first must follow the last stored entry, or the store must be empty
// (after a snapshot install the log continues at any index).
func (s *Store) StoreLogs(logs []*raft.Log) error {
	if len(logs) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if next := s.log.NextIndex(); logs[0].Index != next {
		if !s.empty() {
			return fmt.Errorf("raftstore: storing entry %d, but the next index is %d", logs[0].Index, next)
		}
		if err := s.log.Reset(logs[0].Index); err != nil {
			return fmt.Errorf("raftstore: %w", err)
		}
	}
	for _, l := range logs {
		if err := s.log.AppendRecord(encodeEntry(l)); err != nil {
			return fmt.Errorf("raftstore: entry %d: %w", l.Index, err)
		}
	}
	if err := s.log.WaitDurable(context.Background(), logs[len(logs)-1].Index); err != nil {
		return fmt.Errorf("raftstore: %w", err)
	}
	return nil
}

// DeleteRange deletes entries min..max inclusive: a prefix (compaction
// after a snapshot), a suffix (a follower's conflicting entries) or all
// of them. Deleting from the middle is refused (raft never does).
func (s *Store) DeleteRange(lo, hi uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.empty() {
		return nil
	}
	first, last := s.log.FirstIndex(), s.log.LastIndex()
	lo, hi = max(lo, first), min(hi, last)
	if lo > hi {
		return nil
	}
	var err error
	switch {
	case lo == first:
		err = s.log.TruncateFront(hi + 1) // hi == last empties the log, keeping its position
	case hi == last:
		err = s.log.TruncateBack(lo - 1)
	default:
		return fmt.Errorf("raftstore: deleting entries %d..%d from the middle of %d..%d", lo, hi, first, last)
	}
	if err != nil {
		return fmt.Errorf("raftstore: %w", err)
	}
	return nil
}

func encodeEntry(l *raft.Log) wal.Record {
	p := make([]byte, 0, 1+2*binary.MaxVarintLen64+len(l.Data)+len(l.Extensions))
	p = append(p, byte(l.Type))
	p = binary.AppendUvarint(p, uint64(len(l.Data)))
	p = append(p, l.Data...)
	p = binary.AppendUvarint(p, uint64(len(l.Extensions)))
	p = append(p, l.Extensions...)
	var at int64
	if !l.AppendedAt.IsZero() {
		at = l.AppendedAt.UnixMilli()
	}
	return wal.Record{Index: l.Index, Epoch: l.Term, TimeMillis: at, Payload: p}
}

func decodeEntry(rec wal.Record, out *raft.Log) error {
	bad := func(what string) error {
		return fmt.Errorf("%w: entry %d: %s", wal.ErrCorrupt, rec.Index, what)
	}
	p := rec.Payload
	if len(p) == 0 {
		return bad("empty payload")
	}
	typ := raft.LogType(p[0])
	p = p[1:]
	var fields [2][]byte
	for i := range fields {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return bad("truncated field")
		}
		if n > 0 {
			fields[i] = bytes.Clone(p[k : k+int(n)])
		}
		p = p[k+int(n):]
	}
	if len(p) != 0 {
		return bad("trailing bytes")
	}
	*out = raft.Log{Index: rec.Index, Term: rec.Epoch, Type: typ, Data: fields[0], Extensions: fields[1]}
	if rec.TimeMillis != 0 {
		out.AppendedAt = time.UnixMilli(rec.TimeMillis)
	}
	return nil
}

// Stable store.

const stableMagic = "SHOALKV1"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (s *Store) stablePath() string { return filepath.Join(s.dir, "stable") }

// Set stores key = val durably.
func (s *Store) Set(key, val []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := maps.Clone(s.stable)
	next[string(key)] = bytes.Clone(val)
	if err := writeStable(s.dir, s.stablePath(), next); err != nil {
		return err
	}
	s.stable = next
	return nil
}

// Get returns key's value, or an error "not found".
func (s *Store) Get(key []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.stable[string(key)]
	if !ok {
		return nil, errNotFound
	}
	return bytes.Clone(v), nil
}

// SetUint64 stores key = val (8 bytes, big endian).
func (s *Store) SetUint64(key []byte, val uint64) error {
	return s.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

// GetUint64 returns key's value, or an error "not found".
func (s *Store) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("raftstore: key %q holds %d bytes, not a uint64", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func encodeStable(kv map[string][]byte) []byte {
	b := []byte(stableMagic)
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(kv[k])))
		b = append(b, kv[k]...)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeStable(b []byte) (map[string][]byte, error) {
	if len(b) < len(stableMagic)+4 || string(b[:len(stableMagic)]) != stableMagic {
		return nil, fmt.Errorf("%w: bad header", ErrCorrupt)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	kv := map[string][]byte{}
	p := body[len(stableMagic):]
	for len(p) > 0 {
		var f [2][]byte
		for i := range f {
			n, k := binary.Uvarint(p)
			if k <= 0 || n > uint64(len(p)-k) {
				return nil, fmt.Errorf("%w: truncated", ErrCorrupt)
			}
			f[i] = bytes.Clone(p[k : k+int(n)])
			p = p[k+int(n):]
		}
		kv[string(f[0])] = f[1]
	}
	return kv, nil
}

func readStable(path string) (map[string][]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string][]byte{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("raftstore: %w", err)
	}
	kv, err := decodeStable(b)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return kv, nil
}

// writeStable replaces path (in dir) atomically and durably.
func writeStable(dir, path string, kv map[string][]byte) error {
	if err := wal.WriteFileAtomic(dir, filepath.Base(path), encodeStable(kv)); err != nil {
		return fmt.Errorf("raftstore: %w", err)
	}
	return nil
}
