package shardd

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/wal"
)

// Config is a shard daemon's configuration. Start from DefaultConfig; the
// command line, YAML file and environment are mapped onto it in configs/.
type Config struct {
	// Shard is the logical shard this node serves (gossip, INFO).
	Shard string
	// DataDir holds the write-ahead log and snapshots. Required unless
	// Diskless.
	DataDir string
	// Diskless runs memory-only: no file is ever opened for writing. With
	// MaxMemory it is cached mode (see diskless.go).
	Diskless bool
	// MaxMemory bounds memory in diskless mode, in bytes (0 = unbounded):
	// the keys kept are chosen by ristretto. The process itself should
	// also set the Go runtime's memory limit (the shoal binary does).
	MaxMemory int64
	// ReplicaOf, when set (HOST:PORT), makes the node a replica of that
	// master from the start (REPLICAOF changes it at run time).
	ReplicaOf string
	// MasterAuth is the password a replica sends to its master (the
	// master's requirepass).
	MasterAuth string
	// MinReplicasToWrite and MinReplicasMaxLag: a master refuses writes
	// with -NOREPLICAS unless that many replicas acknowledged within the
	// lag (Redis's min-replicas-to-write / min-replicas-max-lag; 0
	// disables). Unlike Redis the lag may be below a second (500ms):
	// replicas acknowledge every 100 ms, so keep it above about 200 ms. A
	// master cut off from its replicas refuses writes within the lag.
	MinReplicasToWrite int
	MinReplicasMaxLag  time.Duration
	// ReplTimeout: a replication link silent this long is broken (master:
	// no acknowledgement; replica: no byte, heartbeats included).
	ReplTimeout time.Duration
	// AppendFsync is the log's fsync policy: "always", "everysec" or "no".
	AppendFsync string
	// RequirePass, when set, makes clients AUTH before anything else.
	RequirePass string
	// MaxClients bounds concurrent client connections (Redis: maxclients).
	MaxClients int
	// ProtoMaxBulkLen bounds one bulk argument (Redis: proto-max-bulk-len).
	ProtoMaxBulkLen int64
	// ClientQueryBufferLimit bounds one client's unprocessed input.
	ClientQueryBufferLimit int64
	// SnapshotLogSize triggers a snapshot (and log truncation) when the
	// log grows past this many bytes since the last one; 0 disables.
	SnapshotLogSize int64
	// ActiveExpireInterval is how often keys with a TTL are sampled for
	// deletion (Redis: hz 10 → 100 ms).
	ActiveExpireInterval time.Duration
	// Version is reported in INFO as shoal_version.
	Version string
	// Gossip, when set, makes the node join the serf cluster and publish
	// its role, shard, epoch and RESPAddr in its tags.
	Gossip *gossip.Config
	// Join lists gossip addresses (DNS names allowed) to join at start.
	Join []string
	// RESPAddr is the address other nodes reach this server at (gossip
	// tags). Required with Gossip.
	RESPAddr string
	// RaftAddr, when set, is announced in the gossip tag ra: the HOST:PORT
	// of the raft transport of the control plane running in this process.
	// RaftVoter announces rv=1 (a raft voter). shardd runs no raft itself.
	RaftAddr  string
	RaftVoter bool
	// MapSource answers SHOAL MAP: the control plane of this process. nil:
	// SHOAL MAP answers that this node runs none. Server.SetMapSource sets
	// it later (the control plane needs the server's gossip agent first).
	MapSource MapSource
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger

	// walFaultHook is for tests: it makes the log's writes or fsyncs fail.
	walFaultHook func(wal.DiskOp) error
}

// DefaultConfig returns Redis's defaults where Redis has one.
func DefaultConfig() Config {
	return Config{
		Shard:                  "shard-0",
		AppendFsync:            "everysec",
		MaxClients:             10000,
		ProtoMaxBulkLen:        512 << 20,
		ClientQueryBufferLimit: 1 << 30,
		SnapshotLogSize:        64 << 20,
		ActiveExpireInterval:   100 * time.Millisecond,
		Version:                "dev",
		MinReplicasMaxLag:      10 * time.Second,
		ReplTimeout:            10 * time.Second,
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	var errs []error
	if c.Shard == "" {
		errs = append(errs, errors.New("shard: must not be empty"))
	}
	if !c.Diskless && c.DataDir == "" {
		errs = append(errs, errors.New("data-dir: required unless diskless"))
	}
	switch c.AppendFsync {
	case "always", "everysec", "no":
	default:
		errs = append(errs, fmt.Errorf("appendfsync: must be always, everysec or no, got %q", c.AppendFsync))
	}
	if c.MaxClients < 1 {
		errs = append(errs, fmt.Errorf("maxclients: must be at least 1, got %d", c.MaxClients))
	}
	if c.ProtoMaxBulkLen < 1024*1024 {
		errs = append(errs, fmt.Errorf("proto-max-bulk-len: must be at least 1mb, got %d", c.ProtoMaxBulkLen))
	}
	if c.ClientQueryBufferLimit < 1024*1024 {
		errs = append(errs, fmt.Errorf("client-query-buffer-limit: must be at least 1mb, got %d", c.ClientQueryBufferLimit))
	}
	if c.MaxMemory < 0 {
		errs = append(errs, fmt.Errorf("maxmemory: must not be negative, got %d", c.MaxMemory))
	}
	if c.ReplicaOf != "" {
		if _, _, err := net.SplitHostPort(c.ReplicaOf); err != nil {
			errs = append(errs, fmt.Errorf("replicaof: want HOST:PORT: %w", err))
		}
	}
	if c.MinReplicasToWrite < 0 {
		errs = append(errs, fmt.Errorf("min-replicas-to-write: must not be negative, got %d", c.MinReplicasToWrite))
	}
	if c.MinReplicasMaxLag < 0 {
		errs = append(errs, fmt.Errorf("min-replicas-max-lag: must not be negative, got %v", c.MinReplicasMaxLag))
	}
	if c.ReplTimeout <= 0 {
		errs = append(errs, fmt.Errorf("repl-timeout: must be positive, got %v", c.ReplTimeout))
	}
	if c.ActiveExpireInterval <= 0 {
		errs = append(errs, fmt.Errorf("active-expire-interval: must be positive, got %v", c.ActiveExpireInterval))
	}
	if c.Gossip != nil {
		g := *c.Gossip
		g.Tags = gossip.Tags{Role: gossip.RoleShard, Shard: c.Shard, ReplRole: gossip.ReplMaster, RESPAddr: c.RESPAddr, Version: c.Version}
		if err := g.Validate(); err != nil {
			errs = append(errs, err)
		}
		if c.RESPAddr == "" {
			errs = append(errs, errors.New("resp-addr: required with gossip"))
		}
		if c.RaftAddr != "" {
			if _, _, err := net.SplitHostPort(c.RaftAddr); err != nil {
				errs = append(errs, fmt.Errorf("raft-advertise: want HOST:PORT: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}
