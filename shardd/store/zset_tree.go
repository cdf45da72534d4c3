package store

// zsetTree is an order-statistic B-tree of (score, member) items: every node
// knows how many items its subtree holds, so the rank of an item, the item
// at a rank, insertion and removal are all O(log n). It replaces the
// skiplist-with-spans Redis uses; iteration order is the same (score, then
// member bytes).
//
// The zero value is an empty tree. Items are stored by value; member strings
// are never copied by the tree (strings are immutable, so a clone or a
// ZRANGESTORE result shares them with the source).

const (
	zsetTreeDegree   = 32
	zsetTreeMaxItems = 2*zsetTreeDegree - 1 // a node with this many items is full
	zsetTreeMinItems = zsetTreeDegree - 1   // below this a non-root node is refilled
)

// zsetItem is one element of a sorted set.
type zsetItem struct {
	score  float64
	member string
}

// less orders items by score, then by member bytes (Redis's zslCompare).
// Scores are never NaN; -0 and 0 compare equal, as in Redis.
func (a *zsetItem) less(b *zsetItem) bool {
	return a.score < b.score || (a.score == b.score && a.member < b.member)
}

type zsetNode struct {
	items    []zsetItem
	children []*zsetNode // nil for a leaf; otherwise len(items)+1 children
	size     int         // items in this subtree
}

type zsetTree struct {
	root *zsetNode
}

// len is the number of items.
func (t *zsetTree) len() int {
	if t.root == nil {
		return 0
	}
	return t.root.size
}

// search returns the index of the first item of n not less than key and
// whether that item equals key.
func (n *zsetNode) search(key *zsetItem) (int, bool) {
	lo, hi := 0, len(n.items)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if n.items[m].less(key) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(n.items) && n.items[lo].score == key.score && n.items[lo].member == key.member
}

// insert adds it, which must not be in the tree yet.
func (t *zsetTree) insert(it zsetItem) {
	if t.root == nil {
		t.root = &zsetNode{}
	}
	if len(t.root.items) >= zsetTreeMaxItems {
		left := t.root
		mid, right := left.split(zsetTreeMaxItems / 2)
		t.root = &zsetNode{
			items:    []zsetItem{mid},
			children: []*zsetNode{left, right},
			size:     left.size + right.size + 1,
		}
	}
	t.root.insert(it)
}

func (n *zsetNode) insert(it zsetItem) {
	for {
		n.size++
		i, _ := n.search(&it)
		if n.children == nil {
			if len(n.items) == cap(n.items) {
				// Grow by a quarter, not append's double: most sorted sets
				// are small and live in one leaf.
				grown := make([]zsetItem, len(n.items), min(len(n.items)+max(2, len(n.items)/4), zsetTreeMaxItems))
				copy(grown, n.items)
				n.items = grown
			}
			n.items = n.items[:len(n.items)+1]
			copy(n.items[i+1:], n.items[i:])
			n.items[i] = it
			return
		}
		if len(n.children[i].items) >= zsetTreeMaxItems {
			mid, right := n.children[i].split(zsetTreeMaxItems / 2)
			n.items = append(n.items, zsetItem{})
			copy(n.items[i+1:], n.items[i:])
			n.items[i] = mid
			n.children = append(n.children, nil)
			copy(n.children[i+2:], n.children[i+1:])
			n.children[i+1] = right
			if n.items[i].less(&it) {
				i++
			}
		}
		n = n.children[i]
	}
}

// split moves the items after i (and their children) to a new right
// sibling and returns the item at i, which moves up to the parent.
func (n *zsetNode) split(i int) (zsetItem, *zsetNode) {
	mid := n.items[i]
	right := &zsetNode{items: make([]zsetItem, len(n.items)-i-1, zsetTreeMaxItems)}
	copy(right.items, n.items[i+1:])
	clear(n.items[i:])
	n.items = n.items[:i]
	right.size = len(right.items)
	if n.children != nil {
		right.children = make([]*zsetNode, len(n.children)-i-1, zsetTreeMaxItems+1)
		copy(right.children, n.children[i+1:])
		clear(n.children[i+1:])
		n.children = n.children[:i+1]
		for _, c := range right.children {
			right.size += c.size
		}
	}
	n.size -= right.size + 1
	return mid, right
}

type zsetRemoveKind uint8

const (
	zsetRemoveItem zsetRemoveKind = iota
	zsetRemoveMin
	zsetRemoveMax
)

// remove deletes the item equal to key and returns the stored item (whose
// member string the caller may reuse).
func (t *zsetTree) remove(key *zsetItem) (zsetItem, bool) {
	return t.removeKind(key, zsetRemoveItem)
}

