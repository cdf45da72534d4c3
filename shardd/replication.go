package shardd

// Replication on the server's side: the SHOAL SYNC handler hands the
// connection to repl.Master; REPLICAOF starts a repl.Replica whose Applier
// (replApplier) applies records to the store and logs them with the
// master's indexes; WAIT, ROLE, INFO replication, READONLY and
// min-replicas-to-write. See shardd/repl for the protocol.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/shardd/repl"
	"github.com/shoal-kv/shoal/shardd/store"
	"github.com/shoal-kv/shoal/wal"
)

// Error replies of replication.
const (
	errReadonly  = "READONLY You can't write against a read only replica."
	errUnblocked = "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
)

// replState is the server's replication state. Fields marked (mu) are
// guarded by Server.mu, (roleMu) by roleMu.
type replState struct {
	master *repl.Master // serves replicas; nil when diskless (no log)
	cache  *keyCache    // diskless cached mode; nil otherwise

	replica atomic.Bool // following a master: refuse client writes

	roleMu     sync.Mutex    // serializes role changes (REPLICAOF, orders)
	follower   *repl.Replica // (roleMu) nil when master
	masterAddr atomic.Pointer[string]
	// linkDown: the link to the master broke or could not be dialed, and
	// no sync has succeeded since (gossip tag ml=down).
	linkDown atomic.Bool

	applied  uint64 // (mu) last applied index when diskless (durable nodes use the log)
	known    uint64 // (mu) highest epoch of an order, a master or the state file (see knownEpochLocked)
	restored uint64 // (mu) index covered by the state loaded at start

	persisted roleState     // (roleMu) what the role file says
	retain    atomic.Uint64 // SHOAL RETAIN floor for the log front; 0 = none

	minReplicas atomic.Int64 // min-replicas-to-write
	minLag      atomic.Int64 // min-replicas-max-lag, nanoseconds
}

// initReplication sets replication up after the data is restored: the
// master side when there is a log, the cache in cached mode, and following
// cfg.ReplicaOf.
func (s *Server) initReplication() error {
	s.repl.minReplicas.Store(int64(s.cfg.MinReplicasToWrite))
	s.repl.minLag.Store(int64(s.cfg.MinReplicasMaxLag))
	empty := ""
	s.repl.masterAddr.Store(&empty)
	replicaOf, err := s.loadRoleState()
	if err != nil {
		return err
	}
	if s.wal != nil {
		// A log left empty behind the restored snapshot (a crash while a
		// replica reset its state) continues after the snapshot.
		if s.wal.NextIndex() <= s.repl.restored {
			if err := s.wal.Reset(s.repl.restored + 1); err != nil {
				return fmt.Errorf("shardd: repositioning the log: %w", err)
			}
		}
		s.repl.master = repl.NewMaster(repl.MasterConfig{
			Log:       s.wal,
			Snapshots: replSnapshotter{s},
			Epoch:     s.currentEpoch,
			Logger:    s.log,
			Timeout:   s.cfg.ReplTimeout,
		})
	}
	if s.cfg.Diskless && s.cfg.MaxMemory > 0 {
		kc, err := newKeyCache(s, s.cfg.MaxMemory)
		if err != nil {
			return fmt.Errorf("shardd: cache: %w", err)
		}
		s.repl.cache = kc
		s.bg.Add(1)
		go kc.run()
	}
	if replicaOf != "" {
		s.repl.roleMu.Lock()
		s.followLocked(replicaOf)
		s.repl.roleMu.Unlock()
		return nil
	}
	return s.finishPromotion()
}

func (s *Server) currentEpoch() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch
}

// isReplica reports whether the node follows a master.
func (s *Server) isReplica() bool { return s.repl.replica.Load() }

// appliedIndexLocked is the index of the last record in this node's state.
// mu held.
func (s *Server) appliedIndexLocked() uint64 {
	if s.wal != nil {
		return s.wal.NextIndex() - 1
	}
	return s.repl.applied
}

