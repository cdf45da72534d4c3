package gossip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// shardTags returns valid tags for a test shard node.
func shardTags(ip string, shard string, repl ReplRole) Tags {
	return Tags{
		Role:     RoleShard,
		Shard:    shard,
		ReplRole: repl,
		Epoch:    1,
		RESPAddr: net.JoinHostPort(ip, "6379"),
		Version:  "test",
	}
}

// startAgent starts an agent with the fast profile on ip and a
// kernel-chosen port. It is closed (without leaving) when the test ends.
func startAgent(t *testing.T, name, ip string, mutate func(*Config)) *Agent {
	t.Helper()
	cfg := DefaultConfig()
	cfg.NodeName = name
	cfg.BindAddr = ip
	cfg.BindPort = 0
	cfg.Profile = ProfileFast
	cfg.Tags = shardTags(ip, "s1", ReplMaster)
	cfg.Logger = testutil.Logger(t).With("test_node", name)
	cfg.JoinBackoffMin = 50 * time.Millisecond
	cfg.JoinBackoffMax = 500 * time.Millisecond
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", name, err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func joinAgent(t *testing.T, a *Agent, addrs ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Join(ctx, addrs); err != nil {
		t.Fatalf("%s: Join(%v): %v", a.Name(), addrs, err)
	}
}

// statusIn returns name's status in a's view (StatusNone when absent).
func statusIn(a *Agent, name string) Status {
	for _, m := range a.Members() {
		if m.Name == name {
			return m.Status
		}
	}
	return StatusNone
}

// viewString renders a's view for failure messages.
func viewString(a *Agent) string {
	var b strings.Builder
	b.WriteString(a.Name() + ":")
	for _, m := range a.Members() {
		fmt.Fprintf(&b, " %s=%s", m.Name, m.Status)
	}
	return b.String()
}

// waitAllSee waits until every observer reports each name with status want
// and returns how long it took.
func waitAllSee(t *testing.T, timeout time.Duration, observers []*Agent, names []string, want Status) time.Duration {
	t.Helper()
	start := time.Now()
	testutil.WaitFor(t, timeout, func() (bool, string) {
		for _, o := range observers {
			for _, n := range names {
				if got := statusIn(o, n); got != want {
					return false, fmt.Sprintf("%s sees %s as %s, want %s; view %s", o.Name(), n, got, want, viewString(o))
				}
			}
		}
		return true, ""
	})
	return time.Since(start)
}

// waitEachSees waits, for every observer independently, until it reports
// name with status want, and returns the slowest observer's delay measured
// from start.
func waitEachSees(t *testing.T, timeout time.Duration, start time.Time, observers []*Agent, name string, want Status) (slowest time.Duration) {
	t.Helper()
	pending := map[*Agent]bool{}
	for _, o := range observers {
		pending[o] = true
	}
	var took []string
	testutil.WaitFor(t, timeout, func() (bool, string) {
		var why []string
		for o := range pending {
			if statusIn(o, name) == want {
				d := time.Since(start)
				took = append(took, fmt.Sprintf("%s:%v", o.Name(), d.Round(time.Millisecond)))
				slowest = max(slowest, d)
				delete(pending, o)
				continue
			}
			why = append(why, viewString(o))
		}
		return len(pending) == 0, fmt.Sprintf("waiting for %s to be %s in: %s", name, want, strings.Join(why, "; "))
	})
	t.Logf("%s %s seen by: %s", name, want, strings.Join(took, " "))
	return slowest
}

func names(agents []*Agent) []string {
	var out []string
	for _, a := range agents {
		out = append(out, a.Name())
	}
	return out
}

