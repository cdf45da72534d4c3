package hashring

import (
	"encoding/binary"
	"math"
	"slices"
	"sync"
	"testing"
)

// sampleKeyCount is the number of random keys the balance and disruption
// tests route. They share one set of precomputed key hashes.
const sampleKeyCount = 1_000_000

var (
	sampleOnce   sync.Once
	sampleHashes []uint64
)

// sampleKeyHashes returns KeyHash of sampleKeyCount random 16-byte keys drawn
// from the -hashring.seed generator (the seed is logged by every caller).
func sampleKeyHashes(t *testing.T) []uint64 {
	t.Helper()
	rng := testRNG(t)
	sampleOnce.Do(func() {
		sampleHashes = make([]uint64, sampleKeyCount)
		var key [16]byte
		for i := range sampleHashes {
			binary.LittleEndian.PutUint64(key[:8], rng.Uint64())
			binary.LittleEndian.PutUint64(key[8:], rng.Uint64())
			sampleHashes[i] = KeyHash(key[:])
		}
	})
	return sampleHashes
}

// owners routes every hash through r.
func owners(r ringImpl, hashes []uint64) []uint16 {
	out := make([]uint16, len(hashes))
	for i, h := range hashes {
		out[i] = uint16(r.ownerIndex(h))
	}
	return out
}

// keyShares returns each shard's fraction of the sampled keys.
func keyShares(r ringImpl, hashes []uint64) []float64 {
	counts := make([]int, len(r.sortedNames()))
	for _, h := range hashes {
		counts[r.ownerIndex(h)]++
	}
	shares := make([]float64, len(counts))
	for i, c := range counts {
		shares[i] = float64(c) / float64(len(hashes))
	}
	return shares
}

// arcShares returns each shard's exact fraction of the ring-hash circle.
func arcShares(r *ringHash) []float64 {
	shares := make([]float64, len(r.names))
	prev := r.points[len(r.points)-1] // the arc that wraps ends at points[0]
	for k, p := range r.points {
		shares[r.owners[k]] += float64(p-prev) / math.Exp2(64)
		prev = p
	}
	if len(r.points) == 1 {
		shares[r.owners[0]] = 1
	}
	return shares
}

// spread returns the min and max of shares divided by the mean 1/n.
func spread(shares []float64) (minRatio, maxRatio float64) {
	mean := 1 / float64(len(shares))
	minRatio, maxRatio = math.Inf(1), 0
	for _, s := range shares {
		minRatio = min(minRatio, s/mean)
		maxRatio = max(maxRatio, s/mean)
	}
	return minRatio, maxRatio
}

// movedFraction returns the fraction of keys whose owner name differs.
func movedFraction(before, after ringImpl, ob, oa []uint16) float64 {
	nb, na := before.sortedNames(), after.sortedNames()
	moved := 0
	for i := range ob {
		if nb[ob[i]] != na[oa[i]] {
			moved++
		}
	}
	return float64(moved) / float64(len(ob))
}

var balanceSizes = []int{3, 10, 100}

// TestMaglevBalance: with the default table, each of N shards owns 1/N of
// the sampled keys within one percentage point of the key space, and the
// table entry counts differ by at most 1 % (relative).
func TestMaglevBalance(t *testing.T) {
	hashes := sampleKeyHashes(t)
	for _, n := range balanceSizes {
		r := mustNewNames(t, DefaultConfig(), testNames(n)).(*maglev)
		shares := keyShares(r, hashes)
		maxDev := 0.0
		for i, s := range shares {
			dev := math.Abs(s - 1/float64(n))
			maxDev = max(maxDev, dev)
			if dev > 0.01 {
				t.Errorf("N=%d: shard %s owns %.4f of keys, want %.4f ± 0.01", n, r.names[i], s, 1/float64(n))
			}
		}
		counts := r.entryCounts()
		lo, hi := counts[0], counts[0]
		for _, c := range counts {
			lo, hi = min(lo, c), max(hi, c)
		}
		relSpread := float64(hi-lo) / float64(lo)
		if relSpread > 0.01 {
			t.Errorf("N=%d: table entries per shard %d..%d differ by %.3f %%, want ≤ 1 %%", n, lo, hi, 100*relSpread)
		}
		minR, maxR := spread(shares)
		t.Logf("maglev N=%d M=%d: max |share − 1/N| = %.3f pp (keys min/max of mean %.4f/%.4f); table entries %d..%d (spread %.3f %%)",
			n, r.m, 100*maxDev, minR, maxR, lo, hi, 100*relSpread)
	}
}

// ringHashBalanceBound is the documented ring-hash balance at the default
// virtual-node count for N ≤ 100: every shard's exact share of the circle is
// within ±15 % of the mean (measured: 0.93–1.11 at N = 100).
const ringHashBalanceBound = 0.15

