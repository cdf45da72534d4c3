package configs

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/shoal-kv/shoal/frontend"
	"github.com/shoal-kv/shoal/hashring"
)

// Frontend is `shoal frontend`'s configuration as users write it. Fields
// mirror the flags one to one.
type Frontend struct {
	Listen                 string        `mapstructure:"listen"`
	Advertise              string        `mapstructure:"advertise"`
	Gossip                 string        `mapstructure:"gossip"`
	Join                   []string      `mapstructure:"join"`
	GossipProfile          string        `mapstructure:"gossip-profile"`
	GossipKey              string        `mapstructure:"gossip-key"`
	NodeName               string        `mapstructure:"node-name"`
	Admin                  string        `mapstructure:"admin"`
	ReadPolicy             string        `mapstructure:"read-policy"`
	MaxReplicaLag          time.Duration `mapstructure:"max-replica-lag"`
	ReplicaLagInterval     time.Duration `mapstructure:"replica-lag-interval"`
	ExpectShards           int           `mapstructure:"expect-shards"`
	EjectFailedShards      bool          `mapstructure:"eject-failed-shards"`
	Hashring               string        `mapstructure:"hashring"`
	HashringTableSize      uint64        `mapstructure:"hashring-table-size"`
	RequirePass            string        `mapstructure:"requirepass"`
	ShardPassword          string        `mapstructure:"shard-password"`
	MaxClients             int           `mapstructure:"maxclients"`
	ProtoMaxBulkLen        string        `mapstructure:"proto-max-bulk-len"`
	ClientQueryBufferLimit string        `mapstructure:"client-query-buffer-limit"`
	UpstreamConns          int           `mapstructure:"upstream-conns"`
	DialTimeout            time.Duration `mapstructure:"dial-timeout"`
	UpstreamTimeout        time.Duration `mapstructure:"upstream-timeout"`
	FailoverBuffer         time.Duration `mapstructure:"failover-buffer"`
	FailoverBufferSize     int           `mapstructure:"failover-buffer-size"`
	ClusterMapInterval     time.Duration `mapstructure:"cluster-map-interval"`
	ShutdownGrace          time.Duration `mapstructure:"shutdown-grace"`
	Pprof                  bool          `mapstructure:"pprof"`
	LogLevel               string        `mapstructure:"log-level"`
}

// DefaultFrontend returns the defaults.
func DefaultFrontend() Frontend {
	d := frontend.DefaultConfig()
	return Frontend{
		Listen:                 "127.0.0.1:6379",
		GossipProfile:          "lan",
		ReadPolicy:             string(d.ReadPolicy),
		MaxReplicaLag:          d.MaxReplicaLag,
		ReplicaLagInterval:     d.ReplicaLagInterval,
		ExpectShards:           d.ExpectShards,
		Hashring:               d.Hashring.Algorithm,
		HashringTableSize:      d.Hashring.TableSize,
		MaxClients:             d.MaxClients,
		ProtoMaxBulkLen:        "512mb",
		ClientQueryBufferLimit: "1gb",
		UpstreamConns:          d.UpstreamConns,
		DialTimeout:            d.DialTimeout,
		UpstreamTimeout:        d.UpstreamTimeout,
		FailoverBuffer:         d.FailoverBuffer,
		FailoverBufferSize:     d.FailoverBufferSize,
		ClusterMapInterval:     d.MapInterval,
		ShutdownGrace:          10 * time.Second,
		LogLevel:               "info",
	}
}

