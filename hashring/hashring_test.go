package hashring

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cespare/xxhash/v2"
)

var seedFlag = flag.Uint64("hashring.seed", 20240601, "seed for the random tests of package hashring")

// testRNG returns a PCG generator seeded from -hashring.seed and logs the
// seed, so a failure can be replayed.
func testRNG(t testing.TB) *rand.Rand {
	t.Helper()
	t.Logf("seed %d (rerun with -hashring.seed=%d)", *seedFlag, *seedFlag)
	return rand.New(rand.NewPCG(*seedFlag, 0x9e3779b97f4a7c15))
}

// testNames returns shard-000 .. shard-(n-1).
func testNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("shard-%03d", i)
	}
	return names
}

func mustNew(t testing.TB, cfg Config, shards []Shard) ringImpl {
	t.Helper()
	r, err := New(cfg, shards)
	if err != nil {
		t.Fatalf("New(%+v, %d shards): %v", cfg, len(shards), err)
	}
	return r.(ringImpl)
}

func mustNewNames(t testing.TB, cfg Config, names []string) ringImpl {
	t.Helper()
	r, err := NewFromNames(cfg, names)
	if err != nil {
		t.Fatalf("NewFromNames(%+v, %d names): %v", cfg, len(names), err)
	}
	return r.(ringImpl)
}

func ringHashConfig() Config {
	c := DefaultConfig()
	c.Algorithm = AlgorithmRingHash
	return c
}

// bothAlgorithms runs f for the default config of each algorithm.
func bothAlgorithms(t *testing.T, f func(t *testing.T, cfg Config)) {
	for _, cfg := range []Config{DefaultConfig(), ringHashConfig()} {
		t.Run(cfg.Algorithm, func(t *testing.T) { f(t, cfg) })
	}
}

func TestHashTag(t *testing.T) {
	cases := []struct{ key, want string }{
		// The examples of the Redis Cluster specification.
		{"{user1000}.following", "user1000"},
		{"{user1000}.followers", "user1000"},
		{"foo{}{bar}", "foo{}{bar}"},
		{"foo{{bar}}zap", "{bar"},
		{"foo{bar}{zap}", "bar"},
		// Edges.
		{"", ""},
		{"plain", "plain"},
		{"{}", "{}"},
		{"{", "{"},
		{"}", "}"},
		{"}{", "}{"},
		{"}{x}", "x"},
		{"{x", "{x"},
		{"x}", "x}"},
		{"{a}", "a"},
		{"pre{a}post", "a"},
		{"{a}{b}", "a"},
		{"{{}}", "{"},
		{"{}}", "{}}"},
		{"a{b{c}d}", "b{c"},
	}
	for _, c := range cases {
		got := HashTag([]byte(c.key))
		if string(got) != c.want {
			t.Errorf("HashTag(%q) = %q, want %q", c.key, got, c.want)
		}
	}
}

