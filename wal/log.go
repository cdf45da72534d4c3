package wal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	twal "github.com/tidwall/wal"
)

// Log is shoal's write-ahead log. One Log owns its directory (a LOCK file
// enforces it across processes); the shard daemon opens it, owns it and
// closes it. All methods are safe for concurrent use.
//
// Appends are queued and written by one committer goroutine in batches
// (group commit): it takes every queued record, writes them with one
// tidwall WriteBatch, fsyncs when the policy says so, and wakes the
// WaitDurable callers. Reads of records not in the tail cache are serialized
// (tidwall/wal issue #34: concurrent reads of old segments can panic).
type Log struct {
	cfg    Config
	logger *slog.Logger
	lockF  *os.File
	hook   func(DiskOp) error

	// Lock order: opMu, then readMu, then mu.

	// opMu serializes everything that touches tidwall's write side: batch
	// writes, fsyncs, truncations, Reset and Close. Fields below are
	// guarded by it.
	opMu     sync.Mutex
	batch    twal.Batch
	segBytes int    // bytes in tidwall's current tail segment (to see it switch files)
	dirDirty bool   // a segment file was created since the last directory fsync
	written  uint64 // last index handed to write(2)
	synced   uint64 // last index fsynced

	// readMu serializes tidwall reads.
	readMu sync.Mutex

	// mu guards the state below. tw, genDir and base change only in Reset,
	// which holds all three locks, so holders of opMu or readMu may read
	// them without mu.
	mu           sync.Mutex
	tw           *twal.Log
	gen          uint64
	genDir       string
	base         uint64 // shoal index = tidwall index + base
	first        uint64 // FirstIndex; LastIndex+1 when empty
	durable      uint64 // LastIndex: last durable record
	lastEpoch    uint64 // epoch of record durable, valid when durable >= first
	next         uint64 // index the next Append gets
	queue        [][]byte
	spare        [][]byte
	pendingBytes int
	changed      chan struct{} // closed and replaced whenever the state changes
	failErr      error
	failed       atomic.Pointer[error] // failErr, readable without mu
	closed       bool
	exclusive    bool // TruncateBack or Reset is draining the queue: Appends wait
	cache        tailCache
	size         int64 // bytes in segment files

	kick chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup

	nAppends atomic.Uint64
	nBatches atomic.Uint64
	nFsyncs  atomic.Uint64
	nWritten atomic.Uint64
}

// Stats are counters since Open, for INFO and benchmarks.
type Stats struct {
	FirstIndex   uint64
	LastIndex    uint64
	Pending      int    // records appended but not yet durable
	Appends      uint64 // records appended
	Batches      uint64 // batch writes (one tidwall WriteBatch each)
	Fsyncs       uint64 // fsyncs by the policy and Close (not tidwall's own at segment switches, Open or truncations)
	BytesWritten uint64 // bytes written to segment files
	Size         int64  // bytes in the segment files now
	Policy       Policy
	Failed       bool
}

// Open opens (or creates) the log in cfg.Dir, repairing a torn or corrupt
// tail first.
//
// Repair: the last segment file is scanned record by record (tidwall framing,
// then magic, CRC32C, length and index of each record). At the first damaged
// entry — cut short by a crash, zero-filled, failing its checksum, or holding
// the wrong index — the file is cut back to the last whole good record and a
// warning names the file, the offset and how many bytes and entries were cut.
// This is only done when nothing intact follows the damage: if a valid record
// with a higher index is found after it, the damage is in the middle of the
// log and Open fails with an error wrapping ErrCorrupt instead of silently
// dropping acknowledged records. Segments before the last one were fsynced
// when tidwall switched files and are not scanned at Open; damage there
// surfaces later as ErrCorrupt from Read/ReadFrom.
func Open(cfg Config) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("wal: create %s: %w", cfg.Dir, err)
	}
	lockF, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	l := &Log{
		cfg:     cfg,
		logger:  cfg.Logger,
		lockF:   lockF,
		hook:    cfg.FaultHook,
		changed: make(chan struct{}),
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		cache:   tailCache{limit: cfg.TailCacheBytes},
	}
	if err := l.open(); err != nil {
		if l.tw != nil {
			l.tw.Close()
		}
		lockF.Close()
		return nil, err
	}
	l.wg.Add(1)
	go l.runCommitter()
	if cfg.Fsync == FsyncEverySec {
		l.wg.Add(1)
		go l.runSyncer()
	}
	return l, nil
}

