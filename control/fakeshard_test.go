package control

import (
	"errors"
	"maps"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/gossip/gossiptest"
	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/proto"
)

// fakeShard is a small RESP server standing in for a shardd node in the
// leader's tests: it answers PING and ROLE, obeys SHOAL PROMOTE / FOLLOW /
// RETAIN with shardd's epoch rules, records every order, and announces its
// role through a gossiptest node the way shardd announces it through
// gossip. Faults the real shardd cannot give on cue: hanging (reads,
// never answers) and dropping orders (closes the connection without
// applying them, as if the sender died before they arrived).
type fakeShard struct {
	name  string
	shard string
	net   *gossiptest.Network
	ln    net.Listener
	addr  string

	mu        sync.Mutex
	password  string
	role      gossip.ReplRole
	epoch     uint64
	offset    uint64
	follows   []follower        // reported by ROLE when master
	cached    bool              // dl=1
	extra     map[string]string // more tags (ra, rv on a node that runs control)
	linkDown  bool              // ml=down
	following string
	retain    uint64
	hang      bool
	drop      bool
	onOrder   func(args []string) // called before an order is applied
	orders    []fakeOrder
	conns     map[net.Conn]bool
	stopped   bool
}

type fakeOrder struct {
	args    []string
	at      time.Time
	applied bool   // false: dropped or refused
	reply   string // the reply sent ("" when dropped)
}

// startFakeShard starts a fake node of shard on a kernel-chosen port and
// joins it to nw (when nw is not nil) with its tags.
func startFakeShard(t testing.TB, nw *gossiptest.Network, name, shard string, role gossip.ReplRole, epoch, offset uint64) *fakeShard {
	t.Helper()
	f := newFakeShard(t, nw, name, shard, role, epoch, offset)
	f.join()
	return f
}

// join joins the fake's gossip node (again, after a crash) to its network.
func (f *fakeShard) join() *gossiptest.Node {
	f.mu.Lock()
	tags := f.tags()
	f.mu.Unlock()
	return f.net.Join(f.name, tags)
}

// newFakeShard starts a fake's RESP server without joining gossip.
func newFakeShard(t testing.TB, nw *gossiptest.Network, name, shard string, role gossip.ReplRole, epoch, offset uint64) *fakeShard {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeShard{name: name, shard: shard, net: nw, ln: ln, addr: ln.Addr().String(),
		role: role, epoch: epoch, offset: offset, conns: map[net.Conn]bool{}}
	go f.serve()
	t.Cleanup(f.stop)
	return f
}

func (f *fakeShard) tags() gossip.Tags {
	tg := gossip.Tags{Role: gossip.RoleShard, Shard: f.shard, ReplRole: f.role, Epoch: f.epoch, RESPAddr: f.addr}
	if f.cached || f.linkDown || len(f.extra) > 0 {
		tg.Extra = maps.Clone(f.extra)
		if tg.Extra == nil {
			tg.Extra = map[string]string{}
		}
		if f.cached {
			tg.Extra[gossip.KeyCached] = "1"
		}
		if f.linkDown {
			tg.Extra[gossip.KeyMasterLink] = "down"
		}
	}
	return tg
}

// update changes the fake's state under its lock and announces the new
// tags.
func (f *fakeShard) update(change func(f *fakeShard)) {
	f.mu.Lock()
	change(f)
	tags, stopped := f.tags(), f.stopped
	f.mu.Unlock()
	if f.net != nil && !stopped {
		f.net.SetTags(f.name, tags) // ErrClosed after Fail: ignored
	}
}

// stop closes the listener and every connection: dials are refused.
func (f *fakeShard) stop() {
	f.mu.Lock()
	f.stopped = true
	f.ln.Close()
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
}

// crash stops the server and fails its gossip node (kill -9).
func (f *fakeShard) crash() {
	f.stop()
	if f.net != nil {
		f.net.Fail(f.name)
	}
}

func (f *fakeShard) state() (gossip.ReplRole, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.role, f.epoch
}

// ordersOf returns the orders received whose first word (after SHOAL) is
// kind ("PROMOTE", "FOLLOW", "RETAIN"); all of them for "".
func (f *fakeShard) ordersOf(kind string) []fakeOrder {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeOrder
	for _, o := range f.orders {
		if kind == "" || strings.EqualFold(o.args[1], kind) {
			out = append(out, o)
		}
	}
	return out
}

func (f *fakeShard) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		if f.stopped {
			f.mu.Unlock()
			c.Close()
			return
		}
		f.conns[c] = true
		f.mu.Unlock()
		go f.handle(c)
	}
}

var errDrop = errors.New("dropped")

