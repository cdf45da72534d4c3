package store

// Lists: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LINSERT
// LREM LTRIM LPOS RPOPLPUSH LMOVE LMPOP and the blocking BLPOP BRPOP BLMOVE
// BRPOPLPUSH BLMPOP, with Redis 7.0.15's arguments, validation order, error
// texts and replies.
//
// ============================================================================
// BLOCKING COMMANDS: THE CONTRACT WITH THE SERVER
// ============================================================================
//
// BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and BLMPOP never wait inside the store.
// Each call is one non-blocking attempt:
//
//  1. The arguments are validated exactly as Redis validates them (LEFT/RIGHT,
//     numkeys, COUNT, then the timeout: "ERR timeout is not a float or out of
//     range", "ERR timeout is negative"), and the keys are type-checked in
//     the order Redis checks them (WRONGTYPE). Any error is replied at once,
//     like any other command.
//  2. If an element is available, the command does what Redis does when it
//     does not need to block, replies what Redis replies (BLPOP/BRPOP: a
//     two-element array, key then element; BLMOVE/BRPOPLPUSH: the element as
//     a bulk string; BLMPOP: key then an array of elements), touches the keys
//     it changed and records the non-blocking equivalent as its effect
//     (BLPOP k1 k2 0 served by k2 → "LPOP k2"; BRPOP → "RPOP key"; BLMOVE →
//     "LMOVE src dst LEFT|RIGHT LEFT|RIGHT"; BRPOPLPUSH → "RPOPLPUSH src dst";
//     BLMPOP → "LPOP|RPOP key count").
//  3. If nothing is available (every key is missing; for BLMOVE/BRPOPLPUSH
//     the source is missing — the destination is not even looked at, as in
//     Redis), the handler appends NOTHING to c.Out (zero bytes) and records
//     no effect. That empty reply is the signal: the server blocks the client
//     on the command's keys and, whenever one of them is touched, runs the
//     same command again (same arguments), until it produces a reply, the
//     timeout passes, or the client goes away. The timeout answer (*-1) and
//     the answer inside MULTI/EXEC, where blocking is not allowed ($-1 for
//     BLMOVE/BRPOPLPUSH, *-1 for the others), are the server's to write.
//
// The keys a blocked client waits on: BLPOP/BRPOP: args[1:len(args)-1];
// BLMOVE: args[1] (timeout args[5]); BRPOPLPUSH: args[1] (timeout args[3]);
// BLMPOP timeout numkeys key... LEFT|RIGHT [COUNT n]: args[3:3+numkeys]
// (timeout args[1]).
//
// A retry takes the first non-empty key in argument order. Redis instead
// serves a blocked client from the key that became ready; a server that wants
// that exact choice when several keys become ready at once can retry with the
// ready key moved first (the reply names the key it served).
// ============================================================================

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
)

// listValue is a list: a ring buffer of elements with O(1) push and pop at
// both ends and O(1) access by index. Inserting or removing in the middle is
// O(n).
//
// Elements are immutable once stored: nothing ever writes into an element's
// bytes (LSET stores a new slice). That lets clone share them and lets one
// LPUSH/RPUSH carve all its small elements out of a single allocation.
type listValue struct {
	buf  [][]byte // len(buf) is 0 or a power of two
	head int      // index in buf of the first element
	n    int      // number of elements
}

var _ object = (*listValue)(nil)

// listMinCap is the smallest ring allocated; rings shrink back to it.
const listMinCap = 4

func (l *listValue) typeName() string { return "list" }

// encoding is "quicklist": Redis 7.0 uses a quicklist for every list (the
// listpack encoding for small lists arrived in 7.2).
func (l *listValue) encoding() string { return "quicklist" }

func (l *listValue) length() int { return l.n }

// clone copies the ring. Elements are shared: they are never modified in
// place (see listValue), so the copy is independent of the original.
func (l *listValue) clone() object {
	c := &listValue{n: l.n}
	c.buf = make([][]byte, listCapFor(l.n))
	l.copyTo(c.buf)
	return c
}

func (l *listValue) appendSnapshot(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(l.n))
	for i := 0; i < l.n; i++ {
		dst = appendBytes(dst, l.at(i))
	}
	return dst
}

