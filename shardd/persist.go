package shardd

import (
	"errors"
	"fmt"
	"time"

	"github.com/shoal-kv/shoal/wal"
)

// openData opens the log, loads the newest snapshot and replays the log
// records after it.
func (s *Server) openData() error {
	policy, err := wal.ParsePolicy(s.cfg.AppendFsync)
	if err != nil {
		return fmt.Errorf("shardd: %w", err)
	}
	wcfg := wal.DefaultConfig()
	wcfg.Dir = s.cfg.DataDir + "/log"
	wcfg.Fsync = policy
	wcfg.Logger = s.log
	wcfg.FaultHook = s.cfg.walFaultHook
	lg, err := wal.Open(wcfg)
	if err != nil {
		return fmt.Errorf("shardd: opening log: %w", err)
	}
	s.wal = lg
	start := time.Now()
	var snapIndex uint64
	snap, err := wal.OpenLatestSnapshot(s.snapshotDir())
	switch {
	case errors.Is(err, wal.ErrNoSnapshot):
	case err != nil:
		lg.Close()
		return fmt.Errorf("shardd: opening snapshot: %w", err)
	default:
		err := s.store.LoadSnapshot(snap)
		snap.Close()
		if err != nil {
			lg.Close()
			return fmt.Errorf("shardd: loading snapshot %d: %w", snap.Index, err)
		}
		snapIndex = snap.Index
		s.epoch = max(s.epoch, snap.Epoch)
	}
	first, last := lg.FirstIndex(), lg.LastIndex()
	if last > snapIndex && first > snapIndex+1 {
		lg.Close()
		return fmt.Errorf("shardd: log starts at %d but the snapshot ends at %d: records are missing", first, snapIndex)
	}
	replayed := 0
	for next := max(first, snapIndex+1); next <= last; {
		recs, err := lg.ReadFrom(next, 1024)
		if err != nil {
			lg.Close()
			return fmt.Errorf("shardd: reading log at %d: %w", next, err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			if err := s.store.Apply(r.TimeMillis, r.Payload); err != nil {
				lg.Close()
				return fmt.Errorf("shardd: replaying record %d: %w", r.Index, err)
			}
			s.epoch = max(s.epoch, r.Epoch)
			replayed++
		}
		next = recs[len(recs)-1].Index + 1
	}
	s.logSizeAtSnap.Store(lg.Size())
	s.repl.restored = max(snapIndex, lg.LastIndex())
	s.log.Info("data restored", "snapshot_index", snapIndex, "records_replayed", replayed,
		"keys", s.store.Len(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

func (s *Server) snapshotDir() string { return s.cfg.DataDir + "/snapshots" }

// snapshotChunk is how many keys are serialized per hold of the lock.
const snapshotChunk = 512

// snapshot writes a snapshot of the keyspace as it is now and then drops
// the log records it covers. Clients keep being served: the lock is held
// for one chunk of keys at a time (unless lockHeld, inside EXEC, where the
// caller holds it throughout).
func (s *Server) snapshot(lockHeld bool) error {
	if s.wal == nil {
		return errors.New("snapshots are not available in diskless mode")
	}
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	s.saving.Store(true)
	defer s.saving.Store(false)
	lock, unlock := s.mu.Lock, s.mu.Unlock
	if lockHeld {
		lock, unlock = func() {}, func() {}
	}
	lock()
	sn, err := s.store.BeginSnapshot()
	if err != nil {
		unlock()
		return err
	}
	// The store holds the effects of every appended record, durable or not.
	index, epoch := s.wal.NextIndex()-1, s.epoch
	dirty := s.dirty.Load()
	unlock()
	defer func() { lock(); sn.Close(); unlock() }()

	w, err := wal.CreateSnapshot(s.snapshotDir(), index, epoch)
	if err != nil {
		s.lastSaveOK.Store(false)
		return fmt.Errorf("creating snapshot: %w", err)
	}
	start := time.Now()
	var buf []byte
	for done := false; !done; {
		lock()
		buf, done = sn.Next(buf[:0], snapshotChunk)
		unlock()
		if _, err := w.Write(buf); err != nil {
			w.Abort()
			s.lastSaveOK.Store(false)
			return fmt.Errorf("writing snapshot: %w", err)
		}
	}
	if err := w.Commit(); err != nil {
		s.lastSaveOK.Store(false)
		return fmt.Errorf("committing snapshot: %w", err)
	}
	// Records a replica still needs (SHOAL RETAIN) stay.
	if err := s.wal.TruncateFront(s.retainFloor(index + 1)); err != nil {
		s.log.Warn("truncating the log after a snapshot", "err", err)
	}
	s.dirty.Add(-dirty)
	s.logSizeAtSnap.Store(s.wal.Size())
	s.lastSave.Store(time.Now().Unix())
	s.lastSaveOK.Store(true)
	s.log.Info("snapshot saved", "index", index, "keys", sn.Keys, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// maybeSnapshot starts a background snapshot when the log has grown past
// SnapshotLogSize since the last one.
func (s *Server) maybeSnapshot() {
	if s.wal == nil || s.cfg.SnapshotLogSize <= 0 || s.saving.Load() {
		return
	}
	if s.wal.Size()-s.logSizeAtSnap.Load() < s.cfg.SnapshotLogSize {
		return
	}
	if err := s.snapshot(false); err != nil {
		s.log.Error("automatic snapshot failed", "err", err)
	}
}