// TestClusterFailLeaveRejoin runs five real serf agents on distinct
// loopback IPs with the fast profile: convergence, failure detection of a
// killed node, a graceful leave, and a restart under the same name on a new
// port.
func TestClusterFailLeaveRejoin(t *testing.T) {
	const n = 5
	agents := make([]*Agent, n)
	var addrs []string
	for i := range agents {
		name := "n" + strconv.Itoa(i+1)
		agents[i] = startAgent(t, name, testutil.LoopbackIP(), nil)
		if len(addrs) > 0 {
			// Join every node already started: with only one seed, one
			// member occasionally learned of another only by push/pull
			// (LIBRARIES.md 1.4).
			joinAgent(t, agents[i], addrs...)
		}
		addrs = append(addrs, agents[i].Addr().String())
	}
	conv := waitAllSee(t, 20*time.Second, agents, names(agents), StatusAlive)
	t.Logf("5 nodes converged %v after the last join", conv.Round(time.Millisecond))

	// Kill n5: no Leave, so the others must detect the failure.
	victim := agents[4]
	victimIP := victim.Addr().Addr().String()
	start := time.Now()
	if err := victim.Close(); err != nil {
		t.Fatalf("close n5: %v", err)
	}
	detect := waitEachSees(t, 2*time.Second, start, agents[:4], "n5", StatusFailed)
	t.Logf("failure detection of killed n5: slowest observer %v", detect.Round(time.Millisecond))

	// n4 leaves gracefully; watch the others while Shutdown runs.
	leaver := agents[3]
	start = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shutdownDone := make(chan time.Duration, 1)
	go func() {
		if err := leaver.Shutdown(ctx); err != nil {
			t.Errorf("shutdown n4: %v", err)
		}
		shutdownDone <- time.Since(start)
	}()
	left := waitEachSees(t, 2*time.Second, start, agents[:3], "n4", StatusLeft)
	shutdownTook := <-shutdownDone
	t.Logf("graceful leave of n4: slowest observer saw it left after %v; Shutdown returned after %v",
		left.Round(time.Millisecond), shutdownTook.Round(time.Millisecond))
	if again := leaver.Shutdown(ctx); again != nil {
		t.Errorf("second Shutdown: %v", again)
	}

	// n5 restarts with the same name on the same IP, new kernel-chosen port.
	oldAddr := victim.Addr()
	start = time.Now()
	reborn := startAgent(t, "n5", victimIP, nil)
	if reborn.Addr() == oldAddr {
		t.Logf("restarted n5 got the same port %v by chance", oldAddr)
	}
	joinAgent(t, reborn, addrs[0])
	observers := append([]*Agent{reborn}, agents[:3]...)
	rejoin := waitEachSees(t, 2*time.Second, start, observers, "n5", StatusAlive)
	waitAllSee(t, 2*time.Second, []*Agent{reborn}, []string{"n1", "n2", "n3"}, StatusAlive)
	t.Logf("restarted n5 (%v -> %v) alive everywhere after %v", oldAddr, reborn.Addr(), rejoin.Round(time.Millisecond))
	for _, o := range agents[:3] {
		for _, m := range o.Members() {
			if m.Name == "n5" && m.Addr != reborn.Addr() {
				t.Errorf("%s sees n5 at %v, want the new address %v", o.Name(), m.Addr, reborn.Addr())
			}
		}
	}
}

// expectEvent reads ch until an event about name arrives and checks its
// type; events about other members are skipped.
func expectEvent(t *testing.T, ch <-chan Event, timeout time.Duration, name string, want EventType) Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("event channel closed while waiting for %s %s", want, name)
			}
			if ev.Member.Name != name {
				t.Logf("skipping event %v", ev)
				continue
			}
			if ev.Type != want {
				t.Fatalf("got event %v, want %s %s", ev, want, name)
			}
			return ev
		case <-deadline.C:
			t.Fatalf("no %s event for %s within %v", want, name, timeout)
		}
	}
}

func TestEventStream(t *testing.T) {
	a := startAgent(t, "ev-a", testutil.LoopbackIP(), nil)
	events := a.Events()
	if events != a.Events() {
		t.Fatal("Events returned different channels")
	}
	bIP := testutil.LoopbackIP()
	b := startAgent(t, "ev-b", bIP, nil)
	joinAgent(t, b, a.Addr().String())

	ev := expectEvent(t, events, 5*time.Second, "ev-b", EventJoined)
	if ev.Member.Status != StatusAlive || ev.Member.TagsErr != nil || !ev.Member.Tags.Equal(shardTags(bIP, "s1", ReplMaster)) {
		t.Fatalf("joined event %+v: want alive with b's tags", ev.Member)
	}
	if ev.Member.Addr != b.Addr() {
		t.Errorf("joined event addr %v, want %v", ev.Member.Addr, b.Addr())
	}

	// A role change is an update carrying the new tags.
	newTags := shardTags(bIP, "s1", ReplReplica)
	newTags.Epoch = 7
	if err := b.SetTags(newTags); err != nil {
		t.Fatalf("SetTags: %v", err)
	}
	ev = expectEvent(t, events, 5*time.Second, "ev-b", EventUpdated)
	if !ev.Member.Tags.Equal(newTags) {
		t.Fatalf("updated event tags %+v, want %+v", ev.Member.Tags, newTags)
	}
	if got := b.LocalMember().Tags; !got.Equal(newTags) {
		t.Errorf("b.LocalMember().Tags = %+v, want %+v", got, newTags)
	}

	// A graceful leave arrives as left.
	c := startAgent(t, "ev-c", testutil.LoopbackIP(), nil)
	joinAgent(t, c, a.Addr().String())
	expectEvent(t, events, 5*time.Second, "ev-c", EventJoined)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Shutdown(ctx); err != nil {
		t.Fatalf("c.Shutdown: %v", err)
	}
	ev = expectEvent(t, events, 5*time.Second, "ev-c", EventLeft)
	if ev.Member.Status != StatusLeft {
		t.Errorf("left event status %s", ev.Member.Status)
	}

	// A kill arrives as failed.
	if err := b.Close(); err != nil {
		t.Fatalf("b.Close: %v", err)
	}
	ev = expectEvent(t, events, 5*time.Second, "ev-b", EventFailed)
	if ev.Member.Status != StatusFailed || !ev.Member.Tags.Equal(newTags) {
		t.Errorf("failed event member %+v", ev.Member)
	}
	if err := b.SetTags(newTags); err != ErrClosed {
		t.Errorf("SetTags after Close = %v, want ErrClosed", err)
	}
	if err := b.Join(ctx, []string{a.Addr().String()}); err != ErrClosed {
		t.Errorf("Join after Close = %v, want ErrClosed", err)
	}

	// Closing the agent ends the stream.
	a.Close()
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		select {
		case _, ok := <-events:
			return !ok, "event channel still open after Close"
		default:
			return false, "event channel still open after Close"
		}
	})
}

