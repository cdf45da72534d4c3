package control

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/shoal-kv/shoal/gossip"
)

// failoverJob replaces a shard's master that is down.
//
// Trigger: the map's master is failed or left in gossip (or gone from
// it), or an alive replica of the shard announces `ml=down` (its
// replication link broke: earlier than gossip's suspicion).
// Wait: FailoverAfter from the first pass that saw the trigger; the wait
// is cancelled when the master is alive in gossip and no replica shows
// `ml=down` any more (a flapping link).
// Confirm: a direct PING to the master fails within ProbeTimeout, whatever
// gossip says: a master the leader can reach keeps its place (a loaded
// node that gossip falsely declared failed is not replaced) and the wait
// starts over.
// Pick: among the shard's alive nodes other than the master, those
// answering ROLE; durable before diskless (`dl=1`), then the highest
// offset, then the lowest name.
// Commit: set-master(shard, pick, epoch) through raft, epoch above the
// map's and every tag's. Only after the commit: SHOAL PROMOTE epoch to
// the pick, SHOAL FOLLOW host port epoch to the other alive nodes. Orders
// that get lost are re-sent by convergeJob, by this leader or the next.
type failoverJob struct {
	suspect map[string]time.Time // shard -> first pass that saw the trigger
}

func newFailoverJob() *failoverJob { return &failoverJob{suspect: map[string]time.Time{}} }

func (j *failoverJob) run(ctx context.Context, e *env) {
	for _, ent := range e.act.Map() {
		master, known := e.member(ent.Master)
		masterDown := !known || master.Status == gossip.StatusFailed || master.Status == gossip.StatusLeft
		var linkDown []string
		for _, m := range e.shardMembers(ent.Shard) {
			if m.Name != ent.Master && m.Alive() && m.Tags.Extra[gossip.KeyMasterLink] == "down" {
				linkDown = append(linkDown, m.Name)
			}
		}
		log := e.log.With("shard", ent.Shard, "master", ent.Master, "epoch", ent.Epoch)
		if !masterDown && len(linkDown) == 0 {
			if _, ok := j.suspect[ent.Shard]; ok {
				log.Info("control: master back, failover cancelled")
				delete(j.suspect, ent.Shard)
			}
			continue
		}
		since, ok := j.suspect[ent.Shard]
		if !ok {
			log.Info("control: master looks down, waiting before failover",
				"master_status", master.Status, "link_down", linkDown, "wait", e.cfg.FailoverAfter)
			j.suspect[ent.Shard] = e.now
			continue
		}
		if e.now.Sub(since) < e.cfg.FailoverAfter {
			continue
		}
		if err := e.shards.ping(ctx, e.cfg.ProbeTimeout, e.masterAddr(ent)); err == nil {
			log.Info("control: master answers PING, no failover", "master_status", master.Status, "link_down", linkDown)
			j.suspect[ent.Shard] = e.now
			continue
		} else {
			log.Info("control: master does not answer PING", "master_status", master.Status, "err", err)
		}
		if j.failover(ctx, e, ent) {
			delete(j.suspect, ent.Shard)
		}
	}
}

// failover picks, commits and orders; it reports whether the commit was
// made (the orders may still be lost: convergeJob re-sends them).
func (j *failoverJob) failover(ctx context.Context, e *env, ent Entry) bool {
	log := e.log.With("shard", ent.Shard, "master", ent.Master, "epoch", ent.Epoch)
	var cands []gossip.Member
	var addrs []string
	for _, m := range e.shardMembers(ent.Shard) {
		if m.Name != ent.Master && m.Alive() {
			cands = append(cands, m)
			addrs = append(addrs, m.Tags.RESPAddr)
		}
	}
	roles := e.shards.roleAll(ctx, e.cfg.ProbeTimeout, addrs)
	type cand struct {
		m      gossip.Member
		offset uint64
	}
	var ok []cand
	for _, m := range cands {
		if r, found := roles[m.Tags.RESPAddr]; found {
			ok = append(ok, cand{m, r.offset})
		}
	}
	if len(ok) == 0 {
		log.Warn("control: no replica to fail over to", "alive", len(cands))
		return false
	}
	best := slices.MinFunc(ok, func(a, b cand) int {
		return cmp.Or(
			cmp.Compare(b2i(cached(a.m)), b2i(cached(b.m))), // durable first
			cmp.Compare(b.offset, a.offset),                 // highest offset
			strings.Compare(a.m.Name, b.m.Name))
	})
	next := Entry{Shard: ent.Shard, Master: best.m.Name, Addr: best.m.Tags.RESPAddr, Epoch: e.nextEpoch(ent)}
	log.Info("control: failing over", "to", next.Master, "offset", best.offset, "new_epoch", next.Epoch, "candidates", len(ok))
	if err := e.act.Commit(ctx, command{Op: opSetMaster, Entry: next}); err != nil {
		log.Warn("control: failover commit failed, no orders sent", "err", err)
		return false
	}
	e.promote(ctx, next, best.m)
	for _, m := range cands {
		if m.Name != next.Master {
			e.follow(ctx, next, m, next.Addr)
		}
	}
	// A master that is alive in gossip but failed PING (hung) is told too.
	if old, found := e.member(ent.Master); found && old.Alive() {
		e.follow(ctx, next, old, next.Addr)
	}
	return true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
