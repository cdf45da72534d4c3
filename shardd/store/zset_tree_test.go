package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// zsetTreeCheck verifies the B-tree's invariants: sizes, fill, equal leaf
// depth and strict order.
func zsetTreeCheck(t *testing.T, tr *zsetTree) []zsetItem {
	t.Helper()
	var all []zsetItem
	leafDepth := -1
	var walk func(n *zsetNode, depth int, root bool) int
	walk = func(n *zsetNode, depth int, root bool) int {
		if !root && (len(n.items) < zsetTreeMinItems || len(n.items) > zsetTreeMaxItems) {
			t.Fatalf("node with %d items", len(n.items))
		}
		if root && len(n.items) == 0 {
			t.Fatalf("empty root")
		}
		size := len(n.items)
		if n.children == nil {
			if leafDepth == -1 {
				leafDepth = depth
			} else if leafDepth != depth {
				t.Fatalf("leaves at depths %d and %d", leafDepth, depth)
			}
			all = append(all, n.items...)
		} else {
			if len(n.children) != len(n.items)+1 {
				t.Fatalf("%d items, %d children", len(n.items), len(n.children))
			}
			for i, c := range n.children {
				size += walk(c, depth+1, false)
				if i < len(n.items) {
					all = append(all, n.items[i])
				}
			}
		}
		if size != n.size {
			t.Fatalf("size %d, counted %d", n.size, size)
		}
		return size
	}
	if tr.root != nil {
		walk(tr.root, 0, true)
	}
	for i := 1; i < len(all); i++ {
		if !all[i-1].less(&all[i]) {
			t.Fatalf("out of order at %d: %v %v", i, all[i-1], all[i])
		}
	}
	return all
}

func TestZSetTreeRandom(t *testing.T) {
	seed := testSeed(t, 20240607)
	rng := rand.New(rand.NewPCG(seed, 7))
	var tr zsetTree
	var ref []zsetItem // sorted
	cmpItem := func(a, b zsetItem) int {
		if a.less(&b) {
			return -1
		}
		if b.less(&a) {
			return 1
		}
		return 0
	}
	for step := 0; step < 60000; step++ {
		switch op := rng.IntN(10); {
		case op < 5 || len(ref) < 10:
			it := zsetItem{score: float64(rng.IntN(200)), member: fmt.Sprintf("m%d", rng.IntN(3000))}
			i, found := slices.BinarySearchFunc(ref, it, cmpItem)
			if found {
				continue
			}
			ref = slices.Insert(ref, i, it)
			tr.insert(it)
		case op < 8:
			i := rng.IntN(len(ref))
			it := ref[i]
			got, ok := tr.remove(&zsetItem{score: it.score, member: strings.Clone(it.member)})
			if !ok || got != it {
				t.Fatalf("remove %v: got %v %v", it, got, ok)
			}
			ref = slices.Delete(ref, i, i+1)
		case op == 8:
			if rng.IntN(2) == 0 {
				if got := tr.popMin(); got != ref[0] {
					t.Fatalf("popMin %v want %v", got, ref[0])
				}
				ref = ref[1:]
			} else {
				if got := tr.popMax(); got != ref[len(ref)-1] {
					t.Fatalf("popMax %v want %v", got, ref[len(ref)-1])
				}
				ref = ref[:len(ref)-1]
			}
		default:
			i := rng.IntN(len(ref))
			if got := *tr.at(i); got != ref[i] {
				t.Fatalf("at(%d) = %v want %v", i, got, ref[i])
			}
			if r := tr.rank(&ref[i]); r != i {
				t.Fatalf("rank(%v) = %d want %d", ref[i], r, i)
			}
			limit := float64(rng.IntN(200))
			want := 0
			for want < len(ref) && ref[want].score < limit {
				want++
			}
			if got := tr.countWhile(func(it *zsetItem) bool { return it.score < limit }); got != want {
				t.Fatalf("countWhile(< %v) = %d want %d", limit, got, want)
			}
			var asc []zsetItem
			tr.ascend(i, func(it *zsetItem) bool { asc = append(asc, *it); return len(asc) < 100 })
			if w := ref[i:min(len(ref), i+100)]; !slices.Equal(asc, w) {
				t.Fatalf("ascend(%d) differs", i)
			}
			var desc []zsetItem
			tr.descend(i, func(it *zsetItem) bool { desc = append(desc, *it); return len(desc) < 100 })
			w := slices.Clone(ref[max(0, i-99) : i+1])
			slices.Reverse(w)
			if !slices.Equal(desc, w) {
				t.Fatalf("descend(%d) differs", i)
			}
		}
		if tr.len() != len(ref) {
			t.Fatalf("len %d want %d", tr.len(), len(ref))
		}
		if step%5000 == 0 {
			if all := zsetTreeCheck(t, &tr); !slices.Equal(all, ref) {
				t.Fatalf("contents differ at step %d", step)
			}
			c := tr.clone()
			if all := zsetTreeCheck(t, &c); !slices.Equal(all, ref) {
				t.Fatalf("clone differs at step %d", step)
			}
		}
	}
	for len(ref) > 0 {
		i := rng.IntN(len(ref))
		if _, ok := tr.remove(&ref[i]); !ok {
			t.Fatalf("remove %v failed", ref[i])
		}
		ref = slices.Delete(ref, i, i+1)
	}
	if tr.root != nil || tr.len() != 0 {
		t.Fatalf("tree not empty at the end")
	}
}
