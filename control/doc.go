// Package control is shoal's control plane: one leader, elected with
// hashicorp/raft among the shardd nodes that are voters, holds the cluster
// map (each shard's master and epoch) and does the housekeeping: voter
// reconciliation, failover, master discovery and log retention. Serf
// gossip (package gossip) tells it who is alive and what each node is;
// raft makes one node the decision-maker and keeps the map. It talks to
// shardd nodes only over RESP (package proto), never by importing shardd.
//
// # Wiring (in a shardd process started with --raft)
//
//	ln, _ := net.Listen("tcp", raftAddr)            // or let New bind cfg.RaftAddr
//	tags.Extra[gossip.KeyRaftAddr] = ln.Addr().String()
//	tags.Extra[gossip.KeyRaftVoter] = "1"          // voters only
//	agent, _ := gossip.New(gossipCfg)              // tags as above
//	cfg := control.DefaultConfig()
//	cfg.Membership = agent
//	cfg.RaftListener = ln
//	cfg.DataDir = dataDir                          // raft state in dataDir/raft; "" for a diskless non-voter
//	cfg.Voter, cfg.BootstrapExpect = true, 3
//	cfg.Password = requirepass                     // AUTH for the orders
//	cfg.Logger = logger
//	node, err := control.New(cfg)                  // opens the stores, binds raft's port
//	err = node.Start()
//	// shardd.Config.MapSource = node              // SHOAL MAP
//	// on every gossip event: node.Notify()        // or cfg.Events = agent.Events() if nobody else reads them
//	...
//	node.Shutdown(ctx)                             // before the gossip agent leaves
//
// # Raft
//
// Every node with --raft runs a raft node: voters keep their log and
// stable store in DataDir/raft (package raftstore, over shoal's wal) with
// a FileSnapshotStore beside them; diskless nodes keep them in memory and
// must be non-voters. The transport is TCP on its own port, advertised in
// the `ra` gossip tag; the raft ServerID is the gossip node name. Timings
// are tuned for a LAN: a hard-killed leader is replaced in 0.5-0.9 s on
// loopback (TestLeaderKill prints it), a leader that shuts down hands over
// in under 0.1 s.
//
// A fresh voter bootstraps once gossip shows BootstrapExpect alive voters
// (`rv=1` with an `ra` address) and it is among the first BootstrapExpect
// by name, after BootstrapGrace without any leader contacting it; all of
// them propose the same configuration, which raft accepts. Later voters
// and all non-voters are added by the leader.
//
// # The cluster map
//
// The FSM holds one Entry per shard: master node name, master RESP
// address, epoch. Commands (the raft log; encoding on command):
//
//	adopt(shard, node, addr, epoch)       first sighting; refused if the shard exists
//	set-master(shard, node, addr, epoch)  refused unless epoch > the shard's epoch
//	set-addr(shard, node, addr, epoch)    same master and epoch, new address
//
// so a shard's epoch only grows, on every node alike. Snapshots encode the
// whole map (encodeMap). Node.Map and Node.AppendMap (SHOAL MAP) read the
// map as this node has applied it.
//
// # The leader's jobs
//
// While a node leads, one goroutine runs every job on each Tick and on
// gossip events: voterJob, discoverJob, failoverJob, convergeJob,
// retainJob (each file documents its rules). They are level-triggered:
// they compare gossip and the map with what should be and act on the
// difference, so a newly elected leader finishes a failover whose orders
// its predecessor never sent. Orders carry the map's epoch and go out
// only after the epoch is committed; shardd refuses orders older than the
// epoch it knows, so a deposed leader's late orders do nothing.
//
// Every action (raft membership change, map commit, order) is reported to
// Config.OnAction with the raft term and the leader's name just before it
// is taken; a leader acts only while raft reports it leader in the term
// its leadership began with, so no two nodes act in one term.
//
// # Concurrency
//
// Node's methods are safe for concurrent use. Config.OnAction is called
// from the job goroutine only.
package control
