package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/shoal-kv/shoal/proto"
)

// setMaxIntsetEntries is Redis 7.0's set-max-intset-entries default.
const setMaxIntsetEntries = 512

// setValue is a set. Redis 7.0 has two encodings and so does this type:
// "intset" while every member is a canonical int64 and there are at most
// 512 (ints, sorted ascending, so replies come out in Redis's order), and
// "hashtable" otherwise: members is a dense slice (uniform random picks for
// SPOP/SRANDMEMBER, cheap iteration) and idx maps each member to its
// position; a removal moves the last member into the hole. A set converts to
// hashtable for good, except that SPOP with a large count builds a new set
// (as Redis does), which may be an intset again.
type setValue struct {
	ints    []int64        // intset encoding (idx == nil)
	members []string       // hashtable encoding
	idx     map[string]int // hashtable encoding: member -> position in members
	peak    int            // largest len(members) since idx was built (shrinking)
}

var _ object = (*setValue)(nil)

func (v *setValue) typeName() string { return "set" }

func (v *setValue) encoding() string {
	if v.idx == nil {
		return "intset"
	}
	return "hashtable"
}

func (v *setValue) length() int {
	if v.idx == nil {
		return len(v.ints)
	}
	return len(v.members)
}

func (v *setValue) clone() object {
	c := &setValue{peak: v.peak}
	if v.idx == nil {
		c.ints = slices.Clone(v.ints)
	} else {
		c.members = slices.Clone(v.members)
		c.idx = maps.Clone(v.idx)
	}
	return c
}

// convert switches an intset to the hashtable encoding.
func (v *setValue) convert() {
	v.members = make([]string, len(v.ints), max(len(v.ints), 4))
	v.idx = make(map[string]int, len(v.ints))
	for i, n := range v.ints {
		s := strconv.FormatInt(n, 10)
		v.members[i] = s
		v.idx[s] = i
	}
	v.ints = nil
	v.peak = len(v.members)
}

// ---- membership ----

func (v *setValue) hasInt(n int64) bool {
	if v.idx == nil {
		_, found := slices.BinarySearch(v.ints, n)
		return found
	}
	var buf [20]byte
	_, ok := v.idx[string(strconv.AppendInt(buf[:0], n, 10))]
	return ok
}

func (v *setValue) hasStr(s string) bool {
	if v.idx == nil {
		n, ok := parseIntString(s)
		return ok && v.hasInt(n)
	}
	_, ok := v.idx[s]
	return ok
}

func (v *setValue) has(b []byte) bool {
	if v.idx == nil {
		n, ok := ParseInt(b)
		return ok && v.hasInt(n)
	}
	_, ok := v.idx[string(b)]
	return ok
}

// ---- adding (Redis's setTypeAdd: an intset converts when a non-integer
// arrives or when it grows past 512) ----

func (v *setValue) addInt(n int64) bool {
	if v.idx != nil {
		var buf [20]byte
		b := strconv.AppendInt(buf[:0], n, 10)
		if _, ok := v.idx[string(b)]; ok {
			return false
		}
		v.insert(string(b))
		return true
	}
	i, found := slices.BinarySearch(v.ints, n)
	if found {
		return false
	}
	v.ints = slices.Insert(v.ints, i, n)
	if len(v.ints) > setMaxIntsetEntries {
		v.convert()
	}
	return true
}

// add adds a member given as bytes (copied).
func (v *setValue) add(b []byte) bool {
	if v.idx == nil {
		if n, ok := ParseInt(b); ok {
			return v.addInt(n)
		}
		v.convert()
	}
	if _, ok := v.idx[string(b)]; ok {
		return false
	}
	v.insert(string(b))
	return true
}

// addStr adds a member given as an (immutable, shareable) string.
func (v *setValue) addStr(s string) bool {
	if v.idx == nil {
		if n, ok := parseIntString(s); ok {
			return v.addInt(n)
		}
		v.convert()
	}
	if _, ok := v.idx[s]; ok {
		return false
	}
	v.insert(s)
	return true
}

func (v *setValue) insert(s string) {
	v.idx[s] = len(v.members)
	v.members = append(v.members, s)
	v.peak = max(v.peak, len(v.members))
}

// ---- removing ----