// TestRingHashBalance measures ring hash at its default virtual-node count:
// exact circle shares and sampled key shares.
func TestRingHashBalance(t *testing.T) {
	hashes := sampleKeyHashes(t)
	for _, n := range balanceSizes {
		r := mustNewNames(t, ringHashConfig(), testNames(n)).(*ringHash)
		arcMin, arcMax := spread(arcShares(r))
		keyMin, keyMax := spread(keyShares(r, hashes))
		t.Logf("ringhash N=%d vnodes=%d: circle share min/max of mean %.4f/%.4f; sampled keys %.4f/%.4f",
			n, DefaultVirtualNodes, arcMin, arcMax, keyMin, keyMax)
		if arcMin < 1-ringHashBalanceBound || arcMax > 1+ringHashBalanceBound {
			t.Errorf("N=%d: circle shares %.4f..%.4f of the mean, want within ±%.0f %%", n, arcMin, arcMax, 100*ringHashBalanceBound)
		}
		// Sampled shares follow the circle up to sampling noise (at most
		// ~4 standard deviations of a binomial count at N = 100).
		tol := 4 * math.Sqrt(float64(n)/float64(len(hashes)))
		if keyMin < arcMin-tol || keyMax > arcMax+tol {
			t.Errorf("N=%d: sampled shares %.4f..%.4f stray from circle shares %.4f..%.4f by more than %.4f",
				n, keyMin, keyMax, arcMin, arcMax, tol)
		}
	}
}

// TestMaglevDisruption: adding or removing one of N shards moves at most
// 1/N + 1 % of the keys (sampled keys for one change, exact table fraction
// for removing each shard in turn).
func TestMaglevDisruption(t *testing.T) {
	hashes := sampleKeyHashes(t)
	rng := testRNG(t)
	for _, n := range balanceSizes {
		names := testNames(n)
		before := mustNewNames(t, DefaultConfig(), names).(*maglev)
		ob := owners(before, hashes)

		// Remove one shard chosen by the seed; route the sampled keys.
		gone := rng.IntN(n)
		rest := append(append([]string(nil), names[:gone]...), names[gone+1:]...)
		if len(rest) > 0 {
			after := mustNewNames(t, DefaultConfig(), rest).(*maglev)
			moved := movedFraction(before, after, ob, owners(after, hashes))
			limit := 1/float64(n) + 0.01
			t.Logf("maglev N=%d remove %s: moved %.4f of keys (ideal %.4f, limit %.4f)", n, names[gone], moved, 1/float64(n), limit)
			if moved > limit {
				t.Errorf("N=%d: removing %s moved %.4f of keys, limit %.4f", n, names[gone], moved, limit)
			}
		}

		// Add one shard.
		added := mustNewNames(t, DefaultConfig(), append(names[:n:n], "shard-new")).(*maglev)
		moved := movedFraction(before, added, ob, owners(added, hashes))
		limit := 1/float64(n+1) + 0.01
		t.Logf("maglev N=%d add shard-new: moved %.4f of keys (ideal %.4f, limit %.4f)", n, moved, 1/float64(n+1), limit)
		if moved > limit {
			t.Errorf("N=%d: adding a shard moved %.4f of keys, limit %.4f", n, moved, limit)
		}

		// Exact: remove every shard in turn and compare the tables.
		if n == 1 {
			continue
		}
		worst, worstName := 0.0, ""
		for g := range n {
			rest := append(append([]string(nil), names[:g]...), names[g+1:]...)
			after := mustNewNames(t, DefaultConfig(), rest).(*maglev)
			changed := 0
			for slot, idx := range before.table {
				if before.names[idx] != after.names[after.table[slot]] {
					changed++
				}
			}
			if f := float64(changed) / float64(before.m); f > worst {
				worst, worstName = f, names[g]
			}
		}
		t.Logf("maglev N=%d: worst single removal (exact, table entries) moves %.4f (removing %s)", n, worst, worstName)
		if worst > 1/float64(n)+0.01 {
			t.Errorf("N=%d: removing %s changes %.4f of the table, limit %.4f", n, worstName, worst, 1/float64(n)+0.01)
		}
	}
}

