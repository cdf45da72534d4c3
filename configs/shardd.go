package configs

import (
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
	fs.Duration("min-replicas-max-lag", d.MinReplicasMaxLag, "how recent a replica's acknowledgement must be to count for min-replicas-to-write (whole seconds)")
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
	return cfg, cfg.Validate()
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
