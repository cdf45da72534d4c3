// Package repl is shoal's replication: a master streams its write-ahead log
// (wal) to replicas over the shard's RESP port, and each replica applies the
// records, in order, with the master's indexes, epochs and clock.
//
// It knows nothing of the keyspace. The shard daemon plugs in through small
// interfaces: on a master, Log (a *wal.Log) and Snapshotter (a consistent
// image of the store for replicas that cannot be served from the log); on a
// replica, Applier (apply records, install a snapshot, discard a divergent
// suffix, report the position).
//
// # Master
//
//	m := repl.NewMaster(repl.MasterConfig{Log: log, Snapshots: srv, Epoch: srv.Epoch})
//	// the server's SHOAL SYNC handler hands the connection over:
//	keep, err := m.ServeSync(netConn, reader, req) // blocks while the replica is streamed to
//	// WAIT: how many replicas acknowledged index (blocks until n or ctx):
//	got := m.WaitAck(ctx, index, n)
//
// # Replica
//
//	r := repl.StartReplica(repl.ReplicaConfig{MasterAddr: "10.0.0.1:6380", Applier: srv})
//	...
//	r.Stop() // REPLICAOF NO ONE, or shutdown
//
// # Wire protocol
//
// Everything is RESP on the master's client port, so a replica connection
// is an ordinary client until it asks to sync.
//
//	replica → master   [AUTH <password>]
//	replica → master   SHOAL SYNC <next-index> <last-epoch> <listening-port>
//
// next-index is the index of the first record the replica lacks, last-epoch
// the epoch of its last record (0 when it has none). The master answers with
// one status line:
//
//	+CONTINUE <next-index> <master-epoch>
//	    the master's record next-index-1 has last-epoch (the histories
//	    agree): records from next-index follow.
//	+TRUNCATE <index> <master-epoch>
//	    the replica's records after index are not in the master's history
//	    (another epoch wrote them: a deposed master's unreplicated suffix).
//	    The replica discards them and sends SHOAL SYNC again on the same
//	    connection. index is the last record of epoch <= last-epoch in the
//	    master's log, so nothing the histories share is discarded.
//	+FULLSYNC <index> <epoch> <master-epoch>
//	    the records the replica needs were truncated away (compacted after a
//	    snapshot): a snapshot of the master's store at log index <index>
//	    follows as bulk strings (chunks of the store's snapshot format),
//	    ended by +SNAPEND <bytes> <crc32c>; then records from index+1.
//	-ERR ...  the master cannot serve replicas (diskless), or a bad request.
//
// Records follow as RESP bulk strings, one wal.EncodeRecord encoding each
// (header with index, epoch, master time and a CRC32C checked on receipt),
// written in batches as the master's log grows: the sender waits on the log
// (wal.Log.Notify), never on a timer. An idle master sends +PING every
// HeartbeatInterval. The replica acknowledges on the same connection after
// every batch it applied and at least every AckInterval:
//
//	replica → master   SHOAL ACK <applied-index> <logged-index> [<applied-at>]
//
// applied-index is the last record applied to the replica's store (WAIT and
// INFO use it); logged-index the last one durable in its own log (equal to
// applied for a diskless replica); applied-at the replica's clock (Unix
// nanoseconds) when it applied that record, which the master's lag
// statistics use when it is plausible on the master's clock. A master drops a replica that sends
// nothing for Timeout; a replica reconnects, with backoff, when the master is
// silent for Timeout or the connection breaks, and resumes from its own
// position: a durable replica keeps the same indexes in its own log, so a
// restart resumes without a snapshot.
//
// # Epochs
//
// Every record carries the epoch of the master that wrote it; promotion
// (REPLICAOF NO ONE, or the leader's SHOAL PROMOTE <epoch>) moves to a
// higher epoch and writes an empty record in it. Two
// logs that hold a record with the same index and epoch agree up to it, so
// comparing one (index, epoch) pair finds where a deposed master's log
// diverged from the new master's, and TRUNCATE removes exactly the suffix
// that was never replicated.
package repl
