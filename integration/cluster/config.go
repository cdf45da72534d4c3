package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/shoal-kv/shoal/frontend"
	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/shardd"
)

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("cluster: invalid config")

// Config describes a cluster. Start from DefaultConfig; Start copies it.
type Config struct {
	// Shards is the number of shards, named shard-0, shard-1, ...
	// Default 3.
	Shards int
	// Replicas is the number of replicas per shard besides its master.
	// Default 1.
	Replicas int
	// Frontends is the number of frontends Start runs. Default 1.
	Frontends int

	// Host is the IP address every node listens on (RESP and gossip).
	// Default 127.0.0.1.
	Host string
	// Port is the RESP port of the first frontend; frontend i listens on
	// Port+i (AddFrontend included). 0 makes every frontend take a free
	// port, as tests do. Shard nodes and gossip always take free ports.
	// Default 6380.
	Port int

	// DisklessReplicas makes every replica memory-only (no file written),
	// bounded by MaxMemory: a cached replica (shardd diskless mode).
	DisklessReplicas bool
	// MaxMemory bounds each diskless replica, in bytes (0 = unbounded).
	// Default 64 MiB.
	MaxMemory int64

	// DataDir holds every durable node's data, in DataDir/<shard>/master
	// and DataDir/<shard>/replica-<n>; it is kept on Close, so a cluster
	// started again on it finds its data. Empty: a temporary directory
	// that Close removes.
	DataDir string

	// DisableControlPlane runs no control plane: no raft, no leader, no
	// automatic failover; a stopped master's keys answer -CLUSTERDOWN
	// until it is back. By default (false) every shard node runs raft as
	// `shoal shardd --raft` does (three voters, see Node.Voter) and the
	// leader fails a dead master over to its most advanced replica.
	DisableControlPlane bool
	// FailoverAfter is how long the leader waits for a failed master to
	// come back before failing over (shardd's --failover-after). 0 means
	// the default, 500 ms.
	FailoverAfter time.Duration

	// GossipProfile is every node's gossip timing. Default gossip.ProfileFast
	// (about 1 s failure detection on loopback).
	GossipProfile gossip.Profile

	// Version is announced by every node (gossip, INFO). Default "dev".
	Version string

	// Logger receives every node's logs, each record with its node's
	// name; nil discards them.
	Logger *slog.Logger

	// ShardConfig, when set, may change a shard node's configuration just
	// before the node is created (at Start and at RestartShardNode):
	// replica 0 is the shard's master, 1..Replicas its replicas. It runs
	// on the goroutine creating the node, never concurrently for the
	// same Cluster.
	ShardConfig func(shard string, replica int, c *shardd.Config)
	// FrontendConfig, when set, may change frontend i's configuration
	// just before it is created (at Start and at AddFrontend), under the
	// same rules as ShardConfig.
	FrontendConfig func(i int, c *frontend.Config)
}

// defaultFailoverAfter is shardd's default --failover-after.
const defaultFailoverAfter = 500 * time.Millisecond

// DefaultConfig returns the `shoal dev` shape: 3 shards × (master + 1
// replica) and one frontend on 127.0.0.1:6380, with the control plane.
func DefaultConfig() Config {
	return Config{
		Shards:        3,
		Replicas:      1,
		Frontends:     1,
		Host:          "127.0.0.1",
		Port:          6380,
		MaxMemory:     64 << 20,
		FailoverAfter: defaultFailoverAfter,
		GossipProfile: gossip.ProfileFast,
		Version:       "dev",
	}
}

// Validate checks the config. Errors wrap ErrInvalidConfig and name the
// field.
func (c Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if c.Shards < 1 || c.Shards > 1000 {
		return bad("Shards", "%d out of range 1..1000", c.Shards)
	}
	if c.Replicas < 0 || c.Replicas > 16 {
		return bad("Replicas", "%d out of range 0..16", c.Replicas)
	}
	if c.Frontends < 0 || c.Frontends > 100 {
		return bad("Frontends", "%d out of range 0..100", c.Frontends)
	}
	if _, err := netip.ParseAddr(c.Host); err != nil {
		return bad("Host", "%q is not an IP address", c.Host)
	}
	if c.Port < 0 || c.Port > 65535 {
		return bad("Port", "%d out of range 0..65535", c.Port)
	}
	if c.Port > 0 && c.Port+c.Frontends-1 > 65535 {
		return bad("Port", "%d frontends from port %d go past 65535", c.Frontends, c.Port)
	}
	if c.MaxMemory < 0 {
		return bad("MaxMemory", "%d is negative", c.MaxMemory)
	}
	if c.FailoverAfter < 0 {
		return bad("FailoverAfter", "%v is negative", c.FailoverAfter)
	}
	switch c.GossipProfile {
	case gossip.ProfileFast, gossip.ProfileLAN:
	default:
		return bad("GossipProfile", "%q is not %q or %q", c.GossipProfile, gossip.ProfileFast, gossip.ProfileLAN)
	}
	return nil
}
