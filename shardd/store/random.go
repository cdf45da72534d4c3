package store

// HRANDFIELD, SRANDMEMBER and ZRANDMEMBER with a count, as Redis 7.0's
// hrandfieldWithCountCommand, srandmemberWithCountCommand and
// zrandmemberWithCountCommand: the argument checks and the choice between
// repetitions, the whole collection and distinct elements are shared; each
// type supplies how to reply one element, all of them, and a sample.

import (
	"math"
	"math/rand/v2"
	"slices"
)

// errRandRange is getRangeLongFromObjectOrReply's text for a count outside
// [-LONG_MAX, LONG_MAX].
const errRandRange = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"

// randCountArgs parses "count [word]" from argument 2 on (word is
// "withvalues" for HRANDFIELD, "withscores" for ZRANDMEMBER; "" for
// SRANDMEMBER, which takes no option), replying Redis's errors. with reports
// the option; with it a count must stay within ±LONG_MAX/2.
func randCountArgs(c *Call, word string) (count int64, with, ok bool) {
	l, ok := c.IntArg(2)
	if !ok {
		return 0, false, false
	}
	if l == math.MinInt64 {
		c.Err(errRandRange)
		return 0, false, false
	}
	if word == "" {
		return l, false, true
	}
	if len(c.Args) > 4 || (len(c.Args) == 4 && !eqFold(c.Args[3], word)) {
		c.SyntaxErr()
		return 0, false, false
	}
	with = len(c.Args) == 4
	if with && (l < -math.MaxInt64/2 || l > math.MaxInt64/2) {
		c.Err(ErrValueRange)
		return 0, false, false
	}
	return l, with, true
}

// randCountCmd answers the count form of HRANDFIELD, SRANDMEMBER and
// ZRANDMEMBER (word as for randCountArgs): a missing key or a count of 0
// answers an empty array; otherwise pick says how to reply from the
// collection (with reports WITHVALUES/WITHSCORES).
func randCountCmd[T object](c *Call, word string, pick func(obj T, with bool) randPicker) {
	l, with, ok := randCountArgs(c, word)
	if !ok {
		return
	}
	obj, found, ok := getObject[T](c, c.Args[1])
	if !ok {
		return
	}
	if !found || l == 0 {
		c.Array(0)
		return
	}
	randCountReply(c, l, pick(obj, with))
}

// randPicker is what randCountReply needs from a collection of size > 0
// elements, each replied as per reply elements (2 with values or scores).
type randPicker struct {
	size, per int
	// maxRepeat bounds a count with repetitions: Redis would try to build
	// a reply of up to 2^63 elements and run out of memory; shoal answers
	// "ERR value is out of range" instead.
	maxRepeat int64
	emit      func(i int)       // reply element i
	all       func()            // reply every element, in Redis's order
	sample    func(k int) []int // k distinct indices (k < size), in reply order
}

// randCountReply answers a count l (not 0): a negative count (or 1) picks
// |l| elements with repetitions, a count of at least size answers every
// element, another count l distinct random elements.
func randCountReply(c *Call, l int64, p randPicker) {
	if l < 0 || l == 1 {
		count := l
		if count < 0 {
			count = -count
		}
		if count > p.maxRepeat {
			c.Err(ErrValueRange)
			return
		}
		c.Array(int(count) * p.per)
		for ; count > 0; count-- {
			p.emit(rand.IntN(p.size))
		}
		return
	}
	if l >= int64(p.size) {
		c.Array(p.size * p.per)
		p.all()
		return
	}
	idx := p.sample(int(l))
	c.Array(len(idx) * p.per)
	for _, i := range idx {
		p.emit(i)
	}
}

// randSample returns k distinct random indices below n (k < n), in
// increasing order (Floyd's algorithm).
func randSample(n, k int) []int {
	chosen := make(map[int]struct{}, k)
	for j := n - k; j < n; j++ {
		t := rand.IntN(j + 1)
		if _, dup := chosen[t]; dup {
			t = j
		}
		chosen[t] = struct{}{}
	}
	out := make([]int, 0, k)
	for i := range chosen {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// randSampleShuffled returns k distinct random indices below n (k < n), in
// random order.
func randSampleShuffled(n, k int) []int {
	out := make([]int, 0, k)
	if k*3 > n {
		perm := make([]int, n)
		for i := range perm {
			perm[i] = i
		}
		for i := 0; i < k; i++ {
			j := i + rand.IntN(n-i)
			perm[i], perm[j] = perm[j], perm[i]
			out = append(out, perm[i])
		}
		return out
	}
	picked := make(map[int]struct{}, k)
	for len(out) < k {
		i := rand.IntN(n)
		if _, dup := picked[i]; dup {
			continue
		}
		picked[i] = struct{}{}
		out = append(out, i)
	}
	return out
}
