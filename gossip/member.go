package gossip

import (
	"fmt"
	"net/netip"
)

// Status is a member's state as one node sees it.
type Status int

// Member states, as serf reports them.
const (
	StatusNone    Status = iota // unknown (not reported by serf in practice)
	StatusAlive                 // reachable
	StatusLeaving               // announced it is leaving
	StatusLeft                  // left gracefully
	StatusFailed                // unreachable: crashed, partitioned or killed
)

func (s Status) String() string {
	switch s {
	case StatusNone:
		return "none"
	case StatusAlive:
		return "alive"
	case StatusLeaving:
		return "leaving"
	case StatusLeft:
		return "left"
	case StatusFailed:
		return "failed"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Member is one node of the cluster as a local view sees it: a value,
// detached from the agent (safe to keep and share read-only).
type Member struct {
	Name   string         // unique node name
	Addr   netip.AddrPort // gossip address
	Status Status
	Tags   Tags
	// TagsErr is non-nil when the member's tags could not be decoded (a
	// node of an incompatible version, or a foreign serf node); Tags is
	// then the zero value. Routers should skip such members.
	TagsErr error
}

// Alive reports whether the member is alive with valid tags.
func (m Member) Alive() bool { return m.Status == StatusAlive && m.TagsErr == nil }

// EventType says what changed about a member.
type EventType int

// Event types, one per serf member event.
const (
	EventJoined  EventType = iota + 1 // a member appeared, or came back after failing or leaving
	EventUpdated                      // an alive member changed its tags
	EventFailed                       // a member stopped answering (crash, kill, partition)
	EventLeft                         // a member left gracefully
	EventReaped                       // a failed or left member was forgotten (serf reap timeouts)
)

func (e EventType) String() string {
	switch e {
	case EventJoined:
		return "joined"
	case EventUpdated:
		return "updated"
	case EventFailed:
		return "failed"
	case EventLeft:
		return "left"
	case EventReaped:
		return "reaped"
	}
	return fmt.Sprintf("EventType(%d)", int(e))
}

// Event is one change to one member. Member carries the member's state and
// tags as of the change.
type Event struct {
	Type   EventType
	Member Member
}

func (e Event) String() string {
	return fmt.Sprintf("%s %s (%s)", e.Type, e.Member.Name, e.Member.Status)
}

// Membership is the read side of cluster membership that routers and the
// leader consume. *Agent implements it over serf; gossiptest.Node
// implements it in memory for unit tests.
//
// Implementations are safe for concurrent use. Events returns the same
// channel on every call; the stream starts at the first call to Events (no
// change after that call is dropped; changes before it are not replayed).
// The usual pattern is: ch := m.Events(); view := m.Members(); then apply
// each event from ch to view (events may repeat what the snapshot already
// shows, so apply them idempotently). The channel is closed when the member
// stops.
type Membership interface {
	// Members returns a snapshot of every member this node knows, itself
	// included, failed and left members included, sorted by name.
	Members() []Member
	// Events returns the stream of membership changes.
	Events() <-chan Event
	// LocalMember returns this node as the cluster sees it.
	LocalMember() Member
}