// FrontendFlags registers `shoal frontend`'s flags (defaults from d) on fs.
func FrontendFlags(fs *pflag.FlagSet, d Frontend) {
	fs.String("listen", d.Listen, "RESP address to serve clients on (HOST:PORT)")
	fs.String("advertise", d.Advertise, "RESP address announced in gossip (default: --listen)")
	fs.String("gossip", d.Gossip, "gossip (serf) bind address HOST:PORT (required)")
	fs.StringSlice("join", d.Join, "gossip addresses to join (HOST:PORT, DNS names allowed), comma-separated")
	fs.String("gossip-profile", d.GossipProfile, "gossip timing: lan or fast")
	fs.String("gossip-key", d.GossipKey, "base64 gossip encryption key (16, 24 or 32 bytes)")
	fs.String("node-name", d.NodeName, "unique gossip node name (default derived from host and ports)")
	fs.String("admin", d.Admin, "admin HTTP address HOST:PORT (/metrics, /healthz, /readyz, /cluster); empty = off")
	fs.String("read-policy", d.ReadPolicy, "where reads go: master, prefer-replica or replica")
	fs.Duration("max-replica-lag", d.MaxReplicaLag, "skip replicas lagging more than this behind their master (0 = no check)")
	fs.Duration("replica-lag-interval", d.ReplicaLagInterval, "how often replica lag is measured")
	fs.Int("expect-shards", d.ExpectShards, "refuse data commands until this many shards have a master")
	fs.Bool("eject-failed-shards", d.EjectFailedShards, "pure cache: drop shards without a master from the ring (keys move)")
	fs.String("hashring", d.Hashring, "key-to-shard algorithm: maglev or ringhash (the same on every frontend)")
	fs.Uint64("hashring-table-size", d.HashringTableSize, "Maglev table size, a prime (the same on every frontend)")
	fs.String("requirepass", d.RequirePass, "password clients must AUTH with")
	fs.String("shard-password", d.ShardPassword, "password the frontend AUTHs with at shard nodes (their --requirepass)")
	fs.Int("maxclients", d.MaxClients, "maximum concurrent client connections")
	fs.String("proto-max-bulk-len", d.ProtoMaxBulkLen, "largest bulk argument accepted")
	fs.String("client-query-buffer-limit", d.ClientQueryBufferLimit, "largest unprocessed input per client")
	fs.Int("upstream-conns", d.UpstreamConns, "pipelined connections per shard node, shared by all clients")
	fs.Duration("dial-timeout", d.DialTimeout, "timeout for connecting to a shard node")
	fs.Duration("upstream-timeout", d.UpstreamTimeout, "fail requests a shard node has not answered within this")
	fs.Duration("failover-buffer", d.FailoverBuffer, "hold requests for a shard without a reachable master this long, waiting for a new master (0 = fail at once)")
	fs.Int("failover-buffer-size", d.FailoverBufferSize, "most requests held at once by the failover buffer; beyond, requests fail at once")
	fs.Duration("cluster-map-interval", d.ClusterMapInterval, "read the control plane's cluster map (SHOAL MAP) this often and after view changes, to route by it where gossip lags (0 = never)")
	fs.Duration("shutdown-grace", d.ShutdownGrace, "on SIGTERM, how long in-flight requests may take before clients are closed")
	fs.Bool("pprof", d.Pprof, "serve /debug/pprof/ on the admin address")
	fs.String("log-level", d.LogLevel, "debug, info, warn or error")
}

// ServerConfig converts to the frontend's typed configuration (without
// Logger and Version, which the main sets) and validates it.
func (c Frontend) ServerConfig() (frontend.Config, error) {
	cfg := frontend.DefaultConfig()
	if c.Gossip == "" {
		return cfg, fmt.Errorf("gossip: required (the frontend learns the shards from gossip)")
	}
	g, err := GossipConfig(c.Gossip, c.GossipProfile, c.GossipKey, c.NodeName)
	if err != nil {
		return cfg, err
	}
	cfg.Gossip = &g
	cfg.Join = c.Join
	cfg.RESPAddr = c.Advertise
	if cfg.RESPAddr == "" {
		cfg.RESPAddr = c.Listen
	}
	if c.Admin != "" {
		if _, _, err := net.SplitHostPort(c.Admin); err != nil {
			return cfg, fmt.Errorf("admin: %w", err)
		}
		cfg.AdminAddr = c.Admin
	}
	cfg.ReadPolicy = frontend.ReadPolicy(c.ReadPolicy)
	cfg.MaxReplicaLag = c.MaxReplicaLag
	cfg.ReplicaLagInterval = c.ReplicaLagInterval
	cfg.ExpectShards = c.ExpectShards
	cfg.EjectFailedShards = c.EjectFailedShards
	cfg.Hashring = hashring.Config{Algorithm: c.Hashring, TableSize: c.HashringTableSize, VirtualNodes: hashring.DefaultVirtualNodes}
	cfg.RequirePass = c.RequirePass
	cfg.ShardPassword = c.ShardPassword
	cfg.MaxClients = c.MaxClients
	for _, sz := range []struct {
		key string
		v   string
		dst *int64
	}{
		{"proto-max-bulk-len", c.ProtoMaxBulkLen, &cfg.Limits.MaxBulkLen},
		{"client-query-buffer-limit", c.ClientQueryBufferLimit, &cfg.Limits.MaxQueryBuffer},
	} {
		n, err := ParseSize(sz.v)
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", sz.key, err)
		}
		*sz.dst = n
	}
	cfg.UpstreamConns = c.UpstreamConns
	cfg.DialTimeout = c.DialTimeout
	cfg.UpstreamTimeout = c.UpstreamTimeout
	cfg.FailoverBuffer = c.FailoverBuffer
	cfg.FailoverBufferSize = c.FailoverBufferSize
	cfg.MapInterval = c.ClusterMapInterval
	cfg.EnablePprof = c.Pprof
	if c.ShutdownGrace <= 0 {
		return cfg, fmt.Errorf("shutdown-grace: must be positive (got %v)", c.ShutdownGrace)
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		return cfg, fmt.Errorf("listen: %w", err)
	} else if _, err := strconv.Atoi(port); err != nil {
		return cfg, fmt.Errorf("listen: port %q: %w", port, err)
	}
	return cfg, cfg.Validate()
}
