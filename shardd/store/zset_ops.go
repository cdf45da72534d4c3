package store

// Pops, ZRANDMEMBER, ZSCAN and the multi-key operations ZUNION, ZINTER,
// ZDIFF and their STORE forms.

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/shoal-kv/shoal/proto"
)

// ---- ZPOPMIN / ZPOPMAX / BZPOPMIN / BZPOPMAX ----

func zpopCommand(c *Call, highest bool) {
	if !c.arity(2) {
		return
	}
	if len(c.Args) > 3 {
		c.SyntaxErr()
		return
	}
	count := int64(-1)
	if len(c.Args) == 3 {
		var ok bool
		if count, ok = c.nonNegArg(2, ErrNotPositive); !ok {
			return
		}
	}
	key := c.Args[1]
	z, found, ok := getObjectForWrite[*zsetValue](c, key)
	if !ok {
		return
	}
	if !found || count == 0 {
		c.Array(0)
		return
	}
	if count == -1 {
		count = 1
	}
	n := int(min(count, int64(z.length())))
	c.Array(2 * n)
	for i := 0; i < n; i++ {
		it := z.pop(highest)
		c.zsetReply(&it, true)
	}
	c.S.deleteIfEmpty(key, z)
	c.Touch(key)
	c.PropagateSelf()
}

// bzpopCommand is a non-blocking attempt at BZPOPMIN/BZPOPMAX; see the
// contract in the comment at the top of zset.go: when no key holds an
// element nothing at all is appended to c.Out and the server blocks.
func bzpopCommand(c *Call, highest bool) {
	if !c.arity(3) {
		return
	}
	args := c.Args
	if !c.timeoutArg(len(args) - 1) {
		return
	}
	for _, key := range args[1 : len(args)-1] {
		z, found, ok := getObjectForWrite[*zsetValue](c, key)
		if !ok {
			return
		}
		if !found || z.length() == 0 {
			continue
		}
		it := z.pop(highest)
		c.Array(3)
		c.Bulk(key)
		c.zsetReply(&it, true)
		c.S.deleteIfEmpty(key, z)
		c.Touch(key)
		name := "ZPOPMIN"
		if highest {
			name = "ZPOPMAX"
		}
		c.Propagate([]byte(name), key, []byte("1"))
		return
	}
	// Nothing to pop: no reply, the server blocks the client.
}

// ---- ZRANDMEMBER ----