// removeAt removes the i-th member (in iteration order).
func (v *setValue) removeAt(i int) {
	if v.idx == nil {
		v.ints = slices.Delete(v.ints, i, i+1)
		return
	}
	last := len(v.members) - 1
	delete(v.idx, v.members[i])
	if i != last {
		v.members[i] = v.members[last]
		v.idx[v.members[i]] = i
	}
	v.members[last] = ""
	v.members = v.members[:last]
	v.shrink()
}

// shrink gives memory back after many removals (Go maps never shrink). A
// SCAN in progress keeps iterating the old index, which still holds every
// member that was present when it was replaced.
func (v *setValue) shrink() {
	n := len(v.members)
	if cap(v.members) > 64 && n*4 < cap(v.members) {
		v.members = append(make([]string, 0, n*2), v.members...)
	}
	if v.peak > 1024 && n*8 < v.peak {
		v.idx = make(map[string]int, n)
		for i, s := range v.members {
			v.idx[s] = i
		}
		v.peak = n
	}
}

func (v *setValue) removeInt(n int64) bool {
	if v.idx == nil {
		i, found := slices.BinarySearch(v.ints, n)
		if found {
			v.removeAt(i)
		}
		return found
	}
	var buf [20]byte
	i, ok := v.idx[string(strconv.AppendInt(buf[:0], n, 10))]
	if ok {
		v.removeAt(i)
	}
	return ok
}

func (v *setValue) removeStr(s string) bool {
	if v.idx == nil {
		n, ok := parseIntString(s)
		return ok && v.removeInt(n)
	}
	i, ok := v.idx[s]
	if ok {
		v.removeAt(i)
	}
	return ok
}

func (v *setValue) remove(b []byte) bool {
	if v.idx == nil {
		n, ok := ParseInt(b)
		return ok && v.removeInt(n)
	}
	i, ok := v.idx[string(b)]
	if ok {
		v.removeAt(i)
	}
	return ok
}

// ---- elements: an intset yields integers, a hashtable strings ----

// setElem is one member as iteration yields it.
type setElem struct {
	s     string
	n     int64
	isInt bool
}

func (v *setValue) elemAt(i int) setElem {
	if v.idx == nil {
		return setElem{n: v.ints[i], isInt: true}
	}
	return setElem{s: v.members[i]}
}

func (v *setValue) hasElem(e setElem) bool {
	if e.isInt {
		return v.hasInt(e.n)
	}
	return v.hasStr(e.s)
}

func (v *setValue) addElem(e setElem) bool {
	if e.isInt {
		return v.addInt(e.n)
	}
	return v.addStr(e.s)
}

func (v *setValue) removeElem(e setElem) bool {
	if e.isInt {
		return v.removeInt(e.n)
	}
	return v.removeStr(e.s)
}

func (e setElem) String() string {
	if e.isInt {
		return strconv.FormatInt(e.n, 10)
	}
	return e.s
}

// setAppendElem appends e as a bulk string.
func setAppendElem(out []byte, e setElem) []byte {
	if e.isInt {
		return proto.AppendBulkInt(out, e.n)
	}
	return proto.AppendBulkString(out, e.s)
}

// appendAll appends every member as bulk strings, in iteration order.
func (v *setValue) appendAll(out []byte) []byte {
	if v.idx == nil {
		for _, n := range v.ints {
			out = proto.AppendBulkInt(out, n)
		}
		return out
	}
	for _, s := range v.members {
		out = proto.AppendBulkString(out, s)
	}
	return out
}

// ---- snapshot ----

// appendSnapshot writes the encoding (0 intset, 1 hashtable), the count and
// the members (varints for an intset, strings otherwise).
func (v *setValue) appendSnapshot(dst []byte) []byte {
	if v.idx == nil {
		dst = append(dst, 0)
		dst = binary.AppendUvarint(dst, uint64(len(v.ints)))
		for _, n := range v.ints {
			dst = binary.AppendVarint(dst, n)
		}
		return dst
	}
	dst = append(dst, 1)
	dst = binary.AppendUvarint(dst, uint64(len(v.members)))
	for _, s := range v.members {
		dst = appendBytes(dst, s)
	}
	return dst
}