// TestRingHashDisruption: ring hash moves only the keys of the removed or
// added shard, so the moved fraction is that shard's share, which the
// balance bound limits to (1 + 15 %)/N.
func TestRingHashDisruption(t *testing.T) {
	hashes := sampleKeyHashes(t)
	rng := testRNG(t)
	for _, n := range balanceSizes {
		names := testNames(n)
		before := mustNewNames(t, ringHashConfig(), names).(*ringHash)
		ob := owners(before, hashes)

		gone := rng.IntN(n)
		rest := append(append([]string(nil), names[:gone]...), names[gone+1:]...)
		after := mustNewNames(t, ringHashConfig(), rest).(*ringHash)
		oa := owners(after, hashes)
		for i := range ob {
			if int(ob[i]) != gone && before.names[ob[i]] != after.names[oa[i]] {
				t.Fatalf("N=%d remove %s: a key of %s moved to %s", n, names[gone], before.names[ob[i]], after.names[oa[i]])
			}
		}
		moved := movedFraction(before, after, ob, oa)
		share := arcShares(before)[gone]
		limit := (1 + ringHashBalanceBound) / float64(n)
		t.Logf("ringhash N=%d remove %s: moved %.4f of keys (its circle share %.4f, ideal %.4f, limit %.4f)",
			n, names[gone], moved, share, 1/float64(n), limit)
		// Exactly the removed shard's arc moves: the sampled fraction equals
		// its circle share up to sampling noise (4 standard deviations).
		if noise := 4 * math.Sqrt(share/float64(len(hashes))); math.Abs(moved-share) > noise {
			t.Errorf("N=%d: removing %s moved %.4f of keys, its circle share is %.4f (± %.4f)", n, names[gone], moved, share, noise)
		}
		if share > limit {
			t.Errorf("N=%d: removing %s moves its circle share %.4f, limit %.4f", n, names[gone], share, limit)
		}

		added := mustNewNames(t, ringHashConfig(), append(names[:n:n], "shard-new")).(*ringHash)
		oa = owners(added, hashes)
		for i := range ob {
			if got := added.names[oa[i]]; got != "shard-new" && got != before.names[ob[i]] {
				t.Fatalf("N=%d add: a key of %s moved to %s", n, before.names[ob[i]], got)
			}
		}
		moved = movedFraction(before, added, ob, oa)
		share = arcShares(added)[slices.Index(added.names, "shard-new")]
		limit = (1 + ringHashBalanceBound) / float64(n+1)
		t.Logf("ringhash N=%d add shard-new: moved %.4f of keys (its circle share %.4f, ideal %.4f, limit %.4f)",
			n, moved, share, 1/float64(n+1), limit)
		if noise := 4 * math.Sqrt(share/float64(len(hashes))); math.Abs(moved-share) > noise {
			t.Errorf("N=%d: adding a shard moved %.4f of keys, its circle share is %.4f (± %.4f)", n, moved, share, noise)
		}
		if share > limit {
			t.Errorf("N=%d: the added shard's circle share is %.4f, limit %.4f", n, share, limit)
		}
	}
}

// TestWeights: a shard of weight 2 gets about twice the share of a shard of
// weight 1 (Maglev: from the exact table counts; ring hash: from the circle).
func TestWeights(t *testing.T) {
	hashes := sampleKeyHashes(t)
	cases := []struct {
		cfg       Config
		tolerance float64 // on the ratio heavy share / mean light share
	}{
		{DefaultConfig(), 0.02},
		{ringHashConfig(), 0.15},
	}
	for _, c := range cases {
		for _, heavy := range []uint32{2, 3} {
			shards := []Shard{{Name: "shard-a", Weight: heavy}}
			for _, name := range []string{"shard-b", "shard-c", "shard-d", "shard-e"} {
				shards = append(shards, Shard{Name: name}) // weight 0 = 1
			}
			r := mustNew(t, c.cfg, shards)
			var shares []float64
			if m, ok := r.(*maglev); ok {
				for _, cnt := range m.entryCounts() {
					shares = append(shares, float64(cnt)/float64(m.m))
				}
			} else {
				shares = arcShares(r.(*ringHash))
			}
			light := 0.0
			for _, s := range shares[1:] {
				light += s
			}
			light /= float64(len(shares) - 1)
			ratio := shares[0] / light
			keys := keyShares(r, hashes)
			t.Logf("%s weight %d vs 1: share %.4f vs %.4f (ratio %.3f); sampled keys %.4f of which the heavy shard",
				c.cfg.Algorithm, heavy, shares[0], light, ratio, keys[0])
			if math.Abs(ratio-float64(heavy)) > c.tolerance*float64(heavy) {
				t.Errorf("%s: weight %d shard has %.3f× the share of weight-1 shards, want %d ± %.0f %%",
					c.cfg.Algorithm, heavy, ratio, heavy, 100*c.tolerance)
			}
			want := float64(heavy) / float64(int(heavy)+len(shards)-1)
			if math.Abs(keys[0]-want) > 0.01+c.tolerance*want {
				t.Errorf("%s: weight %d shard owns %.4f of sampled keys, want about %.4f", c.cfg.Algorithm, heavy, keys[0], want)
			}
		}
	}
}

// TestMaglevTinyWeightStillOwnsEntry: Envoy's rule gives every shard a turn in
// the first round, so even a very light shard owns at least one entry.
func TestMaglevTinyWeightStillOwnsEntry(t *testing.T) {
	shards := []Shard{{Name: "heavy", Weight: math.MaxUint32}, {Name: "light", Weight: 1}}
	r := mustNew(t, Config{Algorithm: AlgorithmMaglev, TableSize: 1009}, shards).(*maglev)
	counts := r.entryCounts()
	if counts[1] != 1 || counts[0] != 1008 {
		t.Fatalf("entry counts %v, want heavy 1008 and light 1", counts)
	}
}
