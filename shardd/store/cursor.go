package store

import (
	"container/list"
	"math"
	"strconv"

	"github.com/shoal-kv/shoal/proto"
)

// cursorState is what a SCAN-family command keeps between calls.
type cursorState interface {
	// stop releases resources (a suspended iterator).
	stop()
}

// cursorTable keeps the state of live SCAN cursors. A cursor is an opaque
// number below 2^48 (so the frontend can put a shard number above it); 0
// starts a new iteration. At most max cursors are kept; the least recently
// used is dropped, and using a dropped cursor answers ErrInvalidCurs.
type cursorTable struct {
	max  int
	next uint64
	m    map[uint64]*list.Element
	lru  list.List // front = most recent; values are *cursorItem
}

type cursorItem struct {
	id    uint64
	state cursorState
}

// CursorBits is how many bits a store cursor uses.
const CursorBits = 48

func (t *cursorTable) init(max int) {
	t.max = max
	t.m = make(map[uint64]*list.Element)
}

// put stores state and returns its new cursor id.
func (t *cursorTable) put(state cursorState) uint64 {
	t.next++
	if t.next >= 1<<CursorBits {
		t.next = 1
	}
	id := t.next
	t.m[id] = t.lru.PushFront(&cursorItem{id: id, state: state})
	for t.lru.Len() > t.max {
		oldest := t.lru.Back()
		it := oldest.Value.(*cursorItem)
		it.state.stop()
		delete(t.m, it.id)
		t.lru.Remove(oldest)
	}
	return id
}

// take removes and returns the state of cursor id.
func (t *cursorTable) take(id uint64) (cursorState, bool) {
	el, ok := t.m[id]
	if !ok {
		return nil, false
	}
	delete(t.m, id)
	t.lru.Remove(el)
	return el.Value.(*cursorItem).state, true
}

// reset stops and drops every cursor (FLUSHALL).
func (t *cursorTable) reset() {
	for _, el := range t.m {
		el.Value.(*cursorItem).state.stop()
	}
	t.m = make(map[uint64]*list.Element)
	t.lru.Init()
}

// scanIter is a suspended iteration over owner's elements. peek is the
// element fetched after the last one returned (see scanStep).
type scanIter[T any] struct {
	next    func() (T, bool)
	stopFn  func()
	owner   any // the object (or keyspace generation) being iterated
	peek    T
	hasPeek bool
}

func (s *scanIter[T]) stop() { s.stopFn() }