// decodeList reads what appendSnapshot wrote. A list with no element is
// refused (Redis never keeps one).
func decodeList(r *snapReader) object {
	n := r.count()
	if r.err != nil {
		return nil
	}
	if n == 0 {
		r.fail(errors.New("empty list"))
		return nil
	}
	// Do not trust the count for the allocation: grow as elements arrive.
	l := &listValue{buf: make([][]byte, listCapFor(min(n, 1024)))}
	for i := 0; i < n; i++ {
		b := r.bytes()
		if r.err != nil {
			return nil
		}
		l.pushBack(b)
	}
	return l
}

// listCapFor returns the ring size for n elements: a power of two ≥ n.
func listCapFor(n int) int {
	c := listMinCap
	for c < n {
		c <<= 1
	}
	return c
}

// at returns element i (0 ≤ i < n).
func (l *listValue) at(i int) []byte { return l.buf[(l.head+i)&(len(l.buf)-1)] }

// setAt replaces element i (0 ≤ i < n).
func (l *listValue) setAt(i int, v []byte) { l.buf[(l.head+i)&(len(l.buf)-1)] = v }

// copyTo copies the elements, in order, to the start of dst.
func (l *listValue) copyTo(dst [][]byte) {
	if l.n == 0 {
		return
	}
	end := l.head + l.n
	if end <= len(l.buf) {
		copy(dst, l.buf[l.head:end])
		return
	}
	k := copy(dst, l.buf[l.head:])
	copy(dst[k:], l.buf[:end-len(l.buf)])
}

// resize moves the elements into a new ring of size c (a power of two ≥ n),
// starting at index 0.
func (l *listValue) resize(c int) {
	nb := make([][]byte, c)
	l.copyTo(nb)
	l.buf, l.head = nb, 0
}

// reserve makes room for k more elements.
func (l *listValue) reserve(k int) {
	if l.n+k > len(l.buf) {
		l.resize(listCapFor(l.n + k))
	}
}

// shrink gives memory back after many pops.
func (l *listValue) shrink() {
	if len(l.buf) > listMinCap && l.n <= len(l.buf)/4 {
		l.resize(listCapFor(l.n * 2))
	}
}

func (l *listValue) pushBack(v []byte) {
	l.reserve(1)
	l.buf[(l.head+l.n)&(len(l.buf)-1)] = v
	l.n++
}

func (l *listValue) pushFront(v []byte) {
	l.reserve(1)
	l.head = (l.head - 1) & (len(l.buf) - 1)
	l.buf[l.head] = v
	l.n++
}

// popFront removes and returns the first element (the list is not empty).
func (l *listValue) popFront() []byte {
	v := l.buf[l.head]
	l.buf[l.head] = nil
	l.head = (l.head + 1) & (len(l.buf) - 1)
	l.n--
	return v
}

// popBack removes and returns the last element (the list is not empty).
func (l *listValue) popBack() []byte {
	i := (l.head + l.n - 1) & (len(l.buf) - 1)
	v := l.buf[i]
	l.buf[i] = nil
	l.n--
	return v
}

func (l *listValue) pop(front bool) []byte {
	if front {
		return l.popFront()
	}
	return l.popBack()
}

func (l *listValue) push(v []byte, front bool) {
	if front {
		l.pushFront(v)
	} else {
		l.pushBack(v)
	}
}

// linear makes the elements contiguous at the start of buf (rotating in
// place) and returns them as one slice, for the O(n) middle operations.
func (l *listValue) linear() [][]byte {
	if l.head+l.n > len(l.buf) {
		// Wrapped: rotate the whole ring left by head.
		listReverse(l.buf[:l.head])
		listReverse(l.buf[l.head:])
		listReverse(l.buf)
	} else if l.head != 0 {
		copy(l.buf, l.buf[l.head:l.head+l.n])
		clear(l.buf[l.n : l.head+l.n])
	}
	l.head = 0
	return l.buf[:l.n]
}