// noteWrite records the time of a write the master logged (lag statistics).
// mu held.
func (s *Server) noteWrite(idx uint64) {
	if s.repl.master != nil {
		s.repl.master.NoteWrite(idx)
	}
}

// listenPort is the port this node serves clients on, for the master's
// INFO and ROLE.
func (s *Server) listenPort() int {
	addr := s.cfg.RESPAddr
	if addr == "" {
		if a := s.Addr(); a != nil {
			addr = a.String()
		}
	}
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// followLocked makes the node a replica of addr. roleMu held.
func (s *Server) followLocked(addr string) {
	if f := s.repl.follower; f != nil {
		f.Stop()
	}
	s.repl.linkDown.Store(false)
	s.mu.Lock()
	s.store.SetReplica(true)
	s.repl.replica.Store(true)
	for _, ws := range s.blocked { // clients blocked on keys get -UNBLOCKED
		for w := range ws {
			w.signal()
		}
	}
	s.mu.Unlock()
	s.repl.masterAddr.Store(&addr)
	s.repl.follower = repl.StartReplica(repl.ReplicaConfig{
		MasterAddr: addr,
		Auth:       s.cfg.MasterAuth,
		ListenPort: s.listenPort,
		Applier:    replApplier{s},
		Logger:     s.log,
		Timeout:    s.cfg.ReplTimeout,
		OnLink:     s.masterLink,
	})
	s.log.Info("replicating", "master", addr)
	s.updateGossipTags()
}

// masterLink is the replica's OnLink hook: it keeps the ml gossip tag.
func (s *Server) masterLink(up bool) {
	if s.repl.linkDown.Swap(!up) != !up {
		s.updateGossipTags()
	}
}

// stopReplication stops following (Shutdown).
func (s *Server) stopReplication() {
	s.repl.roleMu.Lock()
	defer s.repl.roleMu.Unlock()
	if s.repl.follower != nil {
		s.repl.follower.Stop()
		s.repl.follower = nil
	}
	if s.repl.master != nil {
		s.repl.master.DropAll()
	}
}

// replicaStatus returns the link's state, or ok=false on a master.
func (s *Server) replicaStatus() (repl.ReplicaStatus, bool) {
	s.repl.roleMu.Lock()
	defer s.repl.roleMu.Unlock()
	if s.repl.follower == nil {
		return repl.ReplicaStatus{}, false
	}
	return s.repl.follower.Status(), true
}

// replicaApplyLag returns the replica's apply lag statistics.
func (s *Server) replicaApplyLag() (repl.LagStats, bool) {
	s.repl.roleMu.Lock()
	defer s.repl.roleMu.Unlock()
	if s.repl.follower == nil {
		return repl.LagStats{}, false
	}
	return s.repl.follower.ApplyLag(), true
}

// resetReplStats clears the lag statistics (CONFIG RESETSTAT).
func (s *Server) resetReplStats() {
	if s.repl.master != nil {
		s.repl.master.ResetLag()
	}
	s.repl.roleMu.Lock()
	defer s.repl.roleMu.Unlock()
	if s.repl.follower != nil {
		s.repl.follower.ResetLag()
	}
}

// replRole is the node's role for gossip.
func (s *Server) replRole() gossip.ReplRole {
	if s.isReplica() {
		return gossip.ReplReplica
	}
	return gossip.ReplMaster
}

// writeRefused returns the error a write gets for replication reasons
// (READONLY on a replica, NOREPLICAS under min-replicas-to-write), or "".
func (s *Server) writeRefused() string {
	if s.isReplica() {
		return errReadonly
	}
	n := s.repl.minReplicas.Load()
	lag := s.repl.minLag.Load()
	if n <= 0 || lag <= 0 {
		return ""
	}
	if s.repl.master == nil || int64(s.repl.master.GoodReplicas(time.Duration(lag))) < n {
		return "NOREPLICAS Not enough good replicas to write."
	}
	return ""
}

// ---- the replica's state, as replication drives it ----

// replApplier implements repl.Applier over the server.
type replApplier struct{ s *Server }

var _ repl.Applier = replApplier{}

func (a replApplier) Position() (uint64, uint64) {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := s.appliedIndexLocked()
	if idx == 0 {
		return 0, 0
	}
	return idx, s.epoch
}

func (a replApplier) Logged() uint64 {
	s := a.s
	if s.wal != nil {
		return s.wal.LastIndex()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repl.applied
}

func (a replApplier) MasterEpoch(epoch uint64) {
	s := a.s
	s.mu.Lock()
	raised := epoch > s.knownEpochLocked()
	s.repl.known = max(s.repl.known, epoch)
	s.mu.Unlock()
	if raised {
		s.updateGossipTags()
	}
}

func (a replApplier) Apply(recs []wal.Record) error {
	s := a.s
	s.mu.Lock()
	known := s.knownEpochLocked()
	for _, r := range recs {
		if s.wal != nil {
			if err := s.wal.AppendRecord(r); err != nil {
				s.mu.Unlock()
				return fmt.Errorf("logging record %d: %w", r.Index, err)
			}
		}
		var err error
		if kc := s.repl.cache; kc != nil {
			err = kc.apply(r.TimeMillis, r.Payload)
		} else {
			err = s.store.Apply(r.TimeMillis, r.Payload)
		}
		if err != nil {
			// The effects come from a master that applied them: failing
			// here means the states differ. Keep going (the record is
			// logged) and say so loudly.
			s.log.Error("applying a replicated record", "index", r.Index, "err", err)
		}
		s.repl.applied = r.Index
		s.epoch = r.Epoch
		s.dirty.Add(1)
	}
	raised := s.knownEpochLocked() > known
	s.mu.Unlock()
	if kc := s.repl.cache; kc != nil {
		kc.sync(false)
	}
	if raised {
		s.updateGossipTags()
	}
	return nil
}

// newReplicaStore returns an empty store in replica mode.
func newReplicaStore() *store.Store {
	cfg := store.DefaultConfig()
	cfg.Replica = true
	return store.New(cfg)
}

// swapStoreLocked installs st as the keyspace. mu held.
func (s *Server) swapStoreLocked(st *store.Store) {
	st.SetReplica(s.isReplica())
	st.Touched = s.keyTouched
	st.Flushed = s.allTouched
	s.store = st
	s.allTouched()
}

func (a replApplier) Truncate(index uint64) error {
	s := a.s
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	if s.wal == nil {
		return s.resetState()
	}
	s.mu.Lock()
	cur := s.appliedIndexLocked()
	s.mu.Unlock()
	if index >= cur {
		return nil
	}
	// Rebuild the state as of index from the newest local snapshot and
	// the log, when they cover it.
	snapIndex, snapEpoch := uint64(0), uint64(0)
	snap, err := wal.OpenLatestSnapshot(s.snapshotDir())
	switch {
	case errors.Is(err, wal.ErrNoSnapshot):
	case err != nil:
		return err
	default:
		defer snap.Close()
		snapIndex, snapEpoch = snap.Index, snap.Epoch
	}
	first := s.wal.FirstIndex()
	if snapIndex > index || (index > snapIndex && first > snapIndex+1) {
		s.log.Warn("cannot rebuild the state before the divergent records: starting over", "keep_up_to", index, "snapshot_index", snapIndex, "log_first", first)
		return s.resetState()
	}
	if index+1 >= first {
		err = s.wal.TruncateBack(index)
	} else {
		err = s.wal.Reset(index + 1)
	}
	if err != nil {
		return err
	}
	st := newReplicaStore()
	epoch := snapEpoch
	if snap != nil {
		if err := st.LoadSnapshot(snap); err != nil {
			return fmt.Errorf("loading snapshot %d: %w", snapIndex, err)
		}
	}
	for next := snapIndex + 1; next <= index; {
		recs, err := s.wal.ReadFrom(next, 1024)
		if err != nil {
			return fmt.Errorf("replaying record %d: %w", next, err)
		}
		if len(recs) == 0 {
			return fmt.Errorf("replaying: record %d missing", next)
		}
		for _, r := range recs {
			if r.Index > index {
				break
			}
			if err := st.Apply(r.TimeMillis, r.Payload); err != nil {
				s.log.Error("replaying a record", "index", r.Index, "err", err)
			}
			epoch = r.Epoch
			next = r.Index + 1
		}
	}
	s.mu.Lock()
	s.swapStoreLocked(st)
	s.epoch = epoch
	s.mu.Unlock()
	s.logSizeAtSnap.Store(s.wal.Size())
	s.log.Info("discarded the records the master does not have", "last_kept", index, "from", cur)
	s.repl.master.DropAll()
	return nil
}

// resetState discards everything: empty store, empty log from index 1, no
// snapshot. The caller holds snapMu.
func (s *Server) resetState() error {
	s.mu.Lock()
	if s.wal != nil {
		if err := s.wal.Reset(1); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	s.swapStoreLocked(newReplicaStore())
	s.repl.applied = 0
	if kc := s.repl.cache; kc != nil {
		kc.reset(true) // empty at index 0, as a new replica
	}
	s.mu.Unlock()
	if s.wal != nil {
		// After the log: a crash in between leaves the old snapshot with
		// an empty log, which initReplication repositions and the master
		// then corrects again.
		if err := removeSnapshots(s.snapshotDir(), 0); err != nil {
			return err
		}
		s.logSizeAtSnap.Store(s.wal.Size())
		s.repl.master.DropAll()
	}
	return nil
}

// removeSnapshots deletes the committed snapshot files with an index above
// keep. It knows wal's file names: snapshot-<20 digits>.snap.
func removeSnapshots(dir string, keep uint64) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		digits, ok := strings.CutPrefix(name, "snapshot-")
		if !ok {
			continue
		}
		digits, ok = strings.CutSuffix(digits, ".snap")
		if !ok || len(digits) != 20 {
			continue
		}
		idx, err := strconv.ParseUint(digits, 10, 64)
		if err != nil || idx <= keep {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

func (a replApplier) InstallSnapshot(index, epoch uint64) (repl.SnapshotSink, error) {
	s := a.s
	s.snapMu.Lock()
	release := sync.OnceFunc(s.snapMu.Unlock)
	switch {
	case s.wal != nil:
		// The log must not hold records after the snapshot: were the
		// process to crash between the snapshot's commit and the log's
		// reset, they would be replayed on top of it.
		if last, first := s.wal.LastIndex(), s.wal.FirstIndex(); last > index {
			var err error
			if index+1 >= first {
				err = s.wal.TruncateBack(index)
			} else {
				err = s.wal.Reset(index + 1)
			}
			if err != nil {
				release()
				return nil, err
			}
		}
		if err := removeSnapshots(s.snapshotDir(), index); err != nil {
			release()
			return nil, err
		}
		w, err := wal.CreateSnapshot(s.snapshotDir(), index, epoch)
		if err != nil {
			release()
			return nil, err
		}
		return &durableSink{s: s, w: w, index: index, epoch: epoch, release: release}, nil
	case s.repl.cache != nil:
		s.mu.Lock()
		ld := s.repl.cache.startLoad(newReplicaStore)
		s.repl.applied = 0
		s.mu.Unlock()
		return &cachedSink{s: s, ld: ld, index: index, epoch: epoch, release: release}, nil
	default:
		st := newReplicaStore()
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			err := st.LoadSnapshot(pr)
			pr.CloseWithError(err)
			done <- err
		}()
		return &memorySink{s: s, st: st, pw: pw, done: done, index: index, epoch: epoch, release: release}, nil
	}
}

// durableSink writes the master's snapshot as this node's newest snapshot
// file, then loads it and continues the log after it.
type durableSink struct {
	s            *Server
	w            *wal.SnapshotWriter
	index, epoch uint64
	release      func()
}

func (d *durableSink) Write(p []byte) (int, error) { return d.w.Write(p) }

func (d *durableSink) Abort() {
	d.w.Abort()
	d.release()
}

func (d *durableSink) Commit() error {
	defer d.release()
	s := d.s
	if err := d.w.Commit(); err != nil {
		return err
	}
	snap, err := wal.OpenLatestSnapshot(s.snapshotDir())
	if err != nil {
		return err
	}
	defer snap.Close()
	if snap.Index != d.index {
		return fmt.Errorf("the newest snapshot is %d, not the one just received (%d)", snap.Index, d.index)
	}
	st := newReplicaStore()
	if err := st.LoadSnapshot(snap); err != nil {
		return err
	}
	s.mu.Lock()
	err = s.wal.Reset(d.index + 1)
	if err == nil {
		s.swapStoreLocked(st)
		s.epoch = d.epoch
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.logSizeAtSnap.Store(s.wal.Size())
	s.repl.master.DropAll()
	return nil
}

// memorySink loads the snapshot into a new store as it arrives (diskless,
// unbounded).
type memorySink struct {
	s            *Server
	st           *store.Store
	pw           *io.PipeWriter
	done         chan error
	index, epoch uint64
	release      func()
}

func (m *memorySink) Write(p []byte) (int, error) { return m.pw.Write(p) }

func (m *memorySink) Abort() {
	m.pw.CloseWithError(errors.New("snapshot transfer aborted"))
	<-m.done
	m.release()
}

func (m *memorySink) Commit() error {
	defer m.release()
	m.pw.Close()
	if err := <-m.done; err != nil {
		return err
	}
	s := m.s
	s.mu.Lock()
	s.swapStoreLocked(m.st)
	s.repl.applied = m.index
	s.epoch = m.epoch
	s.mu.Unlock()
	return nil
}

// cachedSink admits the snapshot's keys one by one (cached mode).
type cachedSink struct {
	s            *Server
	ld           *cacheLoader
	index, epoch uint64
	release      func()
}

func (c *cachedSink) Write(p []byte) (int, error) { return c.ld.pw.Write(p) }

func (c *cachedSink) Abort() {
	c.ld.pw.CloseWithError(errors.New("snapshot transfer aborted"))
	<-c.ld.done
	// The keys loaded so far are no state at any index: start from empty
	// (index 0), as a new replica.
	s := c.s
	s.mu.Lock()
	s.swapStoreLocked(newReplicaStore())
	s.repl.cache.reset(true)
	s.repl.applied = 0
	s.mu.Unlock()
	c.release()
}

func (c *cachedSink) Commit() error {
	defer c.release()
	c.ld.pw.Close()
	if err := <-c.ld.done; err != nil {
		return err
	}
	kc := c.s.repl.cache
	kc.sync(true)
	s := c.s
	s.mu.Lock()
	s.repl.applied = c.index
	s.epoch = c.epoch
	kc.complete = !kc.lost
	s.mu.Unlock()
	return nil
}

// ---- the master's snapshots for replicas ----

// replSnapshotter implements repl.Snapshotter over the store's
// copy-on-write snapshot, one chunk per hold of the lock.
type replSnapshotter struct{ s *Server }

func (p replSnapshotter) BeginSnapshot() (repl.Snapshot, error) {
	s := p.s
	s.snapMu.Lock()
	s.mu.Lock()
	sn, err := s.store.BeginSnapshot()
	if err != nil {
		s.mu.Unlock()
		s.snapMu.Unlock()
		return nil, err
	}
	idx, epoch := s.appliedIndexLocked(), s.epoch
	s.mu.Unlock()
	return &replSnapshot{s: s, sn: sn, index: idx, epoch: epoch}, nil
}

type replSnapshot struct {
	s            *Server
	sn           *store.Snapshot
	index, epoch uint64
	closed       bool
}

func (r *replSnapshot) Index() uint64 { return r.index }
func (r *replSnapshot) Epoch() uint64 { return r.epoch }

func (r *replSnapshot) Next(dst []byte) ([]byte, bool) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return r.sn.Next(dst, snapshotChunk)
}

func (r *replSnapshot) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.s.mu.Lock()
	r.sn.Close()
	r.s.mu.Unlock()
	r.s.snapMu.Unlock()
}
