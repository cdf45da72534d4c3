package configs

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/shoal-kv/shoal/gossip"

	"github.com/shoal-kv/shoal/shardd"

	"github.com/spf13/pflag"
)

// Shardd is `shoal shardd`'s configuration as users write it: sizes as
// "512mb", durations as "100ms". Fields mirror the flags one to one.
type Shardd struct {
	Listen                 string        `mapstructure:"listen"`
	Shard                  string        `mapstructure:"shard"`
	DataDir                string        `mapstructure:"data-dir"`
	Diskless               bool          `mapstructure:"diskless"`
	MaxMemory              string        `mapstructure:"maxmemory"`
	ReplicaOf              string        `mapstructure:"replicaof"`
	MasterAuth             string        `mapstructure:"masterauth"`
	MinReplicasToWrite     int           `mapstructure:"min-replicas-to-write"`
	MinReplicasMaxLag      time.Duration `mapstructure:"min-replicas-max-lag"`
	ReplTimeout            time.Duration `mapstructure:"repl-timeout"`
	AppendFsync            string        `mapstructure:"appendfsync"`
	RequirePass            string        `mapstructure:"requirepass"`
	MaxClients             int           `mapstructure:"maxclients"`
	ProtoMaxBulkLen        string        `mapstructure:"proto-max-bulk-len"`
	ClientQueryBufferLimit string        `mapstructure:"client-query-buffer-limit"`
	SnapshotLogSize        string        `mapstructure:"snapshot-log-size"`
	ActiveExpireInterval   time.Duration `mapstructure:"active-expire-interval"`
	Advertise              string        `mapstructure:"advertise"`
	Gossip                 string        `mapstructure:"gossip"`
	Join                   []string      `mapstructure:"join"`
	GossipProfile          string        `mapstructure:"gossip-profile"`
	GossipKey              string        `mapstructure:"gossip-key"`
	NodeName               string        `mapstructure:"node-name"`
	LogLevel               string        `mapstructure:"log-level"`

	// The control plane (leader election, failover): carried here for
	// the control package, which cmd/shoal wires next to the server.
	Raft                string        `mapstructure:"raft"`
	RaftAdvertise       string        `mapstructure:"raft-advertise"`
	RaftVoter           bool          `mapstructure:"raft-voter"`
	RaftBootstrapExpect int           `mapstructure:"raft-bootstrap-expect"`
	FailoverAfter       time.Duration `mapstructure:"failover-after"`
	RaftReapAfter       time.Duration `mapstructure:"raft-reap-after"`
	RaftBootstrapGrace  time.Duration `mapstructure:"raft-bootstrap-grace"`
}

// DefaultShardd returns the defaults (Redis's where Redis has one).
func DefaultShardd() Shardd {
	return Shardd{
		Listen:                 "127.0.0.1:6380",
		Shard:                  "shard-0",
		MaxMemory:              "0",
		AppendFsync:            "everysec",
		MaxClients:             10000,
		ProtoMaxBulkLen:        "512mb",
		ClientQueryBufferLimit: "1gb",
		SnapshotLogSize:        "64mb",
		ActiveExpireInterval:   100 * time.Millisecond,
		MinReplicasMaxLag:      10 * time.Second,
		ReplTimeout:            10 * time.Second,
		GossipProfile:          "lan",
		LogLevel:               "info",
		RaftVoter:              true,
		RaftBootstrapExpect:    1,
		FailoverAfter:          500 * time.Millisecond,
		RaftReapAfter:          30 * time.Second,
		RaftBootstrapGrace:     time.Second,
	}
}