func zrandmemberCommand(c *Call) {
	if !c.arity(2) {
		return
	}
	if len(c.Args) >= 3 {
		randCountCmd(c, "withscores", func(z *zsetValue, withScores bool) randPicker {
			size := z.length()
			return randPicker{
				size: size, per: replyPer(withScores), maxRepeat: zsetMaxRandReply,
				emit: func(i int) { c.zsetReply(z.tree.at(i), withScores) },
				// Asking for everything: Redis 7.0 replies the whole set,
				// highest rank first.
				all: func() {
					z.tree.descend(size-1, func(it *zsetItem) bool {
						c.zsetReply(it, withScores)
						return true
					})
				},
				sample: func(k int) []int { return randSampleShuffled(size, k) },
			}
		})
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
	c.BulkString(z.tree.at(rand.IntN(z.length())).member)
}

// zsetMaxRandReply bounds the elements ZRANDMEMBER with a negative count
// may reply (one reply is one buffer here: 2^24 elements is already
// hundreds of MB; see randPicker.maxRepeat).
const zsetMaxRandReply = 1 << 24

// ---- ZSCAN ----

// zscanCommand: a listpack-encoded set is returned whole with cursor 0 (as
// Redis does, whatever the cursor); a skiplist-encoded one is iterated with
// scanStep over its member map.
func zscanCommand(c *Call) {
	z, cursor, opts, ok := scanKeyArgs[*zsetValue](c)
	if !ok {
		return
	}
	var out []zsetItem
	var next uint64
	if z.dict == nil {
		z.tree.ascend(0, func(it *zsetItem) bool {
			if opts.match(it.member) {
				out = append(out, *it)
			}
			return true
		})
	} else {
		seq := func(yield func(string) bool) {
			for m := range z.dict {
				if !yield(m) {
					return
				}
			}
		}
		next, ok = scanStep(c, cursor, z, seq, opts.count, func(m string) {
			if s, ok := z.dict[m]; ok && opts.match(m) {
				out = append(out, zsetItem{score: s, member: m})
			}
		})
		if !ok {
			return
		}
	}
	c.scanHeader(next, 2*len(out))
	for i := range out {
		c.BulkString(out[i].member)
		if z.dict == nil {
			c.Out = zsetAppendListpackScore(c.Out, out[i].score)
		} else {
			c.Out = zsetAppendScore(c.Out, out[i].score)
		}
	}
}

// zsetAppendListpackScore appends a score as ZSCAN reads it from a
// listpack: integral scores within ±LLONG_MAX/2 are stored as integers
// there (so 1e17 reads "100000000000000000"), others as "%.17g".
func zsetAppendListpackScore(dst []byte, f float64) []byte {
	if f >= float64(-math.MaxInt64/2) && f <= float64(math.MaxInt64/2) {
		if ll := int64(f); float64(ll) == f {
			return proto.AppendBulkInt(dst, ll)
		}
	}
	return zsetAppendScore(dst, f)
}

// ---- ZUNION / ZINTER / ZDIFF ----

// zsetMemberSource is what ZUNION, ZINTER and ZDIFF (and their STORE
// forms) need from a plain set, which Redis accepts as an input whose
// members all have score 1. The set type (setValue) implements it; any
// value that neither is a *zsetValue nor implements it is WRONGTYPE.
type zsetMemberSource interface {
	object
	// zsetMembers calls yield for every member until yield returns false.
	// member is only valid during the call and must not be modified.
	zsetMembers(yield func(member []byte) bool)
	// zsetHasMember reports whether member is in the set. It must not keep
	// member.
	zsetHasMember(member []byte) bool
}

const (
	zsetOpUnion = iota
	zsetOpInter
	zsetOpDiff
)

const (
	zsetAggSum = iota
	zsetAggMin
	zsetAggMax
)

type zsetOpSrc struct {
	z      *zsetValue
	set    zsetMemberSource
	n      int
	weight float64
}

// find returns member's score in the source (1 for a set member).
func (s *zsetOpSrc) find(member string) (float64, bool) {
	switch {
	case s.z != nil:
		return s.z.get(bytesView(member))
	case s.set != nil:
		if s.set.zsetHasMember(bytesView(member)) {
			return 1, true
		}
	}
	return 0, false
}

// each calls fn for every element; a set's members get score 1. member is
// only valid during the call when the source is a set (copied says so).
func (s *zsetOpSrc) each(fn func(member string, score float64, copied bool)) {
	switch {
	case s.z != nil:
		s.z.tree.ascend(0, func(it *zsetItem) bool {
			fn(it.member, it.score, true)
			return true
		})
	case s.set != nil:
		s.set.zsetMembers(func(m []byte) bool {
			fn(stringView(m), 1, false)
			return true
		})
	}
}

func zsetAggregate(target *float64, val float64, agg int) {
	switch agg {
	case zsetAggSum:
		*target += val
		// inf + -inf is NaN: Redis makes it 0.
		if math.IsNaN(*target) {
			*target = 0
		}
	case zsetAggMin:
		if val < *target {
			*target = val
		}
	case zsetAggMax:
		if val > *target {
			*target = val
		}
	}
}

var zsetOpNames = [...]string{"zunion", "zinter", "zdiff"}

func zsetOpStore(c *Call, op int) {
	if !c.arity(4) {
		return
	}
	zsetOpGeneric(c, c.Args[1], 2, op)
}

// zsetOpGeneric is Redis's zunionInterDiffGenericCommand. dst is nil for
// the forms that reply the result.
func zsetOpGeneric(c *Call, dst []byte, numkeysIdx int, op int) {
	if !c.arity(numkeysIdx + 2) {
		return
	}
	args := c.Args
	setnum, ok := c.IntArg(numkeysIdx)
	if !ok {
		return
	}
	if setnum < 1 {
		name := zsetOpNames[op]
		if dst != nil {
			name += "store"
		}
		c.Err("ERR at least 1 input key is needed for '" + name + "' command")
		return
	}
	if setnum > int64(len(args)-(numkeysIdx+1)) {
		c.SyntaxErr()
		return
	}
	srcs := make([]zsetOpSrc, setnum)
	j := numkeysIdx + 1
	for i := range srcs {
		srcs[i].weight = 1
		e, found := c.S.lookupRead(c.Now, args[j])
		j++
		if !found {
			continue
		}
		switch v := e.val.(type) {
		case *zsetValue:
			srcs[i].z, srcs[i].n = v, v.length()
		case zsetMemberSource:
			srcs[i].set, srcs[i].n = v, v.length()
		default:
			c.WrongType()
			return
		}
	}
	agg, withScores := zsetAggSum, false
	for j < len(args) {
		remaining := int64(len(args) - j)
		switch {
		case op != zsetOpDiff && remaining >= setnum+1 && eqFold(args[j], "weights"):
			j++
			for i := range srcs {
				w, ok := ParseFloat(args[j])
				if !ok {
					c.Err(zsetErrWeightFloat)
					return
				}
				srcs[i].weight = w
				j++
			}
		case op != zsetOpDiff && remaining >= 2 && eqFold(args[j], "aggregate"):
			switch a := args[j+1]; {
			case eqFold(a, "sum"):
				agg = zsetAggSum
			case eqFold(a, "min"):
				agg = zsetAggMin
			case eqFold(a, "max"):
				agg = zsetAggMax
			default:
				c.SyntaxErr()
				return
			}
			j += 2
		case dst == nil && eqFold(args[j], "withscores"):
			withScores = true
			j++
		default:
			c.SyntaxErr()
			return
		}
	}
	if op != zsetOpDiff {
		// Smallest first, stably, as Redis's qsort (glibc's merge sort) does:
		// the order of a SUM's additions depends on it.
		slices.SortStableFunc(srcs, func(a, b zsetOpSrc) int { return cmp.Compare(a.n, b.n) })
	}
	var items []zsetItem
	switch op {
	case zsetOpUnion:
		items = zsetUnion(srcs, agg)
	case zsetOpInter:
		items = zsetInter(srcs, agg)
	default:
		items = zsetDiff(srcs)
	}
	if dst != nil {
		storeResult(c, dst, zsetFromItems(items))
		return
	}
	slices.SortFunc(items, func(a, b zsetItem) int {
		if a.less(&b) {
			return -1
		}
		if b.less(&a) {
			return 1
		}
		return 0
	})
	c.Array(len(items) * replyPer(withScores))
	for i := range items {
		c.zsetReply(&items[i], withScores)
	}
}

func zsetUnion(srcs []zsetOpSrc, agg int) []zsetItem {
	acc := make(map[string]float64, srcs[len(srcs)-1].n)
	for i := range srcs {
		s := &srcs[i]
		if s.n == 0 {
			continue
		}
		s.each(func(m string, score float64, copied bool) {
			score *= s.weight
			if math.IsNaN(score) {
				score = 0
			}
			if cur, ok := acc[m]; ok {
				zsetAggregate(&cur, score, agg)
				acc[m] = cur
				return
			}
			if !copied {
				m = strings.Clone(m)
			}
			acc[m] = score
		})
	}
	items := make([]zsetItem, 0, len(acc))
	for m, s := range acc {
		items = append(items, zsetItem{score: s, member: m})
	}
	return items
}

func zsetInter(srcs []zsetOpSrc, agg int) []zsetItem {
	if srcs[0].n == 0 {
		return nil
	}
	var items []zsetItem
	srcs[0].each(func(m string, score float64, copied bool) {
		score *= srcs[0].weight
		if math.IsNaN(score) {
			score = 0
		}
		for j := 1; j < len(srcs); j++ {
			v, ok := srcs[j].find(m)
			if !ok {
				return
			}
			zsetAggregate(&score, v*srcs[j].weight, agg)
		}
		if !copied {
			m = strings.Clone(m)
		}
		items = append(items, zsetItem{score: score, member: m})
	})
	return items
}

func zsetDiff(srcs []zsetOpSrc) []zsetItem {
	if srcs[0].n == 0 {
		return nil
	}
	var items []zsetItem
	srcs[0].each(func(m string, score float64, copied bool) {
		for j := 1; j < len(srcs); j++ {
			if _, ok := srcs[j].find(m); ok {
				return
			}
		}
		if !copied {
			m = strings.Clone(m)
		}
		items = append(items, zsetItem{score: score, member: m})
	})
	return items
}
