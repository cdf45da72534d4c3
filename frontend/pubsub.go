package frontend

import (
	"net"
	"sync"
	"time"

	"github.com/shoal-kv/shoal/internal/respserver"
	"github.com/shoal-kv/shoal/proto"
)

// Pub/sub through a frontend. PUBLISH is routed by channel name like a
// key. Subscriptions are kept per frontend: the hub holds one upstream
// subscription per channel (on the master of the channel's shard) and one
// per pattern (on every shard's master, since channels of any shard may
// match), whatever the number of local subscribers, and fans messages out.
// A link per shard owns the upstream connection; when the shard's master
// changes the link reconnects and subscribes again, so clients do not
// notice (messages published during the switch are lost, as pub/sub is at
// most once anyway). PUBLISH's reply counts receivers as the shard sees
// them: one per subscribed frontend (as Redis Cluster counts per node).

// subState is a client's subscriptions; modified by the client's goroutine
// under hub.mu, read by others under hub.mu.
type subState struct {
	channels map[string]struct{}
	patterns map[string]struct{}
	n        int // len(channels)+len(patterns), readable by the owner without the lock
}

func (s *subState) total() int { return s.n }

// hub is the frontend's pub/sub state. Lock order: hub.mu → client.outbox.
type hub struct {
	s *Server

	mu       sync.Mutex
	channels respserver.Subscribers[*clientConn] // local subscribers
	patterns respserver.Subscribers[*clientConn]
	want     map[string]int     // "c"+channel / "p"+pattern → clients subscribed or subscribing
	links    map[string]*psLink // by shard name
	view     *view
	closed   bool
}

func newHub(s *Server) *hub {
	return &hub{
		s:        s,
		channels: make(respserver.Subscribers[*clientConn]),
		patterns: make(respserver.Subscribers[*clientConn]),
		want:     make(map[string]int),
		links:    make(map[string]*psLink),
	}
}

// psLink is the upstream pub/sub connection for one shard. Its fields are
// guarded by hub.mu.
type psLink struct {
	h     *hub
	shard string
	addr  string                     // the master it is (re)connecting to; "" when none
	nc    net.Conn                   // nil while down
	subs  map[string]bool            // subscriptions sent on nc ("c"/"p" + name)
	conf  map[string]bool            // confirmed by the shard
	waits map[string][]chan struct{} // subscribers waiting for confirmation
	kick  chan struct{}
}

func (h *hub) counts(c *clientConn) (int, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(c.subs.channels), len(c.subs.patterns)
}

// viewChanged re-targets links whose shard's master changed and moves
// channels whose shard changed.
func (h *hub) viewChanged(old, cur *view) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.view = cur
	if h.closed || (len(h.want) == 0 && len(h.links) == 0) {
		return
	}
	h.reconcile()
}

// reconcile (under mu) makes every link subscribe to exactly its desired
// set and follow its shard's master.
func (h *hub) reconcile() {
	v := h.view
	if v == nil {
		return
	}
	hasPatterns := false
	for k := range h.want {
		if k[0] == 'p' {
			hasPatterns = true
			break
		}
	}
	need := map[string]bool{}
	for k := range h.want {
		if k[0] == 'c' {
			if sh := v.shardFor([]byte(k[1:])); sh != nil {
				need[sh.name] = true
			}
		}
	}
	if hasPatterns {
		for _, sh := range v.order {
			need[sh.name] = true
		}
	}
	for name := range need {
		if h.links[name] == nil {
			h.newLink(name)
		}
	}
	for name, l := range h.links {
		if !need[name] {
			// No subscription belongs here any more: drop the link.
			delete(h.links, name)
			if l.nc != nil {
				l.nc.Close()
				l.nc = nil
			}
			l.release()
			l.poke()
			continue
		}
		sh := v.shards[name]
		addr := ""
		if sh != nil && sh.master != nil {
			addr = sh.master.addr
		}
		if addr != l.addr {
			l.addr = addr
			if l.nc != nil {
				l.nc.Close() // its reader ends; run reconnects to addr
				l.nc = nil
			}
			l.release() // nobody waits on a link that is moving
			l.poke()
			continue
		}
		if l.nc != nil {
			l.sync()
		}
	}
}

func (h *hub) newLink(shard string) *psLink {
	l := &psLink{h: h, shard: shard, kick: make(chan struct{}, 1),
		subs: map[string]bool{}, conf: map[string]bool{}, waits: map[string][]chan struct{}{}}
	if sh := h.view.shards[shard]; sh != nil && sh.master != nil {
		l.addr = sh.master.addr
	}
	h.links[shard] = l
	h.s.bg.Add(1)
	go l.run()
	return l
}

// desired (under mu) is what l should be subscribed to.
func (l *psLink) desired() map[string]bool {
	h := l.h
	out := map[string]bool{}
	for k := range h.want {
		if k[0] == 'p' {
			out[k] = true
		} else if sh := h.view.shardFor([]byte(k[1:])); sh != nil && sh.name == l.shard {
			out[k] = true
		}
	}
	return out
}