// ShardFlags registers `shoal shardd`'s flags (defaults from d) on fs.
func ShardFlags(fs *pflag.FlagSet, d Shardd) {
	fs.String("listen", d.Listen, "RESP address to serve clients on (HOST:PORT)")
	fs.String("shard", d.Shard, "logical shard this node serves")
	fs.String("data-dir", d.DataDir, "directory for the write-ahead log and snapshots (required unless --diskless)")
	fs.Bool("diskless", d.Diskless, "memory only: no file is written")
	fs.String("maxmemory", d.MaxMemory, "memory bound in diskless mode (e.g. 256mb; 0 = none)")
	fs.String("replicaof", d.ReplicaOf, "replicate from this master (HOST:PORT); empty = this node is a master")
	fs.String("masterauth", d.MasterAuth, "password sent to the master (its requirepass) when replicating")
	fs.Int("min-replicas-to-write", d.MinReplicasToWrite, "refuse writes (-NOREPLICAS) unless this many replicas acknowledged within min-replicas-max-lag (0 = off)")
	fs.Duration("min-replicas-max-lag", d.MinReplicasMaxLag, "how recent a replica's acknowledgement must be to count for min-replicas-to-write (e.g. 500ms; replicas acknowledge every 100ms)")
	fs.Duration("repl-timeout", d.ReplTimeout, "a replication link silent this long is broken and reconnected")
	fs.String("appendfsync", d.AppendFsync, "log fsync policy: always, everysec or no")
	fs.String("requirepass", d.RequirePass, "password clients must AUTH with")
	fs.Int("maxclients", d.MaxClients, "maximum concurrent client connections")
	fs.String("proto-max-bulk-len", d.ProtoMaxBulkLen, "largest bulk argument accepted")
	fs.String("client-query-buffer-limit", d.ClientQueryBufferLimit, "largest unprocessed input per client")
	fs.String("snapshot-log-size", d.SnapshotLogSize, "take a snapshot when the log grows by this much (0 = never automatically)")
	fs.Duration("active-expire-interval", d.ActiveExpireInterval, "how often keys with a TTL are sampled for expiry")
	fs.String("advertise", d.Advertise, "RESP address other nodes reach this one at (default: --listen)")
	fs.String("gossip", d.Gossip, "gossip (serf) bind address HOST:PORT; empty = no gossip")
	fs.StringSlice("join", d.Join, "gossip addresses to join (HOST:PORT, DNS names allowed), comma-separated")
	fs.String("gossip-profile", d.GossipProfile, "gossip timing: lan or fast")
	fs.String("gossip-key", d.GossipKey, "base64 gossip encryption key (16, 24 or 32 bytes)")
	fs.String("node-name", d.NodeName, "unique gossip node name (default derived from host and ports)")
	fs.String("log-level", d.LogLevel, "debug, info, warn or error")
	fs.String("raft", d.Raft, "run the control plane: raft transport bind address HOST:PORT (needs --gossip); empty = none")
	fs.String("raft-advertise", d.RaftAdvertise, "raft address other nodes reach this one at (default: --raft)")
	fs.Bool("raft-voter", d.RaftVoter, "take part in leader elections as a raft voter (with --raft; diskless nodes must set false)")
	fs.Int("raft-bootstrap-expect", d.RaftBootstrapExpect, "a new cluster elects its first leader once this many voters are in gossip")
	fs.Duration("failover-after", d.FailoverAfter, "the leader waits this long for a failed master to come back before failing over")
	fs.Duration("raft-reap-after", d.RaftReapAfter, "the leader removes raft servers that stayed failed or left this long")
	fs.Duration("raft-bootstrap-grace", d.RaftBootstrapGrace, "a fresh voter that sees raft-bootstrap-expect voters waits this long for a leader to contact it before bootstrapping")
}

// ParseSize parses a Redis-style memory size: "100", "512mb", "1gb", "64k".
func ParseSize(v string) (int64, error) { return shardd.ParseMemory(v) }

