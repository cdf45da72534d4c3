package store

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
)

// Redis 7.0's built-in defaults for small hashes (hash-max-listpack-entries
// and hash-max-listpack-value): what redis-server 7.0.15 uses when started
// without a config file. The redis.conf shipped with Redis sets the entries
// to 128 instead.
const (
	hashMaxListpackEntries = 512
	hashMaxListpackValue   = 64
)

// hashPair is one field and its value. Strings are immutable, so a clone of
// a hash copies headers only.
type hashPair struct{ f, v string }

// hashValue is a hash. While small it emulates Redis's "listpack" encoding:
// pairs in insertion order, found by a linear scan (as Redis does), HDEL
// removing in place. Once a field or value is longer than 64 bytes or there
// are more than 512 fields it becomes "hashtable" for good: idx maps each
// field to its position in pairs, and a removal moves the last pair into the
// hole (the order is then unspecified, as Redis's dict order is).
type hashValue struct {
	pairs []hashPair
	idx   map[string]int // nil while listpack-encoded
	peak  int            // largest len(pairs) since idx was built (shrinking)
}

var _ object = (*hashValue)(nil)

func (h *hashValue) typeName() string { return "hash" }

func (h *hashValue) encoding() string {
	if h.idx == nil {
		return "listpack"
	}
	return "hashtable"
}

func (h *hashValue) length() int { return len(h.pairs) }

func (h *hashValue) clone() object {
	c := &hashValue{pairs: slices.Clone(h.pairs), peak: h.peak}
	if h.idx != nil {
		c.idx = maps.Clone(h.idx)
	}
	return c
}

// convert switches to the hashtable encoding.
func (h *hashValue) convert() {
	h.idx = make(map[string]int, len(h.pairs))
	for i, p := range h.pairs {
		h.idx[p.f] = i
	}
	h.peak = len(h.pairs)
}

// find returns the position of field f, or -1.
func (h *hashValue) find(f []byte) int {
	if h.idx != nil {
		if i, ok := h.idx[string(f)]; ok {
			return i
		}
		return -1
	}
	for i := range h.pairs {
		if h.pairs[i].f == string(f) {
			return i
		}
	}
	return -1
}

// get returns field f's value.
func (h *hashValue) get(f []byte) (string, bool) {
	if i := h.find(f); i >= 0 {
		return h.pairs[i].v, true
	}
	return "", false
}

// set stores f = v (both copied) as Redis's hashTypeSet does, converting to
// the hashtable encoding when f or v is too long for a listpack or when the
// listpack grows past 512 fields. It reports whether f is a new field.
func (h *hashValue) set(f, v []byte) bool {
	if h.idx == nil && (len(f) > hashMaxListpackValue || len(v) > hashMaxListpackValue) {
		h.convert()
	}
	if i := h.find(f); i >= 0 {
		h.pairs[i].v = string(v)
		return false
	}
	fs := string(f)
	h.pairs = append(h.pairs, hashPair{fs, string(v)})
	if h.idx != nil {
		h.idx[fs] = len(h.pairs) - 1
		h.peak = max(h.peak, len(h.pairs))
	} else if len(h.pairs) > hashMaxListpackEntries {
		h.convert()
	}
	return true
}

// del removes field f and reports whether it was there.
func (h *hashValue) del(f []byte) bool {
	i := h.find(f)
	if i < 0 {
		return false
	}
	last := len(h.pairs) - 1
	if h.idx == nil {
		copy(h.pairs[i:], h.pairs[i+1:])
	} else {
		delete(h.idx, h.pairs[i].f)
		if i != last {
			h.pairs[i] = h.pairs[last]
			h.idx[h.pairs[i].f] = i
		}
	}
	h.pairs[last] = hashPair{}
	h.pairs = h.pairs[:last]
	h.shrink()
	return true
}