func (l *Log) open() error {
	dir := l.cfg.Dir
	m, err := readMeta(dir)
	switch {
	case isNotExist(err):
		if m, err = l.initMeta(); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("wal: %w", err)
	}
	l.gen, l.base = m.gen, m.base
	l.genDir = filepath.Join(dir, genDirName(m.gen))
	if _, err := os.Stat(l.genDir); err != nil {
		return fmt.Errorf("%w: segment directory of %s: %w", ErrCorrupt, metaName, err)
	}
	// Leftovers of an interrupted Reset: other generations, a metadata temp file.
	if err := l.removeOtherGenerations(); err != nil {
		return err
	}
	if err := repairSegments(l.genDir, l.base, l.cfg.SegmentSize, l.logger); err != nil {
		return fmt.Errorf("wal: repair %s: %w", l.genDir, err)
	}
	tw, err := twal.Open(l.genDir, tidwallOptions(l.cfg.SegmentSize))
	if err != nil {
		return fmt.Errorf("wal: open segments in %s: %w", l.genDir, err)
	}
	l.tw = tw
	tf, err := tw.FirstIndex()
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	tl, err := tw.LastIndex()
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	l.first, l.durable = tf+l.base, tl+l.base
	l.next, l.written, l.synced = l.durable+1, l.durable, l.durable
	if tl >= tf {
		// The first record must carry the index the metadata maps it to.
		if _, err := l.readTW(l.first); err != nil {
			return fmt.Errorf("wal: check first record: %w", err)
		}
		last, err := l.readTW(l.durable)
		if err != nil {
			return fmt.Errorf("wal: read last record: %w", err)
		}
		l.lastEpoch = last.Epoch
	}
	if l.size, l.segBytes, err = statSegments(l.genDir); err != nil {
		return err
	}
	// What a crashed predecessor wrote may still be only in the page cache:
	// make it durable before building on it.
	if err := tw.Sync(); err != nil {
		return fmt.Errorf("wal: fsync at open: %w", err)
	}
	if err := syncDir(l.genDir); err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	return nil
}

// initMeta creates the metadata for a new log, after checking that the
// directory holds no segments (a lost metadata file must not silently
// restart a log that has records).
func (l *Log) initMeta() (meta, error) {
	dir := l.cfg.Dir
	entries, err := os.ReadDir(dir)
	if err != nil {
		return meta{}, fmt.Errorf("wal: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "log-") {
			continue
		}
		segs, _, err := listSegments(filepath.Join(dir, e.Name()))
		if err != nil {
			return meta{}, fmt.Errorf("wal: %w", err)
		}
		for _, s := range segs {
			if s.size > 0 {
				return meta{}, fmt.Errorf("%w: %s is missing but %s holds records", ErrCorrupt, metaName, e.Name())
			}
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return meta{}, fmt.Errorf("wal: %w", err)
		}
	}
	m := meta{gen: 1, base: 0}
	if err := os.MkdirAll(filepath.Join(dir, genDirName(m.gen)), 0o750); err != nil {
		return meta{}, fmt.Errorf("wal: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return meta{}, fmt.Errorf("wal: %w", err)
	}
	if err := writeMeta(dir, m); err != nil {
		return meta{}, fmt.Errorf("wal: %w", err)
	}
	return m, nil
}

func (l *Log) removeOtherGenerations() error {
	entries, err := os.ReadDir(l.cfg.Dir)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	keep := genDirName(l.gen)
	removed := false
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir() && strings.HasPrefix(name, "log-") && name != keep:
			l.logger.Info("wal: removing segment directory left by an interrupted reset", "dir", filepath.Join(l.cfg.Dir, name))
		case !e.IsDir() && name == metaName+".tmp":
		default:
			continue
		}
		if err := os.RemoveAll(filepath.Join(l.cfg.Dir, name)); err != nil {
			return fmt.Errorf("wal: %w", err)
		}
		removed = true
	}
	if removed {
		return syncDir(l.cfg.Dir)
	}
	return nil
}

