package gossip_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/shoal-kv/shoal/gossip"
)

func ExampleTags_Encode() {
	tags := gossip.Tags{
		Role:     gossip.RoleShard,
		Shard:    "users",
		ReplRole: gossip.ReplMaster,
		Epoch:    4,
		RESPAddr: "10.0.0.5:6379",
		Version:  "v0.1.0",
	}
	if err := tags.Validate(); err != nil {
		panic(err)
	}
	wire := tags.Encode()
	for _, k := range slices.Sorted(maps.Keys(wire)) {
		fmt.Printf("%s=%s\n", k, wire[k])
	}
	fmt.Println("bytes:", tags.EncodedSize())
	back, _ := gossip.DecodeTags(wire)
	fmt.Println(back.Equal(tags))
	// Output:
	// a=10.0.0.5:6379
	// e=4
	// r=shard
	// rr=master
	// s=users
	// v=v0.1.0
	// bytes: 57
	// true
}

func ExampleAgent() {
	cfg := gossip.DefaultConfig()
	cfg.NodeName = "example"
	cfg.BindAddr, cfg.BindPort = "127.0.0.1", 0
	cfg.Profile = gossip.ProfileFast
	cfg.Tags = gossip.Tags{Role: gossip.RoleFrontend, RESPAddr: "127.0.0.1:6380"}
	cfg.Logger = slog.New(slog.DiscardHandler)
	agent, err := gossip.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	events := agent.Events()
	go func() {
		for ev := range events {
			_ = ev // update the routing view
		}
	}()
	// A real process would pass its --join addresses here.
	if err := agent.Join(context.Background(), nil); err != nil {
		fmt.Println(err)
	}
	for _, m := range agent.Members() {
		fmt.Println(m.Name, m.Status, m.Tags.Role)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := agent.Shutdown(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// example alive frontend
}