// popMin removes and returns the smallest item; the tree must not be empty.
func (t *zsetTree) popMin() zsetItem {
	it, _ := t.removeKind(nil, zsetRemoveMin)
	return it
}

// popMax removes and returns the largest item; the tree must not be empty.
func (t *zsetTree) popMax() zsetItem {
	it, _ := t.removeKind(nil, zsetRemoveMax)
	return it
}

func (t *zsetTree) removeKind(key *zsetItem, kind zsetRemoveKind) (zsetItem, bool) {
	if t.root == nil {
		return zsetItem{}, false
	}
	out, ok := t.root.remove(key, kind)
	if len(t.root.items) == 0 {
		if t.root.children != nil {
			t.root = t.root.children[0]
		} else {
			t.root = nil
		}
	}
	return out, ok
}

func (n *zsetNode) remove(key *zsetItem, kind zsetRemoveKind) (zsetItem, bool) {
	var i int
	var found bool
	switch kind {
	case zsetRemoveMax:
		if n.children == nil {
			last := len(n.items) - 1
			out := n.items[last]
			n.items[last] = zsetItem{}
			n.items = n.items[:last]
			n.size--
			return out, true
		}
		i = len(n.items)
	case zsetRemoveMin:
		if n.children == nil {
			out := n.items[0]
			copy(n.items, n.items[1:])
			n.items[len(n.items)-1] = zsetItem{}
			n.items = n.items[:len(n.items)-1]
			n.size--
			return out, true
		}
		i = 0
	default:
		i, found = n.search(key)
		if n.children == nil {
			if !found {
				return zsetItem{}, false
			}
			out := n.items[i]
			copy(n.items[i:], n.items[i+1:])
			n.items[len(n.items)-1] = zsetItem{}
			n.items = n.items[:len(n.items)-1]
			n.size--
			return out, true
		}
	}
	if len(n.children[i].items) <= zsetTreeMinItems {
		n.growChild(i)
		return n.remove(key, kind)
	}
	child := n.children[i]
	if found {
		// The item is here: replace it with its predecessor.
		out := n.items[i]
		n.items[i], _ = child.remove(nil, zsetRemoveMax)
		n.size--
		return out, true
	}
	out, ok := child.remove(key, kind)
	if ok {
		n.size--
	}
	return out, ok
}

// growChild gives child i more than the minimum number of items, by
// stealing from a sibling or merging with one. n.size does not change.
func (n *zsetNode) growChild(i int) {
	if i > 0 && len(n.children[i-1].items) > zsetTreeMinItems {
		child, left := n.children[i], n.children[i-1]
		last := len(left.items) - 1
		stolen := left.items[last]
		left.items[last] = zsetItem{}
		left.items = left.items[:last]
		child.items = append(child.items, zsetItem{})
		copy(child.items[1:], child.items)
		child.items[0] = n.items[i-1]
		n.items[i-1] = stolen
		left.size--
		child.size++
		if left.children != nil {
			lc := len(left.children) - 1
			c := left.children[lc]
			left.children[lc] = nil
			left.children = left.children[:lc]
			child.children = append(child.children, nil)
			copy(child.children[1:], child.children)
			child.children[0] = c
			left.size -= c.size
			child.size += c.size
		}
		return
	}
	if i < len(n.items) && len(n.children[i+1].items) > zsetTreeMinItems {
		child, right := n.children[i], n.children[i+1]
		stolen := right.items[0]
		copy(right.items, right.items[1:])
		right.items[len(right.items)-1] = zsetItem{}
		right.items = right.items[:len(right.items)-1]
		child.items = append(child.items, n.items[i])
		n.items[i] = stolen
		right.size--
		child.size++
		if right.children != nil {
			c := right.children[0]
			copy(right.children, right.children[1:])
			right.children[len(right.children)-1] = nil
			right.children = right.children[:len(right.children)-1]
			child.children = append(child.children, c)
			right.size -= c.size
			child.size += c.size
		}
		return
	}
	if i >= len(n.items) {
		i--
	}
	child, merge := n.children[i], n.children[i+1]
	child.items = append(child.items, n.items[i])
	child.items = append(child.items, merge.items...)
	child.children = append(child.children, merge.children...)
	child.size += merge.size + 1
	copy(n.items[i:], n.items[i+1:])
	n.items[len(n.items)-1] = zsetItem{}
	n.items = n.items[:len(n.items)-1]
	copy(n.children[i+1:], n.children[i+2:])
	n.children[len(n.children)-1] = nil
	n.children = n.children[:len(n.children)-1]
}

