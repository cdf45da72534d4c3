package gossip

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// Profile selects a set of gossip timings.
type Profile string

// Timing profiles.
const (
	// ProfileLAN uses serf's and memberlist's LAN defaults: probe every 1 s,
	// failure detected in about 5-8 s. For real networks.
	ProfileLAN Profile = "lan"
	// ProfileFast is for loopback tests and small clusters on a quiet
	// network: memberlist.DefaultLocalConfig with ProbeInterval 200 ms,
	// ProbeTimeout 100 ms, SuspicionMult 2, GossipInterval 50 ms,
	// RetransmitMult 4 and PushPullInterval 5 s (for reliable convergence),
	// a 300 ms leave propagation delay, and failed members retried every
	// second (serf's ReconnectInterval; 30 s in ProfileLAN), so the sides of
	// a healed partition find each other within about a second. Failure
	// detection takes about 1 s. It sends several times more packets than
	// ProfileLAN.
	ProfileFast Profile = "fast"
)

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("gossip: invalid config")

// Config configures an Agent. The zero value is not usable: start from
// DefaultConfig. New copies what it needs; the caller keeps the Config.
type Config struct {
	// NodeName is this node's unique name in the cluster. Two live nodes
	// must never share a name (serf shuts down the loser of a name
	// conflict). A restarted node should reuse its name: it then replaces
	// its dead self at once, even on a new address. Default: the host name
	// and the port of Tags.RESPAddr ("host-6379"); without a RESP address,
	// the host name and BindPort, or a random suffix when BindPort is 0.
	NodeName string

	// BindAddr is the IP address to listen on for gossip (UDP and TCP).
	// Required (default "127.0.0.1"). Binding 0.0.0.0 without
	// AdvertiseAddr makes memberlist advertise a private IP it picks, and
	// fail on hosts that have none (hashicorp/memberlist#282); binding ::
	// requires AdvertiseAddr.
	BindAddr string
	// BindPort is the gossip port (default 7946). 0 lets the kernel choose
	// one; Agent.Addr reports it.
	BindPort int
	// AdvertiseAddr is the address other nodes use to reach this one: an
	// IP, or a host name resolved once by New. Default: BindAddr.
	AdvertiseAddr string
	// AdvertisePort is the advertised port. Default (0): the bound port.
	// It needs a fixed BindPort.
	AdvertisePort int

	// Profile picks the gossip timings: ProfileLAN (default) or ProfileFast.
	Profile Profile

	// Tags is what this node announces at start. Required; validated.
	Tags Tags

	// Key, when set, encrypts all gossip (AES-GCM): the standard base64
	// encoding of 16, 24 or 32 random bytes, the same on every node. Nodes
	// with another key, or none, cannot join.
	Key string

	// JoinBackoffMin and JoinBackoffMax bound the wait between Join
	// attempts (doubling from Min up to Max, with jitter).
	// Defaults 200 ms and 5 s.
	JoinBackoffMin time.Duration
	JoinBackoffMax time.Duration

	// Logger receives the agent's own records and, at debug level, serf's
	// and memberlist's log lines. Nil discards everything.
	Logger *slog.Logger
}

// DefaultConfig returns a Config with every default filled in except Tags
// (and NodeName, derived by New when empty).
func DefaultConfig() Config {
	return Config{
		BindAddr:       "127.0.0.1",
		BindPort:       7946,
		Profile:        ProfileLAN,
		JoinBackoffMin: 200 * time.Millisecond,
		JoinBackoffMax: 5 * time.Second,
	}
}

