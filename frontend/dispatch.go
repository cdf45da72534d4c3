package frontend

import (
	"strconv"

	"github.com/shoal-kv/shoal/proto"
)

// class is how the frontend handles a command.
type class uint8

const (
	clsData       class = iota // keys decide the shard
	clsSplit                   // element-wise multi-key: split per shard, merged
	clsLocal                   // answered by the frontend
	clsFanOut                  // sent to every shard, merged
	clsScan                    // SCAN: one shard at a time, cursor encodes it
	clsFirstShard              // keyless, sent to the first shard (CONFIG GET, LASTSAVE, ROLE, ...)
	clsBlocking                // dedicated upstream connection
	clsPublish                 // routed by channel
	clsDenied                  // refused through a frontend
)

// handling is the frontend's handling of one command spec.
type handling struct {
	cls   class
	kind  entryKind // clsSplit, clsFanOut: how replies merge
	local func(c *clientConn, spec *proto.CommandSpec, args [][]byte)
	// stride: clsSplit, arguments per key (2 for MSET).
	stride int
}

// cmdTable maps every spec (top-level and subcommands) to its handling.
// Built once at init; read-only after.
var cmdTable = map[*proto.CommandSpec]*handling{}

func init() {
	locals := map[string]func(*clientConn, *proto.CommandSpec, [][]byte){
		"ping": cmdPing, "echo": cmdEcho, "quit": cmdQuit, "hello": cmdHello,
		"auth": cmdAuth, "select": cmdSelect, "client": cmdClient, "command": cmdCommand,
		"time": cmdTime, "info": cmdInfo, "shoal": cmdShoal,
		"readonly": cmdOK, "readwrite": cmdOK,
		"multi": cmdMulti, "exec": cmdExec, "discard": cmdDiscard,
		"watch": cmdWatch, "unwatch": cmdUnwatch,
		"subscribe": cmdSubscribe, "unsubscribe": cmdUnsubscribe,
		"psubscribe": cmdPsubscribe, "punsubscribe": cmdPunsubscribe,
		"pubsub": cmdPubsub, "wait": cmdWait,
	}
	splits := map[string]*handling{
		"mget":   {cls: clsSplit, kind: kindMGet, stride: 1},
		"mset":   {cls: clsSplit, kind: kindMSet, stride: 2},
		"del":    {cls: clsSplit, kind: kindSum, stride: 1},
		"unlink": {cls: clsSplit, kind: kindSum, stride: 1},
		"exists": {cls: clsSplit, kind: kindSum, stride: 1},
		"touch":  {cls: clsSplit, kind: kindSum, stride: 1},
	}
	fanOuts := map[string]entryKind{
		"keys": kindConcat, "dbsize": kindSum, "flushall": kindFirstOK, "flushdb": kindFirstOK,
		"randomkey": kindRandomKey, "save": kindFirstOK, "bgsave": kindFirstOK,
		"config|set": kindFirstOK, "config|resetstat": kindFirstOK, "config|rewrite": kindFirstOK,
	}
	classify := func(s *proto.CommandSpec) *handling {
		name := s.FullName
		if f := locals[name]; f != nil {
			return &handling{cls: clsLocal, local: f}
		}
		if s.Parent != nil {
			if f := locals[s.Parent.Name]; f != nil {
				return &handling{cls: clsLocal, local: f}
			}
		}
		if i := splits[name]; i != nil {
			return i
		}
		if k, ok := fanOuts[name]; ok {
			return &handling{cls: clsFanOut, kind: k}
		}
		switch name {
		case "scan":
			return &handling{cls: clsScan}
		case "publish":
			return &handling{cls: clsPublish}
		case "replicaof", "slaveof":
			return &handling{cls: clsDenied}
		}
		if s.Flags&proto.FlagBlocking != 0 {
			return &handling{cls: clsBlocking}
		}
		if s.HasKeys() {
			return &handling{cls: clsData}
		}
		return &handling{cls: clsFirstShard}
	}
	for _, s := range proto.All() {
		cmdTable[s] = classify(s)
		for _, sub := range s.Subcommands {
			cmdTable[sub] = classify(sub)
		}
	}
}

// subscribedAllowed are the commands a RESP2 client in subscribed mode may
// send.
var subscribedAllowed = map[string]bool{
	"subscribe": true, "unsubscribe": true, "psubscribe": true, "punsubscribe": true,
	"ping": true, "quit": true, "reset": true, "ssubscribe": true, "sunsubscribe": true,
}

