package gossiptest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/gossip"
)

func tags(shard string, repl gossip.ReplRole, epoch uint64) gossip.Tags {
	return gossip.Tags{Role: gossip.RoleShard, Shard: shard, ReplRole: repl, Epoch: epoch, RESPAddr: "h-" + shard + ":6379"}
}

func frontendTags() gossip.Tags {
	return gossip.Tags{Role: gossip.RoleFrontend, RESPAddr: "fe:6380"}
}

// view renders a node's view as "name=status ..." for comparisons.
func view(n *Node) string {
	var parts []string
	for _, m := range n.Members() {
		parts = append(parts, m.Name+"="+m.Status.String())
	}
	return strings.Join(parts, " ")
}

// next returns the next event, failing the test after a second.
func next(t *testing.T, ch <-chan gossip.Event) gossip.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("event channel closed")
		}
		return ev
	case <-time.After(time.Second):
		t.Fatal("no event within 1s")
	}
	panic("unreachable")
}

// expect checks that the next events are exactly want ("joined b", ...),
// in order, and that no other event follows at once.
func expect(t *testing.T, ch <-chan gossip.Event, want ...string) {
	t.Helper()
	for _, w := range want {
		ev := next(t, ch)
		if got := ev.Type.String() + " " + ev.Member.Name; got != w {
			t.Fatalf("event %q, want %q", got, w)
		}
	}
	// Events are queued synchronously, so anything extra is already on its
	// way; give the delivery goroutine a moment to hand it over.
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("unexpected extra event %v", ev)
		}
	case <-time.After(20 * time.Millisecond):
	}
}

func TestJoinFailLeave(t *testing.T) {
	net := NewNetwork()
	fe := net.Join("fe", frontendTags())
	ev := fe.Events()
	a := net.Join("a", tags("a", gossip.ReplMaster, 1))
	b := net.Join("b", tags("b", gossip.ReplMaster, 1))
	expect(t, ev, "joined a", "joined b")
	for _, n := range []*Node{fe, a, b} {
		if got := view(n); got != "a=alive b=alive fe=alive" {
			t.Errorf("%s view %q", n.Name(), got)
		}
	}
	if lm := a.LocalMember(); lm.Name != "a" || lm.Status != gossip.StatusAlive || lm.Addr != a.Addr() {
		t.Errorf("LocalMember %+v", lm)
	}

	bEvents := b.Events()
	net.Fail("a")
	expect(t, ev, "failed a")
	expect(t, bEvents, "failed a")
	if got := view(fe); got != "a=failed b=alive fe=alive" {
		t.Errorf("after Fail: %q", got)
	}
	aEvents := a.Events()
	if _, ok := <-aEvents; ok {
		t.Error("failed node's event channel not closed")
	}
	if err := a.SetTags(tags("a", gossip.ReplMaster, 2)); !errors.Is(err, gossip.ErrClosed) {
		t.Errorf("SetTags on failed node: %v", err)
	}

	net.Leave("b")
	expect(t, ev, "left b")
	if got := view(fe); got != "a=failed b=left fe=alive" {
		t.Errorf("after Leave: %q", got)
	}

	net.Reap("a")
	expect(t, ev, "reaped a")
	if got := view(fe); got != "b=left fe=alive" {
		t.Errorf("after Reap: %q", got)
	}
}

func TestSetTags(t *testing.T) {
	net := NewNetwork()
	fe := net.Join("fe", frontendTags())
	a := net.Join("a", tags("a", gossip.ReplReplica, 1))
	ev := fe.Events()
	aEv := a.Events()
	promoted := tags("a", gossip.ReplMaster, 2)
	if err := a.SetTags(promoted); err != nil {
		t.Fatal(err)
	}
	got := next(t, ev)
	if got.Type != gossip.EventUpdated || got.Member.Name != "a" || !got.Member.Tags.Equal(promoted) {
		t.Fatalf("event %+v", got)
	}
	// The node sees its own update, as serf reports it.
	expect(t, aEv, "updated a")
	if err := net.SetTags("a", promoted); err != nil {
		t.Fatal(err)
	}
	expect(t, ev) // unchanged tags: no event
	if err := a.SetTags(gossip.Tags{}); !errors.Is(err, gossip.ErrInvalidTags) {
		t.Errorf("invalid tags: %v", err)
	}
	if err := net.SetTags("nobody", promoted); !errors.Is(err, gossip.ErrClosed) {
		t.Errorf("unknown node: %v", err)
	}
}