// shrink gives memory back after many deletions (Go maps never shrink).
// A SCAN in progress keeps iterating the old index, which still holds every
// field that was present when it was replaced.
func (h *hashValue) shrink() {
	n := len(h.pairs)
	if cap(h.pairs) > 64 && n*4 < cap(h.pairs) {
		h.pairs = append(make([]hashPair, 0, n*2), h.pairs...)
	}
	if h.idx != nil && h.peak > 1024 && n*8 < h.peak {
		h.convert()
	}
}

// appendSnapshot writes the encoding (0 listpack, 1 hashtable), the count
// and the pairs in order.
func (h *hashValue) appendSnapshot(dst []byte) []byte {
	enc := byte(0)
	if h.idx != nil {
		enc = 1
	}
	dst = append(dst, enc)
	dst = binary.AppendUvarint(dst, uint64(len(h.pairs)))
	for _, p := range h.pairs {
		dst = appendBytes(dst, p.f)
		dst = appendBytes(dst, p.v)
	}
	return dst
}

func decodeHash(r *snapReader) object {
	big, n, ok := r.encodedHeader("hash", "listpack hash", "fields", hashMaxListpackEntries)
	if !ok {
		return nil
	}
	h := &hashValue{pairs: make([]hashPair, 0, min(n, 1024))}
	seen := make(map[string]int, min(n, 1024))
	for i := 0; i < n; i++ {
		f, v := r.bytes(), r.bytes()
		if r.err != nil {
			return nil
		}
		if _, dup := seen[string(f)]; dup {
			r.fail(fmt.Errorf("hash field %q twice", f))
			return nil
		}
		fs := string(f)
		seen[fs] = len(h.pairs)
		h.pairs = append(h.pairs, hashPair{fs, string(v)})
	}
	if big {
		h.idx = seen
		h.peak = n
	}
	return h
}

func registerHashes(m map[string]Cmd) {
	register(m, "hset", hsetCmd)
	register(m, "hmset", hsetCmd)
	register(m, "hsetnx", hsetnxCmd)
	register(m, "hget", hgetCmd)
	register(m, "hmget", hmgetCmd)
	register(m, "hgetall", hgetallCmd)
	register(m, "hkeys", hkeysCmd)
	register(m, "hvals", hvalsCmd)
	register(m, "hdel", hdelCmd)
	register(m, "hexists", hexistsCmd)
	register(m, "hlen", hlenCmd)
	register(m, "hstrlen", hstrlenCmd)
	register(m, "hincrby", hincrbyCmd)
	register(m, "hincrbyfloat", hincrbyfloatCmd)
	register(m, "hscan", hscanCmd)
	register(m, "hrandfield", hrandfieldCmd)
}

// hashForWrite returns key's hash for an in-place change, creating an empty
// one when the key does not exist (Redis's hashTypeLookupWriteOrCreate). The
// caller must add at least one field to a created hash.
func hashForWrite(c *Call, key []byte) (*hashValue, bool) {
	h, found, ok := getObjectForWrite[*hashValue](c, key)
	if !ok {
		return nil, false
	}
	if !found {
		h = createObject(c, key, &hashValue{})
	}
	return h, true
}

// HSET key field value [field value ...] / HMSET: the same, replying OK.
func hsetCmd(c *Call) {
	if len(c.Args) < 4 || len(c.Args)%2 == 1 {
		c.arityErr()
		return
	}
	key := c.Args[1]
	h, ok := hashForWrite(c, key)
	if !ok {
		return
	}
	created := int64(0)
	for i := 2; i+1 < len(c.Args); i += 2 {
		if h.set(c.Args[i], c.Args[i+1]) {
			created++
		}
	}
	if len(c.Args[0]) > 1 && (c.Args[0][1] == 's' || c.Args[0][1] == 'S') {
		c.Int(created)
	} else {
		c.OK()
	}
	c.Touch(key)
	c.PropagateSelf()
}

// HSETNX key field value
func hsetnxCmd(c *Call) {
	if !c.arity(4) {
		return
	}
	key := c.Args[1]
	h, found, ok := getObjectForWrite[*hashValue](c, key)
	if !ok {
		return
	}
	if found && h.find(c.Args[2]) >= 0 {
		c.Int(0)
		return
	}
	if !found {
		h = createObject(c, key, &hashValue{})
	}
	h.set(c.Args[2], c.Args[3])
	c.Int(1)
	c.Touch(key)
	c.PropagateSelf()
}