// parseScanCursor parses a SCAN/HSCAN/SSCAN/ZSCAN cursor as Redis's
// parseScanCursorOrReply does with strtoul on the C string: "" (or text
// starting with a NUL byte) is 0, parsing stops at a NUL byte, an optional
// sign is allowed ("+5" is 5, "-1" wraps to 2^64-1); a leading space, any
// other trailing text, no digit after a sign, or overflow is invalid.
func parseScanCursor(b []byte) (uint64, bool) {
	b = cString(b)
	if len(b) == 0 {
		return 0, true
	}
	neg := false
	i := 0
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		i++
	}
	if i == len(b) {
		return 0, false
	}
	var v uint64
	for ; i < len(b); i++ {
		d := b[i]
		if !isDigit(d) {
			return 0, false
		}
		if v > (math.MaxUint64-uint64(d-'0'))/10 {
			return 0, false
		}
		v = v*10 + uint64(d-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// scanOptions are the options of the SCAN family, parsed as Redis's
// scanGenericCommand does (option words compared as C strings).
type scanOptions struct {
	count   int    // COUNT, at least 1 (default 10, capped at 2^31-1)
	pat     []byte // MATCH pattern
	usePat  bool   // false without MATCH or with MATCH "*"
	typ     []byte // TYPE (SCAN only), up to a NUL byte
	useType bool
}

// parseScanOptions parses [MATCH pattern] [COUNT count] (and [TYPE type]
// when withType) from argument i on, replying Redis's error when they are
// not valid.
func parseScanOptions(c *Call, i int, withType bool) (o scanOptions, ok bool) {
	o.count = 10
	for ; i < len(c.Args); i += 2 {
		more := len(c.Args) - i
		opt := cString(c.Args[i])
		switch {
		case eqFold(opt, "count") && more >= 2:
			n, ok := c.IntArg(i + 1)
			if !ok {
				return o, false
			}
			if n < 1 {
				c.SyntaxErr()
				return o, false
			}
			o.count = int(min(n, math.MaxInt32))
		case eqFold(opt, "match") && more >= 2:
			o.pat = c.Args[i+1]
			o.usePat = !(len(o.pat) == 1 && o.pat[0] == '*')
		case withType && eqFold(opt, "type") && more >= 2:
			o.typ = cString(c.Args[i+1])
			o.useType = true
		default:
			c.SyntaxErr()
			return o, false
		}
	}
	return o, true
}

// match reports whether s passes the MATCH pattern.
func (o *scanOptions) match(s string) bool {
	return !o.usePat || proto.GlobMatch(o.pat, bytesView(s), false)
}

// scanKeyArgs reads the arguments of HSCAN, SSCAN and ZSCAN (key cursor
// [MATCH pattern] [COUNT count]) in Redis's order: the cursor, then the
// key's type (a missing key answers emptyScan whatever the options say),
// then the options. ok is false when it replied.
func scanKeyArgs[T object](c *Call) (obj T, cur uint64, opts scanOptions, ok bool) {
	if !c.arity(3) {
		return obj, 0, opts, false
	}
	cur, ok = parseScanCursor(c.Args[2])
	if !ok {
		c.Err(ErrInvalidCurs)
		return obj, 0, opts, false
	}
	obj, found, ok := getObject[T](c, c.Args[1])
	if !ok {
		return obj, 0, opts, false
	}
	if !found {
		c.Out = append(c.Out, emptyScan...)
		return obj, 0, opts, false
	}
	opts, ok = parseScanOptions(c, 3, false)
	return obj, cur, opts, ok
}

// emptyScan is Redis's shared.emptyscan: the reply for a missing key.
const emptyScan = "*2\r\n$1\r\n0\r\n*0\r\n"

// scanReply replies [next cursor, elems].
func scanReply(c *Call, next uint64, elems []string) {
	c.scanHeader(next, len(elems))
	for _, e := range elems {
		c.BulkString(e)
	}
}

// scanHeader starts a SCAN-family reply: the next cursor, then the header
// of an array of n elements the caller appends.
func (c *Call) scanHeader(next uint64, n int) {
	c.Array(2)
	var buf [20]byte
	c.Bulk(strconv.AppendUint(buf[:0], next, 10))
	c.Array(n)
}

// scanStep runs one step of a SCAN-family iteration over owner. Cursor 0
// starts a new iteration of seq; another cursor resumes the iteration it
// names, provided it still iterates the same owner (otherwise the
// iteration is over: the object was deleted or replaced). It calls each for
// up to count elements and returns the cursor to hand back: 0 when the
// iteration is complete, which it finds out by fetching one element ahead,
// so an iteration ending exactly at count elements answers 0 at once rather
// than needing one more, empty, call. An unknown cursor replies
// ErrInvalidCurs and returns ok=false.
//
// The element fetched ahead is handed to each in the next call: each must
// check that an element still exists (it may have been removed in between).
//
// Go's map iteration gives the guarantee SCAN promises: an element present
// for the whole iteration is returned exactly once; elements added or removed
// meanwhile may or may not be.
func scanStep[T any](c *Call, cur uint64, owner any, seq func(yield func(T) bool), count int, each func(T)) (next uint64, ok bool) {
	var it *scanIter[T]
	if cur == 0 {
		n, stop := pull(seq)
		it = &scanIter[T]{next: n, stopFn: stop, owner: owner}
	} else {
		st, found := c.S.cursors.take(cur)
		if !found {
			c.Err(ErrInvalidCurs)
			return 0, false
		}
		it, ok = st.(*scanIter[T])
		if !ok || it.owner != owner {
			st.stop()
			return 0, true
		}
	}
	for i := 0; i < count; i++ {
		v, more := it.peek, it.hasPeek
		if more {
			var zero T
			it.peek, it.hasPeek = zero, false
		} else {
			v, more = it.next()
		}
		if !more {
			it.stop()
			return 0, true
		}
		each(v)
	}
	v, more := it.next()
	if !more {
		it.stop()
		return 0, true
	}
	it.peek, it.hasPeek = v, true
	return c.S.cursors.put(it), true
}
