package store

// Keyspace commands, as Redis 7.0.15 answers them (db.c, expire.c,
// object.c), for the one database a shard has (db 0).

import (
	"bytes"
	"fmt"
	"math"
	"strconv"

	"github.com/shoal-kv/shoal/proto"
)

func registerKeys(m map[string]Cmd) {
	register(m, "del", keyDel)
	register(m, "unlink", keyDel)
	register(m, "exists", keyExists)
	register(m, "touch", keyExists)
	register(m, "type", keyType)
	register(m, "expire", func(c *Call) { keyExpireGeneric(c, c.Now, true, "expire") })
	register(m, "pexpire", func(c *Call) { keyExpireGeneric(c, c.Now, false, "pexpire") })
	register(m, "expireat", func(c *Call) { keyExpireGeneric(c, 0, true, "expireat") })
	register(m, "pexpireat", func(c *Call) { keyExpireGeneric(c, 0, false, "pexpireat") })
	register(m, "ttl", func(c *Call) { keyTTL(c, false, false) })
	register(m, "pttl", func(c *Call) { keyTTL(c, true, false) })
	register(m, "expiretime", func(c *Call) { keyTTL(c, false, true) })
	register(m, "pexpiretime", func(c *Call) { keyTTL(c, true, true) })
	register(m, "persist", keyPersist)
	register(m, "keys", keyKeys)
	register(m, "scan", keyScan)
	register(m, "randomkey", keyRandomKey)
	register(m, "rename", func(c *Call) { keyRename(c, false) })
	register(m, "renamenx", func(c *Call) { keyRename(c, true) })
	register(m, "copy", keyCopy)
	register(m, "dbsize", keyDBSize)
	register(m, "flushdb", keyFlush)
	register(m, "flushall", keyFlush)
	register(m, "object", keyObject)
}

// keyTypeName is what TYPE answers for a stored value.
func keyTypeName(v any) string {
	switch o := v.(type) {
	case []byte, rawString:
		return "string"
	case object:
		return o.typeName()
	}
	return "none"
}

// keyDel is DEL and UNLINK. The effect is a DEL of the keys that were
// deleted (the command itself when every argument was).
func keyDel(c *Call) {
	var stack [8][]byte
	deleted := stack[:0]
	for _, k := range c.Args[1:] {
		if _, found := c.S.lookup(c.Now, k); found {
			c.S.removeKey(string(k))
			c.Touch(k)
			deleted = append(deleted, k)
		}
	}
	switch {
	case len(deleted) == 0:
	case len(deleted) == len(c.Args)-1:
		c.PropagateSelf()
	default:
		// Some arguments were missing or repeated: name only the keys
		// this command deleted (each once, in order).
		eff := make([][]byte, 0, len(deleted)+1)
		eff = append(eff, strWDEL)
		c.Propagate(append(eff, deleted...)...)
	}
	c.Int(int64(len(deleted)))
}

func keyExists(c *Call) {
	n := int64(0)
	for _, k := range c.Args[1:] {
		if _, found := c.S.lookupRead(c.Now, k); found {
			n++
		}
	}
	c.Int(n)
}

func keyType(c *Call) {
	if !c.arity(2) {
		return
	}
	e, found := c.S.lookupRead(c.Now, c.Args[1])
	if !found {
		c.Status("none")
		return
	}
	c.Status(keyTypeName(e.val))
}

// EXPIRE option flags.
const (
	keyExpNX = 1 << iota
	keyExpXX
	keyExpGT
	keyExpLT
)

var keyExpOptions = []optionFlag{{"nx", keyExpNX}, {"xx", keyExpXX}, {"gt", keyExpGT}, {"lt", keyExpLT}}

