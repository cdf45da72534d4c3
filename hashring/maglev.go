package hashring

import "slices"

// emptySlot marks an unfilled Maglev table entry during the build. Shard
// indices are < MaxShards = 0xFFFF, so it never collides with one.
const emptySlot = 0xFFFF

// maglev is a Maglev lookup table: table[KeyHash(key) % m] is the index of
// the owner in names. Immutable after newMaglev returns.
type maglev struct {
	m     uint64
	table []uint16
	names []string
}

var _ Ring = (*maglev)(nil)

// newMaglev builds the table for shards, which must be sorted, valid and
// have normalised weights; m must be a prime ≥ len(shards).
func newMaglev(m uint64, shards []Shard) *maglev {
	weighted := false
	for _, s := range shards[1:] {
		if s.Weight != shards[0].Weight {
			weighted = true
			break
		}
	}
	return &maglev{m: m, table: buildMaglevTable(m, shards, weighted), names: shardNames(shards)}
}

// maglevPerm walks one shard's preference list (offset + j·skip) mod m.
type maglevPerm struct {
	next uint64 // the slot at position j of the list
	skip uint64
}

// buildMaglevTable fills a table of m entries (see the package doc, item 4).
// When weighted is false all shards take a turn every round, which is what
// the weighted rule gives for equal weights, only faster; forcing weighted
// to true must give the same table (a test checks it).
func buildMaglevTable(m uint64, shards []Shard, weighted bool) []uint16 {
	table := make([]uint16, m)
	for i := range table {
		table[i] = emptySlot
	}
	perms := make([]maglevPerm, len(shards))
	for i, s := range shards {
		perms[i] = maglevPerm{
			next: hashSeeded(s.Name, 0) % m,
			skip: hashSeeded(s.Name, 1)%(m-1) + 1,
		}
	}
	// claim gives shard i the first empty slot left on its preference list.
	claim := func(i int) {
		p := &perms[i]
		c := p.next
		for table[c] != emptySlot {
			c += p.skip
			if c >= m {
				c -= m
			}
		}
		table[c] = uint16(i)
		c += p.skip
		if c >= m {
			c -= m
		}
		p.next = c
	}

	filled := uint64(0)
	if !weighted {
		for filled < m {
			for i := range shards {
				claim(i)
				filled++
				if filled == m {
					break
				}
			}
		}
		return table
	}

	// Weighted: shard i takes a turn in round t when t·w_i ≥ target_i, then
	// target_i += maxW. Rather than visit every shard in every round, keep
	// each shard's next round in a heap ordered by (round, index), which
	// yields the turns in exactly the order the round-by-round scan would.
	var maxW uint64
	for _, s := range shards {
		maxW = max(maxW, uint64(s.Weight))
	}
	target := make([]uint64, len(shards))
	turns := make(turnHeap, len(shards))
	for i := range shards {
		turns[i] = turn{round: 1, shard: int32(i)} // target 0: everyone plays round 1
	}
	// Already a valid heap: all rounds equal, indices ascending.
	for filled < m {
		t := turns[0]
		i := int(t.shard)
		claim(i)
		filled++
		w := uint64(shards[i].Weight)
		target[i] += maxW
		next := (target[i] + w - 1) / w // first round with round·w ≥ target
		turns[0].round = max(next, t.round+1)
		turns.fixTop()
	}
	return table
}

// turn is a shard's next round in the weighted Maglev build.
type turn struct {
	round uint64
	shard int32
}

// turnHeap is a binary min-heap of turns ordered by (round, shard).
type turnHeap []turn

func (h turnHeap) less(a, b int) bool {
	if h[a].round != h[b].round {
		return h[a].round < h[b].round
	}
	return h[a].shard < h[b].shard
}

// fixTop restores the heap order after h[0] grew.
func (h turnHeap) fixTop() {
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		c := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			c = r
		}
		if !h.less(c, i) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// Lookup returns the owner of key: names[table[KeyHash(key) % m]].
func (r *maglev) Lookup(key []byte) string {
	return r.names[r.table[KeyHash(key)%r.m]]
}

// Shards returns a sorted copy of the shard names.
func (r *maglev) Shards() []string { return slices.Clone(r.names) }

func (r *maglev) ownerIndex(h uint64) int { return int(r.table[h%r.m]) }

func (r *maglev) sortedNames() []string { return r.names }

// entryCounts returns how many table entries each shard owns, by index.
func (r *maglev) entryCounts() []int {
	counts := make([]int, len(r.names))
	for _, idx := range r.table {
		counts[idx]++
	}
	return counts
}