// statSegments returns the bytes in all segment files and in the tail
// segment (whose size tidwall uses to decide when to switch files).
func statSegments(dir string) (total int64, tail int, err error) {
	segs, _, err := listSegments(dir)
	if err != nil {
		return 0, 0, fmt.Errorf("wal: %w", err)
	}
	for _, s := range segs {
		total += s.size
	}
	if len(segs) > 0 {
		tail = int(segs[len(segs)-1].size)
	}
	return total, tail, nil
}

// Append queues a record and returns its index at once; indexes are
// consecutive. The payload is copied. The record is durable (per the fsync
// policy) once WaitDurable(ctx, index) returns nil. Append blocks only while
// more than Config.MaxPendingBytes are queued. It fails with ErrClosed after
// Close, with ErrTooLarge, or with an error wrapping ErrWriteFailed once the
// log has failed.
func (l *Log) Append(epoch uint64, timeMillis int64, payload []byte) (uint64, error) {
	if len(payload) > MaxPayloadSize {
		return 0, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(payload))
	}
	buf := make([]byte, 0, EncodedSize(len(payload)))
	l.mu.Lock()
	if err := l.waitRoomLocked(); err != nil {
		l.mu.Unlock()
		return 0, err
	}
	idx := l.next
	l.enqueueLocked(EncodeRecord(buf, Record{Index: idx, Epoch: epoch, TimeMillis: timeMillis, Payload: payload}))
	l.mu.Unlock()
	l.kickCommitter()
	return idx, nil
}

// AppendRecord appends a record that already carries its index (a replica
// writing what its master shipped). The index must be NextIndex(), else it
// fails with ErrOutOfOrder and nothing is appended.
func (l *Log) AppendRecord(r Record) error {
	if len(r.Payload) > MaxPayloadSize {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, len(r.Payload))
	}
	buf := make([]byte, 0, EncodedSize(len(r.Payload)))
	l.mu.Lock()
	if err := l.waitRoomLocked(); err != nil {
		l.mu.Unlock()
		return err
	}
	if r.Index != l.next {
		next := l.next
		l.mu.Unlock()
		return fmt.Errorf("%w: got %d, next is %d", ErrOutOfOrder, r.Index, next)
	}
	l.enqueueLocked(EncodeRecord(buf, r))
	l.mu.Unlock()
	l.kickCommitter()
	return nil
}

// waitRoomLocked waits (mu held, released while waiting) until the queue has
// room, and reports whether appending is allowed at all.
func (l *Log) waitRoomLocked() error {
	for {
		if l.closed {
			return ErrClosed
		}
		if l.failErr != nil {
			return l.failErr
		}
		if l.pendingBytes <= l.cfg.MaxPendingBytes && !l.exclusive {
			return nil
		}
		ch := l.changed
		l.mu.Unlock()
		<-ch
		l.mu.Lock()
	}
}

func (l *Log) enqueueLocked(rec []byte) {
	l.next++
	l.queue = append(l.queue, rec)
	l.pendingBytes += len(rec)
	l.nAppends.Add(1)
}

