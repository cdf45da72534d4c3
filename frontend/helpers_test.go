package frontend

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/gossip/gossiptest"
	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/proto"
)

// shardTags are the gossip tags of a shard node.
func shardTags(shard string, role gossip.ReplRole, addr string, epoch uint64) gossip.Tags {
	return gossip.Tags{Role: gossip.RoleShard, Shard: shard, ReplRole: role, Epoch: epoch, RESPAddr: addr}
}

// memCluster is an in-memory gossip network whose shard members point at
// real redis-server processes (one master per shard unless more are
// added).
type memCluster struct {
	t       testing.TB
	net     *gossiptest.Network
	masters map[string]string // shard → master address
	names   []string
}

// newMemCluster starts n redis-servers as the masters of shards s0..s{n-1}.
func newMemCluster(t testing.TB, n int) *memCluster {
	t.Helper()
	return newMemClusterOf(t, n, func(testing.TB, string) string { return testutil.StartRedis(t) })
}

// newShardCluster is newMemCluster with shoal shard daemons (processes).
func newShardCluster(t testing.TB, n int) *memCluster {
	t.Helper()
	return newMemClusterOf(t, n, func(t testing.TB, name string) string { return startShardd(t, name) })
}

func newMemClusterOf(t testing.TB, n int, start func(testing.TB, string) string) *memCluster {
	t.Helper()
	mc := &memCluster{t: t, net: gossiptest.NewNetwork(), masters: map[string]string{}}
	for i := 0; i < n; i++ {
		name := "s" + strconv.Itoa(i)
		addr := start(t, name)
		mc.masters[name] = addr
		mc.names = append(mc.names, name)
		mc.net.Join(name+"-m", shardTags(name, gossip.ReplMaster, addr, 1))
	}
	return mc
}

// startShardd runs `shoal shardd` for shard on a free loopback port, with
// extra flags, and kills it when the test ends. It returns the address.
func startShardd(t testing.TB, shard string, extra ...string) string {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(t, "127.0.0.1")))
	args := append([]string{"shardd", "--listen", addr, "--shard", shard, "--data-dir", t.TempDir(), "--log-level", "warn"}, extra...)
	testutil.StartShoal(t, "shardd "+shard, args...)
	testutil.WaitListening(t, addr)
	return addr
}

// frontend starts a Server following this network as a new member.
func (mc *memCluster) frontend(mutate ...func(*Config)) (*Server, string) {
	mc.t.Helper()
	ln := testutil.Listen(mc.t)
	name := fmt.Sprintf("fe-%d", time.Now().UnixNano())
	node := mc.net.Join(name, gossip.Tags{Role: gossip.RoleFrontend, RESPAddr: ln.Addr().String()})
	return startServer(mc.t, ln, func(c *Config) {
		c.Membership = node
		c.ExpectShards = len(mc.names)
		for _, m := range mutate {
			m(c)
		}
	})
}

// startServer runs a Server on ln and stops it when the test ends.
func startServer(t testing.TB, ln net.Listener, mutate ...func(*Config)) (*Server, string) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Logger = testutil.Logger(t)
	for _, m := range mutate {
		m(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-errc; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return srv, ln.Addr().String()
}

// do sends one command and returns the reply frame as a string.
func do(c *testutil.RawClient, args ...string) string { return string(c.Do(args...)) }

// bulk is the RESP bulk string of s.
func bulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

// allSpecs lists every command spec, subcommands included.
func allSpecs() []*proto.CommandSpec {
	var out []*proto.CommandSpec
	for _, s := range proto.All() {
		out = append(out, s)
		out = append(out, s.Subcommands...)
	}
	return out
}

func newNet() *gossiptest.Network { return gossiptest.NewNetwork() }
