package cluster_test

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoal-kv/shoal/integration/cluster"
)

// A test's cluster: the default shape on free ports.
func ExampleStart() {
	cfg := cluster.DefaultConfig()
	cfg.Port = 0 // free ports; the default 6380 is for `shoal dev`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := cluster.Start(ctx, cfg)
	if err != nil {
		panic(err)
	}
	defer cl.Close(ctx)
	for _, n := range cl.Nodes() {
		fmt.Println(n.Role, n.Shard, n.RESPAddr, n.GossipAddr, n.DataDir)
	}
	rdb := redis.NewClient(&redis.Options{Addr: cl.FrontendAddrs()[0], MaxRetries: -1})
	defer rdb.Close()
	fmt.Println(rdb.Set(ctx, "greeting", "hello", 0).Err())
}