func (l *Log) kickCommitter() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// WaitDurable blocks until record index is durable under the fsync policy
// (written to the OS for everysec and no, fsynced for always), and returns
// nil. It returns an error wrapping ErrWriteFailed if the write or fsync
// covering the record failed or the log failed before it became durable,
// ErrClosed if the log closed first, ErrUnavailable for an index never
// appended, or ctx's error. A nil ctx means context.Background().
func (l *Log) WaitDurable(ctx context.Context, index uint64) error {
	if ctx == nil {
		ctx = context.Background()
	}
	for {
		l.mu.Lock()
		switch {
		case index <= l.durable:
			l.mu.Unlock()
			return nil
		case l.failErr != nil:
			err := l.failErr
			l.mu.Unlock()
			return err
		case l.closed:
			l.mu.Unlock()
			return ErrClosed
		case index >= l.next:
			next := l.next
			l.mu.Unlock()
			return fmt.Errorf("%w: %d was never appended (next index %d)", ErrUnavailable, index, next)
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitIndex blocks until LastIndex() >= index (a follower waiting for new
// records), then returns nil. It returns ErrClosed when the log closes, the
// log's failure error once it has failed, or ctx's error. A nil ctx means
// context.Background().
func (l *Log) WaitIndex(ctx context.Context, index uint64) error {
	if ctx == nil {
		ctx = context.Background()
	}
	for {
		l.mu.Lock()
		switch {
		case index <= l.durable:
			l.mu.Unlock()
			return nil
		case l.closed:
			l.mu.Unlock()
			return ErrClosed
		case l.failErr != nil:
			err := l.failErr
			l.mu.Unlock()
			return err
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Notify returns a channel that is closed at the next change of the log's
// state: records becoming durable, a truncation, Reset, failure or Close.
// Call it again after each wake-up (it is a new channel each time); check
// the state after calling it, not before, to miss nothing.
func (l *Log) Notify() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// broadcastLocked wakes every waiter. mu held.
func (l *Log) broadcastLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *Log) runCommitter() {
	defer l.wg.Done()
	for {
		select {
		case <-l.kick:
		case <-l.stop:
			return
		}
		l.opMu.Lock()
		l.commitOnce()
		l.opMu.Unlock()
	}
}

func (l *Log) runSyncer() {
	defer l.wg.Done()
	t := time.NewTicker(l.cfg.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-l.stop:
			return
		}
		l.opMu.Lock()
		if !l.isFailed() && (l.written > l.synced || l.dirDirty) {
			if err := l.syncLocked(); err != nil {
				l.fail(err, "background fsync")
			}
		}
		l.opMu.Unlock()
	}
}

func (l *Log) isFailed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failErr != nil
}

// commitOnce writes everything queued as one batch, fsyncs per policy and
// publishes the records as durable. opMu held.
func (l *Log) commitOnce() {
	l.mu.Lock()
	if len(l.queue) == 0 || l.failErr != nil {
		l.mu.Unlock()
		return
	}
	recs := l.queue
	firstIdx := l.next - uint64(len(recs))
	l.queue = l.spare[:0]
	l.spare = nil
	l.pendingBytes = 0
	l.mu.Unlock()

	lastIdx := firstIdx + uint64(len(recs)) - 1
	nbytes, err := l.writeRecords(recs, firstIdx-l.base)
	if err != nil {
		l.fail(err, fmt.Sprintf("write of records %d-%d", firstIdx, lastIdx))
		return
	}
	l.written = lastIdx
	if l.cfg.Fsync == FsyncAlways {
		if err := l.syncLocked(); err != nil {
			l.fail(err, fmt.Sprintf("fsync of records %d-%d", firstIdx, lastIdx))
			return
		}
	}
	l.mu.Lock()
	l.durable = lastIdx
	l.lastEpoch = recordEpoch(recs[len(recs)-1])
	l.size += int64(nbytes)
	l.cache.add(firstIdx, recs)
	clear(recs)
	l.spare = recs[:0]
	l.broadcastLocked()
	l.mu.Unlock()
}

// writeRecords hands recs to tidwall as one batch starting at tidwall index
// twFirst and returns the bytes written. opMu held.
func (l *Log) writeRecords(recs [][]byte, twFirst uint64) (int, error) {
	l.batch.Clear()
	for i, r := range recs {
		l.batch.Write(twFirst+uint64(i), r)
	}
	if l.hook != nil {
		if err := l.hook(DiskWrite); err != nil {
			return 0, err
		}
	}
	if err := l.tw.WriteBatch(&l.batch); err != nil {
		return 0, err
	}
	l.nBatches.Add(1)
	// Follow tidwall's segment switching (writeBatch in tidwall/wal v1.2.1):
	// a full tail segment is fsynced and a new file created, whose directory
	// entry we must fsync before calling its records durable.
	total := 0
	if l.segBytes > l.cfg.SegmentSize {
		l.segBytes = 0
		l.dirDirty = true
	}
	for _, r := range recs {
		n := uvarintLen(uint64(len(r))) + len(r)
		total += n
		l.segBytes += n
		if l.segBytes >= l.cfg.SegmentSize {
			l.segBytes = 0
			l.dirDirty = true
		}
	}
	l.nWritten.Add(uint64(total))
	return total, nil
}

func uvarintLen(x uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], x)
}

// syncLocked fsyncs the tail segment (and the directory if a segment was
// created). opMu held.
func (l *Log) syncLocked() error {
	if l.hook != nil {
		if err := l.hook(DiskSync); err != nil {
			return err
		}
	}
	l.nFsyncs.Add(1)
	if err := l.tw.Sync(); err != nil {
		return err
	}
	if l.dirDirty {
		if err := syncDir(l.genDir); err != nil {
			return err
		}
		l.dirDirty = false
	}
	l.synced = l.written
	return nil
}

// fail puts the log in its sticky failed state: queued records are dropped
// and every waiter for a record that is not durable gets the error.
func (l *Log) fail(cause error, what string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failErr != nil {
		return
	}
	l.failErr = fmt.Errorf("%w: %s: %w", ErrWriteFailed, what, cause)
	l.failed.Store(&l.failErr)
	dropped := len(l.queue)
	l.queue, l.pendingBytes = nil, 0
	l.logger.Error("wal: write-ahead log failed; refusing further writes until reopened",
		"dir", l.cfg.Dir, "what", what, "err", cause.Error(), "last_durable_index", l.durable,
		"queued_records_dropped", dropped)
	l.broadcastLocked()
}

// Err returns nil, or the error (wrapping ErrWriteFailed) that put the log in
// its failed state.
// It takes no lock: servers call it before every write.
func (l *Log) Err() error {
	if p := l.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// FirstIndex returns the index of the first record in the log. When the log
// is empty it is LastIndex()+1: 1 for a new log, n after Reset(n), and
// LastIndex()+1 after TruncateFront removed every record.
func (l *Log) FirstIndex() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first
}

// LastIndex returns the index of the last durable record: the records
// Read, ReadFrom and followers can see. It is FirstIndex()-1 when the log is
// empty (0 for a new log). Records appended but not yet durable are not
// counted; see NextIndex.
func (l *Log) LastIndex() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.durable
}

// NextIndex returns the index the next Append will get.
func (l *Log) NextIndex() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}

