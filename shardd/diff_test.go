package shardd

// Differential tests over the wire: the same requests go to a real
// redis-server and to shardd and the replies are compared byte for byte.
// The store's own tests cover every data-type command in depth; these cover
// the server layer (connection commands, arity and unknown-command errors,
// MULTI/EXEC/WATCH, pub/sub, blocking commands) and a randomized mix over
// every data type through the whole network path.

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/shoal-kv/shoal/internal/testutil"
)

func newPair(t testing.TB, redisAddr, shoalAddr string) *testutil.DiffPair {
	return testutil.NewDiffPair(t, redisAddr, shoalAddr, "shardd")
}

func TestDiffConnectionCommands(t *testing.T) {
	raddr := testutil.StartRedis(t)
	_, saddr := startServer(t)
	p := newPair(t, raddr, saddr)
	p.Run("? LASTSAVE")
	p.Run(testutil.DiffConnectionScript)
}

func TestDiffArityOfEveryCommand(t *testing.T) {
	raddr := testutil.StartRedis(t)
	srv, saddr := startServer(t)
	p := newPair(t, raddr, saddr)
	// Every command shardd implements, called with too few arguments and
	// (for fixed-arity commands) too many: the errors must match Redis's.
	for name, cmd := range srv.table {
		if name == "quit" || name == "exec" || name == "multi" || name == "discard" ||
			name == "shoal" { // shoal's own command: Redis does not know it
			continue
		}
		p.CheckArity(name, cmd.spec.Arity)
	}
}

func TestDiffTransactions(t *testing.T) {
	raddr := testutil.StartRedis(t)
	_, saddr := startServer(t)
	testutil.DiffTransactions(newPair(t, raddr, saddr), newPair(t, raddr, saddr))
}

func TestDiffPubSub(t *testing.T) {
	raddr := testutil.StartRedis(t)
	_, saddr := startServer(t)
	sub := newPair(t, raddr, saddr)
	pub := newPair(t, raddr, saddr)
	// One channel per command: each gets exactly one reply, so the test
	// reads every reply before anything is published.
	sub.Run(`
		SUBSCRIBE news
		SUBSCRIBE sports
		PSUBSCRIBE n*
		PSUBSCRIBE s?orts
		PING
		PING hi
		GET x
	`)
	pub.Run(testutil.DiffPublishScript)
	// Each message arrives at both subscribers in the same order.
	for i := 0; i < 5; i++ {
		if r, s := sub.ReadBoth(); !bytes.Equal(r, s) {
			t.Errorf("message %d\n  redis: %q\n  shoal: %q", i, r, s)
		}
	}
	sub.Run(`
		UNSUBSCRIBE news
		PUNSUBSCRIBE n*
		PUNSUBSCRIBE s?orts
		UNSUBSCRIBE
		UNSUBSCRIBE
		PING
	`)
	// A multi-channel SUBSCRIBE answers once per channel.
	sub.SendBoth("SUBSCRIBE", "a", "b", "c")
	for i := 0; i < 3; i++ {
		if r, s := sub.ReadBoth(); !bytes.Equal(r, s) {
			t.Errorf("SUBSCRIBE a b c reply %d\n  redis: %q\n  shoal: %q", i, r, s)
		}
	}
}

func TestDiffBlocking(t *testing.T) {
	raddr := testutil.StartRedis(t)
	_, saddr := startServer(t)
	testutil.DiffBlocking(newPair(t, raddr, saddr), newPair(t, raddr, saddr))
}

// TestDiffRandomMix sends a random mix of commands over every data type to
// both servers through the network path. SHOAL_SEED overrides the seed.
func TestDiffRandomMix(t *testing.T) {
	seed := testutil.Seed(t, 20261122)
	raddr := testutil.StartRedis(t)
	_, saddr := startServer(t)
	p := newPair(t, raddr, saddr)
	keys := []string{"k1", "k2", "k3", "{t}a", "{t}b"}
	p.RandomMix(seed, keys, 3000, nil)
	p.CompareKeys(keys)
}

// TestDiffEveryCommand sends testdata/commands.txt — every command shardd
// implements, at least once — to redis-server and to shardd.
func TestDiffEveryCommand(t *testing.T) {
	script, err := os.ReadFile("testdata/commands.txt")
	if err != nil {
		t.Fatal(err)
	}
	raddr := testutil.StartRedis(t)
	srv, saddr := startServer(t)
	p := newPair(t, raddr, saddr)
	p.Run(string(script))
	// Every command in the dispatch table appears in the script.
	seen := map[string]bool{}
	for _, line := range strings.Split(string(script), "\n") {
		f := strings.Fields(strings.TrimLeft(line, "~? "))
		if len(f) > 0 {
			seen[strings.ToLower(f[0])] = true
		}
	}
	elsewhere := map[string]bool{ // covered by the other differential tests
		"multi": true, "exec": true, "discard": true, "watch": true, "unwatch": true,
		"subscribe": true, "unsubscribe": true, "psubscribe": true, "punsubscribe": true,
		"publish": true, "pubsub": true, "quit": true, "auth": true, "hello": true, "client": true,
		"bgsave": true, "info": true, "readonly": true, "readwrite": true, "command": true,
		// replication (replication_test.go): Redis's answers need a replica set
		"replicaof": true, "slaveof": true, "shoal": true,
	}
	for name := range srv.table {
		if !seen[name] && !elsewhere[name] {
			t.Errorf("command %s is not in testdata/commands.txt", name)
		}
	}
}
