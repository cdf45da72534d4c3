package hashring

import (
	"cmp"
	"math/bits"
	"slices"
	"strconv"

	"github.com/cespare/xxhash/v2"
)

// ringHash is a ketama-style ring: points[k] is a position on the 64-bit
// circle (sorted ascending) and owners[k] the index in names of the shard
// that placed it. Immutable after newRingHash returns.
//
// To avoid a cache-missing binary search, bucket b of the circle (positions
// whose top bits equal b) starts at point index start[b]; start has one entry
// per bucket plus a final len(points), and there are about as many buckets
// as points, so a lookup scans about one point.
type ringHash struct {
	points []uint64
	owners []uint16
	start  []uint32
	shift  uint // 64 − bucket bits
	names  []string
}

var _ Ring = (*ringHash)(nil)

// newRingHash builds the ring for shards, which must be sorted, valid and
// have normalised weights, with vnodes points per unit of weight (the
// caller has checked the total against MaxRingPoints).
func newRingHash(vnodes int, shards []Shard) *ringHash {
	type point struct {
		pos   uint64
		owner uint16
	}
	total := 0
	for _, s := range shards {
		total += int(s.Weight) * vnodes
	}
	pts := make([]point, 0, total)
	buf := make([]byte, 0, 64)
	for i, s := range shards {
		n := uint64(s.Weight) * uint64(vnodes)
		for j := range n {
			buf = append(buf[:0], s.Name...)
			buf = append(buf, '#')
			buf = strconv.AppendUint(buf, j, 10)
			pts = append(pts, point{pos: xxhash.Sum64(buf), owner: uint16(i)})
		}
	}
	slices.SortFunc(pts, func(a, b point) int {
		if c := cmp.Compare(a.pos, b.pos); c != 0 {
			return c
		}
		return cmp.Compare(a.owner, b.owner)
	})
	r := &ringHash{
		points: make([]uint64, len(pts)),
		owners: make([]uint16, len(pts)),
		names:  shardNames(shards),
	}
	for k, p := range pts {
		r.points[k] = p.pos
		r.owners[k] = p.owner
	}
	bucketBits := uint(bits.Len(uint(len(pts) - 1))) // 2^bucketBits ≥ len(pts)
	r.shift = 64 - bucketBits
	r.start = make([]uint32, 1<<bucketBits+1)
	k := 0
	for b := range r.start {
		for k < len(pts) && pts[k].pos>>r.shift < uint64(b) {
			k++
		}
		r.start[b] = uint32(k)
	}
	return r
}

// Lookup returns the owner of the first point at or after KeyHash(key).
func (r *ringHash) Lookup(key []byte) string {
	return r.names[r.ownerIndex(KeyHash(key))]
}

// Shards returns a sorted copy of the shard names.
func (r *ringHash) Shards() []string { return slices.Clone(r.names) }

// ownerIndex finds the first point with position ≥ h, wrapping past the
// last point to the first. Points before h's bucket are all < h and points
// after it all > h, so only h's bucket is scanned.
func (r *ringHash) ownerIndex(h uint64) int {
	b := h >> r.shift
	k, end := int(r.start[b]), int(r.start[b+1])
	for k < end && r.points[k] < h {
		k++
	}
	if k == len(r.points) {
		k = 0
	}
	return int(r.owners[k])
}

func (r *ringHash) sortedNames() []string { return r.names }