// ServerConfig converts to the shard server's typed configuration and
// validates it.
func (c Shardd) ServerConfig() (shardd.Config, error) {
	cfg := shardd.DefaultConfig()
	cfg.Shard = c.Shard
	cfg.DataDir = c.DataDir
	cfg.Diskless = c.Diskless
	cfg.AppendFsync = c.AppendFsync
	cfg.RequirePass = c.RequirePass
	cfg.MaxClients = c.MaxClients
	cfg.ActiveExpireInterval = c.ActiveExpireInterval
	cfg.ReplicaOf = c.ReplicaOf
	cfg.MasterAuth = c.MasterAuth
	cfg.MinReplicasToWrite = c.MinReplicasToWrite
	cfg.MinReplicasMaxLag = c.MinReplicasMaxLag
	cfg.ReplTimeout = c.ReplTimeout
	if c.Advertise != "" {
		cfg.RESPAddr = c.Advertise
	} else {
		cfg.RESPAddr = c.Listen
	}
	for _, sz := range []struct {
		key string
		v   string
		dst *int64
	}{
		{"maxmemory", c.MaxMemory, &cfg.MaxMemory},
		{"proto-max-bulk-len", c.ProtoMaxBulkLen, &cfg.ProtoMaxBulkLen},
		{"client-query-buffer-limit", c.ClientQueryBufferLimit, &cfg.ClientQueryBufferLimit},
		{"snapshot-log-size", c.SnapshotLogSize, &cfg.SnapshotLogSize},
	} {
		n, err := ParseSize(sz.v)
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", sz.key, err)
		}
		*sz.dst = n
	}
	if c.Gossip != "" {
		g, err := GossipConfig(c.Gossip, c.GossipProfile, c.GossipKey, c.NodeName)
		if err != nil {
			return cfg, err
		}
		cfg.Gossip = &g
		cfg.Join = c.Join
	}
	if err := c.validateRaft(); err != nil {
		return cfg, err
	}
	if c.Raft != "" {
		cfg.RaftAddr = c.RaftAdvertiseAddr()
		cfg.RaftVoter = c.RaftVoter
	}
	return cfg, cfg.Validate()
}

// RaftAdvertiseAddr is the raft address announced in gossip: RaftAdvertise,
// or else Raft; empty without --raft.
func (c Shardd) RaftAdvertiseAddr() string {
	if c.Raft == "" {
		return ""
	}
	if c.RaftAdvertise != "" {
		return c.RaftAdvertise
	}
	return c.Raft
}

// validateRaft checks the control plane's settings.
func (c Shardd) validateRaft() error {
	var errs []error
	if c.RaftBootstrapExpect < 1 {
		errs = append(errs, fmt.Errorf("raft-bootstrap-expect: must be at least 1, got %d", c.RaftBootstrapExpect))
	}
	if c.FailoverAfter <= 0 {
		errs = append(errs, fmt.Errorf("failover-after: must be positive, got %v", c.FailoverAfter))
	}
	if c.RaftBootstrapGrace <= 0 {
		errs = append(errs, fmt.Errorf("raft-bootstrap-grace: must be positive, got %v", c.RaftBootstrapGrace))
	}
	if c.RaftReapAfter <= 0 {
		errs = append(errs, fmt.Errorf("raft-reap-after: must be positive, got %v", c.RaftReapAfter))
	}
	if c.Raft == "" {
		return errors.Join(errs...)
	}
	host, _, err := net.SplitHostPort(c.Raft)
	if err != nil {
		errs = append(errs, fmt.Errorf("raft: want HOST:PORT: %w", err))
	} else if ip := net.ParseIP(host); c.RaftAdvertise == "" && (host == "" || ip != nil && ip.IsUnspecified()) {
		errs = append(errs, fmt.Errorf("raft-advertise: required when raft binds %q", c.Raft))
	}
	if c.Gossip == "" {
		errs = append(errs, errors.New("raft: needs gossip (--gossip): the control plane learns the cluster from it"))
	}
	if c.Diskless && c.RaftVoter {
		errs = append(errs, errors.New("raft-voter: a diskless node cannot be a raft voter (set --raft-voter=false)"))
	}
	return errors.Join(errs...)
}

// GossipConfig builds the gossip agent's configuration from the flags.
func GossipConfig(bind, profile, key, nodeName string) (gossip.Config, error) {
	g := gossip.DefaultConfig()
	host, port, err := net.SplitHostPort(bind)
	if err != nil {
		return g, fmt.Errorf("gossip: %w", err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return g, fmt.Errorf("gossip: port %q: %w", port, err)
	}
	g.BindAddr, g.BindPort = host, p
	g.Profile = gossip.Profile(profile)
	g.Key = key
	g.NodeName = nodeName
	return g, nil
}
