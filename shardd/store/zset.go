package store

// Sorted sets (ZADD, ZRANGE, ... BZPOPMIN) with Redis 7.0.15's replies.
//
// Representation: a zsetValue keeps its elements in a zsetTree, an
// order-statistic B-tree ordered by (score, member bytes), which gives rank
// queries, ranges by index, by score or by member, pops and insertions in
// O(log n). While the set is small (OBJECT ENCODING "listpack": at most
// zset-max-listpack-entries = 128 elements, none longer than
// zset-max-listpack-value = 64 bytes) that is all there is and a member is
// found by scanning, as Redis scans its listpack. Past those limits the set
// converts, permanently, to the "skiplist" encoding, which adds a map
// member → score for O(1) member lookups (Redis's dict next to its
// skiplist). A member string is allocated once and shared by the tree and
// the map.
//
// Floating point: replies format scores as Redis 7.0 does ("%.17g", see
// zsetAppendScore) and parse numbers with Redis's strtod rules (see
// zset_parse.go). Effects that carry a computed score (ZINCRBY, ZADD INCR)
// record "ZADD key <score> member" with the shortest round-trippable text of
// the new score, so a replica stores the identical float64.
//
// Blocking pops: BZPOPMIN/BZPOPMAX are executed as non-blocking attempts.
// The timeout is validated exactly as Redis does (errors are replied). If
// one of the keys holds an element, the reply is what the blocking command
// replies (*3: key, member, score) and the effect recorded is
// "ZPOPMIN key 1" / "ZPOPMAX key 1". If no key holds an element the handler
// appends nothing at all to c.Out (zero bytes): the server then blocks the
// client itself, and runs the command again when one of its keys is touched
// (or replies the null array when the timeout expires).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"

	"github.com/shoal-kv/shoal/proto"
)

const (
	zsetMaxListpackEntries = 128 // zset-max-listpack-entries
	zsetMaxListpackValue   = 64  // zset-max-listpack-value
)

// zsetValue is a sorted set. It is owned by the Store, like every value.
type zsetValue struct {
	tree zsetTree
	dict map[string]float64 // member → score; nil while listpack-encoded
}

var _ object = (*zsetValue)(nil)

// newZSet returns an empty sorted set, skiplist-encoded when big is set.
// ZADD on a new key starts a listpack unless its first member is too long
// for one (Redis 7.0 looks at nothing else: "ZADD k 1 a 1 a ..." with 200
// pairs is a listpack).
func newZSet(big bool) *zsetValue {
	z := &zsetValue{}
	if big {
		z.dict = make(map[string]float64)
	}
	return z
}

// zsetFromItems builds a sorted set from distinct items (any order), with
// the encoding Redis gives a computed result (zsetConvertToListpackIfNeeded):
// listpack when it is small enough.
func zsetFromItems(items []zsetItem) *zsetValue {
	z := &zsetValue{}
	big := len(items) > zsetMaxListpackEntries
	for i := range items {
		if len(items[i].member) > zsetMaxListpackValue {
			big = true
			break
		}
	}
	if big {
		z.dict = make(map[string]float64, len(items))
	}
	for _, it := range items {
		if big {
			z.dict[it.member] = it.score
		} else {
			it.score = zsetListpackScore(it.score)
		}
		z.tree.insert(it)
	}
	return z
}

func (z *zsetValue) typeName() string { return "zset" }

func (z *zsetValue) encoding() string {
	if z.dict != nil {
		return "skiplist"
	}
	return "listpack"
}

func (z *zsetValue) length() int { return z.tree.len() }

func (z *zsetValue) clone() object {
	c := &zsetValue{tree: z.tree.clone()}
	if z.dict != nil {
		c.dict = maps.Clone(z.dict)
	}
	return c
}

