package frontend

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/hashring"
	"github.com/shoal-kv/shoal/proto"
)

// ReadPolicy says where read-only commands go.
type ReadPolicy string

// Read policies.
const (
	// ReadMaster sends every command to the shard's master (the default):
	// reads see every acknowledged write.
	ReadMaster ReadPolicy = "master"
	// ReadPreferReplica sends read-only commands to a replica whose lag is
	// within MaxReplicaLag, and to the master when there is none.
	ReadPreferReplica ReadPolicy = "prefer-replica"
	// ReadReplica sends read-only commands only to replicas within
	// MaxReplicaLag; with none, reads answer -CLUSTERDOWN (the master is
	// spared). A cached replica's miss still falls through to the master.
	ReadReplica ReadPolicy = "replica"
)

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("frontend: invalid config")

// Config configures a Server. Start from DefaultConfig. New copies it; the
// caller may reuse it.
type Config struct {
	// Membership is the gossip view the router follows. When set, the
	// Server uses it as is and does not own it (tests pass a gossiptest
	// node). When nil, Gossip must be set and New starts its own agent,
	// joins Join in the background, and leaves on Shutdown.
	Membership gossip.Membership
	// Gossip configures the Server's own gossip agent when Membership is
	// nil. Its Tags are filled in by New (role frontend, RESPAddr,
	// AdminAddr, Version).
	Gossip *gossip.Config
	// Join are the gossip addresses to join (HOST:PORT; DNS names allowed).
	Join []string

	// RESPAddr is the client address announced in gossip (HOST:PORT).
	// Required with Gossip.
	RESPAddr string
	// AdminAddr is the admin HTTP address announced in gossip, if any.
	AdminAddr string
	// Version is announced in gossip and INFO.
	Version string

	// ExpectShards is how many shards, each with a master, the frontend
	// must have seen before it serves data commands and reports ready
	// (NSDb's contact-point minimum). Default 1.
	ExpectShards int
	// EjectFailedShards drops a shard without a reachable master from the
	// ring, so its keys move to the other shards (a pure cache, as
	// twemproxy's auto_eject_hosts). Off by default: such keys answer
	// -CLUSTERDOWN instead, never stale or empty data.
	EjectFailedShards bool
	// Hashring is the key-to-shard algorithm; every frontend of a cluster
	// must use the same one.
	Hashring hashring.Config

	// ReadPolicy is where read-only commands go (default ReadMaster).
	ReadPolicy ReadPolicy
	// MaxReplicaLag skips replicas lagging more than this behind their
	// master (as the master's INFO replication reports it). 0 disables
	// the check: every alive replica is used. Default 1 s.
	MaxReplicaLag time.Duration
	// ReplicaLagInterval is how often masters are asked for their
	// replicas' lag (only with a replica read policy). Default 1 s.
	ReplicaLagInterval time.Duration
	// LagProbe measures replica lag; nil uses RedisLagProbe (INFO
	// replication on the master).
	LagProbe LagProbe

	// RequirePass makes clients AUTH before anything else (the frontend's
	// own password).
	RequirePass string
	// ShardPassword is sent with AUTH on every connection to a shard node
	// (shardd --requirepass); empty sends none.
	ShardPassword string
	// MaxClients bounds concurrent client connections (default 10000).
	MaxClients int
	// Limits bounds what clients may send (proto-max-bulk-len,
	// client-query-buffer-limit, ...); zero fields take Redis's defaults.
	Limits proto.Limits

	// UpstreamConns is how many pipelined connections the frontend keeps
	// to each shard node; requests from all clients share them. Default 1.
	UpstreamConns int
	// DialTimeout bounds connecting to a shard node (default 1 s).
	DialTimeout time.Duration
	// UpstreamTimeout closes an upstream connection whose oldest request
	// has waited this long for its reply; its requests fail with an error
	// (blocking commands are exempt). Default 10 s.
	UpstreamTimeout time.Duration
	// MaxBatch bounds how many pipelined commands of one client are
	// forwarded before their replies are written back (default 1024).
	MaxBatch int

	// FailoverBuffer is how long a request for a shard without a reachable
	// master is held, waiting for the router to show a (new) master, before
	// it fails with -CLUSTERDOWN, as Vitess buffers primary switches. It
	// covers a shard with no master in gossip (failed, left, unknown) and a
	// master that cannot be dialed or whose connection broke before the
	// request was written. A held request delays the later replies of its
	// client (pipeline order is kept); other clients and shards go on.
	// 0 fails such requests at once. Default 2 s.
	FailoverBuffer time.Duration
	// FailoverBufferSize bounds how many requests are held at once, over
	// all shards; a request beyond it fails at once with -CLUSTERDOWN
	// saying the buffer is full. Default 10000.
	FailoverBufferSize int

	// MapInterval is how often the cluster map (SHOAL MAP) is read from a
	// shard node that runs the control plane, besides soon after every
	// view change; the router corrects gossip with it (clustermap.go).
	// Nothing is read while no node announces a raft address. 0 = never.
	// Default 1 s.
	MapInterval time.Duration

	// Registerer receives the frontend's Prometheus metrics; nil makes a
	// private registry that AdminHandler serves.
	Registerer prometheus.Registerer
	// Gatherer is what AdminHandler's /metrics serves when Registerer is
	// set (usually the same registry).
	Gatherer prometheus.Gatherer
	// EnablePprof adds /debug/pprof/ to AdminHandler.
	EnablePprof bool

	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		ExpectShards:       1,
		Hashring:           hashring.DefaultConfig(),
		ReadPolicy:         ReadMaster,
		MaxReplicaLag:      time.Second,
		ReplicaLagInterval: time.Second,
		MaxClients:         10000,
		Limits:             proto.DefaultLimits(),
		UpstreamConns:      1,
		DialTimeout:        time.Second,
		UpstreamTimeout:    10 * time.Second,
		MaxBatch:           1024,
		MapInterval:        time.Second,
		FailoverBuffer:     2 * time.Second,
		FailoverBufferSize: 10000,
	}
}