// keyExpireGeneric is Redis's expireGenericCommand: basetime is added to
// the argument (now for EXPIRE/PEXPIRE, 0 for the AT forms), seconds
// multiplies it by 1000 first. The effect is PEXPIREAT with the absolute
// time, or DEL when that time has already passed.
func keyExpireGeneric(c *Call, basetime int64, seconds bool, cmd string) {
	if !c.arity(3) {
		return
	}
	key := c.Args[1]
	flags := 0
	for _, a := range c.Args[3:] {
		opt := cString(a)
		f := matchOption(opt, keyExpOptions)
		if f == 0 {
			c.Err("ERR Unsupported option " + string(opt))
			return
		}
		flags |= f
	}
	if flags&keyExpNX != 0 && flags&(keyExpXX|keyExpGT|keyExpLT) != 0 {
		c.Err("ERR NX and XX, GT or LT options at the same time are not compatible")
		return
	}
	if flags&keyExpGT != 0 && flags&keyExpLT != 0 {
		c.Err("ERR GT and LT options at the same time are not compatible")
		return
	}
	when, ok := c.IntArg(2)
	if !ok {
		return
	}
	if seconds {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			c.Err(fmt.Sprintf(ErrInvalidExp, cmd))
			return
		}
		when *= 1000
	}
	if when > math.MaxInt64-basetime {
		c.Err(fmt.Sprintf(ErrInvalidExp, cmd))
		return
	}
	when += basetime
	e, found := c.S.lookup(c.Now, key)
	if !found {
		c.Int(0)
		return
	}
	if flags != 0 {
		cur := e.exp // 0: no expiry (Redis's -1, an infinite TTL)
		if flags&keyExpNX != 0 && cur != 0 {
			c.Int(0)
			return
		}
		if flags&keyExpXX != 0 && cur == 0 {
			c.Int(0)
			return
		}
		if flags&keyExpGT != 0 && (cur == 0 || when <= cur) {
			c.Int(0)
			return
		}
		if flags&keyExpLT != 0 && cur != 0 && when >= cur {
			c.Int(0)
			return
		}
	}
	if !c.S.replay && when <= c.Now {
		c.S.removeKey(string(key))
		c.Propagate(strWDEL, key)
	} else {
		c.S.setExpire(key, when)
		var buf [20]byte
		c.Propagate(strWPEXPIREAT, key, strconv.AppendInt(buf[:0], when, 10))
	}
	c.Touch(key)
	c.Int(1)
}

// keyTTL is TTL/PTTL (abs=false) and EXPIRETIME/PEXPIRETIME (abs=true):
// -2 for a missing key, -1 without expiry; seconds are rounded as Redis does.
func keyTTL(c *Call, ms, abs bool) {
	if !c.arity(2) {
		return
	}
	e, found := c.S.lookupRead(c.Now, c.Args[1])
	if !found {
		c.Int(-2)
		return
	}
	if e.exp == 0 {
		c.Int(-1)
		return
	}
	ttl := e.exp
	if !abs {
		ttl -= c.Now
	}
	if ttl < 0 {
		ttl = 0
	}
	if !ms {
		ttl = (ttl + 500) / 1000
	}
	c.Int(ttl)
}

func keyPersist(c *Call) {
	if !c.arity(2) {
		return
	}
	key := c.Args[1]
	e, found := c.S.lookup(c.Now, key)
	if !found || e.exp == 0 {
		c.Int(0)
		return
	}
	c.S.setExpire(key, 0)
	c.Touch(key)
	c.PropagateSelf()
	c.Int(1)
}

// keyMatchAll reports whether pattern is "*", which Redis treats as matching
// every key without calling stringmatchlen (so it matches "" too).
func keyMatchAll(p []byte) bool { return len(p) == 1 && p[0] == '*' }

// keyKeys is KEYS: every key that has not expired and matches the pattern.
// Expired keys are skipped, not deleted (as Redis's keysCommand).
func keyKeys(c *Call) {
	if !c.arity(2) {
		return
	}
	pat := c.Args[1]
	all := keyMatchAll(pat)
	var out []string
	for k, e := range c.S.keys {
		if !all && !proto.GlobMatch(pat, []byte(k), false) {
			continue
		}
		if e.expired(c.Now) && !c.S.replay {
			continue
		}
		out = append(out, k)
	}
	c.Array(len(out))
	for _, k := range out {
		c.BulkString(k)
	}
}