func listReverse(s [][]byte) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// insertAt inserts v before element i (0 ≤ i ≤ n).
func (l *listValue) insertAt(i int, v []byte) {
	if i == 0 {
		l.pushFront(v)
		return
	}
	if i == l.n {
		l.pushBack(v)
		return
	}
	l.reserve(1)
	s := l.linear()
	s = s[:l.n+1]
	copy(s[i+1:], s[i:l.n])
	s[i] = v
	l.n++
}

// removeMatches removes up to limit elements equal to v (0 = all), scanning
// from the head, or from the tail when fromTail, and returns how many it
// removed.
func (l *listValue) removeMatches(v []byte, limit int64, fromTail bool) int64 {
	s := l.linear()
	var removed int64
	if !fromTail {
		w := 0
		for r := 0; r < len(s); r++ {
			if (limit == 0 || removed < limit) && bytes.Equal(s[r], v) {
				removed++
				continue
			}
			s[w] = s[r]
			w++
		}
		clear(s[w:])
		l.n = w
	} else {
		w := len(s) - 1
		for r := len(s) - 1; r >= 0; r-- {
			if (limit == 0 || removed < limit) && bytes.Equal(s[r], v) {
				removed++
				continue
			}
			s[w] = s[r]
			w--
		}
		// The kept elements are s[w+1:]; the list now starts there.
		clear(s[:w+1])
		l.head = w + 1
		l.n = len(s) - (w + 1)
	}
	if removed > 0 {
		l.shrink()
	}
	return removed
}

// trim removes left elements from the head and right from the tail.
func (l *listValue) trim(left, right int) {
	for ; left > 0; left-- {
		l.popFront()
	}
	for ; right > 0; right-- {
		l.popBack()
	}
	l.shrink()
}

// pushArgs pushes args (copied) to the head or the tail. Small elements of
// one command share a single allocation.
func (l *listValue) pushArgs(args [][]byte, front bool) {
	l.reserve(len(args))
	total := 0
	for _, a := range args {
		total += len(a)
	}
	var arena []byte
	if total <= listArenaMax {
		arena = make([]byte, 0, total)
	}
	for _, a := range args {
		var v []byte
		if arena != nil {
			off := len(arena)
			arena = append(arena, a...)
			v = arena[off:len(arena):len(arena)]
		} else {
			v = clone(a)
		}
		l.push(v, front)
	}
}

// listArenaMax bounds the bytes one push command carves from one allocation
// (so a long-lived small element cannot pin a big buffer).
const listArenaMax = 4096

// ---- command helpers ----

var (
	listLPOP      = []byte("LPOP")
	listRPOP      = []byte("RPOP")
	listLMOVE     = []byte("LMOVE")
	listRPOPLPUSH = []byte("RPOPLPUSH")
	listLEFT      = []byte("LEFT")
	listRIGHT     = []byte("RIGHT")
)

const (
	listErrRankZero  = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
	listErrCountNeg  = "ERR COUNT can't be negative"
	listErrMaxlenNeg = "ERR MAXLEN can't be negative"
	listErrCountGT0  = "ERR count should be greater than 0"
	listEmptyArray   = "*0\r\n"
)

// listWhere parses LEFT/RIGHT: front is true for LEFT.
func listWhere(b []byte) (front, ok bool) {
	switch {
	case eqFold(b, "left"):
		return true, true
	case eqFold(b, "right"):
		return false, true
	}
	return false, false
}

func listWhereWord(front bool) []byte {
	if front {
		return listLEFT
	}
	return listRIGHT
}

func listPopWord(front bool) []byte {
	if front {
		return listLPOP
	}
	return listRPOP
}

// ---- commands ----

