package control

import (
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/shoal-kv/shoal/gossip"
)

func raftMember(shard, ra string, voter bool) gossip.Tags {
	t := gossip.Tags{Role: gossip.RoleShard, Shard: shard, ReplRole: gossip.ReplReplica, RESPAddr: "127.0.0.1:6379",
		Extra: map[string]string{gossip.KeyRaftAddr: ra}}
	if voter {
		t.Extra[gossip.KeyRaftVoter] = "1"
	}
	return t
}

func TestVoterReconcile(t *testing.T) {
	h := newJobHarness(t)
	h.act.servers = []raft.Server{{Suffrage: raft.Voter, ID: "ctl", Address: "127.0.0.1:2"},
		{Suffrage: raft.Voter, ID: "v0", Address: "127.0.0.1:100"}}
	h.net.Join("v0", raftMember("a", "127.0.0.1:100", true))
	j := newVoterJob()
	pass := func(d time.Duration) {
		h.advance(d)
		j.run(h.env())
	}
	h.net.Join("v1", raftMember("a", "127.0.0.1:101", true))
	h.net.Join("n1", raftMember("a", "127.0.0.1:201", false))
	h.net.Join("s1", gossip.Tags{Role: gossip.RoleShard, Shard: "a", ReplRole: gossip.ReplReplica, RESPAddr: "127.0.0.1:6380"})
	h.net.Join("fe", gossip.Tags{Role: gossip.RoleFrontend, RESPAddr: "127.0.0.1:6390"})
	pass(0)
	wantActions(t, h.act.take(), "add-nonvoter n1", "add-voter v1")
	pass(time.Second)
	wantActions(t, h.act.take())

	// v1 restarts with a new raft address; n1 becomes a voter, then not.
	h.net.Fail("v1")
	h.net.Join("v1", raftMember("a", "127.0.0.1:102", true))
	h.net.SetTags("n1", raftMember("a", "127.0.0.1:201", true))
	pass(0)
	wantActions(t, h.act.take(), "add-voter n1", "add-voter v1")
	if i := slices.IndexFunc(h.act.servers, func(s raft.Server) bool { return s.ID == "v1" }); i < 0 || h.act.servers[i].Address != "127.0.0.1:102" {
		t.Fatalf("v1 in raft: %+v", h.act.servers)
	}
	h.net.SetTags("n1", raftMember("a", "127.0.0.1:201", false))
	pass(0)
	wantActions(t, h.act.take(), "demote-voter n1")

	// v1 fails: removed after ReapAfter, not before (3 voters: ctl, v0, v1).
	h.net.Fail("v1")
	pass(0)
	pass(h.cfg.ReapAfter - time.Millisecond)
	wantActions(t, h.act.take())
	pass(time.Millisecond)
	wantActions(t, h.act.take(), "remove-server v1")

	// n1 leaves gracefully: removed at once.
	h.net.Leave("n1")
	pass(0)
	wantActions(t, h.act.take(), "remove-server n1")

	// A node that stops announcing ra counts as gone.
	h.net.Join("v2", raftMember("a", "127.0.0.1:301", true))
	pass(0)
	wantActions(t, h.act.take(), "add-voter v2")
	h.net.SetTags("v2", gossip.Tags{Role: gossip.RoleShard, Shard: "a", ReplRole: gossip.ReplReplica, RESPAddr: "127.0.0.1:6379"})
	pass(0)
	pass(h.cfg.ReapAfter)
	wantActions(t, h.act.take(), "remove-server v2")
	if len(h.act.servers) != 2 || h.act.servers[0].ID != "ctl" || h.act.servers[1].ID != "v0" {
		t.Fatalf("servers left: %+v", h.act.servers)
	}
}

// TestVoterReconcileKeepsQuorumView: failed voters that are half or more
// of the voters are not removed (it looks like our own partition), and the
// leader never removes itself.
func TestVoterReconcileKeepsQuorumView(t *testing.T) {
	h := newJobHarness(t)
	j := newVoterJob()
	h.net.Join("v1", raftMember("a", "127.0.0.1:101", true))
	h.net.Join("v2", raftMember("a", "127.0.0.1:102", true))
	h.act.servers = []raft.Server{
		{Suffrage: raft.Voter, ID: "ctl", Address: "127.0.0.1:2"},
		{Suffrage: raft.Voter, ID: "v1", Address: "127.0.0.1:101"},
		{Suffrage: raft.Voter, ID: "v2", Address: "127.0.0.1:102"},
	}
	h.net.Fail("v1")
	h.net.Fail("v2")
	j.run(h.env())
	h.advance(time.Hour)
	j.run(h.env())
	wantActions(t, h.act.take())
	if len(h.act.servers) != 3 {
		t.Fatalf("servers: %+v", h.act.servers)
	}
}