// Validate checks the config. Every error wraps ErrInvalidConfig and names
// the field.
func (c Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if c.NodeName != "" {
		if len(c.NodeName) > 128 {
			return bad("NodeName", "%d bytes, longer than 128", len(c.NodeName))
		}
		if !printable(c.NodeName) {
			return bad("NodeName", "%q has spaces or control characters", c.NodeName)
		}
	}
	if c.BindAddr == "" {
		return bad("BindAddr", "required (an IP address, e.g. 127.0.0.1 or 10.0.0.5)")
	}
	bind, err := netip.ParseAddr(c.BindAddr)
	if err != nil {
		return bad("BindAddr", "%q is not an IP address", c.BindAddr)
	}
	if bind.Is6() && bind.IsUnspecified() && c.AdvertiseAddr == "" {
		return bad("AdvertiseAddr", "required when BindAddr is %q", c.BindAddr)
	}
	if c.BindPort < 0 || c.BindPort > 65535 {
		return bad("BindPort", "%d out of range 0..65535", c.BindPort)
	}
	if c.AdvertiseAddr != "" && !printable(c.AdvertiseAddr) {
		return bad("AdvertiseAddr", "%q is not an IP address or host name", c.AdvertiseAddr)
	}
	if c.AdvertisePort < 0 || c.AdvertisePort > 65535 {
		return bad("AdvertisePort", "%d out of range 0..65535", c.AdvertisePort)
	}
	if c.AdvertisePort != 0 && c.BindPort == 0 {
		return bad("AdvertisePort", "needs a fixed BindPort (memberlist advertises the kernel-chosen port when BindPort is 0)")
	}
	switch c.Profile {
	case ProfileLAN, ProfileFast:
	default:
		return bad("Profile", "%q is not %q or %q", c.Profile, ProfileLAN, ProfileFast)
	}
	if err := c.Tags.Validate(); err != nil {
		return fmt.Errorf("%w: Tags: %w", ErrInvalidConfig, err)
	}
	if c.Key != "" {
		if _, err := decodeKey(c.Key); err != nil {
			return bad("Key", "%v", err)
		}
	}
	if c.JoinBackoffMin <= 0 {
		return bad("JoinBackoffMin", "must be positive (got %v)", c.JoinBackoffMin)
	}
	if c.JoinBackoffMax < c.JoinBackoffMin {
		return bad("JoinBackoffMax", "%v is less than JoinBackoffMin %v", c.JoinBackoffMax, c.JoinBackoffMin)
	}
	return nil
}

// decodeKey decodes a base64 gossip key and checks its length.
func decodeKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("not standard base64: %w", err)
	}
	switch len(k) {
	case 16, 24, 32:
		return k, nil
	}
	return nil, fmt.Errorf("decodes to %d bytes, want 16, 24 or 32", len(k))
}

// fastReconnectInterval is how often ProfileFast tries to rejoin a failed
// member (serf's default is 30 s). Once a node is declared dead nothing
// else crosses a healed partition: memberlist probes and push-pulls only
// with members it thinks alive, and the dead-node broadcast has long been
// sent. So two sides of a healed partition stay apart until a reconnect.
const fastReconnectInterval = time.Second

// deadNodeReclaimTime lets a node that restarts under the same name on a
// new address replace its dead entry at once (LIBRARIES.md 1.7): without
// it memberlist refuses the new address until the dead entry ages out.
const deadNodeReclaimTime = time.Nanosecond

// memberlistConfig builds a fresh memberlist config for the profile.
func (c Config) memberlistConfig() *memberlist.Config {
	var mc *memberlist.Config
	switch c.Profile {
	case ProfileFast:
		mc = memberlist.DefaultLocalConfig()
		mc.ProbeInterval = 200 * time.Millisecond
		mc.ProbeTimeout = 100 * time.Millisecond
		mc.SuspicionMult = 2
		mc.GossipInterval = 50 * time.Millisecond
		mc.RetransmitMult = 4
		mc.PushPullInterval = 5 * time.Second
	default:
		mc = memberlist.DefaultLANConfig()
	}
	mc.DeadNodeReclaimTime = deadNodeReclaimTime
	mc.BindAddr = c.BindAddr
	mc.BindPort = c.BindPort
	mc.AdvertisePort = c.AdvertisePort
	if mc.AdvertisePort == 0 {
		// memberlist pairs an explicit AdvertiseAddr with AdvertisePort
		// as given, 0 included; with BindPort 0 it fills in the port.
		mc.AdvertisePort = c.BindPort
	}
	return mc
}