func registerLists(m map[string]Cmd) {
	register(m, "lpush", func(c *Call) { listPushCmd(c, true, false) })
	register(m, "rpush", func(c *Call) { listPushCmd(c, false, false) })
	register(m, "lpushx", func(c *Call) { listPushCmd(c, true, true) })
	register(m, "rpushx", func(c *Call) { listPushCmd(c, false, true) })
	register(m, "lpop", func(c *Call) { listPopCmd(c, true) })
	register(m, "rpop", func(c *Call) { listPopCmd(c, false) })
	register(m, "llen", llenCmd)
	register(m, "lrange", lrangeCmd)
	register(m, "lindex", lindexCmd)
	register(m, "lset", lsetCmd)
	register(m, "linsert", linsertCmd)
	register(m, "lrem", lremCmd)
	register(m, "ltrim", ltrimCmd)
	register(m, "lpos", lposCmd)
	register(m, "rpoplpush", func(c *Call) { rpoplpushCmd(c, false) })
	register(m, "lmove", func(c *Call) { listMoveCmd(c, false) })
	register(m, "lmpop", func(c *Call) { listMPopCmd(c, 1, false) })
	register(m, "blpop", func(c *Call) { listBPopCmd(c, true) })
	register(m, "brpop", func(c *Call) { listBPopCmd(c, false) })
	register(m, "blmove", func(c *Call) { listMoveCmd(c, true) })
	register(m, "brpoplpush", func(c *Call) { rpoplpushCmd(c, true) })
	register(m, "blmpop", func(c *Call) { listMPopCmd(c, 2, true) })
}

// LPUSH/RPUSH/LPUSHX/RPUSHX key element [element ...]
func listPushCmd(c *Call, front, xx bool) {
	if !c.arity(3) {
		return
	}
	key := c.Args[1]
	l, found, ok := lookupForWrite[*listValue](c, key)
	if !ok {
		return
	}
	if !found {
		if xx {
			c.Int(0)
			return
		}
		l = createObject(c, key, &listValue{buf: make([][]byte, listCapFor(len(c.Args)-2))})
	} else {
		c.S.mutated(key)
	}
	l.pushArgs(c.Args[2:], front)
	c.Int(int64(l.n))
	c.PropagateSelf()
	c.Touch(key)
}

// LPOP/RPOP key [count]
func listPopCmd(c *Call, front bool) {
	if !c.arity(2) {
		return
	}
	if len(c.Args) > 3 {
		c.arityErr()
		return
	}
	hasCount := len(c.Args) == 3
	var count int64
	if hasCount {
		var ok bool
		if count, ok = c.nonNegArg(2, ErrNotPositive); !ok {
			return
		}
	}
	key := c.Args[1]
	l, found, ok := lookupForWrite[*listValue](c, key)
	if !ok {
		return
	}
	if !found {
		if hasCount {
			c.NullArray()
		} else {
			c.Null()
		}
		return
	}
	if hasCount && count == 0 {
		c.Out = append(c.Out, listEmptyArray...)
		return
	}
	c.S.mutated(key)
	if !hasCount {
		c.Bulk(l.pop(front))
	} else {
		n := int(min(count, int64(l.n)))
		c.Array(n)
		for i := 0; i < n; i++ {
			c.Bulk(l.pop(front))
		}
	}
	listAfterPop(c, key, l)
	c.PropagateSelf()
}

// listAfterPop deletes an emptied list, shrinks a shrunk one and touches key.
func listAfterPop(c *Call, key []byte, l *listValue) {
	if l.n == 0 {
		c.S.removeKey(string(key))
	} else {
		l.shrink()
	}
	c.Touch(key)
}

// LLEN key
func llenCmd(c *Call) {
	if !c.arity(2) {
		return
	}
	l, found, ok := getObject[*listValue](c, c.Args[1])
	if !ok {
		return
	}
	if !found {
		c.Int(0)
		return
	}
	c.Int(int64(l.n))
}

// LRANGE key start stop
func lrangeCmd(c *Call) {
	if !c.arity(4) {
		return
	}
	start, end, ok := c.IntArgPair(2, 3)
	if !ok {
		return
	}
	l, found, ok := getObject[*listValue](c, c.Args[1])
	if !ok {
		return
	}
	if !found {
		c.Out = append(c.Out, listEmptyArray...)
		return
	}
	lo, hi, ok := indexRange(start, end, l.n)
	if !ok {
		c.Array(0)
		return
	}
	c.Array(hi - lo + 1)
	for i := lo; i <= hi; i++ {
		c.Bulk(l.at(i))
	}
}