// wants (under mu) reports whether k belongs on l.
func (l *psLink) wants(k string) bool {
	if k[0] == 'p' {
		return true
	}
	sh := l.h.view.shardFor([]byte(k[1:]))
	return sh != nil && sh.name == l.shard
}

// sync (under mu, connected) sends what differs between l.subs and the
// desired set.
func (l *psLink) sync() {
	want := l.desired()
	var sub, psub, unsub, punsub [][]byte
	for k := range want {
		if !l.subs[k] {
			if k[0] == 'c' {
				sub = append(sub, []byte(k[1:]))
			} else {
				psub = append(psub, []byte(k[1:]))
			}
			l.subs[k] = true
		}
	}
	for k := range l.subs {
		if !want[k] {
			if k[0] == 'c' {
				unsub = append(unsub, []byte(k[1:]))
			} else {
				punsub = append(punsub, []byte(k[1:]))
			}
			delete(l.subs, k)
			delete(l.conf, k)
		}
	}
	var req []byte
	for _, g := range []struct {
		cmd   string
		names [][]byte
	}{{"SUBSCRIBE", sub}, {"PSUBSCRIBE", psub}, {"UNSUBSCRIBE", unsub}, {"PUNSUBSCRIBE", punsub}} {
		if len(g.names) == 0 {
			continue
		}
		req = proto.AppendArray(req, 1+len(g.names))
		req = proto.AppendBulkString(req, g.cmd)
		for _, n := range g.names {
			req = proto.AppendBulk(req, n)
		}
	}
	if len(req) > 0 {
		l.nc.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := l.nc.Write(req); err != nil {
			l.nc.Close()
		}
	}
}

func (l *psLink) poke() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// release (under mu) frees every subscriber waiting for a confirmation.
func (l *psLink) release() {
	for k, ws := range l.waits {
		for _, w := range ws {
			close(w)
		}
		delete(l.waits, k)
	}
}

// run keeps the link connected to its shard's master until the hub closes
// or the link is no longer needed.
func (l *psLink) run() {
	h := l.h
	defer h.s.bg.Done()
	backoff := 50 * time.Millisecond
	for {
		h.mu.Lock()
		if h.closed || h.links[l.shard] != l {
			h.mu.Unlock()
			return
		}
		addr := l.addr
		h.mu.Unlock()
		if addr == "" {
			select {
			case <-l.kick:
			case <-h.s.quit:
				return
			}
			continue
		}
		nc, err := h.s.dialShard(addr)
		if err != nil {
			h.s.log.Debug("pub/sub link cannot reach master", "shard", l.shard, "addr", addr, "err", err)
			h.mu.Lock()
			l.release()
			h.mu.Unlock()
			select {
			case <-l.kick:
			case <-time.After(backoff):
				backoff = min(2*backoff, time.Second)
			case <-h.s.quit:
				return
			}
			continue
		}
		backoff = 50 * time.Millisecond
		h.mu.Lock()
		if h.closed || l.addr != addr || h.links[l.shard] != l {
			h.mu.Unlock()
			nc.Close()
			continue
		}
		l.nc = nc
		clear(l.subs)
		clear(l.conf)
		l.sync()
		h.mu.Unlock()
		h.s.log.Debug("pub/sub link connected", "shard", l.shard, "addr", addr)
		l.read(nc)
		h.mu.Lock()
		if l.nc == nc {
			l.nc = nil
		}
		h.mu.Unlock()
		nc.Close()
	}
}

// read delivers messages from nc until it fails.
func (l *psLink) read(nc net.Conn) {
	h := l.h
	rd := proto.NewReader(nc, proto.Limits{MaxBulkLen: h.s.cfg.Limits.MaxBulkLen})
	for {
		frame, err := rd.ReadReply()
		if err != nil {
			return
		}
		v, err := proto.ParseReply(frame)
		if err != nil || v.Kind != proto.KindArray || len(v.Array) < 3 || v.Array[0].Kind != proto.KindBulk {
			if v.Kind == proto.KindError {
				h.s.log.Warn("pub/sub link error reply", "shard", l.shard, "err", string(v.Str))
			}
			continue
		}
		kind := string(v.Array[0].Str)
		switch kind {
		case "message":
			h.mu.Lock()
			for c := range h.channels[string(v.Array[1].Str)] {
				c.outbox.Enqueue(frame)
			}
			h.mu.Unlock()
		case "pmessage":
			h.mu.Lock()
			for c := range h.patterns[string(v.Array[1].Str)] {
				c.outbox.Enqueue(frame)
			}
			h.mu.Unlock()
		case "subscribe", "psubscribe":
			k := "c" + string(v.Array[1].Str)
			if kind == "psubscribe" {
				k = "p" + string(v.Array[1].Str)
			}
			h.mu.Lock()
			if l.nc == nc {
				l.conf[k] = true
				for _, w := range l.waits[k] {
					close(w)
				}
				delete(l.waits, k)
			}
			h.mu.Unlock()
		}
	}
}

// subscribeWait is how long SUBSCRIBE waits for the shard to confirm the
// upstream subscription before answering anyway.
const subscribeWait = 3 * time.Second

