package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"github.com/shoal-kv/shoal/gossip"
)

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("control: invalid config")

// Config configures a Node. Start from DefaultConfig; New copies it.
type Config struct {
	// Membership is this process's gossip view (a *gossip.Agent, or a
	// gossiptest.Node in tests). Required. Its local member's name is the
	// node's raft ServerID; its `ra` and `rv` tags must announce
	// Node.RaftAddr and Voter (the process owning the agent sets them).
	Membership gossip.Membership
	// Events, when set, wakes the leader's jobs at once on each gossip
	// change instead of at the next Tick. Pass Membership.Events() only
	// when nothing else in the process consumes that channel (an Agent's
	// events go to one consumer); otherwise fan them out or leave nil and
	// call Node.Notify.
	Events <-chan gossip.Event

	// RaftAddr is the HOST:PORT raft's TCP transport binds (--raft).
	// Required unless RaftListener is set.
	RaftAddr string
	// RaftAdvertise is the HOST:PORT other nodes dial, when it differs
	// from the bound address (binding 0.0.0.0): an IP, or a host name that
	// New resolves once. Default: the bound address. Node.RaftAddr reports
	// the result, for the `ra` tag.
	RaftAdvertise string
	// RaftListener, when set, is used instead of binding RaftAddr (tests
	// pass a 127.0.0.1:0 listener). The Node closes it.
	RaftListener net.Listener

	// DataDir holds raft's log, stable store and snapshots in
	// DataDir/raft. Empty means in memory, allowed only for non-voters
	// (diskless shardd).
	DataDir string
	// Voter makes this node a raft voter; otherwise the leader adds it as
	// a non-voter, which still holds the map (SHOAL MAP). Default true.
	Voter bool
	// BootstrapExpect is how many voters (alive in gossip with `rv=1` and
	// an `ra` tag) a fresh voter waits for before it bootstraps the raft
	// cluster with the first BootstrapExpect of them by name. Set it to
	// the number of voters the cluster starts with; 1 makes a cluster of
	// one. Default 1.
	BootstrapExpect int
	// BootstrapGrace is how long a fresh voter waits, once it sees enough
	// voters, for an existing leader to contact it before it bootstraps
	// (a voter joining a running cluster is added by its leader instead).
	// Default 1 s.
	BootstrapGrace time.Duration

	// FailoverAfter is how long the leader waits, once a shard's master
	// looks down (failed or left in gossip, or a replica's `ml=down`),
	// for it to come back before failing over. Default 500 ms.
	FailoverAfter time.Duration
	// ReapAfter is how long a raft server may stay failed in gossip before
	// the leader removes it from the raft configuration, and how long a
	// failed replica's last position still holds back its master's log
	// retention. Default 30 s.
	ReapAfter time.Duration
	// RetainInterval is how often the leader tells masters how much log
	// their replicas still need (SHOAL RETAIN). Default 5 s.
	RetainInterval time.Duration
	// Tick is the period of the leader's job loop (jobs also run on every
	// gossip event when Events is set). Default 100 ms.
	Tick time.Duration

	// Password is sent with AUTH on every connection to a shardd
	// (requirepass). Empty: no AUTH.
	Password string
	// Dial opens connections to shardd nodes. Default: a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// ProbeTimeout bounds a PING or ROLE to a shardd, connection
	// included. Default 200 ms.
	ProbeTimeout time.Duration
	// OrderTimeout bounds a SHOAL PROMOTE, FOLLOW or RETAIN, connection
	// included (PROMOTE writes to disk before answering). Default 1 s.
	OrderTimeout time.Duration
	// OrderRetry is the least time between two identical orders to one
	// node while its gossip tags still disagree with the map. Default
	// 500 ms.
	OrderRetry time.Duration

	// Raft timings, tuned for a LAN or loopback: a follower starts an
	// election between HeartbeatTimeout and twice that after the last
	// contact. Defaults 300 ms, 300 ms, 250 ms and 20 ms. See
	// hashicorp/raft's Config for their meaning.
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration

	// OnAction, when set, is called with every action the leader takes
	// (raft membership changes, map commits, orders to shardd nodes), just
	// before it is taken, from the leader's job goroutine (never
	// concurrently for one Node). It must not block for long.
	OnAction func(Action)

	// Logger receives the node's records (attribute node), and raft's own
	// lines at debug level (attributes component=raft, lib_level). Nil
	// discards everything.
	Logger *slog.Logger

	// wrapStream, when set, wraps raft's stream layer (tests: partitions).
	wrapStream func(raft.StreamLayer) raft.StreamLayer
}

