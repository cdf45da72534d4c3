package control

import (
	"context"
	"strconv"
	"time"
)

// retainJob tells each master, every RetainInterval, the lowest log index
// any of its replicas still needs (SHOAL RETAIN index), so the master
// never truncates what a replica will ask for when it reconnects. A
// replica needs its acknowledged or applied index + 1, taken from ROLE:
// the master's list of connected replicas (acked) and each alive
// replica's own ROLE (applied). A replica that is down keeps its last
// known position for ReapAfter; diskless replicas that are down don't
// count (they restart empty and resynchronise from a snapshot), nor do
// replicas this leader never reached. A master without any replica that
// counts is told its own last index + 1.
type retainJob struct {
	last time.Time
	acks map[string]uint64 // node -> last position seen from its own ROLE
	down downTracker
}

func newRetainJob() *retainJob { return &retainJob{acks: map[string]uint64{}, down: downTracker{}} }

func (j *retainJob) run(ctx context.Context, e *env) {
	if !j.last.IsZero() && e.now.Sub(j.last) < e.cfg.RetainInterval {
		return
	}
	j.last = e.now
	cmap := e.act.Map()
	// One parallel round of ROLE: every alive node of a mapped shard.
	var addrs []string
	for _, ent := range cmap {
		for _, m := range e.shardMembers(ent.Shard) {
			if m.Alive() {
				addrs = append(addrs, m.Tags.RESPAddr)
			}
		}
	}
	roles := e.shards.roleAll(ctx, e.cfg.ProbeTimeout, addrs)
	for _, ent := range cmap {
		master, ok := e.member(ent.Master)
		if !ok || !master.Alive() {
			continue
		}
		mrole, ok := roles[master.Tags.RESPAddr]
		if !ok || !mrole.master {
			continue
		}
		floor, have := mrole.offset+1, false
		need := func(idx uint64) {
			if !have || idx < floor {
				floor, have = idx, true
			}
		}
		for _, f := range mrole.followers {
			need(f.acked + 1)
		}
		for _, m := range e.shardMembers(ent.Shard) {
			if m.Name == ent.Master {
				continue
			}
			if m.Alive() {
				j.down.up(m.Name)
				if r, ok := roles[m.Tags.RESPAddr]; ok && !r.master {
					j.acks[m.Name] = r.offset
				}
			} else if cached(m) || e.now.Sub(j.down.since(m.Name, e.now)) >= e.cfg.ReapAfter {
				continue
			}
			if a, ok := j.acks[m.Name]; ok {
				need(a + 1)
			}
		}
		if !have {
			floor = mrole.offset + 1
		}
		idx := strconv.FormatUint(floor, 10)
		e.order(ctx, Action{Kind: ActRetain, Shard: ent.Shard, Node: master.Name, Epoch: ent.Epoch, Detail: idx},
			master.Tags.RESPAddr, "SHOAL", "RETAIN", idx)
	}
}