// Validate checks the config. Errors wrap ErrInvalidConfig and name the
// field.
func (c Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if c.Membership == nil && c.Gossip == nil {
		return bad("Gossip", "required when Membership is nil")
	}
	if c.Gossip != nil && c.Membership == nil && c.RESPAddr == "" {
		return bad("RESPAddr", "required with Gossip (the address announced to the cluster)")
	}
	if c.ExpectShards < 0 {
		return bad("ExpectShards", "%d is negative", c.ExpectShards)
	}
	if err := c.Hashring.Validate(); err != nil {
		return fmt.Errorf("%w: Hashring: %w", ErrInvalidConfig, err)
	}
	switch c.ReadPolicy {
	case ReadMaster, ReadPreferReplica, ReadReplica:
	default:
		return bad("ReadPolicy", "%q is not %q, %q or %q", c.ReadPolicy, ReadMaster, ReadPreferReplica, ReadReplica)
	}
	if c.MaxReplicaLag < 0 {
		return bad("MaxReplicaLag", "%v is negative", c.MaxReplicaLag)
	}
	if c.ReplicaLagInterval <= 0 {
		return bad("ReplicaLagInterval", "must be positive (got %v)", c.ReplicaLagInterval)
	}
	if c.MaxClients <= 0 {
		return bad("MaxClients", "must be positive (got %d)", c.MaxClients)
	}
	if err := c.Limits.Validate(); err != nil {
		return fmt.Errorf("%w: Limits: %w", ErrInvalidConfig, err)
	}
	if c.UpstreamConns <= 0 || c.UpstreamConns > 64 {
		return bad("UpstreamConns", "%d out of range 1..64", c.UpstreamConns)
	}
	if c.DialTimeout <= 0 {
		return bad("DialTimeout", "must be positive (got %v)", c.DialTimeout)
	}
	if c.UpstreamTimeout <= 0 {
		return bad("UpstreamTimeout", "must be positive (got %v)", c.UpstreamTimeout)
	}
	if c.MaxBatch <= 0 {
		return bad("MaxBatch", "must be positive (got %d)", c.MaxBatch)
	}
	if c.FailoverBuffer < 0 {
		return bad("FailoverBuffer", "%v is negative (0 turns the buffer off)", c.FailoverBuffer)
	}
	if c.FailoverBuffer > 0 && c.FailoverBufferSize <= 0 {
		return bad("FailoverBufferSize", "must be positive with a FailoverBuffer (got %d)", c.FailoverBufferSize)
	}
	if c.MapInterval < 0 {
		return bad("MapInterval", "%v is negative (0 turns map reads off)", c.MapInterval)
	}
	if c.Registerer != nil && c.Gatherer == nil {
		return bad("Gatherer", "required with Registerer (what /metrics serves)")
	}
	return nil
}