func decodeSet(r *snapReader) object {
	big, n, ok := r.encodedHeader("set", "intset", "members", setMaxIntsetEntries)
	if !ok {
		return nil
	}
	v := &setValue{}
	if !big {
		v.ints = make([]int64, 0, n)
		for i := 0; i < n; i++ {
			x := r.varint()
			if r.err != nil {
				return nil
			}
			if i > 0 && x <= v.ints[i-1] {
				r.fail(errors.New("intset not in ascending order"))
				return nil
			}
			v.ints = append(v.ints, x)
		}
		return v
	}
	v.members = make([]string, 0, min(n, 1024))
	v.idx = make(map[string]int, min(n, 1024))
	for i := 0; i < n; i++ {
		b := r.bytes()
		if r.err != nil {
			return nil
		}
		if _, dup := v.idx[string(b)]; dup {
			r.fail(fmt.Errorf("set member %q twice", b))
			return nil
		}
		v.insert(string(b))
	}
	return v
}

// ---- commands ----

func registerSets(m map[string]Cmd) {
	register(m, "sadd", saddCmd)
	register(m, "srem", sremCmd)
	register(m, "smembers", smembersCmd)
	register(m, "sismember", sismemberCmd)
	register(m, "smismember", smismemberCmd)
	register(m, "scard", scardCmd)
	register(m, "spop", spopCmd)
	register(m, "srandmember", srandmemberCmd)
	register(m, "smove", smoveCmd)
	register(m, "sinter", func(c *Call) { setOpCmd(c, false, setInter) })
	register(m, "sintercard", sintercardCmd)
	register(m, "sinterstore", func(c *Call) { setOpCmd(c, true, setInter) })
	register(m, "sunion", func(c *Call) { setOpCmd(c, false, setUnion) })
	register(m, "sunionstore", func(c *Call) { setOpCmd(c, true, setUnion) })
	register(m, "sdiff", func(c *Call) { setOpCmd(c, false, setDiff) })
	register(m, "sdiffstore", func(c *Call) { setOpCmd(c, true, setDiff) })
	register(m, "sscan", sscanCmd)
}

// SADD key member [member ...]
func saddCmd(c *Call) {
	if !c.arity(3) {
		return
	}
	key := c.Args[1]
	v, found, ok := getObjectForWrite[*setValue](c, key)
	if !ok {
		return
	}
	if !found {
		v = createObject(c, key, &setValue{})
	}
	added := int64(0)
	for _, m := range c.Args[2:] {
		if v.add(m) {
			added++
		}
	}
	c.Int(added)
	if added > 0 {
		c.Touch(key)
		c.PropagateSelf()
	}
}

// SREM key member [member ...]
func sremCmd(c *Call) {
	if !c.arity(3) {
		return
	}
	key := c.Args[1]
	v, found, ok := getObjectForWrite[*setValue](c, key)
	if !ok {
		return
	}
	if !found {
		c.Int(0)
		return
	}
	removed := int64(0)
	for _, m := range c.Args[2:] {
		if v.remove(m) {
			removed++
			if v.length() == 0 {
				c.S.removeKey(string(key))
				break
			}
		}
	}
	c.Int(removed)
	if removed > 0 {
		c.Touch(key)
		c.PropagateSelf()
	}
}

// SMEMBERS key (Redis 7.0 runs it as a one-key SINTER).
func smembersCmd(c *Call) {
	if !c.arity(2) {
		return
	}
	v, found, ok := getObject[*setValue](c, c.Args[1])
	if !ok {
		return
	}
	if !found {
		c.Array(0)
		return
	}
	c.Array(v.length())
	c.Out = v.appendAll(c.Out)
}

// SISMEMBER key member
func sismemberCmd(c *Call) {
	if !c.arity(3) {
		return
	}
	v, found, ok := getObject[*setValue](c, c.Args[1])
	if !ok {
		return
	}
	if found && v.has(c.Args[2]) {
		c.Int(1)
	} else {
		c.Int(0)
	}
}

// SMISMEMBER key member [member ...]
func smismemberCmd(c *Call) {
	if !c.arity(3) {
		return
	}
	v, found, ok := getObject[*setValue](c, c.Args[1])
	if !ok {
		return
	}
	c.Array(len(c.Args) - 2)
	for _, m := range c.Args[2:] {
		if found && v.has(m) {
			c.Int(1)
		} else {
			c.Int(0)
		}
	}
}

// SCARD key
func scardCmd(c *Call) {
	if !c.arity(2) {
		return
	}
	v, found, ok := getObject[*setValue](c, c.Args[1])
	if !ok {
		return
	}
	if !found {
		c.Int(0)
		return
	}
	c.Int(int64(v.length()))
}