// LastEpoch returns the epoch of record LastIndex(), and ok=false when the
// log is empty (then the epoch is that of the snapshot the log continues
// from, which the caller knows).
func (l *Log) LastEpoch() (epoch uint64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.durable < l.first {
		return 0, false
	}
	return l.lastEpoch, true
}

// Size returns the bytes in the log's segment files (record encodings plus
// tidwall's length prefixes), for triggering snapshots.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.size
}

// Stats returns counters since Open.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	s := Stats{
		FirstIndex: l.first,
		LastIndex:  l.durable,
		Pending:    int(l.next - 1 - l.durable),
		Size:       l.size,
		Policy:     l.cfg.Fsync,
		Failed:     l.failErr != nil,
	}
	l.mu.Unlock()
	s.Appends = l.nAppends.Load()
	s.Batches = l.nBatches.Load()
	s.Fsyncs = l.nFsyncs.Load()
	s.BytesWritten = l.nWritten.Load()
	return s
}

// rangeErrLocked reports why index cannot be read, or nil. mu held.
func (l *Log) rangeErrLocked(index uint64) error {
	switch {
	case l.closed:
		return ErrClosed
	case index < l.first:
		return fmt.Errorf("%w: %d < first index %d", ErrCompacted, index, l.first)
	case index > l.durable:
		return fmt.Errorf("%w: %d > last index %d", ErrUnavailable, index, l.durable)
	}
	return nil
}