// LTRIM key start stop
func ltrimCmd(c *Call) {
	if !c.arity(4) {
		return
	}
	start, end, ok := c.IntArgPair(2, 3)
	if !ok {
		return
	}
	key := c.Args[1]
	l, found, ok := lookupForWrite[*listValue](c, key)
	if !ok {
		return
	}
	if !found {
		c.OK()
		return
	}
	left, right := l.n, 0 // an empty range removes everything
	if lo, hi, ok := indexRange(start, end, l.n); ok {
		left, right = lo, l.n-1-hi
	}
	if left+right > 0 {
		c.S.mutated(key)
		l.trim(left, right)
		if l.n == 0 {
			c.S.removeKey(string(key))
		}
		c.PropagateSelf()
	}
	// Redis signals the key even when nothing was trimmed (WATCH sees it).
	c.Touch(key)
	c.OK()
}

// listIndex converts a Redis index (negative from the end) to a position in
// a list of n elements; ok is false when it is out of range.
func listIndex(idx int64, n int) (int, bool) {
	if idx < 0 {
		idx += int64(n)
	}
	if idx < 0 || idx >= int64(n) {
		return 0, false
	}
	return int(idx), true
}

// LINDEX key index
func lindexCmd(c *Call) {
	if !c.arity(3) {
		return
	}
	l, found, ok := getObject[*listValue](c, c.Args[1])
	if !ok {
		return
	}
	if !found {
		c.Null()
		return
	}
	idx, ok := c.IntArg(2)
	if !ok {
		return
	}
	i, ok := listIndex(idx, l.n)
	if !ok {
		c.Null()
		return
	}
	c.Bulk(l.at(i))
}

// LSET key index element
func lsetCmd(c *Call) {
	if !c.arity(4) {
		return
	}
	key := c.Args[1]
	l, found, ok := lookupForWrite[*listValue](c, key)
	if !ok {
		return
	}
	if !found {
		c.Err(ErrNoSuchKey)
		return
	}
	idx, ok := c.IntArg(2)
	if !ok {
		return
	}
	i, ok := listIndex(idx, l.n)
	if !ok {
		c.Err(ErrOutOfRange)
		return
	}
	c.S.mutated(key)
	l.setAt(i, clone(c.Args[3]))
	c.OK()
	c.PropagateSelf()
	c.Touch(key)
}

// LINSERT key BEFORE|AFTER pivot element
func linsertCmd(c *Call) {
	if !c.arity(5) {
		return
	}
	var after bool
	switch {
	case eqFold(c.Args[2], "after"):
		after = true
	case eqFold(c.Args[2], "before"):
	default:
		c.SyntaxErr()
		return
	}
	key := c.Args[1]
	l, found, ok := lookupForWrite[*listValue](c, key)
	if !ok {
		return
	}
	if !found {
		c.Int(0)
		return
	}
	pivot := c.Args[3]
	for i := 0; i < l.n; i++ {
		if bytes.Equal(l.at(i), pivot) {
			c.S.mutated(key)
			if after {
				i++
			}
			l.insertAt(i, clone(c.Args[4]))
			c.Int(int64(l.n))
			c.PropagateSelf()
			c.Touch(key)
			return
		}
	}
	c.Int(-1)
}

// LREM key count element
func lremCmd(c *Call) {
	if !c.arity(4) {
		return
	}
	count, ok := c.IntArg(2)
	if !ok {
		return
	}
	key := c.Args[1]
	l, found, ok := lookupForWrite[*listValue](c, key)
	if !ok {
		return
	}
	if !found {
		c.Int(0)
		return
	}
	c.S.mutated(key)
	fromTail := count < 0
	if fromTail {
		count = -count // wraps for -2^63, as in C: see listRemLimit
	}
	removed := l.removeMatches(c.Args[3], listRemLimit(count), fromTail)
	if removed > 0 {
		if l.n == 0 {
			c.S.removeKey(string(key))
		}
		c.PropagateSelf()
		c.Touch(key)
	}
	c.Int(removed)
}