// SPOP key [count]: propagated as SREM key <the popped members>.
func spopCmd(c *Call) {
	if !c.arity(2) {
		return
	}
	if len(c.Args) == 3 {
		spopCount(c)
		return
	}
	if len(c.Args) > 3 {
		c.SyntaxErr()
		return
	}
	key := c.Args[1]
	v, found, ok := getObjectForWrite[*setValue](c, key)
	if !ok {
		return
	}
	if !found {
		c.Null()
		return
	}
	i := rand.IntN(v.length())
	e := v.elemAt(i)
	c.Out = setAppendElem(c.Out, e)
	v.removeAt(i)
	if v.length() == 0 {
		c.S.removeKey(string(key))
	}
	c.Touch(key)
	c.Propagate([]byte("SREM"), key, []byte(e.String()))
}

// spopMoveStrategyMul is Redis's SPOP_MOVE_STRATEGY_MUL.
const spopMoveStrategyMul = 5

func spopCount(c *Call) {
	l, ok := c.nonNegArg(2, ErrNotPositive)
	if !ok {
		return
	}
	key := c.Args[1]
	v, found, ok := getObjectForWrite[*setValue](c, key)
	if !ok {
		return
	}
	if !found || l == 0 {
		c.Array(0)
		return
	}
	size := v.length()
	eff := [][]byte{[]byte("SREM"), key}
	switch remaining := size - int(min(l, int64(size))); {
	case remaining == 0:
		// The whole set, in the order Redis's one-set SUNION gives it.
		setAppendAsUnion(c, v)
		for i := 0; i < size; i++ {
			eff = append(eff, []byte(v.elemAt(i).String()))
		}
		c.S.removeKey(string(key))
	case remaining*spopMoveStrategyMul > int(l):
		// Pop random members one at a time.
		count := int(l)
		c.Array(count)
		for ; count > 0; count-- {
			i := rand.IntN(v.length())
			e := v.elemAt(i)
			c.Out = setAppendElem(c.Out, e)
			eff = append(eff, []byte(e.String()))
			v.removeAt(i)
		}
	default:
		// Few members remain: build a new set of them (whose encoding is
		// decided afresh, as Redis's dbOverwrite of a new set) and return
		// the others.
		keep := randSample(size, remaining)
		ns := &setValue{}
		for _, i := range keep {
			ns.addElem(v.elemAt(i))
		}
		c.Array(size - remaining)
		k := 0
		for i := 0; i < size; i++ {
			if k < len(keep) && keep[k] == i {
				k++
				continue
			}
			e := v.elemAt(i)
			c.Out = setAppendElem(c.Out, e)
			eff = append(eff, []byte(e.String()))
		}
		// Same object, new contents: a SSCAN in progress keeps iterating
		// the old index.
		*v = *ns
	}
	c.Touch(key)
	c.Propagate(eff...)
}

// setAppendAsUnion replies the whole set as Redis's SUNION of that one set
// does: the union is built as an intset, so it comes out sorted when every
// member is an integer and there are at most 512.
func setAppendAsUnion(c *Call, v *setValue) {
	c.Array(v.length())
	if v.idx != nil && len(v.members) <= setMaxIntsetEntries {
		ints := make([]int64, 0, len(v.members))
		for _, s := range v.members {
			n, ok := parseIntString(s)
			if !ok {
				break
			}
			ints = append(ints, n)
		}
		if len(ints) == len(v.members) {
			slices.Sort(ints)
			c.Out = (&setValue{ints: ints}).appendAll(c.Out)
			return
		}
	}
	c.Out = v.appendAll(c.Out)
}

// SRANDMEMBER key [count]
func srandmemberCmd(c *Call) {
	if !c.arity(2) {
		return
	}
	if len(c.Args) == 3 {
		srandmemberCount(c)
		return
	}
	if len(c.Args) > 3 {
		c.SyntaxErr()
		return
	}
	v, found, ok := getObject[*setValue](c, c.Args[1])
	if !ok {
		return
	}
	if !found {
		c.Null()
		return
	}
	c.Out = setAppendElem(c.Out, v.elemAt(rand.IntN(v.length())))
}

func srandmemberCount(c *Call) {
	randCountCmd(c, "", func(v *setValue, _ bool) randPicker {
		return randPicker{
			size: v.length(), per: 1, maxRepeat: hashsetMaxRandCount,
			emit:   func(i int) { c.Out = setAppendElem(c.Out, v.elemAt(i)) },
			all:    func() { c.Out = v.appendAll(c.Out) },
			sample: func(k int) []int { return randSample(v.length(), k) },
		}
	})
}