// TestEventsBeforeSubscriptionNotQueued checks that an agent whose Events
// is never called does not accumulate a backlog.
func TestEventsBeforeSubscriptionNotQueued(t *testing.T) {
	handled := make(chan struct{}, 10)
	a := startAgent(t, "ns-a", testutil.LoopbackIP(), func(c *Config) {
		c.Logger = slog.New(&notifyHandler{Handler: c.Logger.Handler(), msg: "gossip member event", ch: handled})
	})
	b := startAgent(t, "ns-b", testutil.LoopbackIP(), nil)
	joinAgent(t, b, a.Addr().String())
	// Wait until a's drain goroutine has handled its own join and b's.
	for range 2 {
		select {
		case <-handled:
		case <-time.After(5 * time.Second):
			t.Fatal("a did not handle the join events")
		}
	}
	if n := a.events.Len() + len(a.events.Out()); n != 0 {
		t.Fatalf("%d events queued without a subscriber", n)
	}
	// Subscribing now starts the stream: the next change arrives.
	events := a.Events()
	b.Close()
	expectEvent(t, events, 5*time.Second, "ns-b", EventFailed)
}

func TestJoinDNSName(t *testing.T) {
	ips, err := net.DefaultResolver.LookupHost(context.Background(), "localhost")
	if err != nil || len(ips) == 0 {
		t.Fatalf("localhost does not resolve: %v", err)
	}
	t.Logf("localhost resolves to %v", ips)
	a := startAgent(t, "dns-a", "127.0.0.1", nil)
	b := startAgent(t, "dns-b", testutil.LoopbackIP(), nil)
	joinAgent(t, b, net.JoinHostPort("localhost", strconv.Itoa(int(a.Addr().Port()))))
	waitAllSee(t, 5*time.Second, []*Agent{a, b}, []string{"dns-a", "dns-b"}, StatusAlive)
}

func TestJoinErrors(t *testing.T) {
	a := startAgent(t, "je-a", testutil.LoopbackIP(), nil)
	ctx := context.Background()
	for _, addr := range []string{"localhost", "127.0.0.1:", ":7946", "127.0.0.1:0", "127.0.0.1:70000", "[::1"} {
		if err := a.Join(ctx, []string{addr}); !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("Join(%q) = %v, want ErrInvalidAddress", addr, err)
		}
	}
	if err := a.Join(ctx, nil); err != nil {
		t.Errorf("Join(nil) = %v, want nil", err)
	}

	// Nothing listens: retried until the context ends.
	dead := net.JoinHostPort(testutil.LoopbackIP(), strconv.Itoa(testutil.FreePort(t, "127.0.0.1")))
	for _, addr := range []string{dead, "no-such-host.invalid:7946"} {
		ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
		start := time.Now()
		err := a.Join(ctx, []string{addr})
		cancel()
		took := time.Since(start)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Join(%s) = %v, want context.DeadlineExceeded", addr, err)
		}
		if took > 3*time.Second {
			t.Errorf("Join(%s) took %v after a 700ms context", addr, took)
		}
		t.Logf("Join(%s): %v after %v", addr, err, took.Round(time.Millisecond))
	}
}