// notQueued are the commands MULTI runs at once instead of queueing.
var notQueued = map[string]bool{"exec": true, "discard": true, "multi": true, "watch": true, "quit": true, "reset": true}

// crossSlot is the reply to a command whose keys are on different shards.
const crossSlot = "CROSSSLOT Keys in request don't hash to the same shard"

// handle takes one command of the batch: it checks what Redis checks
// before running a command, in the same order, then answers it locally,
// routes it, or ends the batch for a command that must wait on its own.
func (c *clientConn) handle(args [][]byte) {
	spec, err := proto.Resolve(args)
	if err != nil {
		c.tx.reject()
		c.localErr(nil, err.Error())
		return
	}
	c.LastCmdName.Store(&spec.FullName)
	root := spec
	if spec.Parent != nil {
		root = spec.Parent
	}
	if !c.authed && root.Name != "auth" && root.Name != "hello" && root.Name != "quit" {
		c.tx.reject()
		c.localErr(spec, "NOAUTH Authentication required.")
		return
	}
	if c.psMode && c.subs.total() > 0 && !subscribedAllowed[root.Name] {
		c.localErr(spec, "ERR Can't execute '"+spec.FullName+"': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
		return
	}
	info := cmdTable[spec]
	if c.tx.active && !notQueued[root.Name] {
		c.queueTx(spec, info, args)
		return
	}
	switch info.cls {
	case clsLocal:
		info.local(c, spec, args)
	case clsData:
		c.forwardKeyed(spec, args)
	case clsSplit:
		c.forwardSplit(spec, info, args)
	case clsFanOut:
		c.fanOut(spec, info.kind, args)
	case clsScan:
		c.scan(spec, args)
	case clsFirstShard:
		c.forwardFirst(spec, args)
	case clsBlocking:
		c.blocking(spec, args)
	case clsPublish:
		c.forwardTo(spec, args, args[1], false)
	case clsDenied:
		c.localErr(spec, "ERR "+spec.Name+" must be sent to a shard node, not through a frontend")
	}
}

// notReady reports (with an error reply) that the frontend has not yet
// seen its expected shards.
func (c *clientConn) notReady(spec *proto.CommandSpec) bool {
	if c.s.everReady.Load() {
		return false
	}
	v := c.s.router.view()
	c.localErr(spec, "CLUSTERDOWN frontend not ready: "+strconv.Itoa(v.withMaster)+" of "+
		strconv.Itoa(c.s.cfg.ExpectShards)+" expected shards have a master")
	return true
}

// isReadOnly reports a command a replica may serve.
func isReadOnly(spec *proto.CommandSpec) bool {
	return spec.Flags&proto.FlagReadOnly != 0 && spec.Flags&proto.FlagWrite == 0
}

// keyShards finds the keys of args and the shard of each (into c.keys and
// c.keyShard). It returns the shard of all keys, or nil and cross=true
// when they differ; no keys (malformed arguments) gives nil, false.
func (c *clientConn) keyShards(v *view, spec *proto.CommandSpec, args [][]byte) (sh *shardView, cross bool) {
	c.keys = spec.AppendKeys(c.keys[:0], args)
	c.keyShard = c.keyShard[:0]
	for _, k := range c.keys {
		s := v.shardFor(args[k])
		c.keyShard = append(c.keyShard, s)
		if sh == nil {
			sh = s
		} else if s != sh {
			cross = true
		}
	}
	if cross {
		return nil, true
	}
	return sh, false
}

// forwardKeyed routes a command by its keys.
func (c *clientConn) forwardKeyed(spec *proto.CommandSpec, args [][]byte) {
	if c.notReady(spec) {
		return
	}
	v := c.s.router.view()
	sh, cross := c.keyShards(v, spec, args)
	if cross {
		c.localErr(spec, crossSlot)
		return
	}
	if sh == nil {
		sh = c.fallbackShard(v, args)
		if sh == nil {
			c.localErr(spec, "CLUSTERDOWN no shard is known")
			return
		}
	}
	c.forwardShard(spec, args, v, sh, isReadOnly(spec))
}

// fallbackShard picks the shard for a command whose keys could not be
// found (malformed arguments, which a shard answers with Redis's error):
// the shard of args[1] if any, else the first shard.
func (c *clientConn) fallbackShard(v *view, args [][]byte) *shardView {
	if len(args) > 1 {
		if sh := v.shardFor(args[1]); sh != nil {
			return sh
		}
	}
	if len(v.order) > 0 {
		return v.order[0]
	}
	return nil
}

// forwardTo routes a command by an explicit routing key (PUBLISH's
// channel).
func (c *clientConn) forwardTo(spec *proto.CommandSpec, args [][]byte, key []byte, readonly bool) {
	if c.notReady(spec) {
		return
	}
	v := c.s.router.view()
	sh := v.shardFor(key)
	if sh == nil {
		c.localErr(spec, "CLUSTERDOWN no shard is known")
		return
	}
	c.forwardShard(spec, args, v, sh, readonly)
}

// forwardFirst sends a keyless command to the first shard.
func (c *clientConn) forwardFirst(spec *proto.CommandSpec, args [][]byte) {
	if c.notReady(spec) {
		return
	}
	v := c.s.router.view()
	if len(v.order) == 0 {
		c.localErr(spec, "CLUSTERDOWN no shard is known")
		return
	}
	c.forwardShard(spec, args, v, v.order[0], isReadOnly(spec))
}

// forwardShard queues args, unchanged, for shard sh.
func (c *clientConn) forwardShard(spec *proto.CommandSpec, args [][]byte, v *view, sh *shardView, readonly bool) {
	n, flags, msg := c.target(sh, readonly)
	if msg != "" {
		c.localErr(spec, msg)
		return
	}
	p := c.newPending()
	p.flags = flags
	p.req = proto.AppendCommand(p.req, args...)
	c.send(p, sh, n)
	c.entries = append(c.entries, entry{kind: kindSingle, spec: spec, p: p})
	if spec.Flags&proto.FlagWrite != 0 {
		c.noteWrite(sh, n)
	}
}

// target picks the node of sh for a command under the read policy. On
// failure msg is the error reply. A nil n with no msg means the shard has
// no master and the failover buffer is on: send holds the request.
func (c *clientConn) target(sh *shardView, readonly bool) (n *node, flags uint8, msg string) {
	if readonly {
		flags = pfReadOnly
		if c.s.cfg.ReadPolicy != ReadMaster {
			if r, ok := c.pickReplica(sh); ok {
				flags |= pfReplica
				if r.cached {
					flags |= pfCached
				}
				return r.n, flags, ""
			}
			if c.s.cfg.ReadPolicy == ReadReplica {
				return nil, 0, "CLUSTERDOWN shard " + sh.name + " has no usable replica"
			}
		}
	}
	if sh.master == nil {
		if c.s.fobuf != nil {
			return nil, flags, ""
		}
		return nil, 0, clusterDownMsg(sh.name)
	}
	return sh.master, flags, ""
}

// pickReplica chooses a usable replica of sh: alive in gossip, reachable
// recently, and within MaxReplicaLag. A client sticks to one replica while
// it stays usable (its reads then never go back in time by switching).
func (c *clientConn) pickReplica(sh *shardView) (replicaRef, bool) {
	n := len(sh.replicas)
	if n == 0 {
		return replicaRef{}, false
	}
	checkLag := c.s.cfg.MaxReplicaLag > 0
	start := int(c.ID % int64(n))
	for i := 0; i < n; i++ {
		r := sh.replicas[(start+i)%n]
		if r.n.down() || (checkLag && !r.n.lagOK.Load()) {
			continue
		}
		return r, true
	}
	return replicaRef{}, false
}

// forwardSplit handles MGET, MSET, DEL, UNLINK, EXISTS and TOUCH: keys on
// one shard forward the command unchanged; otherwise one command per shard
// is sent and the replies are merged in key order.
func (c *clientConn) forwardSplit(spec *proto.CommandSpec, info *handling, args [][]byte) {
	if info.stride == 2 && len(args)%2 == 0 {
		// MSET with an odd number of key/value arguments.
		c.localErr(spec, proto.ErrWrongArity(spec.FullName))
		return
	}
	if c.notReady(spec) {
		return
	}
	v := c.s.router.view()
	sh, cross := c.keyShards(v, spec, args)
	if !cross {
		if sh == nil {
			sh = c.fallbackShard(v, args)
			if sh == nil {
				c.localErr(spec, "CLUSTERDOWN no shard is known")
				return
			}
		}
		c.forwardShard(spec, args, v, sh, isReadOnly(spec))
		return
	}
	// Group the keys by shard: part i is the i-th distinct shard.
	readonly := isReadOnly(spec)
	var shards [64]*shardView
	ps := shards[:0]
	klo := len(c.keyPart)
	for _, s := range c.keyShard {
		idx := -1
		for j, t := range ps {
			if t == s {
				idx = j
				break
			}
		}
		if idx < 0 {
			idx = len(ps)
			ps = append(ps, s)
		}
		c.keyPart = append(c.keyPart, uint16(idx))
	}
	kp := c.keyPart[klo:]
	lo := len(c.parts)
	for j, s := range ps {
		p := c.newPending()
		count := 0
		for _, x := range kp {
			if int(x) == j {
				count++
			}
		}
		p.req = proto.AppendArray(p.req, 1+count*info.stride)
		p.req = proto.AppendBulk(p.req, args[0])
		for i, x := range kp {
			if int(x) != j {
				continue
			}
			pos := c.keys[i]
			for k := 0; k < info.stride; k++ {
				p.req = proto.AppendBulk(p.req, args[pos+k])
			}
		}
		n := c.sendPart(p, s, readonly)
		c.parts = append(c.parts, p)
		if spec.Flags&proto.FlagWrite != 0 {
			c.noteWrite(s, n)
		}
	}
	c.entries = append(c.entries, entry{kind: info.kind, spec: spec, lo: lo, hi: len(c.parts), klo: klo, nkeys: len(kp)})
}

// sendPart routes one part of a split or fanned-out command to sh's node
// under the read policy, or fails it with the routing error (its reply
// then comes in order with the others). It returns the node (nil when the
// part failed or waits for a master).
func (c *clientConn) sendPart(p *pending, sh *shardView, readonly bool) *node {
	n, flags, msg := c.target(sh, readonly)
	if msg != "" {
		p.state = stateError
		p.reply = proto.AppendError(p.reply, msg)
		return nil
	}
	p.flags = flags
	c.send(p, sh, n)
	return n
}

// fanOut sends the command to every shard and merges the replies.
func (c *clientConn) fanOut(spec *proto.CommandSpec, kind entryKind, args [][]byte) {
	if c.notReady(spec) {
		return
	}
	v := c.s.router.view()
	readonly := isReadOnly(spec)
	lo := len(c.parts)
	var first *pending
	for _, sh := range v.order {
		if c.s.cfg.EjectFailedShards && sh.master == nil {
			continue
		}
		p := c.newPending()
		if first == nil {
			p.req = proto.AppendCommand(p.req, args...)
			first = p
		} else {
			p.req = append(p.req, first.req...)
		}
		c.sendPart(p, sh, readonly)
		c.parts = append(c.parts, p)
	}
	if len(c.parts) == lo {
		c.localErr(spec, "CLUSTERDOWN no shard is known")
		return
	}
	c.entries = append(c.entries, entry{kind: kind, spec: spec, lo: lo, hi: len(c.parts)})
}

// scanShardBits is how many low bits of a frontend SCAN cursor hold the
// shard index; the shard's own cursor (shardd uses 48 bits) is above them.
const scanShardBits = 16

// scan forwards SCAN to the shard the cursor names, with that shard's own
// cursor; the reply's cursor is rewritten to name the shard (and moves to
// the next shard when one is done), so a full iteration walks every shard.
func (c *clientConn) scan(spec *proto.CommandSpec, args [][]byte) {
	if c.notReady(spec) {
		return
	}
	cur, err := strconv.ParseUint(string(args[1]), 10, 64)
	if err != nil {
		c.localErr(spec, "ERR invalid cursor")
		return
	}
	v := c.s.router.view()
	idx := int(cur & (1<<scanShardBits - 1))
	if idx >= len(v.order) {
		c.localErr(spec, "ERR invalid cursor")
		return
	}
	sh := v.order[idx]
	n, flags, msg := c.target(sh, true)
	if msg != "" {
		c.localErr(spec, msg)
		return
	}
	p := c.newPending()
	p.flags = flags
	p.req = proto.AppendArray(p.req, len(args))
	p.req = proto.AppendBulk(p.req, args[0])
	var tmp [24]byte
	p.req = proto.AppendBulk(p.req, strconv.AppendUint(tmp[:0], cur>>scanShardBits, 10))
	for _, a := range args[2:] {
		p.req = proto.AppendBulk(p.req, a)
	}
	c.send(p, sh, n)
	c.entries = append(c.entries, entry{kind: kindScan, spec: spec, p: p, aux: idx})
}