// Read returns record index. It fails with ErrCompacted before FirstIndex,
// ErrUnavailable after LastIndex, ErrCorrupt when the stored record does not
// verify. The returned Payload is shared with the log's cache: do not
// modify it.
func (l *Log) Read(index uint64) (Record, error) {
	l.mu.Lock()
	if err := l.rangeErrLocked(index); err != nil {
		l.mu.Unlock()
		return Record{}, err
	}
	if b, ok := l.cache.get(index); ok {
		l.mu.Unlock()
		return decodeTrusted(b)
	}
	l.mu.Unlock()
	l.readMu.Lock()
	defer l.readMu.Unlock()
	l.mu.Lock()
	err := l.rangeErrLocked(index)
	l.mu.Unlock()
	if err != nil {
		return Record{}, err
	}
	return l.readTW(index)
}

// readTW reads and verifies one record from tidwall. readMu held (or Open).
func (l *Log) readTW(index uint64) (Record, error) {
	data, err := l.tw.Read(index - l.base)
	if err != nil {
		switch {
		case errors.Is(err, twal.ErrNotFound):
			// A TruncateFront ran between the range check and the read.
			return Record{}, fmt.Errorf("%w: %d", ErrCompacted, index)
		case errors.Is(err, twal.ErrCorrupt):
			return Record{}, fmt.Errorf("%w: segment holding record %d: %w", ErrCorrupt, index, err)
		case errors.Is(err, twal.ErrClosed):
			return Record{}, ErrClosed
		}
		return Record{}, fmt.Errorf("wal: read record %d: %w", index, err)
	}
	rec, err := DecodeRecord(data)
	if err != nil {
		return Record{}, fmt.Errorf("wal: record %d: %w", index, err)
	}
	if rec.Index != index {
		return Record{}, fmt.Errorf("%w: position %d holds record %d", ErrCorrupt, index, rec.Index)
	}
	return rec, nil
}