// appendSnapshot writes the encoding (0 listpack, 1 skiplist: kept, so a
// loaded set is exactly the saved one), the element count, then each
// element in order: member (uvarint length + bytes) and the score's IEEE
// bits as a uvarint.
func (z *zsetValue) appendSnapshot(dst []byte) []byte {
	enc := byte(0)
	if z.dict != nil {
		enc = 1
	}
	dst = append(dst, enc)
	dst = binary.AppendUvarint(dst, uint64(z.tree.len()))
	z.tree.ascend(0, func(it *zsetItem) bool {
		dst = appendBytes(dst, it.member)
		dst = binary.AppendUvarint(dst, math.Float64bits(it.score))
		return true
	})
	return dst
}

// decodeZSet reads what appendSnapshot wrote, refusing anything a zsetValue
// can't hold (no elements, NaN scores, duplicate members, a listpack past
// its limits or holding -0).
func decodeZSet(r *snapReader) object {
	big, n, ok := r.encodedHeader("zset", "listpack zset", "elements", zsetMaxListpackEntries)
	if !ok {
		return nil
	}
	z := &zsetValue{}
	dict := make(map[string]float64, min(n, 1024))
	for i := 0; i < n; i++ {
		m := r.bytes()
		bits := r.uvarint()
		if r.err != nil {
			return nil
		}
		score := math.Float64frombits(bits)
		if math.IsNaN(score) {
			r.fail(errors.New("zset score is NaN"))
			return nil
		}
		member := string(m)
		if _, dup := dict[member]; dup {
			r.fail(fmt.Errorf("zset member %q twice", member))
			return nil
		}
		if !big && (len(member) > zsetMaxListpackValue || bits == 1<<63) {
			r.fail(errors.New("listpack zset element out of its limits"))
			return nil
		}
		dict[member] = score
		z.tree.insert(zsetItem{score: score, member: member})
	}
	if big {
		z.dict = dict
	}
	return z
}

// get returns member's score.
func (z *zsetValue) get(member []byte) (float64, bool) {
	if z.dict != nil {
		s, ok := z.dict[string(member)]
		return s, ok
	}
	if z.tree.root == nil {
		return 0, false
	}
	if it := z.tree.root.findMember(member); it != nil {
		return it.score, true
	}
	return 0, false
}

// toSkiplist converts to the skiplist encoding (permanent).
func (z *zsetValue) toSkiplist(hint int) {
	z.dict = make(map[string]float64, hint)
	z.tree.ascend(0, func(it *zsetItem) bool {
		z.dict[it.member] = it.score
		return true
	})
}

// insert adds a member that is not in the set, converting to the skiplist
// encoding first when the listpack would grow past its limits.
func (z *zsetValue) insert(score float64, member string) {
	if z.dict == nil && (z.tree.len()+1 > zsetMaxListpackEntries || len(member) > zsetMaxListpackValue) {
		z.toSkiplist(z.tree.len() + 1)
	}
	if z.dict == nil {
		score = zsetListpackScore(score)
	}
	z.tree.insert(zsetItem{score: score, member: member})
	if z.dict != nil {
		z.dict[member] = score
	}
}

// zsetListpackScore is the score a listpack gives back: Redis stores an
// integral score as an integer there, which turns -0 into 0.
func zsetListpackScore(f float64) float64 {
	if f == 0 {
		return 0
	}
	return f
}

// update moves an existing member from score cur to score.
func (z *zsetValue) update(member []byte, cur, score float64) {
	it, _ := z.tree.remove(&zsetItem{score: cur, member: stringView(member)})
	if z.dict == nil {
		score = zsetListpackScore(score)
	}
	it.score = score
	z.tree.insert(it)
	if z.dict != nil {
		z.dict[it.member] = score
	}
}

// del removes member and reports whether it was there.
func (z *zsetValue) del(member []byte) bool {
	cur, ok := z.get(member)
	if !ok {
		return false
	}
	it, _ := z.tree.remove(&zsetItem{score: cur, member: stringView(member)})
	if z.dict != nil {
		delete(z.dict, it.member)
	}
	return true
}