// DefaultConfig returns a Config with every default filled in; set
// Membership, RaftAddr (or RaftListener) and DataDir.
func DefaultConfig() Config {
	return Config{
		Voter:              true,
		BootstrapExpect:    1,
		BootstrapGrace:     time.Second,
		FailoverAfter:      500 * time.Millisecond,
		ReapAfter:          30 * time.Second,
		RetainInterval:     5 * time.Second,
		Tick:               100 * time.Millisecond,
		ProbeTimeout:       200 * time.Millisecond,
		OrderTimeout:       time.Second,
		OrderRetry:         500 * time.Millisecond,
		HeartbeatTimeout:   300 * time.Millisecond,
		ElectionTimeout:    300 * time.Millisecond,
		LeaderLeaseTimeout: 250 * time.Millisecond,
		CommitTimeout:      20 * time.Millisecond,
	}
}

// Validate checks the config. Every error wraps ErrInvalidConfig and names
// the field.
func (c Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if c.Membership == nil {
		return bad("Membership", "required")
	}
	if c.RaftListener == nil {
		if c.RaftAddr == "" {
			return bad("RaftAddr", "required")
		}
		if err := checkHostPort(c.RaftAddr, true); err != nil {
			return bad("RaftAddr", "%v", err)
		}
	}
	if c.RaftAdvertise != "" {
		if err := checkHostPort(c.RaftAdvertise, false); err != nil {
			return bad("RaftAdvertise", "%v", err)
		}
		host, _, _ := net.SplitHostPort(c.RaftAdvertise)
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			return bad("RaftAdvertise", "%q: other nodes cannot dial this host", c.RaftAdvertise)
		}
	}
	if c.Voter && c.DataDir == "" {
		return bad("Voter", "a voter needs a DataDir (in-memory raft state is for non-voters)")
	}
	if c.BootstrapExpect < 1 {
		return bad("BootstrapExpect", "%d: must be at least 1", c.BootstrapExpect)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"BootstrapGrace", c.BootstrapGrace}, {"FailoverAfter", c.FailoverAfter},
		{"ReapAfter", c.ReapAfter}, {"RetainInterval", c.RetainInterval}, {"Tick", c.Tick},
		{"ProbeTimeout", c.ProbeTimeout}, {"OrderTimeout", c.OrderTimeout}, {"OrderRetry", c.OrderRetry},
		{"HeartbeatTimeout", c.HeartbeatTimeout}, {"ElectionTimeout", c.ElectionTimeout},
		{"LeaderLeaseTimeout", c.LeaderLeaseTimeout}, {"CommitTimeout", c.CommitTimeout},
	} {
		if d.v <= 0 {
			return bad(d.name, "%v: must be positive", d.v)
		}
	}
	if c.LeaderLeaseTimeout > c.HeartbeatTimeout {
		return bad("LeaderLeaseTimeout", "%v is longer than HeartbeatTimeout %v", c.LeaderLeaseTimeout, c.HeartbeatTimeout)
	}
	if c.ElectionTimeout < c.HeartbeatTimeout {
		return bad("ElectionTimeout", "%v is shorter than HeartbeatTimeout %v", c.ElectionTimeout, c.HeartbeatTimeout)
	}
	return nil
}

// checkHostPort accepts HOST:PORT with a decimal port (0 only when bind).
func checkHostPort(s string, bind bool) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT: %w", s, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 && !bind {
		return fmt.Errorf("%q: bad port %q", s, port)
	}
	return nil
}
