package configs

import (
	"time"

	"github.com/spf13/pflag"
)

// Dev is `shoal dev`'s configuration as users write it: a whole cluster on
// one host in one process (integration/cluster). Fields mirror the flags
// one to one. The conversion to cluster.Config lives in cmd/shoal (the
// cluster package builds its nodes with this package's builders, so it
// cannot be imported from here).
type Dev struct {
	Shards           int           `mapstructure:"shards"`
	Replicas         int           `mapstructure:"replicas"`
	Frontends        int           `mapstructure:"frontends"`
	Host             string        `mapstructure:"host"`
	Port             int           `mapstructure:"port"`
	DisklessReplicas bool          `mapstructure:"diskless-replicas"`
	MaxMemory        string        `mapstructure:"maxmemory"`
	DataDir          string        `mapstructure:"data-dir"`
	NoFailover       bool          `mapstructure:"no-failover"`
	FailoverAfter    time.Duration `mapstructure:"failover-after"`
	GossipProfile    string        `mapstructure:"gossip-profile"`
	LogLevel         string        `mapstructure:"log-level"`
}

// DefaultDev returns the defaults: 3 shards × (master + 1 replica) and one
// frontend on 127.0.0.1:6380, data in a temporary directory. A test in
// cmd/shoal checks that they equal cluster.DefaultConfig's.
func DefaultDev() Dev {
	return Dev{
		Shards:        3,
		Replicas:      1,
		Frontends:     1,
		Host:          "127.0.0.1",
		Port:          6380,
		MaxMemory:     "64mb",
		FailoverAfter: 500 * time.Millisecond,
		GossipProfile: "fast",
		LogLevel:      "warn",
	}
}

// DevFlags registers `shoal dev`'s flags (defaults from d) on fs.
func DevFlags(fs *pflag.FlagSet, d Dev) {
	fs.Int("shards", d.Shards, "number of shards")
	fs.Int("replicas", d.Replicas, "replicas per shard (besides its master)")
	fs.Int("frontends", d.Frontends, "number of frontends (on --port, --port+1, ...)")
	fs.String("host", d.Host, "IP address every node listens on")
	fs.Int("port", d.Port, "RESP port of the first frontend (0 = free ports)")
	fs.Bool("diskless-replicas", d.DisklessReplicas, "replicas keep data in memory only (cached, bounded by --maxmemory)")
	fs.String("maxmemory", d.MaxMemory, "memory bound of each diskless replica (e.g. 64mb; 0 = none)")
	fs.String("data-dir", d.DataDir, "directory for the shards' data (kept); empty = a temporary directory removed on exit")
	fs.Bool("no-failover", d.NoFailover, "run no control plane (no raft leader, no automatic failover): a dead master's keys answer CLUSTERDOWN until it is back")
	fs.Duration("failover-after", d.FailoverAfter, "the leader waits this long for a failed master to come back before failing over")
	fs.String("gossip-profile", d.GossipProfile, "gossip timing: fast or lan")
	fs.String("log-level", d.LogLevel, "debug, info, warn or error")
}