// removeRange removes k elements starting at rank i.
func (z *zsetValue) removeRange(i, k int) {
	for ; k > 0; k-- {
		it := *z.tree.at(i)
		z.tree.remove(&it)
		if z.dict != nil {
			delete(z.dict, it.member)
		}
	}
}

// pop removes and returns the lowest (or highest) element.
func (z *zsetValue) pop(highest bool) zsetItem {
	var it zsetItem
	if highest {
		it = z.tree.popMax()
	} else {
		it = z.tree.popMin()
	}
	if z.dict != nil {
		delete(z.dict, it.member)
	}
	return it
}

// rank returns member's 0-based rank.
func (z *zsetValue) rank(member []byte) (int, bool) {
	score, ok := z.get(member)
	if !ok {
		return 0, false
	}
	return z.tree.rank(&zsetItem{score: score, member: stringView(member)}), true
}

// ZADD flags (zsetAdd's in_flags, and CH) and out_flags.
const (
	zaddNX = 1 << iota
	zaddXX
	zaddGT
	zaddLT
	zaddIncr
	zaddCH
)

var zaddOptions = []optionFlag{
	{"nx", zaddNX}, {"xx", zaddXX}, {"ch", zaddCH}, {"incr", zaddIncr}, {"gt", zaddGT}, {"lt", zaddLT},
}

const (
	zaddOutAdded = 1 << iota
	zaddOutUpdated
	zaddOutNop
)

// add is Redis's zsetAdd: it applies one score-member pair under the ZADD
// flags. ok is false when the resulting score is NaN (nothing changed).
func (z *zsetValue) add(score float64, member []byte, flags int) (out int, newScore float64, ok bool) {
	if math.IsNaN(score) {
		return 0, 0, false
	}
	cur, exists := z.get(member)
	if exists {
		if flags&zaddNX != 0 {
			return zaddOutNop, 0, true
		}
		if flags&zaddIncr != 0 {
			score += cur
			if math.IsNaN(score) {
				return 0, 0, false
			}
		}
		if (flags&zaddLT != 0 && score >= cur) || (flags&zaddGT != 0 && score <= cur) {
			return zaddOutNop, 0, true
		}
		if score != cur {
			z.update(member, cur, score)
			out = zaddOutUpdated
		}
		return out, score, true
	}
	if flags&zaddXX != 0 {
		return zaddOutNop, 0, true
	}
	z.insert(score, string(member))
	return zaddOutAdded, score, true
}

// ---- command registration ----

