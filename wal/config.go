package wal

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Policy says when the log fsyncs, as Redis's appendfsync does.
type Policy int

const (
	// FsyncEverySec (the zero value and the default, as in Redis): records
	// are durable once handed to the OS with write(2); a background fsync
	// runs about once per Config.SyncInterval. A process crash loses
	// nothing; a machine crash can lose about the last second.
	FsyncEverySec Policy = iota
	// FsyncAlways: records are durable once fsynced. One fsync covers every
	// record queued while the previous one ran (group commit).
	FsyncAlways
	// FsyncNo: records are durable once handed to the OS; the log never
	// fsyncs on its own except on Close, segment switches and truncations.
	FsyncNo
)

// ParsePolicy parses "always", "everysec" or "no" (the redis.conf words).
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "always":
		return FsyncAlways, nil
	case "everysec":
		return FsyncEverySec, nil
	case "no":
		return FsyncNo, nil
	}
	return 0, fmt.Errorf("wal: unknown fsync policy %q (want always, everysec or no)", s)
}

// String returns the redis.conf word for p.
func (p Policy) String() string {
	switch p {
	case FsyncAlways:
		return "always"
	case FsyncEverySec:
		return "everysec"
	case FsyncNo:
		return "no"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// MarshalText implements encoding.TextMarshaler.
func (p Policy) MarshalText() ([]byte, error) {
	if p < FsyncEverySec || p > FsyncNo {
		return nil, fmt.Errorf("wal: invalid fsync policy %d", int(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler (for config loaders).
func (p *Policy) UnmarshalText(b []byte) error {
	v, err := ParsePolicy(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// DiskOp names a disk operation for Config.FaultHook.
type DiskOp int

const (
	// DiskWrite is the write(2) of one batch of records.
	DiskWrite DiskOp = iota + 1
	// DiskSync is one fsync of the log.
	DiskSync
)

func (op DiskOp) String() string {
	switch op {
	case DiskWrite:
		return "write"
	case DiskSync:
		return "fsync"
	}
	return fmt.Sprintf("DiskOp(%d)", int(op))
}

// Config configures a Log. Start from DefaultConfig and set Dir. Zero numeric
// fields mean the default.
type Config struct {
	// Dir is the log's directory (created if missing). Required. The log
	// owns it: it holds the metadata file wal.meta, the LOCK file and one
	// segment directory log-<generation>. Snapshots may share the directory.
	Dir string

	// Fsync is the fsync policy. Default FsyncEverySec.
	Fsync Policy

	// SyncInterval is how often FsyncEverySec fsyncs. Default 1 s.
	SyncInterval time.Duration

	// SegmentSize is the target size of a segment file in bytes (tidwall/wal
	// starts a new file after it). The last segment is held in memory
	// whole. Default 16 MiB.
	SegmentSize int

	// TailCacheBytes bounds the in-memory cache of the most recent records,
	// which serves Read and ReadFrom without touching the files (replication
	// reads the tail). Default 4 MiB; negative disables the cache.
	TailCacheBytes int

	// MaxPendingBytes bounds the records queued for the committer; Append
	// blocks while more are queued (back-pressure when the disk falls
	// behind). Default 64 MiB.
	MaxPendingBytes int

	// Logger receives warnings (a cut tail, a failed write). nil discards.
	Logger *slog.Logger

	// FaultHook is for tests only; leave it nil. When set, it is called
	// before each batch write (DiskWrite) and each fsync (DiskSync) of the
	// log; a non-nil error is handled exactly as if that operation had
	// failed (the log enters its failed state). It is called from the
	// committer and syncer goroutines, so it must be safe for concurrent use.
	FaultHook func(op DiskOp) error
}

// Defaults used by DefaultConfig and for zero fields.
const (
	DefaultSyncInterval    = time.Second
	DefaultSegmentSize     = 16 << 20
	DefaultTailCacheBytes  = 4 << 20
	DefaultMaxPendingBytes = 64 << 20
)

// DefaultConfig returns a Config with every default filled in except Dir.
func DefaultConfig() Config {
	return Config{
		Fsync:           FsyncEverySec,
		SyncInterval:    DefaultSyncInterval,
		SegmentSize:     DefaultSegmentSize,
		TailCacheBytes:  DefaultTailCacheBytes,
		MaxPendingBytes: DefaultMaxPendingBytes,
	}
}

// Validate reports every invalid field, by name.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("wal: Config.Dir is required"))
	}
	if c.Fsync < FsyncEverySec || c.Fsync > FsyncNo {
		errs = append(errs, fmt.Errorf("wal: Config.Fsync: invalid policy %d", int(c.Fsync)))
	}
	if c.SyncInterval < 0 {
		errs = append(errs, fmt.Errorf("wal: Config.SyncInterval must not be negative, got %v", c.SyncInterval))
	}
	if c.SegmentSize < 0 {
		errs = append(errs, fmt.Errorf("wal: Config.SegmentSize must not be negative, got %d", c.SegmentSize))
	}
	if c.MaxPendingBytes < 0 {
		errs = append(errs, fmt.Errorf("wal: Config.MaxPendingBytes must not be negative, got %d", c.MaxPendingBytes))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with zero fields replaced by defaults.
func (c Config) withDefaults() Config {
	if c.SyncInterval == 0 {
		c.SyncInterval = DefaultSyncInterval
	}
	if c.SegmentSize == 0 {
		c.SegmentSize = DefaultSegmentSize
	}
	if c.TailCacheBytes == 0 {
		c.TailCacheBytes = DefaultTailCacheBytes
	} else if c.TailCacheBytes < 0 {
		c.TailCacheBytes = 0
	}
	if c.MaxPendingBytes == 0 {
		c.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