func TestKeyHash(t *testing.T) {
	// Pinned values: a change here changes routing on the wire.
	pinned := []struct {
		key  string
		want uint64
	}{
		{"", 0xef46db3751d8e999},    // XXH64("", 0)
		{"foo", 0x33bf00a859c4ba3f}, // XXH64("foo", 0)
		{"{foo}:bar", 0x33bf00a859c4ba3f},
	}
	for _, p := range pinned {
		if got := KeyHash([]byte(p.key)); got != p.want {
			t.Errorf("KeyHash(%q) = %#x, want %#x", p.key, got, p.want)
		}
	}
	if KeyHash([]byte("{user1}:a")) != KeyHash([]byte("{user1}:b")) {
		t.Error("keys with the same hash tag hash differently")
	}
	if got, want := hashSeeded("shard-a", 0), xxhash.Sum64String("shard-a"); got != want {
		t.Errorf("hashSeeded(seed 0) = %#x, want Sum64String %#x", got, want)
	}
	if hashSeeded("shard-a", 0) == hashSeeded("shard-a", 1) {
		t.Error("seed 1 gives the same hash as seed 0")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	cases := []struct {
		name  string
		cfg   Config
		field string // "" = valid
	}{
		{"default ringhash", ringHashConfig(), ""},
		{"maglev without vnodes", Config{Algorithm: AlgorithmMaglev, TableSize: 65537}, ""},
		{"ringhash without table", Config{Algorithm: AlgorithmRingHash, VirtualNodes: 160}, ""},
		{"small prime", Config{Algorithm: AlgorithmMaglev, TableSize: 2}, ""},
		{"max table", Config{Algorithm: AlgorithmMaglev, TableSize: MaxTableSize}, ""},
		{"empty algorithm", Config{TableSize: 65537}, "Algorithm"},
		{"unknown algorithm", Config{Algorithm: "jump", TableSize: 65537}, "Algorithm"},
		{"algorithm case", Config{Algorithm: "Maglev", TableSize: 65537}, "Algorithm"},
		{"zero table", Config{Algorithm: AlgorithmMaglev}, "TableSize"},
		{"table 1", Config{Algorithm: AlgorithmMaglev, TableSize: 1}, "TableSize"},
		{"table not prime", Config{Algorithm: AlgorithmMaglev, TableSize: 65536}, "TableSize"},
		{"table square of prime", Config{Algorithm: AlgorithmMaglev, TableSize: 65537 * 65537}, "TableSize"},
		{"table over max", Config{Algorithm: AlgorithmMaglev, TableSize: 5000101}, "TableSize"}, // prime, too big
		{"bad unused table", Config{Algorithm: AlgorithmRingHash, VirtualNodes: 10, TableSize: 100}, "TableSize"},
		{"zero vnodes", Config{Algorithm: AlgorithmRingHash}, "VirtualNodes"},
		{"negative vnodes", Config{Algorithm: AlgorithmRingHash, VirtualNodes: -1}, "VirtualNodes"},
		{"huge vnodes", Config{Algorithm: AlgorithmRingHash, VirtualNodes: MaxRingPoints + 1}, "VirtualNodes"},
		{"bad unused vnodes", Config{Algorithm: AlgorithmMaglev, TableSize: 65537, VirtualNodes: -5}, "VirtualNodes"},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: Validate() = %v, want nil", c.name, err)
			}
			continue
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != c.field || !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: Validate() = %v, want a ConfigError for field %s", c.name, err, c.field)
			continue
		}
		t.Logf("%s: %v", c.name, err)
		if _, err := New(c.cfg, []Shard{{Name: "a"}}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: New = %v, want ErrInvalidConfig", c.name, err)
		}
	}
}

func TestIsPrime(t *testing.T) {
	// Compare with a sieve up to 200000 and check the documented sizes.
	const limit = 200000
	composite := make([]bool, limit)
	for i := 2; i < limit; i++ {
		if !composite[i] {
			for j := i * i; j < limit; j += i {
				composite[j] = true
			}
		}
		if isPrime(uint64(i)) == composite[i] {
			t.Fatalf("isPrime(%d) = %v", i, isPrime(uint64(i)))
		}
	}
	for _, p := range []uint64{65537, 655373, 5000011} {
		if !isPrime(p) {
			t.Errorf("isPrime(%d) = false", p)
		}
	}
	if isPrime(0) || isPrime(1) || isPrime(5000013) { // 5000013 = 3 × 1666671
		t.Error("isPrime accepted 0, 1 or 5000013")
	}
}

