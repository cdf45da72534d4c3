package store

// Ranges: ZRANGE and its older forms, ZRANGESTORE, ZCOUNT, ZLEXCOUNT and
// ZREMRANGEBY*, following Redis 7.0's zrangeGenericCommand and
// zremrangeGenericCommand (argument validation order included).

type zrangeKind uint8

const (
	zrangeAuto zrangeKind = iota
	zrangeRank
	zrangeScore
	zrangeLex
)

type zrangeDir uint8

const (
	zrangeDirAuto zrangeDir = iota
	zrangeDirForward
	zrangeDirReverse
)

const (
	zsetErrLimit       = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
	zsetErrWithScores  = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
	zsetErrScoreRange  = "ERR min or max is not a float"
	zsetErrLexRange    = "ERR min or max not valid string range item"
	zsetErrWeightFloat = "ERR weight value is not a float"
)

// firstInRange returns the rank of the first element in range, or -1
// (zzlFirstInRange / zslFirstInRange and their lex twins). A listpack is
// scanned from its head as Redis does, which matters for lex ranges over
// members of different scores; a skiplist-encoded set is searched.
func (z *zsetValue) firstInRange(r zsetRange) int {
	n := z.tree.len()
	if n == 0 || r.empty() || !r.gteMin(z.tree.at(n-1)) || !r.lteMax(z.tree.at(0)) {
		return -1
	}
	i := -1
	if z.dict == nil {
		k := 0
		z.tree.ascend(0, func(it *zsetItem) bool {
			if r.gteMin(it) {
				i = k
				return false
			}
			k++
			return true
		})
		if i < 0 {
			return -1
		}
	} else {
		i = z.tree.countWhile(func(it *zsetItem) bool { return !r.gteMin(it) })
		if i >= n {
			return -1
		}
	}
	if !r.lteMax(z.tree.at(i)) {
		return -1
	}
	return i
}

// lastInRange returns the rank of the last element in range, or -1.
func (z *zsetValue) lastInRange(r zsetRange) int {
	n := z.tree.len()
	if n == 0 || r.empty() || !r.gteMin(z.tree.at(n-1)) || !r.lteMax(z.tree.at(0)) {
		return -1
	}
	i := -1
	if z.dict == nil {
		k := n - 1
		z.tree.descend(n-1, func(it *zsetItem) bool {
			if r.lteMax(it) {
				i = k
				return false
			}
			k--
			return true
		})
	} else {
		i = z.tree.countWhile(r.lteMax) - 1
	}
	if i < 0 || !r.gteMin(z.tree.at(i)) {
		return -1
	}
	return i
}

// rangeWalk calls fn for the elements genericZrangebyscoreCommand /
// genericZrangebylexCommand emit: from the first (or, reversed, the last)
// element in range, skip offset elements, then up to limit elements while
// they stay in range (a negative limit means no limit, a negative offset
// yields nothing).
func (z *zsetValue) rangeWalk(r zsetRange, reverse bool, offset, limit int64, fn func(*zsetItem)) {
	n := z.tree.len()
	if offset < 0 || (offset > 0 && offset >= int64(n)) {
		return
	}
	var start int
	if reverse {
		start = z.lastInRange(r)
	} else {
		start = z.firstInRange(r)
	}
	if start < 0 {
		return
	}
	if reverse {
		start -= int(offset)
	} else {
		start += int(offset)
	}
	if start < 0 || start >= n {
		return
	}
	visit := func(it *zsetItem) bool {
		if limit == 0 {
			return false
		}
		limit--
		if reverse {
			if !r.gteMin(it) {
				return false
			}
		} else if !r.lteMax(it) {
			return false
		}
		fn(it)
		return true
	}
	if reverse {
		z.tree.descend(start, visit)
	} else {
		z.tree.ascend(start, visit)
	}
}

// rankWalk calls fn for the elements of ranks lo..hi (reverse ranks when
// reverse is set).
func (z *zsetValue) rankWalk(lo, hi int, reverse bool, fn func(*zsetItem)) {
	left := hi - lo + 1
	visit := func(it *zsetItem) bool {
		fn(it)
		left--
		return left > 0
	}
	if reverse {
		z.tree.descend(z.tree.len()-1-lo, visit)
	} else {
		z.tree.ascend(lo, visit)
	}
}

// countRange is ZCOUNT / ZLEXCOUNT.
func (z *zsetValue) countRange(r zsetRange) int {
	first := z.firstInRange(r)
	if first < 0 {
		return 0
	}
	if z.dict == nil {
		count := 0
		z.tree.ascend(first, func(it *zsetItem) bool {
			if !r.lteMax(it) {
				return false
			}
			count++
			return true
		})
		return count
	}
	n := z.tree.len()
	count := n - first
	if last := z.lastInRange(r); last >= 0 {
		count -= n - 1 - last
	}
	return count
}

