package hashring

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

var update = flag.Bool("update", false, "rewrite hashring/testdata/golden_*.txt from the current code")

// goldenShards is the fixed shard set of the golden files.
var goldenShards = []string{"shard-a", "shard-b", "shard-c", "shard-d", "shard-e"}

// goldenKeys returns 1000 deterministic keys of assorted shapes, a quarter of
// them with hash tags (some shared, some degenerate), none containing spaces.
func goldenKeys() []string {
	keys := make([]string, 0, 1000)
	for i := range 125 {
		keys = append(keys,
			fmt.Sprintf("key:%d", i),
			fmt.Sprintf("user:%d:profile", i*7919),
			fmt.Sprintf("{user%d}:cart", i),   // tag "user<i>"
			fmt.Sprintf("{user%d}:orders", i), // same tag as the line before
			fmt.Sprintf("foo{}{bar%d}", i),    // empty first tag: whole key
			fmt.Sprintf("{{tag%d}}x", i),      // tag "{tag<i>"
			fmt.Sprintf("a%d}b{", i),          // no tag: whole key
			fmt.Sprintf("session:%08x", uint32(i)*2654435761),
		)
	}
	return keys
}

// goldenText renders the owner of every golden key, plus a digest of the
// whole table, so any change of hashing or table building is a visible diff.
func goldenText(t *testing.T, cfg Config) []byte {
	r := mustNewNames(t, cfg, goldenShards)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# hashring golden file: go test ./hashring -run Golden -update rewrites it.\n")
	fmt.Fprintf(&b, "# A diff here means routing changed: frontends of different versions would disagree.\n")
	fmt.Fprintf(&b, "# algorithm %s, shards %s\n", cfg.Algorithm, strings.Join(goldenShards, " "))
	switch r := r.(type) {
	case *maglev:
		d := xxhash.New()
		_ = binary.Write(d, binary.LittleEndian, r.table)
		fmt.Fprintf(&b, "# table size %d, XXH64 of the table (uint16 LE) %016x\n", r.m, d.Sum64())
	case *ringHash:
		d := xxhash.New()
		_ = binary.Write(d, binary.LittleEndian, r.points)
		_ = binary.Write(d, binary.LittleEndian, r.owners)
		fmt.Fprintf(&b, "# virtual nodes %d, %d points, XXH64 of points and owners (LE) %016x\n",
			cfg.VirtualNodes, len(r.points), d.Sum64())
	}
	fmt.Fprintf(&b, "# key KeyHash owner\n")
	for _, k := range goldenKeys() {
		fmt.Fprintf(&b, "%s %016x %s\n", k, KeyHash([]byte(k)), r.Lookup([]byte(k)))
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	bothAlgorithms(t, func(t *testing.T, cfg Config) {
		path := filepath.Join("testdata", "golden_"+cfg.Algorithm+".txt")
		got := goldenText(t, cfg)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("rewrote %s", path)
			return
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./hashring -run Golden -update to create it)", err)
		}
		if bytes.Equal(got, want) {
			return
		}
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		diffs := 0
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				if diffs < 10 {
					t.Errorf("%s line %d:\n  got  %q\n  want %q", path, i+1, g, w)
				}
				diffs++
			}
		}
		t.Fatalf("%s: %d lines differ: routing changed (if intended, rerun with -update and say so in the commit)", path, diffs)
	})
}

// TestGoldenKeysColocate checks the golden key list itself: the two keys that
// share a tag land together, so the golden files pin hash-tag routing too.
func TestGoldenKeysColocate(t *testing.T) {
	bothAlgorithms(t, func(t *testing.T, cfg Config) {
		r := mustNewNames(t, cfg, goldenShards)
		keys := goldenKeys()
		seen := map[string]bool{}
		for i := 0; i+3 < len(keys); i += 8 {
			a, b := keys[i+2], keys[i+3]
			if r.Lookup([]byte(a)) != r.Lookup([]byte(b)) {
				t.Errorf("%q and %q share a tag but route to %s and %s", a, b, r.Lookup([]byte(a)), r.Lookup([]byte(b)))
			}
			seen[r.Lookup([]byte(a))] = true
		}
		if len(seen) != len(goldenShards) {
			t.Errorf("tagged golden keys reach only %d of %d shards", len(seen), len(goldenShards))
		}
	})
}