func TestNewRejects(t *testing.T) {
	small := DefaultConfig()
	small.TableSize = 3
	tinyRing := Config{Algorithm: AlgorithmRingHash, VirtualNodes: MaxRingPoints / 2}
	cases := []struct {
		name   string
		cfg    Config
		shards []Shard
		want   error
	}{
		{"nil", DefaultConfig(), nil, ErrNoShards},
		{"empty name", DefaultConfig(), []Shard{{Name: "a"}, {Name: ""}}, ErrEmptyName},
		{"duplicate", DefaultConfig(), []Shard{{Name: "b"}, {Name: "a"}, {Name: "b", Weight: 2}}, ErrDuplicateName},
		{"duplicate ringhash", ringHashConfig(), []Shard{{Name: "a"}, {Name: "a"}}, ErrDuplicateName},
		{"table too small", small, []Shard{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}}, ErrTableTooSmall},
		{"too many points", tinyRing, []Shard{{Name: "a"}, {Name: "b", Weight: 2}}, ErrTooManyPoints},
		{"huge weight", ringHashConfig(), []Shard{{Name: "a", Weight: 1 << 31}}, ErrTooManyPoints},
		{"too many shards", DefaultConfig(), make([]Shard, MaxShards+1), ErrTooManyShards},
	}
	for _, c := range cases {
		r, err := New(c.cfg, c.shards)
		if !errors.Is(err, c.want) || r != nil {
			t.Errorf("%s: New = (%v, %v), want error %v", c.name, r, err, c.want)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
	// The limits themselves are accepted.
	if _, err := New(small, []Shard{{Name: "a"}, {Name: "b"}, {Name: "c"}}); err != nil {
		t.Errorf("3 shards in a table of 3: %v", err)
	}
	// (Building 8M points takes seconds, so check the limit without building.)
	if err := checkRingPoints(MaxRingPoints/2, []Shard{{Name: "a", Weight: 1}, {Name: "b", Weight: 1}}); err != nil {
		t.Errorf("exactly MaxRingPoints points: %v", err)
	}
	if err := checkRingPoints(MaxRingPoints/2, []Shard{{Name: "a", Weight: 1}, {Name: "b", Weight: 1}, {Name: "c", Weight: 1}}); !errors.Is(err, ErrTooManyPoints) {
		t.Errorf("1.5 × MaxRingPoints points: %v, want ErrTooManyPoints", err)
	}
}

func TestSingleShard(t *testing.T) {
	bothAlgorithms(t, func(t *testing.T, cfg Config) {
		r := mustNewNames(t, cfg, []string{"only"})
		for _, k := range []string{"", "a", "{x}y", "zzzzzzzzzzzzzzzzzzzzzzzzzz"} {
			if got := r.Lookup([]byte(k)); got != "only" {
				t.Errorf("Lookup(%q) = %q", k, got)
			}
		}
	})
}

func TestShardsSortedCopy(t *testing.T) {
	bothAlgorithms(t, func(t *testing.T, cfg Config) {
		r := mustNewNames(t, cfg, []string{"c", "a", "B", "b"})
		got := r.Shards()
		want := []string{"B", "a", "b", "c"}
		if !slices.Equal(got, want) {
			t.Fatalf("Shards() = %q, want %q", got, want)
		}
		got[0] = "mutated"
		if r.Shards()[0] != "B" {
			t.Fatal("modifying the result of Shards changed the ring")
		}
	})
}

// TestBuildOrderIndependent builds the same set from shuffled inputs and
// requires identical tables, with and without weights.
func TestBuildOrderIndependent(t *testing.T) {
	rng := testRNG(t)
	for _, n := range []int{2, 5, 37} {
		base := make([]Shard, n)
		for i, name := range testNames(n) {
			base[i] = Shard{Name: name, Weight: uint32(1 + rng.IntN(4))}
		}
		for _, weighted := range []bool{false, true} {
			shards := slices.Clone(base)
			if !weighted {
				for i := range shards {
					shards[i].Weight = 0
				}
			}
			cfgs := []Config{DefaultConfig(), ringHashConfig(), {Algorithm: AlgorithmMaglev, TableSize: 1009}}
			for _, cfg := range cfgs {
				ref := mustNew(t, cfg, shards)
				for range 5 {
					shuffled := slices.Clone(shards)
					rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
					got := mustNew(t, cfg, shuffled)
					if !sameRing(ref, got) {
						t.Fatalf("n=%d weighted=%v %s M=%d: shuffled input %q built a different ring",
							n, weighted, cfg.Algorithm, cfg.TableSize, namesOf(shuffled))
					}
				}
			}
		}
	}
}

func namesOf(shards []Shard) []string {
	names := make([]string, len(shards))
	for i, s := range shards {
		names[i] = s.Name
	}
	return names
}

// sameRing compares the internal tables of two rings of the same algorithm.
func sameRing(a, b ringImpl) bool {
	if !slices.Equal(a.sortedNames(), b.sortedNames()) {
		return false
	}
	switch a := a.(type) {
	case *maglev:
		b, ok := b.(*maglev)
		return ok && a.m == b.m && slices.Equal(a.table, b.table)
	case *ringHash:
		b, ok := b.(*ringHash)
		return ok && slices.Equal(a.points, b.points) && slices.Equal(a.owners, b.owners) &&
			slices.Equal(a.start, b.start) && a.shift == b.shift
	}
	return false
}

func TestMaglevTableFilled(t *testing.T) {
	for _, m := range []uint64{2, 3, 7, 1009, 65537} {
		for _, n := range []int{1, 2, 3, 7, 100} {
			if uint64(n) > m {
				continue
			}
			cfg := Config{Algorithm: AlgorithmMaglev, TableSize: m}
			r := mustNewNames(t, cfg, testNames(n)).(*maglev)
			counts := r.entryCounts()
			lo, hi := int(m)/n, (int(m)+n-1)/n
			for i, c := range counts {
				if c < lo || c > hi {
					t.Errorf("M=%d N=%d: shard %d owns %d entries, want %d..%d", m, n, i, c, lo, hi)
				}
			}
			if slices.Contains(r.table, emptySlot) {
				t.Errorf("M=%d N=%d: table has an empty slot", m, n)
			}
		}
	}
}

// envoyScanTable is the weighted Maglev build written as Envoy's
// round-by-round scan (integer form): the reference for the heap version.
func envoyScanTable(m uint64, shards []Shard) []uint16 {
	table := make([]uint16, m)
	for i := range table {
		table[i] = emptySlot
	}
	var maxW uint64
	for _, s := range shards {
		maxW = max(maxW, uint64(s.Weight))
	}
	offset := make([]uint64, len(shards))
	skip := make([]uint64, len(shards))
	next := make([]uint64, len(shards))
	target := make([]uint64, len(shards))
	for i, s := range shards {
		offset[i] = xxhash.Sum64String(s.Name) % m
		skip[i] = hashSeeded(s.Name, 1)%(m-1) + 1
	}
	filled := uint64(0)
	for round := uint64(1); filled < m; round++ {
		for i := 0; i < len(shards) && filled < m; i++ {
			if round*uint64(shards[i].Weight) < target[i] {
				continue
			}
			target[i] += maxW
			c := (offset[i] + next[i]*skip[i]) % m
			for table[c] != emptySlot {
				next[i]++
				c = (offset[i] + next[i]*skip[i]) % m
			}
			table[c] = uint16(i)
			next[i]++
			filled++
		}
	}
	return table
}

func TestMaglevWeightedMatchesEnvoyScan(t *testing.T) {
	rng := testRNG(t)
	for trial := range 30 {
		n := 1 + rng.IntN(12)
		m := []uint64{7, 101, 1009, 65537}[rng.IntN(4)]
		if uint64(n) > m {
			n = int(m)
		}
		shards := make([]Shard, n)
		for i, name := range testNames(n) {
			shards[i] = Shard{Name: name, Weight: uint32(1 + rng.IntN(10))}
		}
		if trial%5 == 0 {
			shards[0].Weight = 1000 // very unequal weights
		}
		want := envoyScanTable(m, shards)
		if got := buildMaglevTable(m, shards, true); !slices.Equal(got, want) {
			t.Fatalf("trial %d (M=%d, shards %+v): heap build differs from the round-by-round scan", trial, m, shards)
		}
		for i := range shards {
			shards[i].Weight = 3
		}
		want = envoyScanTable(m, shards)
		if got := buildMaglevTable(m, shards, true); !slices.Equal(got, want) {
			t.Fatalf("trial %d: equal weights: heap build differs from the scan", trial)
		}
		if got := buildMaglevTable(m, shards, false); !slices.Equal(got, want) {
			t.Fatalf("trial %d: equal weights: round-robin build differs from the scan", trial)
		}
	}
}

// TestRingHashBucketIndex checks the bucketed search against sort.Search on
// random hashes and on every point position and its neighbours.
func TestRingHashBucketIndex(t *testing.T) {
	rng := testRNG(t)
	for _, tc := range []struct{ n, vnodes int }{{1, 1}, {1, 2}, {2, 1}, {3, 5}, {5, 160}, {10, 1000}} {
		r := mustNewNames(t, Config{Algorithm: AlgorithmRingHash, VirtualNodes: tc.vnodes}, testNames(tc.n)).(*ringHash)
		ref := func(h uint64) int {
			k := sort.Search(len(r.points), func(i int) bool { return r.points[i] >= h })
			if k == len(r.points) {
				k = 0
			}
			return int(r.owners[k])
		}
		check := func(h uint64) {
			if got, want := r.ownerIndex(h), ref(h); got != want {
				t.Fatalf("n=%d vnodes=%d: ownerIndex(%#x) = %d, want %d", tc.n, tc.vnodes, h, got, want)
			}
		}
		for _, h := range []uint64{0, 1, ^uint64(0), ^uint64(0) - 1, 1 << 63} {
			check(h)
		}
		for _, p := range r.points {
			check(p)
			check(p + 1)
			check(p - 1)
		}
		for range 20000 {
			check(rng.Uint64())
		}
	}
}

func TestLookupAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation may allocate")
	}
	bothAlgorithms(t, func(t *testing.T, cfg Config) {
		r := mustNewNames(t, cfg, testNames(10))
		key := []byte("{user:42}:profile")
		var sink string
		if a := testing.AllocsPerRun(1000, func() { sink = r.Lookup(key) }); a != 0 {
			t.Errorf("Lookup allocates %.1f times per call", a)
		}
		_ = sink
	})
}

