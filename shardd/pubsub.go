package shardd

import (
	"sync"

	"github.com/shoal-kv/shoal/internal/respserver"
	"github.com/shoal-kv/shoal/proto"
)

// pubsub holds every subscription of the server.
type pubsub struct {
	mu       sync.Mutex
	channels respserver.Subscribers[*conn]
	patterns respserver.Subscribers[*conn]
}

func (p *pubsub) init() {
	p.channels = make(respserver.Subscribers[*conn])
	p.patterns = make(respserver.Subscribers[*conn])
}

// counts returns how many channels and patterns c is subscribed to.
func (p *pubsub) counts(c *conn) (int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(c.channels), len(c.patterns)
}

func (c *conn) subscriptions() int {
	a, b := c.s.pubsub.counts(c)
	return a + b
}

// enterPubsubMode switches c's output to the outbox and starts its flusher,
// so publishers on other goroutines can deliver messages.
func (c *conn) enterPubsubMode() {
	if c.psMode {
		return
	}
	c.psMode = true
	c.outbox.Start(respserver.OutboxConfig{W: c.nc, Done: c.done, Close: c.close,
		Log: c.s.log, Client: c.ID, Written: &c.s.stats.netOutput})
}

func cmdSubscribe(c *conn, args [][]byte)  { c.subscribe(args[1:], false) }
func cmdPsubscribe(c *conn, args [][]byte) { c.subscribe(args[1:], true) }

func (c *conn) subscribe(names [][]byte, pattern bool) {
	if c.execing {
		c.err("ERR Command not allowed inside a transaction")
		return
	}
	c.enterPubsubMode()
	p := &c.s.pubsub
	p.mu.Lock()
	defer p.mu.Unlock()
	kind := "subscribe"
	reg, mine := p.channels, &c.channels
	if pattern {
		kind, reg, mine = "psubscribe", p.patterns, &c.patterns
	}
	if *mine == nil {
		*mine = make(map[string]struct{})
	}
	for _, n := range names {
		name := string(n)
		if _, dup := (*mine)[name]; !dup {
			(*mine)[name] = struct{}{}
			reg.Add(name, c)
		}
		c.out = respserver.AppendSubReply(c.out, kind, n, len(c.channels)+len(c.patterns))
	}
}

func cmdUnsubscribe(c *conn, args [][]byte)  { c.unsubscribe(args[1:], false) }
func cmdPunsubscribe(c *conn, args [][]byte) { c.unsubscribe(args[1:], true) }

func (c *conn) unsubscribe(names [][]byte, pattern bool) {
	p := &c.s.pubsub
	p.mu.Lock()
	defer p.mu.Unlock()
	kind := "unsubscribe"
	reg, mine := p.channels, c.channels
	if pattern {
		kind, reg, mine = "punsubscribe", p.patterns, c.patterns
	}
	if len(names) == 0 {
		if len(mine) == 0 {
			c.out = respserver.AppendSubReply(c.out, kind, nil, len(c.channels)+len(c.patterns))
			return
		}
		names = respserver.UnsubscribeAll(mine)
	}
	for _, n := range names {
		name := string(n)
		if _, ok := mine[name]; ok {
			delete(mine, name)
			reg.Remove(name, c)
		}
		c.out = respserver.AppendSubReply(c.out, kind, n, len(c.channels)+len(c.patterns))
	}
}

// unsubscribeAll drops every subscription of a closing connection.
func (p *pubsub) unsubscribeAll(c *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for n := range c.channels {
		p.channels.Remove(n, c)
	}
	for n := range c.patterns {
		p.patterns.Remove(n, c)
	}
	c.channels, c.patterns = nil, nil
}

// publish delivers a message to channel subscribers and matching pattern
// subscribers; it returns how many received it.
func (p *pubsub) publish(channel, msg []byte) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	var frame []byte
	for c := range p.channels[string(channel)] {
		if frame == nil {
			frame = proto.AppendArray(nil, 3)
			frame = proto.AppendBulkString(frame, "message")
			frame = proto.AppendBulk(frame, channel)
			frame = proto.AppendBulk(frame, msg)
		}
		c.outbox.Enqueue(frame)
		n++
	}
	for pat, subs := range p.patterns {
		if !proto.GlobMatch([]byte(pat), channel, false) {
			continue
		}
		pframe := proto.AppendArray(nil, 4)
		pframe = proto.AppendBulkString(pframe, "pmessage")
		pframe = proto.AppendBulkString(pframe, pat)
		pframe = proto.AppendBulk(pframe, channel)
		pframe = proto.AppendBulk(pframe, msg)
		for c := range subs {
			c.outbox.Enqueue(pframe)
			n++
		}
	}
	return n
}

func cmdPublish(c *conn, args [][]byte) {
	c.int(int64(c.s.pubsub.publish(args[1], args[2])))
}

func cmdPubsub(c *conn, args [][]byte) {
	p := &c.s.pubsub
	c.out = respserver.AppendPubsub(c.out, args, p.channels, p.patterns, &p.mu)
}
