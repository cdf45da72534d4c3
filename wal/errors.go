package wal

import "errors"

// Sentinel errors. Test for them with errors.Is: the package wraps them with
// details (which record, which file, the underlying OS error).
var (
	// ErrCorrupt: a record, segment, metadata or snapshot file failed
	// validation (checksum, magic, length, index), or corruption was found in
	// the middle of the log, which Open does not cut.
	ErrCorrupt = errors.New("wal: corrupt")

	// ErrWriteFailed: a write or fsync of the log failed (disk full, EIO).
	// The log is then failed for good: Append, WaitDurable for records not
	// yet durable, TruncateBack and Reset return an error wrapping it, and
	// Err reports it. Only Close and a new Open recover. Callers refuse
	// writes (shardd answers -MISCONF).
	ErrWriteFailed = errors.New("wal: write failed")

	// ErrClosed: the log was closed.
	ErrClosed = errors.New("wal: log closed")

	// ErrCompacted: the requested index is before FirstIndex (TruncateFront
	// or Reset removed it). Replication answers it with a snapshot.
	ErrCompacted = errors.New("wal: index compacted away")

	// ErrUnavailable: the requested index is after LastIndex (not durable
	// yet, or never appended).
	ErrUnavailable = errors.New("wal: index not in the log yet")

	// ErrOutOfRange: a truncation or reset argument is outside what the log
	// allows (see each method).
	ErrOutOfRange = errors.New("wal: index out of range")

	// ErrOutOfOrder: AppendRecord was given a record whose index is not the
	// next index of the log.
	ErrOutOfOrder = errors.New("wal: record index out of order")

	// ErrTooLarge: a payload is larger than MaxPayloadSize.
	ErrTooLarge = errors.New("wal: payload too large")

	// ErrLocked: another Log (in this or another process) has the directory
	// open.
	ErrLocked = errors.New("wal: directory locked by another log")

	// ErrNoSnapshot: OpenLatestSnapshot found no committed snapshot.
	ErrNoSnapshot = errors.New("wal: no snapshot")
)