func registerZSets(m map[string]Cmd) {
	register(m, "zadd", func(c *Call) { zaddGeneric(c, 0) })
	register(m, "zincrby", func(c *Call) { zaddGeneric(c, zaddIncr) })
	register(m, "zrem", zremCommand)
	register(m, "zscore", zscoreCommand)
	register(m, "zmscore", zmscoreCommand)
	register(m, "zcard", zcardCommand)
	register(m, "zrank", func(c *Call) { zrankGeneric(c, false) })
	register(m, "zrevrank", func(c *Call) { zrankGeneric(c, true) })
	register(m, "zcount", func(c *Call) { zcountGeneric(c, zrangeScore) })
	register(m, "zlexcount", func(c *Call) { zcountGeneric(c, zrangeLex) })
	register(m, "zrange", func(c *Call) { zrangeGeneric(c, 1, false, zrangeAuto, zrangeDirAuto) })
	register(m, "zrangestore", func(c *Call) { zrangeGeneric(c, 2, true, zrangeAuto, zrangeDirAuto) })
	register(m, "zrevrange", func(c *Call) { zrangeGeneric(c, 1, false, zrangeRank, zrangeDirReverse) })
	register(m, "zrangebyscore", func(c *Call) { zrangeGeneric(c, 1, false, zrangeScore, zrangeDirForward) })
	register(m, "zrevrangebyscore", func(c *Call) { zrangeGeneric(c, 1, false, zrangeScore, zrangeDirReverse) })
	register(m, "zrangebylex", func(c *Call) { zrangeGeneric(c, 1, false, zrangeLex, zrangeDirForward) })
	register(m, "zrevrangebylex", func(c *Call) { zrangeGeneric(c, 1, false, zrangeLex, zrangeDirReverse) })
	register(m, "zremrangebyrank", func(c *Call) { zremrangeGeneric(c, zrangeRank) })
	register(m, "zremrangebyscore", func(c *Call) { zremrangeGeneric(c, zrangeScore) })
	register(m, "zremrangebylex", func(c *Call) { zremrangeGeneric(c, zrangeLex) })
	register(m, "zpopmin", func(c *Call) { zpopCommand(c, false) })
	register(m, "zpopmax", func(c *Call) { zpopCommand(c, true) })
	register(m, "bzpopmin", func(c *Call) { bzpopCommand(c, false) })
	register(m, "bzpopmax", func(c *Call) { bzpopCommand(c, true) })
	register(m, "zrandmember", zrandmemberCommand)
	register(m, "zscan", zscanCommand)
	register(m, "zunion", func(c *Call) { zsetOpGeneric(c, nil, 1, zsetOpUnion) })
	register(m, "zinter", func(c *Call) { zsetOpGeneric(c, nil, 1, zsetOpInter) })
	register(m, "zdiff", func(c *Call) { zsetOpGeneric(c, nil, 1, zsetOpDiff) })
	register(m, "zunionstore", func(c *Call) { zsetOpStore(c, zsetOpUnion) })
	register(m, "zinterstore", func(c *Call) { zsetOpStore(c, zsetOpInter) })
	register(m, "zdiffstore", func(c *Call) { zsetOpStore(c, zsetOpDiff) })
}

// zsetReply appends one element (and its score).
func (c *Call) zsetReply(it *zsetItem, withScores bool) {
	c.BulkString(it.member)
	if withScores {
		c.Out = zsetAppendScore(c.Out, it.score)
	}
}

// zsetInsertArrayHeader inserts an array header for n elements at pos
// (replies whose length is known only after they are written).
func zsetInsertArrayHeader(out []byte, pos, n int) []byte {
	var hb [24]byte
	h := proto.AppendArray(hb[:0], n)
	out = append(out, h...)
	copy(out[pos+len(h):], out[pos:len(out)-len(h)])
	copy(out[pos:], h)
	return out
}

// ---- ZADD / ZINCRBY ----