// HGET key field
func hgetCmd(c *Call) {
	if !c.arity(3) {
		return
	}
	h, found, ok := getObject[*hashValue](c, c.Args[1])
	if !ok {
		return
	}
	if !found {
		c.Null()
		return
	}
	if v, ok := h.get(c.Args[2]); ok {
		c.BulkString(v)
	} else {
		c.Null()
	}
}

// HMGET key field [field ...]
func hmgetCmd(c *Call) {
	if !c.arity(3) {
		return
	}
	h, found, ok := getObject[*hashValue](c, c.Args[1])
	if !ok {
		return
	}
	c.Array(len(c.Args) - 2)
	for _, f := range c.Args[2:] {
		if !found {
			c.Null()
			continue
		}
		if v, ok := h.get(f); ok {
			c.BulkString(v)
		} else {
			c.Null()
		}
	}
}

const (
	hashKeys = 1 << iota
	hashVals
)

// hashGetAll answers HGETALL, HKEYS and HVALS.
func hashGetAll(c *Call, what int) {
	if !c.arity(2) {
		return
	}
	h, found, ok := getObject[*hashValue](c, c.Args[1])
	if !ok {
		return
	}
	if !found {
		c.Array(0)
		return
	}
	n := len(h.pairs)
	if what == hashKeys|hashVals {
		n *= 2
	}
	c.Array(n)
	for _, p := range h.pairs {
		if what&hashKeys != 0 {
			c.BulkString(p.f)
		}
		if what&hashVals != 0 {
			c.BulkString(p.v)
		}
	}
}

func hgetallCmd(c *Call) { hashGetAll(c, hashKeys|hashVals) }
func hkeysCmd(c *Call)   { hashGetAll(c, hashKeys) }
func hvalsCmd(c *Call)   { hashGetAll(c, hashVals) }

// HDEL key field [field ...]
func hdelCmd(c *Call) {
	if !c.arity(3) {
		return
	}
	key := c.Args[1]
	h, found, ok := getObjectForWrite[*hashValue](c, key)
	if !ok {
		return
	}
	if !found {
		c.Int(0)
		return
	}
	deleted := int64(0)
	for _, f := range c.Args[2:] {
		if h.del(f) {
			deleted++
			if len(h.pairs) == 0 {
				c.S.removeKey(string(key))
				break
			}
		}
	}
	c.Int(deleted)
	if deleted > 0 {
		c.Touch(key)
		c.PropagateSelf()
	}
}

// HEXISTS key field
func hexistsCmd(c *Call) {
	if !c.arity(3) {
		return
	}
	h, found, ok := getObject[*hashValue](c, c.Args[1])
	if !ok {
		return
	}
	if found && h.find(c.Args[2]) >= 0 {
		c.Int(1)
	} else {
		c.Int(0)
	}
}

// HLEN key
func hlenCmd(c *Call) {
	if !c.arity(2) {
		return
	}
	h, found, ok := getObject[*hashValue](c, c.Args[1])
	if !ok {
		return
	}
	if !found {
		c.Int(0)
		return
	}
	c.Int(int64(len(h.pairs)))
}

// HSTRLEN key field
func hstrlenCmd(c *Call) {
	if !c.arity(3) {
		return
	}
	h, found, ok := getObject[*hashValue](c, c.Args[1])
	if !ok {
		return
	}
	n := 0
	if found {
		if v, ok := h.get(c.Args[2]); ok {
			n = len(v)
		}
	}
	c.Int(int64(n))
}