// keyScan is SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]. Each call
// visits COUNT keys of the keyspace, then drops those that do not match the
// pattern, are not of the type, or have expired (deleting them on a master),
// as Redis filters after visiting.
func keyScan(c *Call) {
	if !c.arity(2) {
		return
	}
	cursor, ok := parseScanCursor(c.Args[1])
	if !ok {
		c.Err(ErrInvalidCurs)
		return
	}
	opts, ok := parseScanOptions(c, 2, true)
	if !ok {
		return
	}
	m := c.S.keys
	seq := func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
	var visited []string
	next, ok := scanStep(c, cursor, any(c.S.keysGen), seq, opts.count, func(k string) {
		visited = append(visited, k)
	})
	if !ok {
		return
	}
	out := visited[:0]
	for _, k := range visited {
		if !opts.match(k) {
			continue
		}
		if opts.useType {
			name := "none"
			if e, found := c.S.lookupRead(c.Now, []byte(k)); found {
				name = keyTypeName(e.val)
			}
			if !eqFold(opts.typ, name) {
				continue
			}
		}
		if _, found := c.S.lookup(c.Now, []byte(k)); !found {
			continue
		}
		out = append(out, k)
	}
	scanReply(c, next, out)
}

// keyRandomKey is RANDOMKEY: Go's randomized map iteration picks the key.
// On a master, expired keys met on the way are deleted (a DEL is recorded
// for each); a replica skips them and, as Redis does, answers an expired key
// rather than nothing when every key has an expiry and all have passed.
func keyRandomKey(c *Call) {
	s := c.S
	allVolatile := len(s.keys) == len(s.expires)
	var lastExpired string
	seenExpired := false
	for k, e := range s.keys {
		if e.expired(c.Now) && !s.replay {
			if s.cfg.Replica {
				lastExpired, seenExpired = k, true
				continue
			}
			s.expireKey(k)
			continue
		}
		c.BulkString(k)
		return
	}
	if seenExpired && allVolatile {
		c.BulkString(lastExpired)
		return
	}
	c.Null()
}

// keyRename is RENAME and RENAMENX: the value moves with its TTL.
func keyRename(c *Call, nx bool) {
	if !c.arity(3) {
		return
	}
	src, dst := c.Args[1], c.Args[2]
	same := bytes.Equal(src, dst)
	e, found := c.S.lookup(c.Now, src)
	if !found {
		c.Err(ErrNoSuchKey)
		return
	}
	if same {
		if nx {
			c.Int(0)
		} else {
			c.OK()
		}
		return
	}
	if _, exists := c.S.lookup(c.Now, dst); exists {
		if nx {
			c.Int(0)
			return
		}
		c.S.removeKey(string(dst))
	}
	c.S.setKey(dst, e.val, e.exp)
	c.S.removeKey(string(src))
	c.Touch(src)
	c.Touch(dst)
	c.PropagateSelf()
	if nx {
		c.Int(1)
	} else {
		c.OK()
	}
}

// keyCopy is COPY source destination [DB 0] [REPLACE]. A shard has only
// db 0: any other DB index answers "ERR DB index is out of range" (Redis
// with 16 databases accepts 1..15).
func keyCopy(c *Call) {
	if !c.arity(3) {
		return
	}
	replace := false
	for j := 3; j < len(c.Args); j++ {
		opt := cString(c.Args[j])
		switch {
		case eqFold(opt, "replace"):
			replace = true
		case eqFold(opt, "db") && j+1 < len(c.Args):
			db, ok := c.IntArg(j + 1)
			if !ok {
				return
			}
			if db < math.MinInt32 || db > math.MaxInt32 {
				c.Err("ERR value is out of range, value must between -2147483648 and 2147483647")
				return
			}
			if db != 0 {
				c.Err("ERR DB index is out of range")
				return
			}
			j++
		default:
			c.SyntaxErr()
			return
		}
	}
	src, dst := c.Args[1], c.Args[2]
	if bytes.Equal(src, dst) {
		c.Err("ERR source and destination objects are the same")
		return
	}
	e, found := c.S.lookupRead(c.Now, src)
	if !found {
		c.Int(0)
		return
	}
	if _, exists := c.S.lookup(c.Now, dst); exists && !replace {
		c.Int(0)
		return
	}
	var val any
	switch v := e.val.(type) {
	case []byte:
		val = v // never changed in place: safe to share
	case rawString:
		val = rawString(clone(v)) // one owner each (APPEND grows in place)
	case object:
		val = v.clone()
	default:
		val = e.val
	}
	c.S.setKey(dst, val, e.exp)
	c.Touch(dst)
	c.PropagateSelf()
	c.Int(1)
}