// zaddGeneric is Redis's zaddGenericCommand; ZINCRBY is ZADD with INCR
// (so "ZINCRBY key nx member" is a syntax error there too).
func zaddGeneric(c *Call, flags int) {
	if !c.arity(4) {
		return
	}
	args := c.Args
	key := args[1]
	scoreIdx := 2
	for ; scoreIdx < len(args); scoreIdx++ {
		f := matchOption(args[scoreIdx], zaddOptions)
		if f == 0 {
			break
		}
		flags |= f
	}
	ch := flags&zaddCH != 0
	incr, nx, xx := flags&zaddIncr != 0, flags&zaddNX != 0, flags&zaddXX != 0
	gt, lt := flags&zaddGT != 0, flags&zaddLT != 0
	elements := len(args) - scoreIdx
	if elements%2 != 0 || elements == 0 {
		c.SyntaxErr()
		return
	}
	elements /= 2
	if nx && xx {
		c.Err("ERR XX and NX options at the same time are not compatible")
		return
	}
	if (gt && nx) || (lt && nx) || (gt && lt) {
		c.Err("ERR GT, LT, and/or NX options at the same time are not compatible")
		return
	}
	if incr && elements > 1 {
		c.Err("ERR INCR option supports a single increment-element pair")
		return
	}
	var sbuf [8]float64
	scores := sbuf[:0]
	for j := 0; j < elements; j++ {
		f, ok := c.FloatArg(scoreIdx + 2*j)
		if !ok {
			return
		}
		scores = append(scores, f)
	}

	z, found, ok := getObjectForWrite[*zsetValue](c, key)
	if !ok {
		return
	}
	if !found {
		if xx {
			if incr {
				c.Null()
			} else {
				c.Int(0)
			}
			return
		}
		z = newZSet(len(args[scoreIdx+1]) > zsetMaxListpackValue)
		c.S.setKey(key, z, 0)
	}
	added, updated, processed := 0, 0, 0
	var score float64
	nan := false
	for j := 0; j < elements; j++ {
		out, ns, ok := z.add(scores[j], args[scoreIdx+1+2*j], flags)
		if !ok {
			nan = true
			break
		}
		if out&zaddOutAdded != 0 {
			added++
		}
		if out&zaddOutUpdated != 0 {
			updated++
		}
		if out&zaddOutNop == 0 {
			processed++
		}
		score = ns
	}
	if added+updated > 0 {
		c.Touch(key)
		if incr {
			c.Propagate([]byte("ZADD"), key, zsetFormatScore(score), args[scoreIdx+1])
		} else {
			c.PropagateSelf()
		}
	}
	if z.length() == 0 {
		c.S.removeKey(string(key))
	}
	switch {
	case nan:
		c.Err(ErrNaN)
	case incr && processed > 0:
		c.Out = zsetAppendScore(c.Out, score)
	case incr:
		c.Null()
	case ch:
		c.Int(int64(added + updated))
	default:
		c.Int(int64(added))
	}
}

// ---- single-key reads and ZREM ----

func zremCommand(c *Call) {
	if !c.arity(3) {
		return
	}
	key := c.Args[1]
	z, found, ok := getObjectForWrite[*zsetValue](c, key)
	if !ok {
		return
	}
	if !found {
		c.Int(0)
		return
	}
	deleted := 0
	for _, m := range c.Args[2:] {
		if z.del(m) {
			deleted++
		}
		if z.length() == 0 {
			break
		}
	}
	if deleted > 0 {
		c.S.deleteIfEmpty(key, z)
		c.Touch(key)
		c.PropagateSelf()
	}
	c.Int(int64(deleted))
}

func zscoreCommand(c *Call) {
	if !c.arity(3) {
		return
	}
	z, found, ok := getObject[*zsetValue](c, c.Args[1])
	if !ok {
		return
	}
	if !found {
		c.Null()
		return
	}
	s, ok := z.get(c.Args[2])
	if !ok {
		c.Null()
		return
	}
	c.Out = zsetAppendScore(c.Out, s)
}

func zmscoreCommand(c *Call) {
	if !c.arity(3) {
		return
	}
	z, found, ok := getObject[*zsetValue](c, c.Args[1])
	if !ok {
		return
	}
	c.Array(len(c.Args) - 2)
	for _, m := range c.Args[2:] {
		if !found {
			c.Null()
			continue
		}
		if s, ok := z.get(m); ok {
			c.Out = zsetAppendScore(c.Out, s)
		} else {
			c.Null()
		}
	}
}

func zcardCommand(c *Call) {
	if !c.arity(2) {
		return
	}
	z, found, ok := getObject[*zsetValue](c, c.Args[1])
	if !ok {
		return
	}
	if !found {
		c.Int(0)
		return
	}
	c.Int(int64(z.length()))
}

func zrankGeneric(c *Call, reverse bool) {
	if !c.arity(3) {
		return
	}
	z, found, ok := getObject[*zsetValue](c, c.Args[1])
	if !ok {
		return
	}
	if !found {
		c.Null()
		return
	}
	r, ok := z.rank(c.Args[2])
	if !ok {
		c.Null()
		return
	}
	if reverse {
		r = z.length() - 1 - r
	}
	c.Int(int64(r))
}