// subscribe adds channels or patterns for c. It answers only once the
// upstream subscriptions are confirmed (or cannot be, the master being
// down), so a message published after the reply reaches c.
func (c *clientConn) subscribe(spec *proto.CommandSpec, names [][]byte, pattern bool) {
	c.barrier()
	c.enterPubsubMode()
	h := c.s.hub
	prefix := "c"
	if pattern {
		prefix = "p"
	}
	own := make([]string, len(names)) // names alias the read buffer
	for i, n := range names {
		own[i] = string(n)
	}
	var waits []chan struct{}
	h.mu.Lock()
	if h.view == nil {
		h.view = c.s.router.view()
	}
	mine := c.subs.channels
	if pattern {
		mine = c.subs.patterns
	}
	fresh := map[string]bool{}
	for _, n := range own {
		if _, dup := mine[n]; dup || fresh[n] {
			continue
		}
		fresh[n] = true
		h.want[prefix+n]++
	}
	h.reconcile()
	for n := range fresh {
		k := prefix + n
		for _, l := range h.links {
			if l.addr != "" && !l.conf[k] && l.wants(k) {
				w := make(chan struct{})
				l.waits[k] = append(l.waits[k], w)
				waits = append(waits, w)
			}
		}
	}
	h.mu.Unlock()
	if len(waits) > 0 {
		deadline := time.NewTimer(subscribeWait)
		for _, w := range waits {
			select {
			case <-w:
			case <-deadline.C:
			}
		}
		deadline.Stop()
	}
	h.mu.Lock()
	kind, reg := "subscribe", h.channels
	if pattern {
		kind, reg = "psubscribe", h.patterns
	}
	if c.subs.channels == nil {
		c.subs.channels = map[string]struct{}{}
		c.subs.patterns = map[string]struct{}{}
	}
	mine = c.subs.channels
	if pattern {
		mine = c.subs.patterns
	}
	var out []byte
	for _, n := range own {
		if _, dup := mine[n]; !dup {
			mine[n] = struct{}{}
			reg.Add(n, c)
		}
		c.subs.n = len(c.subs.channels) + len(c.subs.patterns)
		out = respserver.AppendSubReply(out, kind, []byte(n), c.subs.n)
	}
	c.outbox.Enqueue(out)
	h.mu.Unlock()
	c.addLocal(spec, len(c.local))
}

// unsubscribe removes channels or patterns (all of them when names is
// empty) and replies.
func (c *clientConn) unsubscribe(spec *proto.CommandSpec, names [][]byte, pattern bool) {
	h := c.s.hub
	h.mu.Lock()
	kind, reg, prefix := "unsubscribe", h.channels, "c"
	mine := c.subs.channels
	if pattern {
		kind, reg, prefix, mine = "punsubscribe", h.patterns, "p", c.subs.patterns
	}
	lo := len(c.local)
	if len(names) == 0 {
		if len(mine) == 0 {
			c.local = respserver.AppendSubReply(c.local, kind, nil, c.subs.n)
			h.mu.Unlock()
			c.addLocal(spec, lo)
			return
		}
		names = respserver.UnsubscribeAll(mine)
	}
	changed := false
	for _, nb := range names {
		n := string(nb)
		if _, ok := mine[n]; ok {
			delete(mine, n)
			h.drop(reg, prefix, n, c)
			changed = true
		}
		c.subs.n = len(c.subs.channels) + len(c.subs.patterns)
		c.local = respserver.AppendSubReply(c.local, kind, nb, c.subs.n)
	}
	if changed {
		h.reconcile()
	}
	h.mu.Unlock()
	c.addLocal(spec, lo)
}

// drop (under mu) removes c from reg[name] and releases the interest.
func (h *hub) drop(reg respserver.Subscribers[*clientConn], prefix, name string, c *clientConn) {
	reg.Remove(name, c)
	if h.want[prefix+name]--; h.want[prefix+name] <= 0 {
		delete(h.want, prefix+name)
	}
}

// removeClient drops every subscription of a closing client.
func (h *hub) removeClient(c *clientConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.subs.n == 0 {
		return
	}
	for n := range c.subs.channels {
		h.drop(h.channels, "c", n, c)
	}
	for n := range c.subs.patterns {
		h.drop(h.patterns, "p", n, c)
	}
	c.subs = subState{}
	if !h.closed {
		h.reconcile()
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, l := range h.links {
		if l.nc != nil {
			l.nc.Close()
		}
		l.release()
		l.poke()
	}
}

func cmdSubscribe(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	c.subscribe(spec, args[1:], false)
}

func cmdPsubscribe(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	c.subscribe(spec, args[1:], true)
}

func cmdUnsubscribe(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	c.unsubscribe(spec, args[1:], false)
}

func cmdPunsubscribe(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	c.unsubscribe(spec, args[1:], true)
}

// cmdPubsub answers PUBSUB from this frontend's own subscriptions.
func cmdPubsub(c *clientConn, spec *proto.CommandSpec, args [][]byte) {
	h := c.s.hub
	lo := len(c.local)
	c.local = respserver.AppendPubsub(c.local, args, h.channels, h.patterns, &h.mu)
	c.addLocal(spec, lo)
}
