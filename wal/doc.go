// Package wal is shoal's write-ahead log: the effects a shard master applies,
// in order, each with an index, the master's epoch and the master's clock.
// It sits on github.com/tidwall/wal v1.2.1 (segment files) and adds what that
// library lacks: a checksummed record format, repair of a torn tail, group
// commit with an fsync policy, indexes that may start anywhere, serialized
// reads of old segments (tidwall/wal issue #34), a sticky failed state,
// waiting for new records (replication), and snapshot files.
//
// # Usage
//
// The shard daemon opens one Log per data directory and owns it:
//
//	cfg := wal.DefaultConfig()
//	cfg.Dir = "/var/lib/shoal/s1/wal"
//	cfg.Fsync, _ = wal.ParsePolicy("everysec")
//	cfg.Logger = logger
//	log, err := wal.Open(cfg) // repairs a torn tail, logs what it cut
//	...
//	defer log.Close()
//
// For each write, under the store lock, it appends the effect and gets its
// index at once; before replying to the client it waits until the record is
// durable. Many connections share one write and one fsync:
//
//	idx, err := log.Append(epoch, nowMillis, effect)
//	...                                  // unlock the store
//	if err := log.WaitDurable(ctx, idx); err != nil {
//		// errors.Is(err, wal.ErrWriteFailed): answer -MISCONF, refuse writes
//	}
//
// A replication sender follows the log:
//
//	for next := from; ; {
//		recs, err := log.ReadFrom(next, 512) // errors.Is(err, wal.ErrCompacted): send a snapshot
//		...
//		next += uint64(len(recs))
//		if len(recs) == 0 {
//			err = log.WaitIndex(ctx, next)   // blocks until LastIndex() >= next
//		}
//	}
//
// After the store is snapshotted at index n (CreateSnapshot, Write the body,
// Commit), TruncateFront(n+1) drops the records the snapshot covers. A replica
// that installs its master's snapshot at n calls Reset(n+1); one whose log
// diverged from its master's calls TruncateBack(lastCommonIndex).
//
// # Durability
//
// Durable means, per Policy: FsyncAlways — fsynced; FsyncEverySec and FsyncNo
// — handed to the OS with write(2), so a process crash loses nothing that
// WaitDurable acknowledged. EverySec fsyncs in the background about once a
// second; No never fsyncs on its own (Close does, and so do tidwall's segment
// switches and truncations). LastIndex, Read, ReadFrom and WaitIndex see only
// durable records: a follower never receives a record its master could still
// lose under its own policy.
//
// If a write or fsync fails, the log fails for good (fsync errors cannot be
// retried safely: the kernel may have dropped the dirty pages). Every
// WaitDurable for a record not yet durable, and every later Append, returns
// an error wrapping ErrWriteFailed; Err reports it. Only reopening recovers.
//
// # Corruption
//
// Open cuts a torn or corrupt tail of the last segment back to the last whole
// good record (tidwall/wal itself refuses to open a torn file and reads
// zero-filled tails as empty entries) and logs a warning with what it cut.
// Damage followed by intact records is corruption in the middle of the log:
// Open then fails with an error wrapping ErrCorrupt rather than drop
// acknowledged records; so does a mismatch between the metadata and the
// first record. Older segments are verified when read: Read and ReadFrom
// return ErrCorrupt for a damaged record.
//
// # On disk
//
// Dir holds wal.meta (generation and index base, replaced atomically), LOCK
// (flock while open), and log-<generation>/ with tidwall's segment files
// (named by tidwall index, 20 digits; each entry is uvarint(length) + one
// encoded Record; see EncodeRecord for the record layout). Shoal index =
// tidwall index + base; Reset switches to a new generation directory with one
// rename of wal.meta. Snapshot files (see CreateSnapshot) may live in the
// same directory or another.
package wal