func (f *fakeShard) handle(c net.Conn) {
	defer func() {
		f.mu.Lock()
		delete(f.conns, c)
		f.mu.Unlock()
		c.Close()
	}()
	rd := proto.NewReader(c, proto.DefaultLimits())
	f.mu.Lock()
	password := f.password
	f.mu.Unlock()
	authed := password == ""
	for {
		raw, err := rd.ReadCommand()
		if err != nil {
			return
		}
		args := make([]string, len(raw))
		for i, a := range raw {
			args[i] = string(a)
		}
		f.mu.Lock()
		hang := f.hang
		f.mu.Unlock()
		if hang {
			continue
		}
		var out []byte
		switch cmd := strings.ToUpper(args[0]); {
		case cmd == "AUTH":
			if len(args) == 2 && args[1] == password {
				authed = true
				out = proto.AppendOK(out)
			} else {
				out = proto.AppendError(out, "WRONGPASS invalid username-password pair or user is disabled.")
			}
		case !authed:
			out = proto.AppendError(out, "NOAUTH Authentication required.")
		case cmd == "PING":
			out = proto.AppendStatus(out, "PONG")
		case cmd == "ROLE":
			out = f.appendRole(out)
		case cmd == "SHOAL" && len(args) >= 2:
			var err error
			if out, err = f.order(out, args); errors.Is(err, errDrop) {
				return
			}
		default:
			out = proto.AppendError(out, "ERR unknown command")
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

func (f *fakeShard) appendRole(out []byte) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.role == gossip.ReplReplica {
		host, port, _ := net.SplitHostPort(f.following)
		p, _ := strconv.Atoi(port)
		out = proto.AppendArray(out, 5)
		out = proto.AppendBulkString(out, "slave")
		out = proto.AppendBulkString(out, host)
		out = proto.AppendInt(out, int64(p))
		out = proto.AppendBulkString(out, "connected")
		return proto.AppendInt(out, int64(f.offset))
	}
	out = proto.AppendArray(out, 3)
	out = proto.AppendBulkString(out, "master")
	out = proto.AppendInt(out, int64(f.offset))
	out = proto.AppendArray(out, len(f.follows))
	for _, fl := range f.follows {
		host, port, _ := net.SplitHostPort(fl.addr)
		out = proto.AppendArray(out, 3)
		out = proto.AppendBulkString(out, host)
		out = proto.AppendBulkString(out, port)
		out = proto.AppendBulkString(out, strconv.FormatUint(fl.acked, 10))
	}
	return out
}

// order applies SHOAL PROMOTE/FOLLOW/RETAIN as shardd does.
func (f *fakeShard) order(out []byte, args []string) ([]byte, error) {
	f.mu.Lock()
	onOrder, drop := f.onOrder, f.drop
	f.mu.Unlock()
	if onOrder != nil {
		onOrder(args)
	}
	sub := strings.ToUpper(args[1])
	rec := fakeOrder{args: args, at: time.Now()}
	if drop && sub != "RETAIN" {
		f.mu.Lock()
		f.orders = append(f.orders, rec)
		f.mu.Unlock()
		return out, errDrop
	}
	num := func(s string) uint64 { n, _ := strconv.ParseUint(s, 10, 64); return n }
	var reply []byte
	var applied bool
	f.update(func(f *fakeShard) {
		stale := func(e uint64) bool {
			if e < f.epoch {
				reply = proto.AppendError(reply, "STALEEPOCH order epoch "+strconv.FormatUint(e, 10)+
					" is older than known epoch "+strconv.FormatUint(f.epoch, 10))
				return true
			}
			return false
		}
		switch {
		case sub == "PROMOTE" && len(args) == 3:
			if e := num(args[2]); !stale(e) {
				f.role, f.epoch, f.linkDown, f.following, applied = gossip.ReplMaster, e, false, "", true
				reply = proto.AppendOK(reply)
			}
		case sub == "FOLLOW" && len(args) == 5:
			if e := num(args[4]); !stale(e) {
				f.role, f.epoch, f.linkDown, applied = gossip.ReplReplica, e, false, true
				f.following = net.JoinHostPort(args[2], args[3])
				reply = proto.AppendOK(reply)
			}
		case sub == "RETAIN" && len(args) == 3:
			f.retain, applied = num(args[2]), true
			reply = proto.AppendOK(reply)
		default:
			reply = proto.AppendError(reply, "ERR syntax error")
		}
		rec.applied, rec.reply = applied, string(reply)
		f.orders = append(f.orders, rec)
	})
	return append(out, reply...), nil
}

func TestFakeShardAnswersLikeShardd(t *testing.T) {
	nw := gossiptest.NewNetwork()
	f := startFakeShard(t, nw, "n1", "a", gossip.ReplReplica, 3, 7)
	f.update(func(f *fakeShard) { f.password = "pw" })
	c := &shardClient{dial: (&net.Dialer{}).DialContext, password: "pw"}
	ctx := t.Context()
	if err := c.ping(ctx, time.Second, f.addr); err != nil {
		t.Fatal(err)
	}
	r, err := c.role(ctx, time.Second, f.addr)
	if err != nil || r.master || r.offset != 7 {
		t.Fatalf("ROLE = %+v, %v", r, err)
	}
	if _, err := c.do(ctx, time.Second, f.addr, "SHOAL", "PROMOTE", "2"); err == nil || !strings.HasPrefix(err.Error(), "STALEEPOCH") {
		t.Fatalf("stale PROMOTE: %v", err)
	}
	if _, err := c.do(ctx, time.Second, f.addr, "SHOAL", "PROMOTE", "4"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, time.Second, func() (bool, string) {
		m := nw.Node("n1").LocalMember()
		return m.Tags.ReplRole == gossip.ReplMaster && m.Tags.Epoch == 4, "tags " + string(m.Tags.ReplRole)
	})
	bad := &shardClient{dial: (&net.Dialer{}).DialContext, password: "nope"}
	if err := bad.ping(ctx, time.Second, f.addr); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("wrong password: %v", err)
	}
	none := &shardClient{dial: (&net.Dialer{}).DialContext}
	if err := none.ping(ctx, time.Second, f.addr); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("no password: %v", err)
	}
	f.update(func(f *fakeShard) { f.hang = true })
	start := time.Now()
	if err := c.ping(ctx, 150*time.Millisecond, f.addr); err == nil {
		t.Fatal("PING to a hung node succeeded")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("PING timeout took %v", d)
	}
	f.stop()
	if err := c.ping(ctx, time.Second, f.addr); err == nil {
		t.Fatal("PING to a stopped node succeeded")
	}
}
