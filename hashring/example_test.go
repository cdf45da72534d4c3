package hashring_test

import (
	"fmt"
	"sync/atomic"

	"github.com/shoal-kv/shoal/hashring"
)

func Example() {
	// Build a ring from the shard set gossip announced (order does not matter).
	ring, err := hashring.NewFromNames(hashring.DefaultConfig(), []string{"shard-c", "shard-a", "shard-b"})
	if err != nil {
		panic(err)
	}
	// Publish it for lock-free lookups; replace it when the shard set changes.
	var current atomic.Pointer[hashring.Ring]
	current.Store(&ring)

	r := *current.Load()
	fmt.Println(r.Shards())
	for _, key := range []string{"user:1", "user:3", "{user:1}:cart", "{user:3}:cart", "cart{}"} {
		fmt.Printf("%s -> %s (hashes %q)\n", key, r.Lookup([]byte(key)), hashring.HashTag([]byte(key)))
	}

	// Weighted shards, ring hash.
	cfg := hashring.DefaultConfig()
	cfg.Algorithm = hashring.AlgorithmRingHash
	weighted, err := hashring.New(cfg, []hashring.Shard{{Name: "big", Weight: 2}, {Name: "small"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(weighted.Shards(), weighted.Lookup([]byte("user:1")))
	// Output:
	// [shard-a shard-b shard-c]
	// user:1 -> shard-a (hashes "user:1")
	// user:3 -> shard-b (hashes "user:3")
	// {user:1}:cart -> shard-a (hashes "user:1")
	// {user:3}:cart -> shard-b (hashes "user:3")
	// cart{} -> shard-c (hashes "cart{}")
	// [big small] small
}