// ReadFrom returns up to maxRecords consecutive records starting at index
// (maxRecords < 1 means 1). index may be LastIndex()+1, which returns no records and no
// error (a follower that is caught up). Errors as for Read. Payloads are
// shared: do not modify them.
func (l *Log) ReadFrom(index uint64, maxRecords int) ([]Record, error) {
	if maxRecords < 1 {
		maxRecords = 1
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	if index == l.durable+1 && index >= l.first {
		l.mu.Unlock()
		return nil, nil
	}
	if err := l.rangeErrLocked(index); err != nil {
		l.mu.Unlock()
		return nil, err
	}
	end := l.durable
	if uint64(maxRecords-1) < end-index {
		end = index + uint64(maxRecords-1)
	}
	// Records from cacheFrom on come from the cache; before it, from tidwall.
	cacheFrom := end + 1
	if cf, ok := l.cache.firstCached(); ok && cf <= end {
		cacheFrom = max(cf, index)
	}
	cached := make([][]byte, 0, end+1-cacheFrom)
	for i := cacheFrom; i <= end; i++ {
		b, _ := l.cache.get(i)
		cached = append(cached, b)
	}
	l.mu.Unlock()

	out := make([]Record, 0, end-index+1)
	if index < cacheFrom {
		l.readMu.Lock()
		l.mu.Lock()
		err := l.rangeErrLocked(index)
		l.mu.Unlock()
		if err != nil {
			l.readMu.Unlock()
			return nil, err
		}
		for i := index; i < cacheFrom; i++ {
			rec, err := l.readTW(i)
			if err != nil {
				l.readMu.Unlock()
				return nil, err
			}
			out = append(out, rec)
		}
		l.readMu.Unlock()
	}
	for _, b := range cached {
		rec, err := decodeTrusted(b)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// quiesceLocked holds off new Appends, writes everything queued and returns
// with opMu and mu held and the queue empty, so no record is in flight.
// opMu held on entry. The caller ends with endExclusiveLocked.
func (l *Log) quiesceLocked() {
	l.mu.Lock()
	l.exclusive = true // Appends wait, so the drain below ends
	l.mu.Unlock()
	for {
		l.mu.Lock()
		if len(l.queue) == 0 || l.failErr != nil {
			return
		}
		l.mu.Unlock()
		l.commitOnce()
	}
}

// endExclusiveLocked lets Appends in again and releases mu.
func (l *Log) endExclusiveLocked() {
	l.exclusive = false
	l.broadcastLocked()
	l.mu.Unlock()
}

// TruncateFront removes the records before index, so index becomes
// FirstIndex (after a snapshot that covers them). index may be up to
// NextIndex(): records before it that are still queued are written (and
// fsynced per policy) first; index == LastIndex()+1 empties the log while
// keeping its position. An index at or before FirstIndex does nothing; one
// after NextIndex() fails with ErrOutOfRange. It may run concurrently with
// Append.
func (l *Log) TruncateFront(index uint64) error {
	l.opMu.Lock()
	defer l.opMu.Unlock()
	l.mu.Lock()
	if err := l.usableLocked(); err != nil {
		l.mu.Unlock()
		return err
	}
	first, last, next := l.first, l.durable, l.next
	l.mu.Unlock()
	if index <= first {
		return nil
	}
	if index > last+1 && index <= next {
		// Records before index are still queued (a snapshot taken under the
		// store lock covers NextIndex()-1): write them first.
		l.commitOnce()
		l.mu.Lock()
		err := l.usableLocked()
		last = l.durable
		l.mu.Unlock()
		if err != nil {
			return err
		}
	}
	if index > last+1 {
		return fmt.Errorf("%w: TruncateFront(%d) with last index %d", ErrOutOfRange, index, last)
	}
	if err := l.tw.TruncateFront(index - l.base); err != nil {
		// tidwall marks itself corrupt after a failure mid-way.
		err = fmt.Errorf("truncate front to %d: %w", index, err)
		l.fail(err, "truncate front")
		return l.Err()
	}
	if err := syncDir(l.genDir); err != nil {
		l.fail(err, "truncate front")
		return l.Err()
	}
	size, tail, serr := statSegments(l.genDir)
	l.mu.Lock()
	if serr == nil {
		l.segBytes, l.size = tail, size
	}
	l.first = index
	l.cache.dropBefore(index)
	l.broadcastLocked()
	l.mu.Unlock()
	if serr != nil {
		l.logger.Warn("wal: size accounting after truncation", "err", serr.Error())
	}
	return nil
}

// TruncateBack removes the records after index, so index becomes LastIndex
// (a replica discarding a suffix that diverged from its master's). Records
// still queued are written first, then cut with the rest. index may be
// FirstIndex()-1, which empties the log; an index at or after LastIndex does
// nothing; one before FirstIndex()-1 fails with ErrOutOfRange (use Reset).
// Appends made concurrently are ordered before or after it as a whole.
func (l *Log) TruncateBack(index uint64) error {
	l.opMu.Lock()
	defer l.opMu.Unlock()
	l.readMu.Lock()
	defer l.readMu.Unlock()
	l.quiesceLocked()
	defer l.endExclusiveLocked()
	if err := l.usableLocked(); err != nil {
		return err
	}
	if index >= l.durable {
		return nil
	}
	if index+1 < l.first {
		return fmt.Errorf("%w: TruncateBack(%d) with first index %d", ErrOutOfRange, index, l.first)
	}
	var epoch uint64
	if index >= l.first {
		rec, err := l.readTW(index)
		if err != nil {
			return err
		}
		epoch = rec.Epoch
	}
	if err := l.tw.TruncateBack(index - l.base); err != nil {
		return l.failLockedMu(fmt.Errorf("truncate back to %d: %w", index, err), "truncate back")
	}
	if err := syncDir(l.genDir); err != nil {
		return l.failLockedMu(err, "truncate back")
	}
	if size, tail, err := statSegments(l.genDir); err == nil {
		l.segBytes, l.size = tail, size
	} else {
		l.logger.Warn("wal: size accounting after truncation", "err", err.Error())
	}
	l.durable, l.next, l.lastEpoch = index, index+1, epoch
	l.written = index
	l.synced = min(l.synced, index)
	l.cache.dropAfter(index)
	l.broadcastLocked()
	return nil
}

// failLockedMu is fail for callers holding mu; it returns the sticky error.
func (l *Log) failLockedMu(cause error, what string) error {
	l.mu.Unlock()
	l.fail(cause, what)
	l.mu.Lock()
	return l.failErr
}

// usableLocked reports ErrClosed or the failure error. mu held.
func (l *Log) usableLocked() error {
	if l.closed {
		return ErrClosed
	}
	return l.failErr
}

// Reset empties the log and makes the next Append get nextIndex (>= 1):
// a replica that installed a snapshot covering nextIndex-1 continues its log
// there. Records still queued are written first and then discarded. Reset
// is atomic: after a crash the log is either the old one or the new empty
// one (segments live in a new directory that the metadata file switches to
// with one rename).
func (l *Log) Reset(nextIndex uint64) error {
	if nextIndex == 0 {
		return fmt.Errorf("%w: Reset(0): indexes start at 1", ErrOutOfRange)
	}
	l.opMu.Lock()
	defer l.opMu.Unlock()
	l.readMu.Lock()
	defer l.readMu.Unlock()
	l.quiesceLocked()
	defer l.endExclusiveLocked()
	if err := l.usableLocked(); err != nil {
		return err
	}
	newGen := l.gen + 1
	newDir := filepath.Join(l.cfg.Dir, genDirName(newGen))
	if err := os.RemoveAll(newDir); err != nil {
		return fmt.Errorf("wal: reset: %w", err)
	}
	tw, err := twal.Open(newDir, tidwallOptions(l.cfg.SegmentSize))
	if err == nil {
		err = syncDir(newDir)
	}
	if err == nil {
		err = syncDir(l.cfg.Dir)
	}
	if err == nil {
		err = writeMeta(l.cfg.Dir, meta{gen: newGen, base: nextIndex - 1})
	}
	if err != nil {
		if tw != nil {
			tw.Close()
		}
		os.RemoveAll(newDir)
		return fmt.Errorf("wal: reset: %w", err)
	}
	old, oldDir := l.tw, l.genDir
	l.tw, l.gen, l.genDir, l.base = tw, newGen, newDir, nextIndex-1
	l.first, l.durable, l.next = nextIndex, nextIndex-1, nextIndex
	l.written, l.synced, l.lastEpoch = nextIndex-1, nextIndex-1, 0
	l.segBytes, l.dirDirty, l.size = 0, false, 0
	l.cache.reset()
	l.broadcastLocked()
	if err := old.Close(); err != nil {
		l.logger.Warn("wal: reset: closing old segments", "dir", oldDir, "err", err.Error())
	}
	if err := os.RemoveAll(oldDir); err != nil {
		l.logger.Warn("wal: reset: removing old segments (retried at next Open)", "dir", oldDir, "err", err.Error())
	} else if err := syncDir(l.cfg.Dir); err != nil {
		l.logger.Warn("wal: reset: fsync directory", "dir", l.cfg.Dir, "err", err.Error())
	}
	return nil
}

// Close writes and fsyncs whatever is queued (whatever the policy), closes
// the files and releases the directory lock. Waiters for records that became
// durable get nil; later calls get ErrClosed. It returns the log's failure
// error if it had failed. Calling Close again returns nil.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.broadcastLocked() // wake Appends blocked on a full queue
	l.mu.Unlock()
	close(l.stop)
	l.wg.Wait()

	l.opMu.Lock()
	defer l.opMu.Unlock()
	l.quiesceLocked()
	failed := l.failErr != nil
	l.mu.Unlock()
	if !failed {
		if err := l.syncLocked(); err != nil {
			l.fail(err, "fsync at close")
		}
	}
	cerr := l.tw.Close()
	l.lockF.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.broadcastLocked()
	if l.failErr != nil {
		return l.failErr
	}
	if cerr != nil {
		return fmt.Errorf("wal: close: %w", cerr)
	}
	return nil
}
