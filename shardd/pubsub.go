package shardd

import (
	"sort"
	"strings"
	"sync"

	"github.com/shoal-kv/shoal/proto"
)

// pubsubOutputLimit is the hard limit on a subscriber's unsent messages
// (Redis: client-output-buffer-limit pubsub 32mb): beyond it the client is
// disconnected instead of growing without bound.
const pubsubOutputLimit = 32 << 20

// pubsub holds every subscription of the server.
type pubsub struct {
	mu       sync.Mutex
	channels map[string]map[*conn]struct{}
	patterns map[string]map[*conn]struct{}
}

func (p *pubsub) init() {
	p.channels = make(map[string]map[*conn]struct{})
	p.patterns = make(map[string]map[*conn]struct{})
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
	c.wake = make(chan struct{}, 1)
	go c.flusher()
}

// enqueue appends b to the outbox and wakes the flusher. Safe from any
// goroutine.
func (c *conn) enqueue(b []byte) {
	c.wmu.Lock()
	c.outbox = append(c.outbox, b...)
	over := len(c.outbox) > pubsubOutputLimit
	c.wmu.Unlock()
	if over {
		c.s.log.Warn("closing subscriber over its output limit", "client", c.id)
		c.close()
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *conn) flusher() {
	var buf []byte
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		}
		c.wmu.Lock()
		buf, c.outbox = c.outbox, buf[:0]
		c.wmu.Unlock()
		if len(buf) > 0 {
			c.s.stats.netOutput.Add(int64(len(buf)))
			if _, err := c.nc.Write(buf); err != nil {
				c.close()
				return
			}
		}
	}
}

func subReply(out []byte, kind string, name []byte, count int) []byte {
	out = proto.AppendArray(out, 3)
	out = proto.AppendBulkString(out, kind)
	if name == nil {
		out = proto.AppendNullBulk(out)
	} else {
		out = proto.AppendBulk(out, name)
	}
	return proto.AppendInt(out, int64(count))
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
			subs := reg[name]
			if subs == nil {
				subs = make(map[*conn]struct{})
				reg[name] = subs
			}
			subs[c] = struct{}{}
		}
		c.out = subReply(c.out, kind, n, len(c.channels)+len(c.patterns))
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
			c.out = subReply(c.out, kind, nil, len(c.channels)+len(c.patterns))
			return
		}
		all := make([]string, 0, len(mine))
		for n := range mine {
			all = append(all, n)
		}
		sort.Strings(all)
		for _, n := range all {
			names = append(names, []byte(n))
		}
	}
	for _, n := range names {
		name := string(n)
		if _, ok := mine[name]; ok {
			delete(mine, name)
			if subs := reg[name]; subs != nil {
				delete(subs, c)
				if len(subs) == 0 {
					delete(reg, name)
				}
			}
		}
		c.out = subReply(c.out, kind, n, len(c.channels)+len(c.patterns))
	}
}

// unsubscribeAll drops every subscription of a closing connection.
func (p *pubsub) unsubscribeAll(c *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for n := range c.channels {
		if subs := p.channels[n]; subs != nil {
			delete(subs, c)
			if len(subs) == 0 {
				delete(p.channels, n)
			}
		}
	}
	for n := range c.patterns {
		if subs := p.patterns[n]; subs != nil {
			delete(subs, c)
			if len(subs) == 0 {
				delete(p.patterns, n)
			}
		}
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
		c.enqueue(frame)
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
			c.enqueue(pframe)
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
	sub := strings.ToLower(string(args[1]))
	switch {
	case sub == "channels" && len(args) <= 3:
		p.mu.Lock()
		var names []string
		for ch := range p.channels {
			if len(args) == 2 || proto.GlobMatch(args[2], []byte(ch), false) {
				names = append(names, ch)
			}
		}
		p.mu.Unlock()
		c.array(len(names))
		for _, n := range names {
			c.bulkString(n)
		}
	case sub == "numsub":
		p.mu.Lock()
		c.array(2 * (len(args) - 2))
		for _, ch := range args[2:] {
			c.bulk(ch)
			c.int(int64(len(p.channels[string(ch)])))
		}
		p.mu.Unlock()
	case sub == "numpat" && len(args) == 2:
		p.mu.Lock()
		n := len(p.patterns)
		p.mu.Unlock()
		c.int(int64(n))
	case sub == "help" && len(args) == 2:
		help := []string{
			"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"CHANNELS [<pattern>]",
			"    Return the currently active channels matching a <pattern> (default: '*').",
			"NUMPAT",
			"    Return number of subscriptions to patterns.",
			"NUMSUB [<channel> ...]",
			"    Return the number of subscribers for the specified channels, excluding",
			"    pattern subscriptions(default: no channels).",
			"SHARDCHANNELS [<pattern>]",
			"    Return the currently active shard level channels matching a <pattern> (default: '*').",
			"SHARDNUMSUB [<shardchannel> ...]",
			"    Return the number of subscribers for the specified shard level channel(s)",
			"HELP",
			"    Prints this help.",
		}
		c.array(len(help))
		for _, h := range help {
			c.status(h)
		}
	default:
		c.err("ERR unknown subcommand or wrong number of arguments for '" + string(args[1]) + "'. Try PUBSUB HELP.")
	}
}