// zrangeGeneric is Redis's zrangeGenericCommand: ZRANGE, ZREVRANGE,
// Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX (argStart 1) and ZRANGESTORE
// (argStart 2, store).
func zrangeGeneric(c *Call, argStart int, store bool, kind zrangeKind, dir zrangeDir) {
	if !c.arity(argStart + 3) {
		return
	}
	args := c.Args
	key := args[argStart]
	minIdx, maxIdx := argStart+1, argStart+2
	withScores := false
	var offset, limit int64 = 0, -1
	for j := argStart + 3; j < len(args); j++ {
		left := len(args) - j - 1
		a := args[j]
		switch {
		case !store && eqFold(a, "withscores"):
			withScores = true
		case eqFold(a, "limit") && left >= 2:
			var ok bool
			if offset, limit, ok = c.IntArgPair(j+1, j+2); !ok {
				return
			}
			j += 2
		case dir == zrangeDirAuto && eqFold(a, "rev"):
			dir = zrangeDirReverse
		case kind == zrangeAuto && eqFold(a, "bylex"):
			kind = zrangeLex
		case kind == zrangeAuto && eqFold(a, "byscore"):
			kind = zrangeScore
		default:
			c.SyntaxErr()
			return
		}
	}
	if dir == zrangeDirAuto {
		dir = zrangeDirForward
	}
	if kind == zrangeAuto {
		kind = zrangeRank
	}
	if limit != -1 && kind == zrangeRank {
		c.Err(zsetErrLimit)
		return
	}
	if withScores && kind == zrangeLex {
		c.Err(zsetErrWithScores)
		return
	}
	reverse := dir == zrangeDirReverse
	if reverse && kind != zrangeRank {
		minIdx, maxIdx = maxIdx, minIdx
	}
	var start, end int64
	var rng zsetRange
	switch kind {
	case zrangeRank:
		var ok bool
		if start, end, ok = c.IntArgPair(minIdx, maxIdx); !ok {
			return
		}
	default:
		var ok bool
		if rng, ok = zsetRangeArgs(c, kind, minIdx, maxIdx); !ok {
			return
		}
	}

	z, found, ok := getObject[*zsetValue](c, key)
	if !ok {
		return
	}
	if !found {
		if store {
			storeResult(c, args[1], nil)
		} else {
			c.Array(0)
		}
		return
	}
	walk := func(fn func(*zsetItem)) {
		if kind == zrangeRank {
			if lo, hi, ok := indexRange(start, end, z.length()); ok {
				z.rankWalk(lo, hi, reverse, fn)
			}
			return
		}
		z.rangeWalk(rng, reverse, offset, limit, fn)
	}
	if store {
		// As zrangeResultBeginStore: a listpack unless the result is known
		// to be long, then element by element as zsetAdd does.
		hint := 0
		if kind == zrangeRank {
			if lo, hi, ok := indexRange(start, end, z.length()); ok {
				hint = hi - lo + 1
			}
		}
		dz := newZSet(hint > zsetMaxListpackEntries)
		walk(func(it *zsetItem) { dz.insert(it.score, it.member) })
		storeResult(c, args[1], dz)
		return
	}
	if kind == zrangeRank {
		lo, hi, ok := indexRange(start, end, z.length())
		if !ok {
			c.Array(0)
			return
		}
		c.Array((hi - lo + 1) * replyPer(withScores))
		z.rankWalk(lo, hi, reverse, func(it *zsetItem) { c.zsetReply(it, withScores) })
		return
	}
	pos, n := len(c.Out), 0
	z.rangeWalk(rng, reverse, offset, limit, func(it *zsetItem) {
		c.zsetReply(it, withScores)
		n++
	})
	c.Out = zsetInsertArrayHeader(c.Out, pos, n*replyPer(withScores))
}

// zsetRangeArgs parses the score (kind zrangeScore) or lex range given by
// arguments minIdx and maxIdx, replying Redis's error when it is not valid.
func zsetRangeArgs(c *Call, kind zrangeKind, minIdx, maxIdx int) (zsetRange, bool) {
	if kind == zrangeScore {
		r, ok := zsetParseScoreRange(c.Args[minIdx], c.Args[maxIdx])
		if !ok {
			c.Err(zsetErrScoreRange)
			return nil, false
		}
		return &r, true
	}
	r, ok := zsetParseLexRange(c.Args[minIdx], c.Args[maxIdx])
	if !ok {
		c.Err(zsetErrLexRange)
		return nil, false
	}
	return &r, true
}

// zcountGeneric is ZCOUNT (kind zrangeScore) and ZLEXCOUNT (zrangeLex).
func zcountGeneric(c *Call, kind zrangeKind) {
	if !c.arity(4) {
		return
	}
	r, ok := zsetRangeArgs(c, kind, 2, 3)
	if !ok {
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
	c.Int(int64(z.countRange(r)))
}

// zremrangeGeneric is ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX.
func zremrangeGeneric(c *Call, kind zrangeKind) {
	if !c.arity(4) {
		return
	}
	args := c.Args
	var start, end int64
	var rng zsetRange
	switch kind {
	case zrangeRank:
		var ok bool
		if start, end, ok = c.IntArgPair(2, 3); !ok {
			return
		}
	default:
		var ok bool
		if rng, ok = zsetRangeArgs(c, kind, 2, 3); !ok {
			return
		}
	}
	key := args[1]
	z, found, ok := getObjectForWrite[*zsetValue](c, key)
	if !ok {
		return
	}
	if !found {
		c.Int(0)
		return
	}
	var first, count int
	if kind == zrangeRank {
		lo, hi, ok := indexRange(start, end, z.length())
		if !ok {
			c.Int(0)
			return
		}
		first, count = lo, hi-lo+1
	} else if first = z.firstInRange(rng); first >= 0 {
		z.tree.ascend(first, func(it *zsetItem) bool {
			if !rng.lteMax(it) {
				return false
			}
			count++
			return true
		})
	}
	if count > 0 {
		z.removeRange(first, count)
		c.S.deleteIfEmpty(key, z)
		c.Touch(key)
		c.PropagateSelf()
	}
	c.Int(int64(count))
}