// listRemLimit maps LREM's count (after taking the absolute value, where
// -(-2^63) stays -2^63 in C as in Go) to removeMatches' limit. Redis compares
// "toremove && removed == toremove": a count of -2^63 is never reached, so it
// removes all matches, like 0.
func listRemLimit(count int64) int64 {
	if count < 0 {
		return 0
	}
	return count
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
func lposCmd(c *Call) {
	if !c.arity(3) {
		return
	}
	rank, count, maxlen := int64(1), int64(-1), int64(0)
	for j := 3; j < len(c.Args); j++ {
		opt := c.Args[j]
		more := j+1 < len(c.Args)
		switch {
		case eqFold(opt, "rank") && more:
			j++
			v, ok := c.IntArg(j)
			if !ok {
				return
			}
			if v == 0 {
				c.Err(listErrRankZero)
				return
			}
			rank = v
		case eqFold(opt, "count") && more:
			j++
			var ok bool
			if count, ok = c.nonNegArg(j, listErrCountNeg); !ok {
				return
			}
		case eqFold(opt, "maxlen") && more:
			j++
			var ok bool
			if maxlen, ok = c.nonNegArg(j, listErrMaxlenNeg); !ok {
				return
			}
		default:
			c.SyntaxErr()
			return
		}
	}
	fromTail := false
	if rank < 0 {
		rank = -rank // as in C, -(-2^63) wraps to -2^63: then every match qualifies
		fromTail = true
	}
	l, found, ok := getObject[*listValue](c, c.Args[1])
	if !ok {
		return
	}
	if !found {
		if count != -1 {
			c.Out = append(c.Out, listEmptyArray...)
		} else {
			c.Null()
		}
		return
	}
	ele := c.Args[2]
	n := int64(l.n)
	var matches int64
	var hits []int64
	var single int64 = -1
	for index := int64(0); index < n && (maxlen == 0 || index < maxlen); index++ {
		pos := index
		if fromTail {
			pos = n - index - 1
		}
		if !bytes.Equal(l.at(int(pos)), ele) {
			continue
		}
		matches++
		if matches < rank {
			continue
		}
		if count == -1 {
			single = pos
			break
		}
		hits = append(hits, pos)
		// Wrapping arithmetic, as Redis's C: with rank -2^63 this never ends
		// the scan early.
		if count != 0 && matches-rank+1 >= count {
			break
		}
	}
	if count != -1 {
		c.Array(len(hits))
		for _, h := range hits {
			c.Int(h)
		}
		return
	}
	if single == -1 {
		c.Null()
		return
	}
	c.Int(single)
}

// listMoveResult says what listMove did.
type listMoveResult int

const (
	listMoved     listMoveResult = iota // an element moved; its bulk was replied
	listNoSource                        // the source does not exist; nothing replied
	listMoveError                       // WRONGTYPE was replied
)

// listMove pops from src and pushes to dst, as Redis's lmoveGenericCommand:
// a missing source is reported (the caller replies or blocks) without
// looking at the destination; then the source's type, then the
// destination's. It records no effect: the caller does.
func listMove(c *Call, src, dst []byte, srcFront, dstFront bool) listMoveResult {
	sl, found, ok := lookupForWrite[*listValue](c, src)
	if !ok {
		return listMoveError
	}
	if !found {
		return listNoSource
	}
	dl, dfound, ok := lookupForWrite[*listValue](c, dst)
	if !ok {
		return listMoveError
	}
	c.S.mutated(src)
	v := sl.pop(srcFront)
	if !dfound {
		dl = createObject(c, dst, &listValue{buf: make([][]byte, listMinCap)})
	} else if dl != sl {
		c.S.mutated(dst)
	}
	dl.push(v, dstFront)
	c.Bulk(v)
	if sl.n == 0 {
		c.S.removeKey(string(src))
	} else if sl != dl {
		sl.shrink()
	}
	c.Touch(src)
	if !bytes.Equal(src, dst) {
		c.Touch(dst)
	}
	return listMoved
}

// LMOVE source destination LEFT|RIGHT LEFT|RIGHT and, when block, BLMOVE
// ... timeout (see the blocking contract at the top).
func listMoveCmd(c *Call, block bool) {
	if !c.arity(5 + btoi(block)) {
		return
	}
	from, ok := listWhere(c.Args[3])
	if !ok {
		c.SyntaxErr()
		return
	}
	to, ok := listWhere(c.Args[4])
	if !ok {
		c.SyntaxErr()
		return
	}
	if block && !c.timeoutArg(5) {
		return
	}
	listMoveAndRecord(c, from, to, block, listLMOVE, c.Args[1], c.Args[2], listWhereWord(from), listWhereWord(to))
}

// RPOPLPUSH source destination and, when block, BRPOPLPUSH ... timeout
// (see the blocking contract at the top).
func rpoplpushCmd(c *Call, block bool) {
	if !c.arity(3 + btoi(block)) {
		return
	}
	if block && !c.timeoutArg(3) {
		return
	}
	listMoveAndRecord(c, false, true, block, listRPOPLPUSH, c.Args[1], c.Args[2])
}

// listMoveAndRecord moves an element from c.Args[1] to c.Args[2]. A missing
// source answers a null, or nothing at all when block (the server blocks
// the client). A move records the command itself, or when block its
// non-blocking equivalent eff.
func listMoveAndRecord(c *Call, from, to, block bool, eff ...[]byte) {
	switch listMove(c, c.Args[1], c.Args[2], from, to) {
	case listNoSource:
		if !block {
			c.Null()
		}
	case listMoved:
		if block {
			c.Propagate(eff...)
		} else {
			c.PropagateSelf()
		}
	}
}

// BLPOP/BRPOP key [key ...] timeout — see the blocking contract at the top.
func listBPopCmd(c *Call, front bool) {
	if !c.arity(3) {
		return
	}
	if !c.timeoutArg(len(c.Args) - 1) {
		return
	}
	for _, key := range c.Args[1 : len(c.Args)-1] {
		l, found, ok := lookupForWrite[*listValue](c, key)
		if !ok {
			return
		}
		if !found {
			continue
		}
		c.S.mutated(key)
		v := l.pop(front)
		c.Array(2)
		c.Bulk(key)
		c.Bulk(v)
		listAfterPop(c, key, l)
		c.Propagate(listPopWord(front), key)
		return
	}
	// Nothing to pop: no reply; the server blocks the client.
}

// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count] (numkeysIdx 1) and
// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count] (numkeysIdx
// 2, blocking: see the contract at the top).
func listMPopCmd(c *Call, numkeysIdx int, block bool) {
	if !c.arity(numkeysIdx + 3) {
		return
	}
	argc := len(c.Args)
	numkeys, ok := ParseInt(c.Args[numkeysIdx])
	if !ok || numkeys < 1 {
		c.Err(ErrNumkeys)
		return
	}
	if numkeys > int64(argc-numkeysIdx-2) {
		c.SyntaxErr()
		return
	}
	whereIdx := numkeysIdx + int(numkeys) + 1
	front, ok := listWhere(c.Args[whereIdx])
	if !ok {
		c.SyntaxErr()
		return
	}
	count := int64(-1)
	for j := whereIdx + 1; j < argc; j++ {
		if count == -1 && eqFold(c.Args[j], "count") && j+1 < argc {
			j++
			v, ok := ParseInt(c.Args[j])
			if !ok || v < 1 {
				c.Err(listErrCountGT0)
				return
			}
			count = v
			continue
		}
		c.SyntaxErr()
		return
	}
	if count == -1 {
		count = 1
	}
	if block && !c.timeoutArg(1) {
		return
	}
	for _, key := range c.Args[numkeysIdx+1 : whereIdx] {
		l, found, ok := lookupForWrite[*listValue](c, key)
		if !ok {
			return
		}
		if !found {
			continue
		}
		c.S.mutated(key)
		n := int(min(count, int64(l.n)))
		c.Array(2)
		c.Bulk(key)
		c.Array(n)
		for i := 0; i < n; i++ {
			c.Bulk(l.pop(front))
		}
		listAfterPop(c, key, l)
		var nb [20]byte
		c.Propagate(listPopWord(front), key, strconv.AppendInt(nb[:0], int64(n), 10))
		return
	}
	if !block {
		c.NullArray()
	}
	// Blocking and nothing to pop: no reply; the server blocks the client.
}
