package shardd

// The shard daemon's side of the control plane: the known epoch and the
// orders that carry one (SHOAL PROMOTE, SHOAL FOLLOW), the role file that
// makes both survive a restart, stepping down when gossip shows a master
// of a higher epoch, and the retention floor (SHOAL RETAIN). The leader
// (package control) sends the orders; shardd never imports it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/wal"
)

// MapSource gives the cluster map for SHOAL MAP: the control plane running
// in this process (control.Node implements it). AppendMap appends the
// RESP reply to dst: an array with one element per shard, sorted by shard
// name, each [shard, master node, master RESP address, epoch] (bulk
// strings, the epoch an integer). Leader names the raft leader this node
// knows (SHOAL LEADER): its node name and raft address, empty when none is
// known. Both are called from client goroutines, concurrently.
type MapSource interface {
	AppendMap(dst []byte) ([]byte, error)
	Leader() (id, addr string)
}

// SetMapSource makes src answer SHOAL MAP from now on (nil: none), for a
// control plane started after New because it uses the server's gossip
// agent. Safe for concurrent use.
func (s *Server) SetMapSource(src MapSource) {
	if src == nil {
		s.mapSource.Store(nil)
		return
	}
	s.mapSource.Store(&src)
}

// StaleEpochError refuses an order whose epoch is older than the epoch the
// node knows (a deposed leader's order). The protocol edge sends it as
// -STALEEPOCH.
type StaleEpochError struct {
	Order, Known uint64
}

func (e *StaleEpochError) Error() string {
	return fmt.Sprintf("order epoch %d is older than known epoch %d", e.Order, e.Known)
}

// higherMasterInterval is how often a master looks in gossip for a master
// of its shard with a higher epoch.
const higherMasterInterval = 100 * time.Millisecond

// roleFile is the role file's name in the data directory.
const roleFile = "role.json"

// roleState is what the role file keeps: the highest epoch of an order the
// node accepted, and the role the last order (or REPLICAOF) gave it. Once
// the file exists it decides the role at start, over Config.ReplicaOf: a
// node told to follow the new master must not come back as a master of
// an old epoch, nor a promoted one as a replica of its old master.
type roleState struct {
	Epoch     uint64 `json:"epoch"`
	ReplicaOf string `json:"replicaof"` // "" = master
	set       bool   // the file exists (diskless: an order was accepted)
}

// knownEpochLocked is the node's known epoch: the highest of its last
// record's epoch, any order's epoch it accepted, and its master's epoch.
// mu held.
func (s *Server) knownEpochLocked() uint64 { return max(s.epoch, s.repl.known) }

// KnownEpoch returns the node's known epoch (the gossip tag e).
func (s *Server) KnownEpoch() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.knownEpochLocked()
}

// loadRoleState reads the role file (when there is one) and returns the
// master to follow at start: the file's, or else Config.ReplicaOf.
func (s *Server) loadRoleState() (string, error) {
	if s.cfg.Diskless {
		return s.cfg.ReplicaOf, nil
	}
	b, err := os.ReadFile(filepath.Join(s.cfg.DataDir, roleFile))
	if errors.Is(err, os.ErrNotExist) {
		return s.cfg.ReplicaOf, nil
	}
	if err != nil {
		return "", fmt.Errorf("shardd: reading the role file: %w", err)
	}
	var st roleState
	if err := json.Unmarshal(b, &st); err != nil {
		return "", fmt.Errorf("shardd: role file %s: %w", filepath.Join(s.cfg.DataDir, roleFile), err)
	}
	st.set = true
	s.repl.persisted = st
	s.mu.Lock()
	s.repl.known = max(s.repl.known, st.Epoch)
	s.mu.Unlock()
	if st.ReplicaOf != s.cfg.ReplicaOf {
		s.log.Info("the last order decides the role, not the replicaof setting",
			"order_epoch", st.Epoch, "replicaof", st.ReplicaOf, "configured", s.cfg.ReplicaOf)
	}
	return st.ReplicaOf, nil
}

// persistRoleLocked records st in the role file (written to a temporary
// file, fsynced, renamed over the old one, directory fsynced) before the
// order is acknowledged. Diskless nodes keep it in memory. roleMu held.
func (s *Server) persistRoleLocked(st roleState) error {
	st.set = true
	if st == s.repl.persisted {
		return nil
	}
	if !s.cfg.Diskless {
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		if err := wal.WriteFileAtomic(s.cfg.DataDir, roleFile, append(b, '\n')); err != nil {
			return fmt.Errorf("writing the role file: %w", err)
		}
	}
	s.repl.persisted = st
	return nil
}

// becomeMaster stops following and makes the node a master at epoch order
// (SHOAL PROMOTE), or with order 0 at one above its known epoch (REPLICAOF
// NO ONE; on a master it does nothing). An order older than the known
// epoch is refused with a *StaleEpochError; a master already at order
// does nothing. The epoch is recorded in the role file, then its first
// record (empty) is written durably.
func (s *Server) becomeMaster(order uint64) error {
	s.repl.roleMu.Lock()
	defer s.repl.roleMu.Unlock()
	if s.inShutdown.Load() { // stopReplication may have run
		return ErrServerClosed
	}
	s.mu.Lock()
	known, cur, master := s.knownEpochLocked(), s.epoch, !s.isReplica()
	s.mu.Unlock()
	switch {
	case order == 0 && master:
		return nil
	case order == 0:
		order = known + 1
	case order < known:
		return &StaleEpochError{Order: order, Known: known}
	case master && cur == order:
		return nil
	}
	if err := s.persistRoleLocked(roleState{Epoch: order}); err != nil {
		return err
	}
	if f := s.repl.follower; f != nil {
		f.Stop()
		s.repl.follower = nil
	}
	s.repl.linkDown.Store(false)
	empty := ""
	s.repl.masterAddr.Store(&empty)
	err := s.enterEpoch(order)
	s.log.Info("promoted to master", "epoch", order, "err", err)
	s.updateGossipTags()
	return err
}

