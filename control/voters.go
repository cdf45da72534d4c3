package control

import (
	"github.com/hashicorp/raft"

	"github.com/shoal-kv/shoal/gossip"
)

// voterJob reconciles gossip into raft's configuration, as Consul's leader
// reconciles serf members: every alive member announcing a raft address
// (`ra`) is in the configuration, as a voter when it announces `rv=1` and
// as a non-voter otherwise, at the address it announces. A server that
// left gracefully is removed at once (it said it is not coming back soon,
// and the quorum should not count it); one that failed, vanished from
// gossip or stopped announcing `ra` is removed after ReapAfter. The leader
// never removes itself, and removes failed voters only while they are
// fewer than half of the voters (more looks like our own partition).
type voterJob struct {
	down downTracker
}

func newVoterJob() *voterJob { return &voterJob{down: downTracker{}} }

func (j *voterJob) run(e *env) {
	servers, err := e.act.Servers()
	if err != nil {
		e.log.Warn("control: reading raft configuration", "err", err)
		return
	}
	inRaft := make(map[string]raft.Server, len(servers))
	voters := 0
	for _, s := range servers {
		inRaft[string(s.ID)] = s
		if s.Suffrage == raft.Voter {
			voters++
		}
	}
	wanted := map[string]bool{}
	for _, m := range e.members {
		addr := m.Tags.Extra[gossip.KeyRaftAddr]
		if !m.Alive() || addr == "" {
			continue
		}
		wanted[m.Name] = true
		j.down.up(m.Name)
		if m.Name == e.self {
			continue
		}
		voter := m.Tags.Extra[gossip.KeyRaftVoter] == "1"
		s, ok := inRaft[m.Name]
		var kind ActionKind
		switch {
		case voter && (!ok || s.Suffrage != raft.Voter || string(s.Address) != addr):
			kind = ActAddVoter
		case !voter && (!ok || string(s.Address) != addr):
			kind = ActAddNonvoter
		case !voter && s.Suffrage == raft.Voter:
			kind = ActDemote
		default:
			continue
		}
		if err := e.act.ChangeServer(kind, m.Name, addr); err != nil {
			e.log.Warn("control: raft membership change failed", "kind", kind, "node", m.Name, "addr", addr, "err", err)
		}
	}

	// Removals.
	var left, failed []raft.Server
	failedVoters := 0
	for _, s := range servers {
		id := string(s.ID)
		if id == e.self || wanted[id] {
			continue
		}
		since := j.down.since(id, e.now)
		switch m, ok := e.member(id); {
		case ok && m.Status == gossip.StatusLeft:
			left = append(left, s)
		case e.now.Sub(since) >= e.cfg.ReapAfter:
			failed = append(failed, s)
			if s.Suffrage == raft.Voter {
				failedVoters++
			}
		}
	}
	if failedVoters > 0 && 2*failedVoters >= voters {
		e.log.Warn("control: not removing failed voters: too many at once, this may be our own partition",
			"failed", failedVoters, "voters", voters)
		failed = nil
	}
	for _, s := range append(left, failed...) {
		if err := e.act.ChangeServer(ActRemove, string(s.ID), string(s.Address)); err != nil {
			e.log.Warn("control: removing raft server failed", "node", s.ID, "err", err)
		}
	}
}