// rank returns how many items are less than key (key's 0-based rank when it
// is in the tree).
func (t *zsetTree) rank(key *zsetItem) int {
	r := 0
	for n := t.root; n != nil; {
		i, found := n.search(key)
		r += i
		if n.children == nil {
			return r
		}
		for _, c := range n.children[:i] {
			r += c.size
		}
		if found {
			return r + n.children[i].size
		}
		n = n.children[i]
	}
	return r
}

// countWhile returns how many leading items (in order) satisfy pred, which
// must be true for a prefix of the items and false after it. With a
// predicate that is not monotone the answer is some index where pred
// changes (as a skiplist descent would find one).
func (t *zsetTree) countWhile(pred func(*zsetItem) bool) int {
	r := 0
	for n := t.root; n != nil; {
		lo, hi := 0, len(n.items)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if pred(&n.items[m]) {
				lo = m + 1
			} else {
				hi = m
			}
		}
		r += lo
		if n.children == nil {
			return r
		}
		for _, c := range n.children[:lo] {
			r += c.size
		}
		n = n.children[lo]
	}
	return r
}

// at returns the item of rank i (0 <= i < len). The pointer is valid until
// the tree changes.
func (t *zsetTree) at(i int) *zsetItem {
	n := t.root
	for n.children != nil {
		j := 0
		for ; j < len(n.items); j++ {
			c := n.children[j]
			if i < c.size {
				break
			}
			if i == c.size {
				return &n.items[j]
			}
			i -= c.size + 1
		}
		n = n.children[j]
	}
	return &n.items[i]
}

// ascend calls fn for the items of rank from, from+1, ... until fn returns
// false. fn must not change the tree.
func (t *zsetTree) ascend(from int, fn func(*zsetItem) bool) {
	if t.root != nil && from < t.root.size {
		t.root.ascend(max(from, 0), fn)
	}
}

func (n *zsetNode) ascend(i int, fn func(*zsetItem) bool) bool {
	if n.children == nil {
		for k := i; k < len(n.items); k++ {
			if !fn(&n.items[k]) {
				return false
			}
		}
		return true
	}
	for j, c := range n.children {
		if i < c.size {
			if !c.ascend(i, fn) {
				return false
			}
			i = 0
		} else {
			i -= c.size
		}
		if j < len(n.items) {
			if i == 0 {
				if !fn(&n.items[j]) {
					return false
				}
			} else {
				i--
			}
		}
	}
	return true
}

// descend calls fn for the items of rank from, from-1, ... 0 until fn
// returns false. fn must not change the tree.
func (t *zsetTree) descend(from int, fn func(*zsetItem) bool) {
	if t.root != nil && from >= 0 {
		t.root.descend(min(from, t.root.size-1), fn)
	}
}

func (n *zsetNode) descend(i int, fn func(*zsetItem) bool) bool {
	if n.children == nil {
		for k := i; k >= 0; k-- {
			if !fn(&n.items[k]) {
				return false
			}
		}
		return true
	}
	hi := n.size - 1 // rank (within n) of the last item of the child at j
	for j := len(n.children) - 1; j >= 0; j-- {
		c := n.children[j]
		lo := hi - c.size + 1
		if i >= lo && c.size > 0 {
			if !c.descend(min(i, hi)-lo, fn) {
				return false
			}
		}
		if j > 0 {
			pos := lo - 1 // rank of items[j-1]
			if i >= pos {
				if !fn(&n.items[j-1]) {
					return false
				}
			}
			hi = pos - 1
		}
	}
	return true
}

// findMember returns the item whose member is m by scanning every item
// (listpack-encoded sets are small: this is what Redis does too).
func (n *zsetNode) findMember(m []byte) *zsetItem {
	for i := range n.items {
		if n.items[i].member == string(m) {
			return &n.items[i]
		}
	}
	for _, c := range n.children {
		if p := c.findMember(m); p != nil {
			return p
		}
	}
	return nil
}

// clone copies the tree's structure; member strings are shared.
func (t *zsetTree) clone() zsetTree {
	if t.root == nil {
		return zsetTree{}
	}
	return zsetTree{root: t.root.clone()}
}

func (n *zsetNode) clone() *zsetNode {
	c := &zsetNode{items: make([]zsetItem, len(n.items)), size: n.size}
	copy(c.items, n.items)
	if n.children != nil {
		c.children = make([]*zsetNode, len(n.children))
		for i, ch := range n.children {
			c.children[i] = ch.clone()
		}
	}
	return c
}
