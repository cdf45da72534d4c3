// Package hashring maps keys to shard names. It is the "which shard owns this
// key" step of every frontend: the frontend builds a [Ring] from the shard set
// that gossip announced, stores it in an atomic.Pointer, and calls
// [Ring.Lookup] for every key of every request.
//
// Two algorithms are available, chosen by [Config.Algorithm] (config section
// "hashring"):
//
//   - "maglev" (the default): Maglev hashing (Eisenbud et al., NSDI 2016,
//     §3.4) with a prime lookup table of [Config.TableSize] entries (default
//     65537). Shards own ⌊M/N⌋ or ⌈M/N⌉ table entries each (exact balance);
//     removing one of N shards moves slightly more than 1/N of the keys
//     (10.2 % instead of 10 % at N = 10). Lookup is one hash and one array
//     index.
//   - "ringhash": ketama-style consistent hashing with [Config.VirtualNodes]
//     points per unit of weight on a 64-bit circle (default 1000). Only the
//     keys of an added or removed shard move, but balance is statistical
//     (shares within 0.93–1.12× of the mean at N = 3..100 with the default;
//     the tests assert ±15 %).
//
// # Usage
//
//	ring, err := hashring.NewFromNames(hashring.DefaultConfig(), []string{"shard-a", "shard-b", "shard-c"})
//	if err != nil { ... }
//	owner := ring.Lookup([]byte("{user:1}:cart")) // same owner as "{user:1}:profile"
//
// When the shard set changes, build a new Ring and swap it in; a Ring is
// never modified after [New] returns.
//
// # Concurrency and ownership
//
// A Ring is immutable: every method is safe for concurrent use by any number
// of goroutines without locks. Lookup does not allocate and does not retain
// or modify the key. [New] copies what it needs from its arguments.
//
// # Wire contract
//
// Every frontend with the same shard set and the same Config must route every
// key to the same shard, so the following is fixed; changing any of it
// changes routing and shows up as a diff in testdata/golden_*.txt.
//
//  1. Hash tag, as Redis Cluster defines it ([HashTag]): if the key contains
//     '{', and a '}' follows the first '{', and at least one byte lies
//     between them, only those bytes are hashed; otherwise the whole key is.
//  2. Key hash ([KeyHash]): XXH64 with seed 0 of the hash-tag bytes
//     (github.com/cespare/xxhash/v2 Sum64).
//  3. Shard order: shards are sorted by name, bytewise; shard i is the i-th
//     name in that order. Input order never matters.
//  4. Maglev, table size M (prime): shard i has offset = XXH64(name, seed 0)
//     mod M and skip = XXH64(name, seed 1) mod (M−1) + 1 (as Envoy does);
//     its preference list is (offset + j·skip) mod M for j = 0, 1, 2, ....
//     The table is filled in turns: on its turn a shard claims the first
//     still-empty slot of its preference list. Without weights (or with all
//     weights equal) shards take turns in index order, round after round,
//     until all M slots are filled. With weights, the turn order is the
//     integer form of Envoy's: every shard has a target starting at 0; in
//     round t = 1, 2, 3, ... shards are visited in index order and shard i
//     takes a turn if t·w_i ≥ target_i, after which target_i += max_j w_j.
//     So every shard takes a turn in round 1 and then about every
//     max_w/w_i rounds. The owner of a key is table[KeyHash(key) mod M].
//  5. Ring hash, V virtual nodes: shard i places V·w_i points; point j
//     (j = 0 .. V·w_i−1) is at XXH64(name + "#" + decimal(j), seed 0). Points
//     are sorted by (position, shard index). The owner of a key is the shard
//     of the first point at a position ≥ KeyHash(key), wrapping around to the
//     first point.
//
// Shard weights ([Shard.Weight], 0 meaning 1) are part of the shard set: two
// frontends must also agree on them.
package hashring