// HINCRBY key field increment
func hincrbyCmd(c *Call) {
	if !c.arity(4) {
		return
	}
	incr, ok := c.IntArg(3)
	if !ok {
		return
	}
	key, field := c.Args[1], c.Args[2]
	h, found, ok := getObjectForWrite[*hashValue](c, key)
	if !ok {
		return
	}
	var old int64
	if found {
		if v, ok := h.get(field); ok {
			if old, ok = parseIntString(v); !ok {
				c.Err("ERR hash value is not an integer")
				return
			}
		}
	}
	if (incr < 0 && old < 0 && incr < math.MinInt64-old) ||
		(incr > 0 && old > 0 && incr > math.MaxInt64-old) {
		c.Err(ErrOverflow)
		return
	}
	if !found {
		h = createObject(c, key, &hashValue{})
	}
	n := old + incr
	var buf [20]byte
	h.set(field, strconv.AppendInt(buf[:0], n, 10))
	c.Int(n)
	c.Touch(key)
	c.PropagateSelf()
}

// HINCRBYFLOAT key field increment, computed in x87 long double precision
// as Redis does on amd64 (see numbers.go), and propagated as HSET key field
// result.
func hincrbyfloatCmd(c *Call) {
	if !c.arity(4) {
		return
	}
	incr, ok := parseLongDouble(c.Args[3])
	if !ok {
		c.Err(ErrNotFloat)
		return
	}
	if incr.inf {
		c.Err("ERR value is NaN or Infinity")
		return
	}
	key, field := c.Args[1], c.Args[2]
	h, found, ok := getObjectForWrite[*hashValue](c, key)
	if !ok {
		return
	}
	var old longDouble
	if found {
		if v, ok := h.get(field); ok {
			if old, ok = parseLongDouble(bytesView(v)); !ok {
				c.Err("ERR hash value is not a float")
				return
			}
		}
	}
	sum, ok := old.add(incr)
	if !ok {
		c.Err(ErrIncrNaN)
		return
	}
	if !found {
		h = createObject(c, key, &hashValue{})
	}
	res := sum.appendHuman(nil)
	h.set(field, res)
	c.Bulk(res)
	c.Touch(key)
	c.Propagate([]byte("HSET"), key, field, res)
}

// HSCAN key cursor [MATCH pattern] [COUNT count]
func hscanCmd(c *Call) {
	h, cur, opts, ok := scanKeyArgs[*hashValue](c)
	if !ok {
		return
	}
	var out []string
	if h.idx == nil {
		// A listpack is returned whole, whatever the cursor (as Redis does).
		for _, p := range h.pairs {
			if opts.match(p.f) {
				out = append(out, p.f, p.v)
			}
		}
		scanReply(c, 0, out)
		return
	}
	next, ok := scanStep(c, cur, h, func(yield func(string) bool) {
		for f := range h.idx {
			if !yield(f) {
				return
			}
		}
	}, opts.count, func(f string) {
		i, ok := h.idx[f]
		if !ok {
			return
		}
		if opts.match(f) {
			out = append(out, f, h.pairs[i].v)
		}
	})
	if !ok {
		return
	}
	scanReply(c, next, out)
}

// HRANDFIELD key [count [WITHVALUES]]
func hrandfieldCmd(c *Call) {
	if !c.arity(2) {
		return
	}
	if len(c.Args) >= 3 {
		randCountCmd(c, "withvalues", func(h *hashValue, withValues bool) randPicker {
			emit := func(i int) {
				c.BulkString(h.pairs[i].f)
				if withValues {
					c.BulkString(h.pairs[i].v)
				}
			}
			return randPicker{
				size: len(h.pairs), per: replyPer(withValues), maxRepeat: hashsetMaxRandCount, emit: emit,
				all: func() {
					for i := range h.pairs {
						emit(i)
					}
				},
				sample: func(k int) []int { return randSample(len(h.pairs), k) },
			}
		})
		return
	}
	h, found, ok := getObject[*hashValue](c, c.Args[1])
	if !ok {
		return
	}
	if !found {
		c.Null()
		return
	}
	c.BulkString(h.pairs[rand.IntN(len(h.pairs))].f)
}

// hashsetMaxRandCount bounds the count of HRANDFIELD/SRANDMEMBER with
// repetitions (see randPicker.maxRepeat).
const hashsetMaxRandCount = 1 << 27