// SMOVE source destination member
func smoveCmd(c *Call) {
	if !c.arity(4) {
		return
	}
	srcKey, dstKey, member := c.Args[1], c.Args[2], c.Args[3]
	se, sfound := c.S.lookup(c.Now, srcKey)
	de, dfound := c.S.lookup(c.Now, dstKey)
	if !sfound {
		c.Int(0)
		return
	}
	src, ok := se.val.(*setValue)
	if !ok {
		c.WrongType()
		return
	}
	var dst *setValue
	if dfound {
		if dst, ok = de.val.(*setValue); !ok {
			c.WrongType()
			return
		}
	}
	if bytes.Equal(srcKey, dstKey) {
		if src.has(member) {
			c.Int(1)
		} else {
			c.Int(0)
		}
		return
	}
	if !src.has(member) {
		c.Int(0)
		return
	}
	c.S.mutated(srcKey)
	src.remove(member)
	if src.length() == 0 {
		c.S.removeKey(string(srcKey))
	}
	if dst == nil {
		dst = createObject(c, dstKey, &setValue{})
	} else {
		c.S.mutated(dstKey)
	}
	dst.add(member)
	c.Int(1)
	c.Touch(srcKey)
	c.Touch(dstKey)
	c.PropagateSelf()
}

// setLookupAll reads the sets named by keys: a missing key is nil, another
// type answers WRONGTYPE (ok false).
func setLookupAll(c *Call, keys [][]byte) ([]*setValue, bool) {
	sets := make([]*setValue, len(keys))
	for j, k := range keys {
		v, found, ok := getObject[*setValue](c, k)
		if !ok {
			return nil, false
		}
		if found {
			sets[j] = v
		}
	}
	return sets, true
}

// setOpCmd runs SINTER, SUNION, SDIFF (key [key ...]) and their STORE
// forms (destination key [key ...]) with op.
func setOpCmd(c *Call, store bool, op func(c *Call, keys [][]byte, dst []byte)) {
	if !store {
		if c.arity(2) {
			op(c, c.Args[1:], nil)
		}
		return
	}
	if c.arity(3) {
		op(c, c.Args[2:], c.Args[1])
	}
}

func setInter(c *Call, keys [][]byte, dst []byte) { setInterGeneric(c, keys, dst, false, 0) }
func setUnion(c *Call, keys [][]byte, dst []byte) { setUnionDiff(c, keys, dst, false) }
func setDiff(c *Call, keys [][]byte, dst []byte)  { setUnionDiff(c, keys, dst, true) }

// setInterGeneric runs SINTER, SINTERSTORE (dst != nil) and SINTERCARD (cardOnly)
// as Redis 7.0's sinterGenericCommand does: every key is type-checked, a
// missing key makes the result empty, the smallest set (stable order among
// equals) is iterated and each member checked against the others.
func setInterGeneric(c *Call, keys [][]byte, dst []byte, cardOnly bool, limit int64) {
	sets, ok := setLookupAll(c, keys)
	if !ok {
		return
	}
	if slices.Contains(sets, nil) || len(sets) == 0 {
		switch {
		case dst != nil:
			storeResult(c, dst, nil)
		case cardOnly:
			c.Int(0)
		default:
			c.Array(0)
		}
		return
	}
	slices.SortStableFunc(sets, func(a, b *setValue) int { return cmp.Compare(a.length(), b.length()) })
	first := sets[0]
	var res *setValue
	if dst != nil {
		res = &setValue{}
	}
	var out []byte
	card := int64(0)
scan:
	for i, n := 0, first.length(); i < n; i++ {
		e := first.elemAt(i)
		all := true
		for _, other := range sets[1:] {
			if other != first && !other.hasElem(e) {
				all = false
				break
			}
		}
		if !all {
			continue
		}
		card++
		switch {
		case cardOnly:
			if limit > 0 && card >= limit {
				break scan
			}
		case res != nil:
			res.addElem(e)
		default:
			out = setAppendElem(out, e)
		}
	}
	switch {
	case cardOnly:
		c.Int(card)
	case dst != nil:
		storeResult(c, dst, res)
	default:
		c.Array(int(card))
		c.Out = append(c.Out, out...)
	}
}

