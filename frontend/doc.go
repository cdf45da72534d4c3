// Package frontend is shoal's stateless proxy: a Redis-protocol server
// that routes every command to the shard owning its keys. Frontends learn
// the cluster from gossip and need no other configuration; any number can
// run side by side (every frontend with the same shard set routes every
// key the same way).
//
// # Usage
//
//	cfg := frontend.DefaultConfig()
//	cfg.Gossip = &gossipCfg              // or cfg.Membership = m (tests: a gossiptest node)
//	cfg.Join = []string{"seed:7946"}
//	cfg.RESPAddr = "10.0.0.7:6379"       // announced in gossip
//	cfg.ExpectShards = 3
//	srv, err := frontend.New(cfg)        // follows gossip from here on
//	ln, _ := net.Listen("tcp", ":6379")
//	go srv.Serve(ln)
//	go http.ListenAndServe(":9121", srv.AdminHandler())
//	...
//	srv.Shutdown(ctx)                    // drain, then leave gossip
//
// Server has net/http's shape (New, Serve, Shutdown, Close, Addr); its
// methods are safe for concurrent use.
//
// # Routing
//
// The router turns gossip members into an immutable view: the shard set
// (every shard name a shard node announced, alive or not), each shard's
// master (the alive node tagged master with the highest epoch) and alive
// replicas, and a hashring.Ring (Maglev by default) over the shard set.
// Every membership event builds a new view, swapped in atomically; lookups
// take no lock. A key goes to hashring's owner of its hash tag; a shard
// without a master answers -CLUSTERDOWN for its keys rather than being
// skipped (unless EjectFailedShards, for pure caches).
//
// # Data path
//
// One goroutine per client reads a whole pipeline (everything already
// buffered), routes each command and queues the requests on the shard
// nodes' pipelined connections: a few connections per node (UpstreamConns,
// default 1) shared by every client. A writer goroutine per connection
// writes everything queued with one write; it first yields, so requests
// of all clients that are ready go out together. One reader goroutine per
// connection matches replies to requests in order; whoever completes a
// pipeline's last reply assembles its replies in command order and writes
// them to the client with a non-blocking write. Replies are passed through
// byte for byte. Nothing on this path allocates per request in steady
// state.
//
// # Commands
//
//   - Keyed commands go to their shard. MGET, MSET, DEL, UNLINK, EXISTS and
//     TOUCH are split per shard, sent in parallel and merged in key order
//     (counts summed) when their keys span shards. Other multi-key commands
//     (MSETNX, RENAME, SMOVE, LMOVE, SINTER, ZUNIONSTORE, COPY, blocking
//     pops, WATCH, ...) need their keys on one shard, else
//     -CROSSSLOT Keys in request don't hash to the same shard. Hash tags
//     ({user1}:a) keep keys together.
//   - Answered by the frontend: PING, ECHO, QUIT, HELLO (RESP2 only; HELLO 3
//     gets -NOPROTO), AUTH (RequirePass), SELECT 0, CLIENT (per frontend
//     connection), COMMAND (the command table), TIME, INFO (server, clients,
//     stats, cluster), READONLY/READWRITE, PUBSUB (this frontend's
//     subscriptions), SHOAL.
//   - Fanned out to every shard: DBSIZE (summed), KEYS (concatenated),
//     FLUSHALL, FLUSHDB, SAVE, BGSAVE, CONFIG SET/RESETSTAT/REWRITE (first
//     error, else the first reply), RANDOMKEY. SCAN walks the shards in name
//     order; its cursor is the shard's own cursor shifted left 16 bits plus
//     the shard's index, so a full iteration returns every key once (while
//     the shard set does not change).
//   - Other keyless commands (CONFIG GET, LASTSAVE, ROLE, ...) go to the
//     first shard. REPLICAOF is refused: send it to a shard node.
//   - MULTI is queued at the frontend; EXEC sends MULTI, the commands and
//     EXEC as one unit to the transaction's shard's master and passes EXEC's
//     reply on. A queued command on another shard gets -CROSSSLOT and the
//     transaction aborts (-EXECABORT), as Redis Cluster does. WATCH pins a
//     dedicated connection to the watched keys' master; the transaction
//     then runs there.
//   - Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN,
//     BZPOPMAX) and WAIT run on a dedicated connection per client and node,
//     never on the shared pipelines. If the shard's master changes while
//     one waits, it ends with -UNBLOCKED. WAIT goes to the shard the client
//     last wrote to.
//   - PUBLISH is routed by channel. SUBSCRIBE and PSUBSCRIBE keep one
//     upstream subscription per channel (on its shard's master) or pattern
//     (on every master) per frontend, fanned out to local subscribers; the
//     reply comes once the upstream subscription is confirmed, so a message
//     published after it arrives. When a master changes, the frontend
//     subscribes on the new one; clients do not notice (messages published
//     during the switch are lost, pub/sub being at most once). PUBLISH's
//     count is the shard's: subscribed frontends, not clients.
//
// # Admin
//
//	SHOAL SHARDS      each shard: name, master address, epoch, replica addresses
//	SHOAL MEMBERS     the gossip view
//	SHOAL ROUTE key   the shard and master node key goes to
//	SHOAL KEYHASH key the 64-bit routing hash
//
// AdminHandler serves /metrics (Prometheus: commands and latency by
// command, error replies by code, connections, upstream latency by node,
// upstream writes and requests, readiness, the failover buffer), /healthz,
// /readyz and /cluster (the view as JSON: each shard's master, epoch,
// replicas and held requests), and /debug/pprof/ with EnablePprof.
//
// # Read policy
//
// ReadMaster (default) sends everything to masters. ReadPreferReplica sends
// read-only commands to an alive replica whose lag, as its master's INFO
// replication reports it (LagProbe, every ReplicaLagInterval), is within
// MaxReplicaLag, else to the master; ReadReplica never reads from the
// master (-CLUSTERDOWN when no replica is usable). A client sticks to one
// replica while it stays usable. A replica tagged as cached (TagCached,
// shardd's diskless cached mode) answers -NOTCACHED for a key it cannot
// vouch for (evicted, never seen); the frontend then asks the master, so
// eviction never turns into a wrong answer. Its other replies, nil
// included, are its own (it knows those keys).
//
// # Failures
//
// A connection lost with requests written to it fails them with an error
// that says the command may have run; read-only ones are sent once more
// first. Dials to a node that refuses connections back off from 50 ms,
// doubling to 1 s. A request unanswered for UpstreamTimeout closes its
// connection. When gossip reports a new master (a failover, REPLICAOF),
// new requests go there as soon as the event arrives.
//
// The failover buffer (FailoverBuffer, default 2 s) covers the switch: a
// request whose shard has no master in the view, whose master cannot be
// dialed, or whose connection broke before it was written is held until
// the view shows a master (the highest epoch) and then sent there; after
// FailoverBuffer it answers -CLUSTERDOWN shard <name> has no reachable
// master, which is the immediate answer with FailoverBuffer 0. Held
// requests wait in a per-shard queue (no goroutine each; see
// failoverBuffer); a held request delays the later replies of its client
// only. At most FailoverBufferSize are held; beyond, requests fail at
// once. Commands on dedicated connections (blocking commands, WAIT,
// WATCH) wait on their client's goroutine.
//
// # Lifecycle
//
// The frontend answers data commands with -CLUSTERDOWN until it has seen
// ExpectShards shards with a master (then /readyz turns 200; it stays ready
// through later per-shard failures). Shutdown turns /readyz to 503, closes
// the listeners, lets every client finish the commands it already sent,
// closes connections as they go idle and, when ctx ends, the rest (blocked
// commands); then it leaves gossip. `shoal frontend` runs Shutdown on
// SIGTERM with the shutdown-grace period and exits 0.
//
// # Performance
//
// bench/frontend.sh runs redis-benchmark through one frontend over three
// shardd masters, against twemproxy over three redis-servers and one
// redis-server direct. Measured figures and where the CPU goes are in the
// report of the frontend's first version; in short: pipelined traffic
// (-P 16) is where a coalescing proxy shines (shoal is well ahead of
// twemproxy); at -P 1 each request costs a client read, a client write
// and an empty read, and Go's scheduler hand-offs are the overhead left
// (GOMAXPROCS=1 helps on small machines shared with the shards).
package frontend