func TestPartitionAndHeal(t *testing.T) {
	net := NewNetwork()
	nodes := map[string]*Node{}
	events := map[string]<-chan gossip.Event{}
	for _, name := range []string{"a", "b", "c", "d"} {
		nodes[name] = net.Join(name, tags(name, gossip.ReplMaster, 1))
	}
	for name, n := range nodes {
		events[name] = n.Events()
	}

	net.Partition([]string{"a", "b"}, []string{"c"})
	expect(t, events["a"], "failed c")
	expect(t, events["b"], "failed c")
	expect(t, events["c"], "failed a", "failed b")
	expect(t, events["d"]) // d reaches both sides
	if got := view(nodes["c"]); got != "a=failed b=failed c=alive d=alive" {
		t.Errorf("c's view %q", got)
	}

	// Tag changes do not cross the partition.
	if err := nodes["c"].SetTags(tags("c", gossip.ReplReplica, 2)); err != nil {
		t.Fatal(err)
	}
	expect(t, events["c"], "updated c")
	expect(t, events["d"], "updated c")
	expect(t, events["a"])

	// A node joining during the partition is unknown on the far side.
	net.Partition([]string{"e"}, []string{"a"}) // before e exists
	e := net.Join("e", tags("e", gossip.ReplMaster, 1))
	expect(t, events["a"])
	expect(t, events["b"], "joined e")
	expect(t, events["c"], "joined e")
	expect(t, events["d"], "joined e")
	if strings.Contains(view(nodes["a"]), "e=") {
		t.Errorf("a knows e across the partition: %q", view(nodes["a"]))
	}
	if got := view(e); got != "b=alive c=alive d=alive e=alive" {
		t.Errorf("e's view %q", got)
	}

	// b leaves while c cannot hear it: c keeps it failed until the heal.
	net.Leave("b")
	expect(t, events["a"], "left b")
	expect(t, events["c"])

	net.Heal()
	expect(t, events["a"], "joined c", "joined e")
	expect(t, events["c"], "joined a", "left b")
	if got := view(nodes["c"]); got != "a=alive b=left c=alive d=alive e=alive" {
		t.Errorf("c's view after heal %q", got)
	}
	for _, n := range []*Node{nodes["a"], nodes["d"], e} {
		for _, m := range n.Members() {
			if m.Name == "c" && m.Tags.Epoch != 2 {
				t.Errorf("%s sees c's epoch %d after heal, want 2", n.Name(), m.Tags.Epoch)
			}
		}
	}
}

func TestRestartSameName(t *testing.T) {
	net := NewNetwork()
	fe := net.Join("fe", frontendTags())
	old := net.Join("a", tags("a", gossip.ReplMaster, 1))
	ev := fe.Events()
	net.Fail("a")
	expect(t, ev, "failed a")
	reborn := net.Join("a", tags("a", gossip.ReplReplica, 2))
	if reborn.Addr() == old.Addr() {
		t.Fatal("restart kept the address")
	}
	got := next(t, ev)
	if got.Type != gossip.EventJoined || got.Member.Addr != reborn.Addr() || got.Member.Tags.Epoch != 2 {
		t.Fatalf("restart event %+v", got)
	}
	if net.Node("a") != reborn {
		t.Error("Node(a) is not the new incarnation")
	}
	if got := view(old); got != "a=alive fe=alive" {
		t.Errorf("old incarnation's frozen view %q", got)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("joining a running name did not panic")
			}
		}()
		net.Join("a", tags("a", gossip.ReplMaster, 1))
	}()
}

func TestEventsStartAtSubscription(t *testing.T) {
	net := NewNetwork()
	fe := net.Join("fe", frontendTags())
	net.Join("a", tags("a", gossip.ReplMaster, 1))
	ev := fe.Events() // a's join happened before: not replayed
	net.Join("b", tags("b", gossip.ReplMaster, 1))
	expect(t, ev, "joined b")
}

// TestManyEventsSlowConsumer checks nothing is dropped when the consumer
// reads late.
func TestManyEventsSlowConsumer(t *testing.T) {
	net := NewNetwork()
	fe := net.Join("fe", frontendTags())
	ev := fe.Events()
	const n = 500
	for i := range n {
		net.Join(fmt.Sprintf("s%03d", i), tags(fmt.Sprintf("s%03d", i), gossip.ReplMaster, 1))
	}
	for i := range n {
		got := next(t, ev)
		if want := fmt.Sprintf("s%03d", i); got.Member.Name != want || got.Type != gossip.EventJoined {
			t.Fatalf("event %d: %v, want joined %s", i, got, want)
		}
	}
}