// SINTERCARD numkeys key [key ...] [LIMIT limit]
func sintercardCmd(c *Call) {
	if !c.arity(3) {
		return
	}
	numkeys, ok := ParseInt(c.Args[1])
	if !ok || numkeys < 1 {
		c.Err(ErrNumkeys)
		return
	}
	if numkeys > int64(len(c.Args)-2) {
		c.Err("ERR Number of keys can't be greater than number of args")
		return
	}
	limit := int64(0)
	for j := 2 + int(numkeys); j < len(c.Args); j++ {
		if eqFold(c.Args[j], "limit") && j+1 < len(c.Args) {
			j++
			var ok bool
			if limit, ok = c.nonNegArg(j, "ERR LIMIT can't be negative"); !ok {
				return
			}
		} else {
			c.SyntaxErr()
			return
		}
	}
	setInterGeneric(c, c.Args[2:2+int(numkeys)], nil, true, limit)
}

// setUnionDiff runs SUNION, SDIFF and their STORE forms as Redis 7.0's
// sunionDiffGenericCommand does, including its choice between the two
// difference algorithms: the result set is built as an intset by adding
// members one at a time, which decides its encoding (and so its order).
func setUnionDiff(c *Call, keys [][]byte, dst []byte, diff bool) {
	sets, ok := setLookupAll(c, keys)
	if !ok {
		return
	}
	res := &setValue{}
	each := func(v *setValue, fn func(setElem)) {
		for i, n := 0, v.length(); i < n; i++ {
			fn(v.elemAt(i))
		}
	}
	switch {
	case !diff:
		for _, v := range sets {
			if v != nil {
				each(v, func(e setElem) { res.addElem(e) })
			}
		}
	case len(sets) > 0 && sets[0] != nil:
		first := sets[0]
		one, two := 0, 0
		for _, v := range sets {
			if v != nil {
				one += first.length()
				two += v.length()
			}
		}
		if one/2 <= two {
			// Algorithm 1: members of the first set found in no other.
			each(first, func(e setElem) {
				for _, other := range sets[1:] {
					if other == nil {
						continue
					}
					if other == first || other.hasElem(e) {
						return
					}
				}
				res.addElem(e)
			})
		} else {
			// Algorithm 2: add the first set, remove the others.
			card := 0
			for j, v := range sets {
				if v == nil {
					continue
				}
				for i, n := 0, v.length(); i < n; i++ {
					e := v.elemAt(i)
					if j == 0 {
						if res.addElem(e) {
							card++
						}
					} else if res.removeElem(e) {
						card--
					}
				}
				if card == 0 {
					break
				}
			}
		}
	}
	if dst != nil {
		storeResult(c, dst, res)
		return
	}
	c.Array(res.length())
	c.Out = res.appendAll(c.Out)
}

// SSCAN key cursor [MATCH pattern] [COUNT count]
func sscanCmd(c *Call) {
	v, cur, opts, ok := scanKeyArgs[*setValue](c)
	if !ok {
		return
	}
	var out []string
	if v.idx == nil {
		// An intset is returned whole, whatever the cursor (as Redis does).
		for _, n := range v.ints {
			s := strconv.FormatInt(n, 10)
			if opts.match(s) {
				out = append(out, s)
			}
		}
		scanReply(c, 0, out)
		return
	}
	next, ok := scanStep(c, cur, v, func(yield func(string) bool) {
		for s := range v.idx {
			if !yield(s) {
				return
			}
		}
	}, opts.count, func(s string) {
		if v.hasStr(s) && opts.match(s) {
			out = append(out, s)
		}
	})
	if !ok {
		return
	}
	scanReply(c, next, out)
}

// A plain set is a valid input of ZUNION/ZINTER/ZDIFF (every member scored
// 1, as in Redis).
var _ zsetMemberSource = (*setValue)(nil)

// zsetMembers calls yield for every member (intsets in ascending order).
func (v *setValue) zsetMembers(yield func(member []byte) bool) {
	if v.idx == nil {
		var buf [20]byte
		for _, n := range v.ints {
			if !yield(strconv.AppendInt(buf[:0], n, 10)) {
				return
			}
		}
		return
	}
	for _, m := range v.members {
		if !yield([]byte(m)) {
			return
		}
	}
}

// zsetHasMember reports whether member is in the set.
func (v *setValue) zsetHasMember(member []byte) bool { return v.has(member) }