func TestHashTagColocates(t *testing.T) {
	bothAlgorithms(t, func(t *testing.T, cfg Config) {
		r := mustNewNames(t, cfg, testNames(10))
		for i := range 1000 {
			tag := fmt.Sprintf("user:%d", i)
			a := r.Lookup(fmt.Appendf(nil, "{%s}:profile", tag))
			b := r.Lookup(fmt.Appendf(nil, "cart{%s}", tag))
			c := r.Lookup([]byte(tag))
			if a != b || a != c {
				t.Fatalf("tag %q: owners %q, %q, %q differ", tag, a, b, c)
			}
		}
	})
}

// TestConcurrentLookupAndSwap uses a Ring the way the frontend does: many
// readers look up through an atomic.Pointer while a writer swaps in rings
// built from changing shard sets. Run with -race.
func TestConcurrentLookupAndSwap(t *testing.T) {
	bothAlgorithms(t, func(t *testing.T, cfg Config) {
		var current atomic.Pointer[Ring]
		first := Ring(mustNewNames(t, cfg, testNames(3)))
		current.Store(&first)
		var stop atomic.Bool
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for g := range 4 {
			wg.Go(func() {
				key := fmt.Appendf(nil, "key-%d-", g)
				base := len(key)
				for i := 0; !stop.Load(); i++ {
					key = fmt.Appendf(key[:base], "%d", i)
					r := *current.Load()
					owner := r.Lookup(key)
					if _, found := slices.BinarySearch(r.(ringImpl).sortedNames(), owner); !found {
						errs <- fmt.Errorf("Lookup(%q) = %q, not in %q", key, owner, r.Shards())
						return
					}
				}
			})
		}
		for n := 4; n <= 12; n++ {
			next := Ring(mustNewNames(t, cfg, testNames(n)))
			current.Store(&next)
		}
		stop.Store(true)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

func FuzzHashTag(f *testing.F) {
	for _, s := range []string{"", "{", "}", "{}", "{a}", "foo{}{bar}", "foo{{bar}}zap", "foo{bar}{zap}", "}{x}", "a{b{c}d}", "\x00{\xff}"} {
		f.Add([]byte(s))
	}
	maglevRing, err := NewFromNames(DefaultConfig(), testNames(5))
	if err != nil {
		f.Fatal(err)
	}
	ring, err := NewFromNames(ringHashConfig(), testNames(5))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, key []byte) {
		orig := bytes.Clone(key)
		tag := HashTag(key)
		// Reference: the Redis Cluster rule written with bytes.Cut.
		want := key
		if _, after, ok := bytes.Cut(key, []byte("{")); ok {
			if inner, _, ok := bytes.Cut(after, []byte("}")); ok && len(inner) > 0 {
				want = inner
			}
		}
		if !bytes.Equal(tag, want) {
			t.Fatalf("HashTag(%q) = %q, want %q", key, tag, want)
		}
		if len(tag) > 0 { // tag must alias key: a sub-slice, not a copy
			start := 0
			if len(tag) != len(key) {
				start = bytes.IndexByte(key, '{') + 1
			}
			if &tag[0] != &key[start] {
				t.Fatalf("HashTag(%q) does not alias its input", key)
			}
		}
		if again := HashTag(tag); !bytes.Equal(again, tag) {
			t.Fatalf("HashTag is not idempotent on %q: %q then %q", key, tag, again)
		}
		for _, r := range []Ring{maglevRing, ring} {
			if r.Lookup(key) != r.Lookup(tag) {
				t.Fatalf("Lookup(%q) != Lookup(HashTag) %q", key, tag)
			}
		}
		if !bytes.Equal(key, orig) {
			t.Fatalf("HashTag or Lookup modified the key")
		}
	})
}
