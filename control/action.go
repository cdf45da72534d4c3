package control

import (
	"fmt"
	"time"
)

// ActionKind names what the leader did.
type ActionKind string

// Action kinds. Raft membership changes and map commits go through raft;
// orders are RESP commands to a shardd node.
const (
	ActAddVoter    ActionKind = "add-voter"    // raft AddVoter (join, or a new raft address)
	ActAddNonvoter ActionKind = "add-nonvoter" // raft AddNonvoter
	ActDemote      ActionKind = "demote-voter" // raft DemoteVoter (node no longer announces rv=1)
	ActRemove      ActionKind = "remove-server"
	ActCommit      ActionKind = "commit"  // a map command (Detail: adopt, set-master or set-addr)
	ActPromote     ActionKind = "promote" // SHOAL PROMOTE epoch
	ActFollow      ActionKind = "follow"  // SHOAL FOLLOW host port epoch
	ActRetain      ActionKind = "retain"  // SHOAL RETAIN index
)

// Action is one thing a leader did, reported to Config.OnAction just
// before it is done. Term and Leader identify the leadership it acted
// under: raft elects at most one leader per term, and a leader acts only
// while raft still reports it leader in that term, so no two nodes record
// actions with the same Term.
type Action struct {
	Term   uint64    // raft term of the acting leader
	Leader string    // acting leader's raft ServerID (its node name)
	At     time.Time // when
	Kind   ActionKind
	Shard  string // shard concerned (map commits and orders)
	Node   string // node concerned: raft server, new master, order target
	Epoch  uint64 // epoch of a commit or an order
	Detail string // addresses, the map command, the RETAIN index
}

func (a Action) String() string {
	return fmt.Sprintf("term=%d leader=%s %s shard=%s node=%s epoch=%d %s",
		a.Term, a.Leader, a.Kind, a.Shard, a.Node, a.Epoch, a.Detail)
}
