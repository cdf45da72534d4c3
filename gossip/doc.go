// Package gossip is shoal's cluster membership: every process (shardd and
// frontend) runs one Agent, a wrapper over hashicorp/serf that announces
// what the process is through tags and reports who else is out there as a
// typed stream of changes. It knows nothing about keys or routing.
//
// # Usage
//
//	cfg := gossip.DefaultConfig()
//	cfg.NodeName = "shardd-a-1"           // unique; reuse it after a restart
//	cfg.BindAddr, cfg.BindPort = "10.0.0.5", 7946
//	cfg.Tags = gossip.Tags{Role: gossip.RoleShard, Shard: "a", ReplRole: gossip.ReplMaster,
//		Epoch: 1, RESPAddr: "10.0.0.5:6379", Version: version}
//	cfg.Logger = logger
//	agent, err := gossip.New(cfg)         // listening, a cluster of one
//	...
//	events := agent.Events()              // subscribe first,
//	view := agent.Members()               // then take the starting view
//	err = agent.Join(ctx, []string{"shoal-seed:7946"}) // DNS names: every address tried
//	go func() {
//		for ev := range events {      // Joined, Updated, Failed, Left, Reaped
//			apply(view, ev)
//		}
//	}()
//	...
//	agent.SetTags(newTags)                // e.g. after a promotion: ReplMaster, Epoch+1
//	...
//	agent.Shutdown(ctx)                   // leave gracefully, then stop
//
// Routers and the leader should depend on the Membership interface, which
// package gossiptest implements in memory with injected failures and
// partitions.
//
// # Tags
//
// A node's tags are serf's tag map, limited by serf to 512 encoded bytes
// for all tags together (MaxTagsSize; Tags.Validate checks it with the same
// msgpack arithmetic serf uses). Keys are short:
//
//	r   role: "shard" or "frontend"
//	s   shard name (shard nodes): 1-64 of [A-Za-z0-9._-]
//	rr  replication role (shard nodes): "master" or "replica"
//	e   epoch, decimal uint64, absent when 0
//	a   RESP address HOST:PORT (required)
//	ad  admin HTTP address HOST:PORT (optional)
//	v   version (optional, up to 64 bytes)
//
// Other keys are carried in Tags.Extra, so fields can be added later
// without breaking older nodes. The largest realistic set (64-byte shard
// name, IPv6 addresses, maximal epoch, 64-byte version) takes 287 bytes,
// leaving about 225 for future fields.
//
// # Events
//
// Serf's event channel is drained by a dedicated goroutine into an
// unbounded queue, so a slow consumer never stalls serf or memberlist. The
// stream starts at the first Events call and drops nothing while the agent
// runs; see Agent.Events for the exact guarantees.
//
// # Timing
//
// ProfileLAN keeps serf's LAN defaults (failure detection about 5-8 s).
// ProfileFast (loopback tests, small clusters) detects a killed node in
// about 1 s and sees a graceful leave in about 0.1-0.5 s. In both, a node
// restarted under the same name on a new address is accepted as soon as its
// old incarnation has been declared failed or left.
//
// # Encryption
//
// Config.Key (base64 of 16, 24 or 32 bytes) turns on memberlist's AES-GCM
// encryption; nodes without the same key cannot join.
//
// # Logging
//
// The agent logs its own records to Config.Logger with the attribute node;
// serf's and memberlist's lines are forwarded at debug level with the
// attributes component and lib_level (their own level: DEBUG, INFO, WARN,
// ERR).
package gossip
