package shardd

import (
	"fmt"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/internal/testutil"
)

// TestShardJoinsGossipWithItsTags starts a shard daemon with gossip on and
// a plain observer agent: the observer sees the shard, alive, with its
// role, shard name, master role, epoch and RESP address, and sees it leave
// on Shutdown.
func TestShardJoinsGossipWithItsTags(t *testing.T) {
	observer := startObserver(t)
	srv, addr := startServer(t, gossipNode("shard-a-1", observer.Addr().String()), func(c *Config) {
		c.Shard = "shard-a"
		c.RESPAddr = "127.0.0.1:7001"
	})
	_ = addr
	find := func() (gossip.Member, bool) {
		for _, m := range observer.Members() {
			if m.Name == "shard-a-1" {
				return m, true
			}
		}
		return gossip.Member{}, false
	}
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		m, ok := find()
		return ok && m.Alive(), fmt.Sprintf("members: %v", observer.Members())
	})
	m, _ := find()
	want := gossip.Tags{Role: gossip.RoleShard, Shard: "shard-a", ReplRole: gossip.ReplMaster, Epoch: 1, RESPAddr: "127.0.0.1:7001", Version: "dev"}
	if !m.Tags.Equal(want) {
		t.Fatalf("tags = %+v, want %+v", m.Tags, want)
	}
	// The shard's own join must have finished too: a node that leaves while
	// its join is still in flight has nobody to tell, and is then seen as
	// failed rather than left.
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		for _, m := range srv.Gossip().Members() {
			if m.Name == "observer" && m.Alive() {
				return true, ""
			}
		}
		return false, fmt.Sprintf("shard's view: %v", srv.Gossip().Members())
	})
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	// The shard is gone from the observer's live view. (Left rather than
	// failed needs the shard's leave intent to be ordered after its join
	// intent in serf's Lamport clock, which a node leaving milliseconds
	// after joining cannot guarantee; the gossip package's five-node test
	// checks that a node that has been up leaves as Left.)
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		m, _ := find()
		return m.Status == gossip.StatusLeft || m.Status == gossip.StatusFailed, fmt.Sprintf("status %v", m.Status)
	})
}
