package store

import "container/list"

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

// pullState adapts an iter.Pull pair to cursorState.
type pullState[T any] struct {
	next   func() (T, bool)
	stopFn func()
}

func (p *pullState[T]) stop() { p.stopFn() }

// scanIter is a suspended iteration over owner's elements.
type scanIter[T any] struct {
	next   func() (T, bool)
	stopFn func()
	owner  any // the object (or keyspace generation) being iterated
}

func (s *scanIter[T]) stop() { s.stopFn() }

// parseCursor parses a SCAN cursor argument as Redis does.
func parseCursor(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		nv := v*10 + uint64(d-'0')
		if nv/10 != v {
			return 0, false
		}
		v = nv
	}
	return v, true
}

// scanStep runs one step of a SCAN-family iteration over owner. cursor 0
// starts a new iteration of seq; another cursor resumes the iteration it
// names, provided it still iterates the same owner (otherwise the
// iteration is over: the object was deleted or replaced). It calls each for
// up to count elements and returns the cursor to hand back (0 when the
// iteration is complete). An unknown cursor replies ErrInvalidCurs and
// returns ok=false.
//
// Go's map iteration gives the guarantee SCAN promises: an element present
// for the whole iteration is returned exactly once; elements added or removed
// meanwhile may or may not be.
func scanStep[T any](c *Call, cursorArg []byte, owner any, seq func(yield func(T) bool), count int, each func(T)) (next uint64, ok bool) {
	cur, ok := parseCursor(cursorArg)
	if !ok {
		c.Err(ErrInvalidCurs)
		return 0, false
	}
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
		v, more := it.next()
		if !more {
			it.stop()
			return 0, true
		}
		each(v)
	}
	return c.S.cursors.put(it), true
}