func keyDBSize(c *Call) { c.Int(int64(c.S.Len())) }

// keyFlush is FLUSHDB and FLUSHALL [ASYNC|SYNC] (the flush is always
// immediate); the effect is FLUSHALL. Every SCAN cursor is dropped.
func keyFlush(c *Call) {
	if len(c.Args) == 2 {
		opt := cString(c.Args[1])
		if !eqFold(opt, "sync") && !eqFold(opt, "async") {
			c.SyntaxErr()
			return
		}
	} else if len(c.Args) > 2 {
		c.SyntaxErr()
		return
	}
	c.S.flushAll()
	c.S.cursors.reset()
	c.Propagate([]byte("FLUSHALL"))
	c.OK()
}

var keyObjectHelp = []string{
	"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"ENCODING <key>",
	"    Return the kind of internal representation used in order to store the value",
	"    associated with a <key>.",
	"FREQ <key>",
	"    Return the access frequency index of the <key>. The returned integer is",
	"    proportional to the logarithm of the recent access frequency of the key.",
	"IDLETIME <key>",
	"    Return the idle time of the <key>, that is the approximated number of",
	"    seconds elapsed since the last access to the key.",
	"REFCOUNT <key>",
	"    Return the number of references of the value associated with the specified",
	"    <key>.",
	"HELP",
	"    Prints this help.",
}

// keyObject is OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT|HELP.
//
//   - ENCODING answers as Redis 7.0 (see strEncoding and each type's encoding).
//   - FREQ answers Redis's error for a server without an LFU maxmemory policy
//     (shoal never tracks access frequency); nil for a missing key.
//   - IDLETIME answers 0: shoal does not track access times (approximation).
//   - REFCOUNT answers 2147483647 for an int-encoded string 0..9999 (Redis's
//     shared integers) and 1 otherwise, as Redis does with maxmemory unset.
func keyObject(c *Call) {
	if len(c.Args) < 2 {
		c.Err("ERR wrong number of arguments for 'object' command")
		return
	}
	sub := c.Args[1]
	var name string
	for _, n := range []string{"help", "encoding", "freq", "idletime", "refcount"} {
		if eqFold(sub, n) {
			name = n
			break
		}
	}
	if name == "" {
		w := cString(sub)
		if len(w) > 128 {
			w = w[:128]
		}
		c.Err("ERR unknown subcommand '" + string(w) + "'. Try OBJECT HELP.")
		return
	}
	want := 3
	if name == "help" {
		want = 2
	}
	if len(c.Args) != want {
		c.Err("ERR wrong number of arguments for 'object|" + name + "' command")
		return
	}
	if name == "help" {
		c.Array(len(keyObjectHelp))
		for _, l := range keyObjectHelp {
			c.Status(l)
		}
		return
	}
	e, found := c.S.lookupRead(c.Now, c.Args[2])
	if !found {
		c.Null()
		return
	}
	switch name {
	case "encoding":
		enc := strEncoding(e.val)
		if o, ok := e.val.(object); ok {
			enc = o.encoding()
		}
		c.BulkString(enc)
	case "freq":
		c.Err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. " +
			"Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
	case "idletime":
		c.Int(0)
	case "refcount":
		if strSharedInt(e.val) {
			c.Int(math.MaxInt32)
		} else {
			c.Int(1)
		}
	}
}
