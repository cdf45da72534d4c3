package hashring

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Ring maps keys to shard names. Implementations are immutable and safe for
// concurrent use without locks; see the package doc.
type Ring interface {
	// Lookup returns the name of the shard that owns key (after hash-tag
	// extraction). It does not allocate and does not retain key.
	Lookup(key []byte) string
	// Shards returns the shard names, sorted bytewise. The slice is a new
	// copy the caller may keep and modify.
	Shards() []string
}

// Shard is one member of the shard set given to New.
type Shard struct {
	Name string
	// Weight is the shard's relative share of the key space; 0 means 1.
	// Maglev gives it proportionally more turns when filling the table (at
	// least one entry each); ring hash gives it Weight × VirtualNodes points.
	Weight uint32
}

// Errors New returns for a bad shard set (wrapped with the offending name or
// count; match with errors.Is).
var (
	ErrNoShards       = errors.New("hashring: empty shard set")
	ErrEmptyName      = errors.New("hashring: empty shard name")
	ErrDuplicateName  = errors.New("hashring: duplicate shard name")
	ErrTooManyShards  = errors.New("hashring: too many shards")
	ErrTableTooSmall  = errors.New("hashring: table size smaller than the number of shards")
	ErrTooManyPoints  = errors.New("hashring: too many ring points")
	errUnreachableAlg = errors.New("hashring: unknown algorithm")
)

// New builds a Ring of the algorithm cfg selects over shards. The result
// depends only on cfg and the set of (name, weight) pairs, never on their
// order in shards. It rejects an invalid cfg, an empty set, empty or
// duplicate names, more than MaxShards shards, a Maglev table smaller than
// the shard count and a ring over MaxRingPoints points.
func New(cfg Config, shards []Shard) (Ring, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sorted, err := sortShards(shards)
	if err != nil {
		return nil, err
	}
	switch cfg.Algorithm {
	case AlgorithmMaglev:
		if uint64(len(sorted)) > cfg.TableSize {
			return nil, fmt.Errorf("%w: %d shards, TableSize %d", ErrTableTooSmall, len(sorted), cfg.TableSize)
		}
		return newMaglev(cfg.TableSize, sorted), nil
	case AlgorithmRingHash:
		if err := checkRingPoints(cfg.VirtualNodes, sorted); err != nil {
			return nil, err
		}
		return newRingHash(cfg.VirtualNodes, sorted), nil
	}
	return nil, fmt.Errorf("%w: %q", errUnreachableAlg, cfg.Algorithm) // Validate rejects it first
}

// NewFromNames is New with every shard at weight 1.
func NewFromNames(cfg Config, names []string) (Ring, error) {
	shards := make([]Shard, len(names))
	for i, n := range names {
		shards[i] = Shard{Name: n, Weight: 1}
	}
	return New(cfg, shards)
}

// checkRingPoints rejects a ring of more than MaxRingPoints points.
func checkRingPoints(vnodes int, shards []Shard) error {
	var total uint64
	for _, s := range shards {
		total += uint64(s.Weight) * uint64(vnodes)
	}
	if total > MaxRingPoints {
		return fmt.Errorf("%w: %d points (sum of weights × VirtualNodes %d), maximum %d",
			ErrTooManyPoints, total, vnodes, MaxRingPoints)
	}
	return nil
}

// sortShards returns a sorted copy of shards with weights normalised (0 → 1),
// or an error for an empty set, empty names, duplicates or too many shards.
func sortShards(shards []Shard) ([]Shard, error) {
	if len(shards) == 0 {
		return nil, ErrNoShards
	}
	if len(shards) > MaxShards {
		return nil, fmt.Errorf("%w: %d, maximum %d", ErrTooManyShards, len(shards), MaxShards)
	}
	sorted := make([]Shard, len(shards))
	for i, s := range shards {
		if s.Name == "" {
			return nil, fmt.Errorf("%w (position %d)", ErrEmptyName, i)
		}
		if s.Weight == 0 {
			s.Weight = 1
		}
		sorted[i] = s
	}
	slices.SortFunc(sorted, func(a, b Shard) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Name == sorted[i-1].Name {
			return nil, fmt.Errorf("%w: %q", ErrDuplicateName, sorted[i].Name)
		}
	}
	return sorted, nil
}

// HashTag returns the part of key that is hashed, as Redis Cluster defines
// it: the bytes between the first '{' and the first '}' after it, if there is
// at least one; otherwise the whole key. The result aliases key.
func HashTag(key []byte) []byte {
	open := bytes.IndexByte(key, '{')
	if open < 0 {
		return key
	}
	closing := bytes.IndexByte(key[open+1:], '}')
	if closing <= 0 { // no '}' after the '{', or "{}"
		return key
	}
	return key[open+1 : open+1+closing]
}

// KeyHash is the 64-bit hash every Ring routes by: XXH64 (seed 0) of
// HashTag(key). It is part of the wire contract and does not allocate.
func KeyHash(key []byte) uint64 {
	return xxhash.Sum64(HashTag(key))
}

// hashSeeded returns XXH64 of s with the given seed, without allocating.
func hashSeeded(s string, seed uint64) uint64 {
	var d xxhash.Digest
	d.ResetWithSeed(seed)
	_, _ = d.WriteString(s)
	return d.Sum64()
}

// shardNames returns the names of sorted shards, in order.
func shardNames(sorted []Shard) []string {
	names := make([]string, len(sorted))
	for i, s := range sorted {
		names[i] = s.Name
	}
	return names
}

// ringImpl is what both algorithms provide beyond Ring; tests use it to route
// precomputed key hashes.
type ringImpl interface {
	Ring
	ownerIndex(h uint64) int
	sortedNames() []string
}
