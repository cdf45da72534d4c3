package control

import (
	"context"

	"github.com/shoal-kv/shoal/gossip"
)

// convergeJob brings the shard nodes' roles to what the map says, and so
// finishes a failover whose orders were lost (the leader that committed
// it died, or a node was briefly unreachable). For each shard whose map
// master is alive in gossip:
//   - the master must announce rr=master at the map's epoch: otherwise it
//     gets SHOAL PROMOTE epoch; if it announces a higher epoch than the
//     map without being master there, the map is behind it and the shard
//     first gets a new epoch (set-master, same node);
//   - every other alive node must announce rr=replica at the map's epoch
//     or later: one announcing rr=master (an old master back) or an older
//     epoch gets SHOAL FOLLOW host port epoch.
//
// Orders go out again at most every OrderRetry while the tags disagree.
type convergeJob struct{}

func (convergeJob) run(ctx context.Context, e *env) {
	for _, ent := range e.act.Map() {
		master, ok := e.member(ent.Master)
		if !ok || !master.Alive() {
			continue // failoverJob's business
		}
		if master.Tags.Epoch > ent.Epoch && master.Tags.ReplRole != gossip.ReplMaster {
			next := ent
			next.Addr = master.Tags.RESPAddr
			next.Epoch = e.nextEpoch(ent)
			if err := e.act.Commit(ctx, command{Op: opSetMaster, Entry: next}); err != nil {
				e.log.Warn("control: raising the map's epoch failed", "shard", ent.Shard, "err", err)
				continue
			}
			ent = next
		}
		if master.Tags.ReplRole != gossip.ReplMaster || master.Tags.Epoch < ent.Epoch {
			e.promote(ctx, ent, master)
		}
		for _, m := range e.shardMembers(ent.Shard) {
			if m.Name == ent.Master || !m.Alive() {
				continue
			}
			if m.Tags.ReplRole == gossip.ReplMaster || m.Tags.Epoch < ent.Epoch {
				e.follow(ctx, ent, m, master.Tags.RESPAddr)
			}
		}
	}
}