// TestJoinLater checks the retry loop: a join that starts before its seed
// exists succeeds once the seed comes up.
func TestJoinLater(t *testing.T) {
	seedIP := testutil.LoopbackIP()
	port := testutil.FreePort(t, seedIP)
	failures := make(chan struct{}, 100)
	a := startAgent(t, "jl-a", testutil.LoopbackIP(), func(c *Config) {
		c.Logger = slog.New(&notifyHandler{Handler: c.Logger.Handler(), msg: "gossip join failed; retrying", ch: failures})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	joined := make(chan error, 1)
	go func() { joined <- a.Join(ctx, []string{net.JoinHostPort(seedIP, strconv.Itoa(port))}) }()
	for range 2 {
		select {
		case <-failures:
		case err := <-joined:
			t.Fatalf("Join returned before the seed started: %v", err)
		case <-ctx.Done():
			t.Fatal("no failed join attempt logged")
		}
	}
	seed := startAgent(t, "jl-seed", seedIP, func(c *Config) { c.BindPort = port })
	if err := <-joined; err != nil {
		t.Fatalf("Join: %v", err)
	}
	waitAllSee(t, 5*time.Second, []*Agent{a, seed}, []string{"jl-a", "jl-seed"}, StatusAlive)
}

// notifyHandler passes records on and signals ch for each record whose
// message is msg.
type notifyHandler struct {
	slog.Handler
	msg string
	ch  chan struct{}
}

func (h *notifyHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == h.msg {
		select {
		case h.ch <- struct{}{}:
		default:
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h *notifyHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &notifyHandler{Handler: h.Handler.WithAttrs(attrs), msg: h.msg, ch: h.ch}
}

func (h *notifyHandler) WithGroup(name string) slog.Handler {
	return &notifyHandler{Handler: h.Handler.WithGroup(name), msg: h.msg, ch: h.ch}
}

func TestEncryption(t *testing.T) {
	key1 := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // 32 bytes
	key2 := "HxwdGhsYGRYXFBUSExAREA8ODQwLCgkIBwYFBAMCAQA="
	withKey := func(k string) func(*Config) { return func(c *Config) { c.Key = k } }
	a := startAgent(t, "key-a", testutil.LoopbackIP(), withKey(key1))
	good := startAgent(t, "key-good", testutil.LoopbackIP(), withKey(key1))
	joinAgent(t, good, a.Addr().String())
	waitAllSee(t, 5*time.Second, []*Agent{a, good}, []string{"key-a", "key-good"}, StatusAlive)

	for _, tc := range []struct{ name, key string }{{"key-wrong", key2}, {"key-none", ""}} {
		intruder := startAgent(t, tc.name, testutil.LoopbackIP(), withKey(tc.key))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		start := time.Now()
		err := intruder.Join(ctx, []string{a.Addr().String()})
		cancel()
		t.Logf("%s: Join returned after %v: %v", tc.name, time.Since(start).Round(time.Millisecond), err)
		if err == nil {
			t.Fatalf("%s joined a cluster with another key", tc.name)
		}
		for _, o := range []*Agent{a, good} {
			if s := statusIn(o, tc.name); s != StatusNone {
				t.Errorf("%s lists %s as %s", o.Name(), tc.name, s)
			}
		}
		if n := len(intruder.Members()); n != 1 {
			t.Errorf("%s sees %d members, want only itself", tc.name, n)
		}
	}
}

func TestAddrFamily(t *testing.T) {
	v4, v6, mapped := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1"), netip.MustParseAddr("::ffff:10.0.0.1")
	cases := []struct {
		bind       string
		v4, v6, mp bool
	}{
		{"127.0.0.1", true, false, true},
		{"0.0.0.0", true, false, true},
		{"::", true, true, true},
		{"::1", false, true, false},
	}
	for _, tc := range cases {
		a := &Agent{cfg: Config{BindAddr: tc.bind}}
		f := a.family()
		if f.allows(v4) != tc.v4 || f.allows(v6) != tc.v6 || f.allows(mapped) != tc.mp {
			t.Errorf("bind %s: allows v4=%v v6=%v mapped=%v", tc.bind, f.allows(v4), f.allows(v6), f.allows(mapped))
		}
	}
	got, err := resolveJoinAddrs(context.Background(), []string{"localhost:7946", "127.0.0.1:7946", "[::1]:7946"}, onlyIPv4)
	if err != nil || len(got) != 2 || got[0] != "127.0.0.1:7946" || got[1] != "[::1]:7946" {
		t.Errorf("resolve = %v, %v; want localhost as 127.0.0.1 once, literals kept", got, err)
	}
	if _, err := resolveJoinAddrs(context.Background(), []string{"localhost:7946"}, onlyIPv6); err == nil {
		// localhost may resolve to ::1 on some hosts; here it must not be IPv4.
		got, _ := resolveJoinAddrs(context.Background(), []string{"localhost:7946"}, onlyIPv6)
		for _, g := range got {
			if strings.HasPrefix(g, "127.") {
				t.Errorf("IPv6-only resolution returned %s", g)
			}
		}
	}
}
