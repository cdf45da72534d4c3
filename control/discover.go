package control

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/shoal-kv/shoal/gossip"
)

// discoverJob makes the map follow what gossip shows the leader did not
// decide itself:
//   - a shard the map does not have yet is adopted with its alive master
//     (rr=master) and that master's epoch — or, when none is alive, with
//     the master gossip last saw (failed before any leader adopted it), so
//     the failover job then replaces it;
//   - an alive master announcing a higher epoch than the map's (promoted
//     by hand, REPLICAOF NO ONE) becomes the shard's master in the map;
//   - the map's master, alive at the map's epoch on a new RESP address
//     (restarted elsewhere), gets its address updated.
//
// Among several alive masters the highest epoch wins, then the lowest name.
type discoverJob struct{}

func (discoverJob) run(ctx context.Context, e *env) {
	cmap := e.act.Map()
	for _, shard := range e.shardNames() {
		members := e.shardMembers(shard)
		cur, known := cmap.Get(shard)
		best, ok := topMaster(members, true)
		if !ok && !known {
			best, ok = topMaster(members, false)
		}
		if !ok {
			continue
		}
		ent := Entry{Shard: shard, Master: best.Name, Addr: best.Tags.RESPAddr, Epoch: best.Tags.Epoch}
		var c command
		switch {
		case !known:
			c = command{Op: opAdopt, Entry: ent}
		case ent.Epoch > cur.Epoch:
			c = command{Op: opSetMaster, Entry: ent}
		case ent.Master == cur.Master && ent.Epoch == cur.Epoch && ent.Addr != cur.Addr:
			c = command{Op: opSetAddr, Entry: ent}
		default:
			continue
		}
		if err := e.act.Commit(ctx, c); err != nil {
			e.log.Warn("control: map update failed", "cmd", c, "err", err)
		} else {
			e.log.Info("control: map updated from gossip", "cmd", c)
		}
	}
}

// topMaster returns the node announcing rr=master with the highest epoch
// (ties: lowest name), among the alive ones only with aliveOnly.
func topMaster(ms []gossip.Member, aliveOnly bool) (gossip.Member, bool) {
	var masters []gossip.Member
	for _, m := range ms {
		if (m.Alive() || !aliveOnly) && m.Tags.ReplRole == gossip.ReplMaster {
			masters = append(masters, m)
		}
	}
	if len(masters) == 0 {
		return gossip.Member{}, false
	}
	return slices.MinFunc(masters, func(a, b gossip.Member) int {
		return cmp.Or(cmp.Compare(b.Tags.Epoch, a.Tags.Epoch), strings.Compare(a.Name, b.Name))
	}), true
}