// enterEpoch makes the node a master writing in epoch. The epoch's first
// record is empty: it makes the epoch durable and tells replicas at once.
func (s *Server) enterEpoch(epoch uint64) error {
	s.mu.Lock()
	s.store.SetReplica(false)
	s.repl.replica.Store(false)
	s.epoch = epoch
	s.repl.known = max(s.repl.known, epoch)
	var idx uint64
	var err error
	if s.wal != nil {
		idx, err = s.wal.Append(epoch, time.Now().UnixMilli(), nil)
		if err == nil {
			s.noteWrite(idx)
		}
	}
	s.mu.Unlock()
	if err == nil && idx > 0 {
		err = s.wal.WaitDurable(context.Background(), idx)
	}
	return err
}

// finishPromotion completes, at start, a promotion the role file recorded
// but whose first record was not written before a crash.
func (s *Server) finishPromotion() error {
	s.mu.Lock()
	known, cur := s.knownEpochLocked(), s.epoch
	s.mu.Unlock()
	if known <= cur {
		return nil
	}
	s.log.Info("completing a promotion interrupted by a restart", "epoch", known, "log_epoch", cur)
	if err := s.enterEpoch(known); err != nil {
		return fmt.Errorf("shardd: completing the promotion to epoch %d: %w", known, err)
	}
	return nil
}

// followMaster makes the node a replica of addr (SHOAL FOLLOW with the
// order's epoch; REPLICAOF with order 0, unfenced). An order older than
// the known epoch is refused with a *StaleEpochError. A master steps down:
// its records the new master lacks are discarded when it syncs (TRUNCATE,
// or FULLSYNC). Already following addr, it only raises the known epoch and
// reports already=true.
func (s *Server) followMaster(addr string, order uint64) (already bool, err error) {
	s.repl.roleMu.Lock()
	defer s.repl.roleMu.Unlock()
	if s.inShutdown.Load() { // stopReplication may have run: start nothing
		return false, ErrServerClosed
	}
	s.mu.Lock()
	known := s.knownEpochLocked()
	s.mu.Unlock()
	if order != 0 && order < known {
		return false, &StaleEpochError{Order: order, Known: known}
	}
	if err := s.persistRoleLocked(roleState{Epoch: max(s.repl.persisted.Epoch, order), ReplicaOf: addr}); err != nil {
		return false, err
	}
	if order > known {
		s.mu.Lock()
		s.repl.known = max(s.repl.known, order)
		s.mu.Unlock()
	}
	if s.isReplica() && *s.repl.masterAddr.Load() == addr {
		if order > known {
			s.updateGossipTags()
		}
		return true, nil
	}
	s.followLocked(addr)
	return false, nil
}

// stepDownForHigherMaster steps a master down when gossip shows a live
// master of its shard with a higher epoch (a master that was cut off or
// restarted while another was promoted). It runs every
// higherMasterInterval.
func (s *Server) stepDownForHigherMaster() {
	if s.isReplica() || s.inShutdown.Load() {
		return
	}
	m, ok := s.higherMaster()
	if !ok {
		return
	}
	s.log.Info("a master of a higher epoch is alive: stepping down to follow it",
		"node", m.Name, "addr", m.Tags.RESPAddr, "epoch", m.Tags.Epoch)
	if _, err := s.followMaster(m.Tags.RESPAddr, m.Tags.Epoch); err != nil {
		s.log.Warn("stepping down", "node", m.Name, "err", err)
	}
}

// higherMaster finds the live master of this node's shard with the
// highest epoch above this node's own, if any.
func (s *Server) higherMaster() (gossip.Member, bool) {
	s.mu.Lock()
	own := s.epoch
	s.mu.Unlock()
	self := s.gossip.Name()
	var best gossip.Member
	for _, m := range s.gossip.Members() {
		t := m.Tags
		if m.Name == self || !m.Alive() || t.Role != gossip.RoleShard || t.Shard != s.cfg.Shard ||
			t.ReplRole != gossip.ReplMaster || t.RESPAddr == s.cfg.RESPAddr {
			continue
		}
		if t.Epoch > own && t.Epoch > best.Tags.Epoch {
			best = m
		}
	}
	return best, best.Name != ""
}

// retainFloor returns the first index the log must keep when its front is
// truncated to drop the records before want. Under a SHOAL RETAIN floor
// (the lowest index a replica still needs) it also keeps the record just
// before the floor: a replica resuming there names that record's epoch,
// which the master compares with its own copy (without it, a snapshot).
func (s *Server) retainFloor(want uint64) uint64 {
	f := s.repl.retain.Load()
	if f == 0 {
		return want
	}
	return min(want, max(f-1, 1))
}
