package gossip

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/serf/serf"

	"github.com/shoal-kv/shoal/gossip/internal/eventq"
)

// Errors returned by Agent methods.
var (
	ErrClosed         = errors.New("gossip: agent closed")
	ErrInvalidAddress = errors.New("gossip: invalid join address")
)

// serfEventBuffer is the capacity of the channel serf writes events into.
// Serf blocks when it is full; the agent's drain goroutine empties it
// continuously, so it only absorbs bursts (LIBRARIES.md 1.5).
const serfEventBuffer = 1024

// eventsOutBuffer is the capacity of the channel Events returns; the
// unbounded backlog sits behind it.
const eventsOutBuffer = 64

// Agent is this process's membership in the gossip cluster: a serf
// instance with shoal's tag schema and a typed event stream. New starts it;
// Join contacts the cluster; Shutdown leaves gracefully and stops it; Close
// stops it at once (the others then see it as failed).
//
// All methods are safe for concurrent use. The Agent owns its serf
// instance and two goroutines (serf event drain, event delivery) until
// Close or Shutdown returns.
type Agent struct {
	cfg    Config // validated copy; NodeName filled in
	logger *slog.Logger
	serf   *serf.Serf
	addr   netip.AddrPort // gossip address, read once at New (memberlist's node record changes under its own lock)

	serfEvents  chan serf.Event
	events      *eventq.Queue[Event]
	subscribed  atomic.Bool
	drainExited chan struct{}

	tagsMu sync.Mutex // serializes SetTags (serf writes its config unlocked)

	leaveOnce sync.Once
	leaveDone chan struct{}
	leaveErr  error

	closeOnce   sync.Once
	closing     chan struct{} // closed when Close starts
	serfStopped chan struct{} // closed after serf.Shutdown returned
	closeErr    error
}

var _ Membership = (*Agent)(nil)

// New validates cfg, creates the serf instance and starts it: from here on
// the node listens for gossip and answers probes, as a cluster of one until
// Join. Empty BindAddr, Profile and join backoffs take their defaults from
// DefaultConfig; BindPort 0 means a kernel-chosen port (see Addr).
func New(cfg Config) (*Agent, error) {
	cfg = withDefaults(cfg)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NodeName == "" {
		cfg.NodeName = defaultNodeName(cfg)
	}
	logger = logger.With("node", cfg.NodeName)

	sc := serf.DefaultConfig()
	sc.NodeName = cfg.NodeName
	sc.Tags = cfg.Tags.Encode()
	sc.LogOutput = nil
	sc.Logger = newLibLogger(logger, "serf")
	sc.MemberlistConfig = cfg.memberlistConfig()
	sc.MemberlistConfig.LogOutput = nil
	sc.MemberlistConfig.Logger = newLibLogger(logger, "memberlist")
	if cfg.Profile == ProfileFast {
		sc.LeavePropagateDelay = 300 * time.Millisecond
		sc.ReconnectInterval = fastReconnectInterval
	}
	if cfg.Key != "" {
		key, _ := decodeKey(cfg.Key) // checked by Validate
		sc.MemberlistConfig.SecretKey = key
	}
	if cfg.AdvertiseAddr != "" {
		ip, err := resolveAdvertise(cfg.AdvertiseAddr)
		if err != nil {
			return nil, fmt.Errorf("gossip: AdvertiseAddr: %w", err)
		}
		sc.MemberlistConfig.AdvertiseAddr = ip.String()
	}
	serfEvents := make(chan serf.Event, serfEventBuffer)
	sc.EventCh = serfEvents

	s, err := serf.Create(sc)
	if err != nil {
		hint := ""
		if strings.Contains(err.Error(), "private IP") {
			hint = " (set AdvertiseAddr or bind a specific IP)"
		}
		return nil, fmt.Errorf("gossip: start serf on %s: %w%s",
			net.JoinHostPort(cfg.BindAddr, strconv.Itoa(cfg.BindPort)), err, hint)
	}
	local := s.Memberlist().LocalNode() // before any SetTags can run
	a := &Agent{
		cfg:         cfg,
		logger:      logger,
		serf:        s,
		addr:        toAddrPort(local.Addr, local.Port),
		serfEvents:  serfEvents,
		events:      eventq.New[Event](eventsOutBuffer),
		drainExited: make(chan struct{}),
		closing:     make(chan struct{}),
		serfStopped: make(chan struct{}),
	}
	go a.drain()
	logger.Info("gossip agent started", "addr", a.Addr().String(), "profile", cfg.Profile,
		"encrypted", cfg.Key != "", "role", cfg.Tags.Role, "shard", cfg.Tags.Shard)
	return a, nil
}

// withDefaults fills zero fields that have a default.
func withDefaults(cfg Config) Config {
	d := DefaultConfig()
	if cfg.BindAddr == "" {
		cfg.BindAddr = d.BindAddr
	}
	if cfg.Profile == "" {
		cfg.Profile = d.Profile
	}
	if cfg.JoinBackoffMin == 0 {
		cfg.JoinBackoffMin = d.JoinBackoffMin
	}
	if cfg.JoinBackoffMax == 0 {
		cfg.JoinBackoffMax = max(d.JoinBackoffMax, cfg.JoinBackoffMin)
	}
	return cfg
}

// defaultNodeName derives a name that is stable across restarts of the
// same process role on the same host.
func defaultNodeName(cfg Config) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	if _, port, err := net.SplitHostPort(cfg.Tags.RESPAddr); err == nil {
		return host + "-" + port
	}
	if cfg.BindPort != 0 {
		return host + "-g" + strconv.Itoa(cfg.BindPort)
	}
	var b [4]byte
	_, _ = cryptorand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}

// resolveAdvertise turns an IP or host name into one IP (IPv4 preferred).
func resolveAdvertise(s string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolve %q: %w", s, err)
	}
	slices.SortStableFunc(ips, func(a, b netip.Addr) int {
		return boolCmp(!a.Unmap().Is4(), !b.Unmap().Is4())
	})
	if len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("resolve %q: no addresses", s)
	}
	return ips[0].Unmap(), nil
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// Name returns this node's name.
func (a *Agent) Name() string { return a.cfg.NodeName }

// Addr returns the gossip address other nodes reach this one at: the bound
// IP (or AdvertiseAddr) and the bound port, kernel-chosen when BindPort was
// 0. Pass Addr().String() to another agent's Join.
func (a *Agent) Addr() netip.AddrPort { return a.addr }

// LocalMember returns this node as its own view shows it.
func (a *Agent) LocalMember() Member {
	return fromSerf(a.serf.LocalMember())
}

// Members returns every member this node knows, itself included, with
// failed, leaving and left members (serf forgets them after its reap
// timeouts, 24 h by default), sorted by name. After Close it returns the
// last view.
func (a *Agent) Members() []Member {
	sm := a.serf.Members()
	out := make([]Member, 0, len(sm))
	for _, m := range sm {
		out = append(out, fromSerf(m))
	}
	slices.SortFunc(out, func(x, y Member) int { return strings.Compare(x.Name, y.Name) })
	return out
}

// Events returns the stream of membership changes seen by this node,
// including its own join and tag updates.
//
// Delivery guarantees: the stream starts at the first call to Events;
// from then on every serf member event is delivered once, in serf's order,
// one Event per member. Nothing is dropped while the agent runs: a
// dedicated goroutine drains serf's channel at once (serf is never stalled
// by a slow consumer) into an unbounded backlog, and the returned channel
// (buffered) is fed from it. A consumer that stops reading therefore makes
// memory grow; the agent logs a warning each time the backlog doubles past
// 1024. Events that happened before the first call are not replayed: read
// Members() after calling Events for the starting state. Members() is
// updated slightly before the matching event leaves serf, so an event may
// repeat what the snapshot already shows: apply events idempotently. When the agent
// stops (Close, Shutdown, or serf stopping on its own) the backlog is
// discarded and the channel is closed. Use one consumer goroutine: with
// several, each event goes to one of them.
func (a *Agent) Events() <-chan Event {
	a.subscribed.Store(true)
	return a.events.Out()
}

// SetTags replaces this node's tags and blocks until serf has broadcast
// the change (at most serf's BroadcastTimeout, 5 s) or the tags were
// refused. Invalid or oversize tags are refused before serf sees them.
// Calls are serialized.
func (a *Agent) SetTags(t Tags) error {
	if err := t.Validate(); err != nil {
		return err
	}
	a.tagsMu.Lock()
	defer a.tagsMu.Unlock()
	if a.isClosing() {
		return ErrClosed
	}
	if err := a.serf.SetTags(t.Encode()); err != nil {
		return fmt.Errorf("gossip: set tags: %w", err)
	}
	a.logger.Debug("gossip tags set", "role", t.Role, "shard", t.Shard, "repl_role", t.ReplRole, "epoch", t.Epoch)
	return nil
}

// Join contacts the cluster through addrs, each HOST:PORT where HOST is an
// IP or a DNS name; a name is resolved on every attempt and every address
// it resolves to is tried (IPv4 addresses only when BindAddr is IPv4, IPv6
// only when it is a specific IPv6 address). Join retries with exponential backoff
// (JoinBackoffMin doubling to JoinBackoffMax, with jitter) until at least
// one address answered, or ctx ends: then the error wraps ctx.Err() and the
// last failure. An address without a port fails at once with
// ErrInvalidAddress. No addresses: nothing to do (a cluster of one).
//
// Join returns when the contacted nodes have exchanged state with this
// one; the rest of the cluster learns of it by gossip shortly after.
func (a *Agent) Join(ctx context.Context, addrs []string) error {
	if len(addrs) == 0 {
		return nil
	}
	for _, addr := range addrs {
		if err := checkJoinAddr(addr); err != nil {
			return err
		}
	}
	backoff := a.cfg.JoinBackoffMin
	var lastErr error
	for attempt := 1; ; attempt++ {
		if a.isClosing() {
			return ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return joinErr(addrs, err, lastErr)
		}
		resolved, err := resolveJoinAddrs(ctx, addrs, a.family())
		if len(resolved) > 0 {
			var n int
			n, err = a.joinOnce(ctx, resolved)
			if n > 0 {
				a.logger.Info("gossip joined", "contacted", n, "addrs", resolved, "attempt", attempt)
				return nil
			}
		}
		if err == nil {
			err = errors.New("no node answered")
		}
		lastErr = err
		a.logger.Info("gossip join failed; retrying", "addrs", addrs, "attempt", attempt, "retry_in", backoff, "err", err)
		wait := time.Duration(float64(backoff) * (0.8 + 0.4*rand.Float64()))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return joinErr(addrs, ctx.Err(), lastErr)
		case <-a.closing:
			t.Stop()
			return ErrClosed
		case <-t.C:
		}
		backoff = min(2*backoff, a.cfg.JoinBackoffMax)
	}
}

func joinErr(addrs []string, ctxErr, last error) error {
	if last == nil {
		return fmt.Errorf("gossip: join %s: %w", strings.Join(addrs, ","), ctxErr)
	}
	return fmt.Errorf("gossip: join %s: %w (last attempt: %w)", strings.Join(addrs, ","), ctxErr, last)
}

func checkJoinAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: %q: %w", ErrInvalidAddress, addr, err)
	}
	if host == "" {
		return fmt.Errorf("%w: %q: empty host", ErrInvalidAddress, addr)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return fmt.Errorf("%w: %q: bad port %q", ErrInvalidAddress, addr, port)
	}
	return nil
}

// addrFamily says which resolved addresses a join may use.
type addrFamily int

const (
	anyFamily addrFamily = iota
	onlyIPv4
	onlyIPv6
)

// family returns the address family this agent's sockets speak: an IPv4
// bind address (0.0.0.0 included) cannot reach IPv6 peers and a specific
// IPv6 one cannot reach IPv4 peers; "::" may speak both.
func (a *Agent) family() addrFamily {
	bind, _ := netip.ParseAddr(a.cfg.BindAddr) // checked by Validate
	switch {
	case bind.Unmap().Is4():
		return onlyIPv4
	case bind.IsUnspecified():
		return anyFamily
	}
	return onlyIPv6
}

func (f addrFamily) allows(ip netip.Addr) bool {
	switch f {
	case onlyIPv4:
		return ip.Unmap().Is4()
	case onlyIPv6:
		return !ip.Unmap().Is4()
	}
	return true
}

// resolveJoinAddrs expands host names into IP:PORT addresses of the given
// family, without duplicates (IP literals are kept as given). It returns
// what it could resolve and the resolution errors.
func resolveJoinAddrs(ctx context.Context, addrs []string, fam addrFamily) ([]string, error) {
	var out []string
	var errs []error
	seen := make(map[string]bool)
	add := func(ip netip.Addr, port string) {
		s := net.JoinHostPort(ip.Unmap().String(), port)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, addr := range addrs {
		host, port, _ := net.SplitHostPort(addr) // checked by checkJoinAddr
		if ip, err := netip.ParseAddr(host); err == nil {
			add(ip, port)
			continue
		}
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			errs = append(errs, fmt.Errorf("resolve %q: %w", host, err))
			continue
		}
		usable := 0
		for _, ip := range ips {
			if fam.allows(ip) {
				add(ip, port)
				usable++
			}
		}
		if usable == 0 {
			errs = append(errs, fmt.Errorf("resolve %q: %v: none of the bind address's family", host, ips))
		}
	}
	return out, errors.Join(errs...)
}

// joinOnce runs one serf.Join, abandoning the wait (not the join, which
// ends by itself within memberlist's TCP timeout) when ctx ends.
func (a *Agent) joinOnce(ctx context.Context, addrs []string) (int, error) {
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := a.serf.Join(addrs, true)
		done <- result{n, err}
	}()
	select {
	case r := <-done:
		return r.n, flatten(r.err)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// flatten turns serf's multi-error (one line per address, with a header
// and tabs) into a one-line error that still unwraps to each part.
func flatten(err error) error {
	m, ok := err.(interface{ WrappedErrors() []error })
	if !ok {
		return err
	}
	return joinedErr(m.WrappedErrors())
}

type joinedErr []error

func (e joinedErr) Error() string {
	parts := make([]string, len(e))
	for i, err := range e {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

func (e joinedErr) Unwrap() []error { return e }

// Leave announces a graceful departure and waits until it has spread
// (serf: up to twice BroadcastTimeout plus LeavePropagateDelay, about 1.5 s
// typically with ProfileLAN) or ctx ends. The others then report this node
// as left rather than failed. The agent cannot Join again afterwards; call
// Shutdown or Close to release it. Leave is idempotent: later calls wait
// for the same departure.
func (a *Agent) Leave(ctx context.Context) error {
	if a.isClosing() {
		return ErrClosed
	}
	a.leaveOnce.Do(func() {
		a.leaveDone = make(chan struct{})
		a.logger.Info("gossip leaving")
		go func() {
			a.leaveErr = a.serf.Leave()
			close(a.leaveDone)
		}()
	})
	select {
	case <-a.leaveDone:
		if a.leaveErr != nil {
			return fmt.Errorf("gossip: leave: %w", a.leaveErr)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("gossip: leave: %w", ctx.Err())
	}
}

// Shutdown leaves gracefully (bounded by ctx) and then stops the agent as
// Close does. It is idempotent; it returns the leave error, if any, joined
// with the close error.
func (a *Agent) Shutdown(ctx context.Context) error {
	var leaveErr error
	if !a.isClosing() {
		leaveErr = a.Leave(ctx)
	}
	return errors.Join(leaveErr, a.Close())
}

// Close stops the agent at once, without a goodbye: other nodes report it
// as failed after their failure-detection delay. The event channel is
// closed. Close is idempotent and returns the first call's result.
func (a *Agent) Close() error {
	a.closeOnce.Do(func() {
		close(a.closing)
		if err := a.serf.Shutdown(); err != nil {
			a.closeErr = fmt.Errorf("gossip: shutdown serf: %w", err)
		}
		close(a.serfStopped)
		<-a.drainExited
		a.logger.Info("gossip agent stopped")
	})
	return a.closeErr
}

func (a *Agent) isClosing() bool {
	select {
	case <-a.closing:
		return true
	default:
		return false
	}
}

// drain is the only reader of serf's event channel. It never blocks on the
// consumer: events go into the unbounded queue.
func (a *Agent) drain() {
	defer close(a.drainExited)
	defer a.events.Close()
	warnAt := 1024
	handle := func(e serf.Event) {
		me, ok := e.(serf.MemberEvent)
		if !ok {
			return // user events and queries: not used by shoal
		}
		typ, ok := eventTypeOf(me.Type)
		if !ok {
			return
		}
		for _, m := range me.Members {
			ev := Event{Type: typ, Member: fromSerf(m)}
			a.logger.Debug("gossip member event", "event", typ.String(), "member", ev.Member.Name,
				"addr", ev.Member.Addr.String())
			if !a.subscribed.Load() {
				continue
			}
			if n := a.events.Push(ev); n >= warnAt {
				a.logger.Warn("gossip event backlog growing: the Events consumer is slow", "backlog", n)
				warnAt *= 2
			} else if n < 512 {
				warnAt = 1024
			}
		}
	}
	for {
		select {
		case e := <-a.serfEvents:
			handle(e)
		case <-a.serf.ShutdownCh():
			a.drainRest(handle)
			return
		case <-a.serfStopped:
			a.drainRest(handle)
			return
		}
	}
}

func (a *Agent) drainRest(handle func(serf.Event)) {
	if !a.isClosing() {
		a.logger.Error("gossip: serf stopped on its own (lost a node-name conflict?); the event stream ends")
	}
	for {
		select {
		case e := <-a.serfEvents:
			handle(e)
		default:
			return
		}
	}
}

func eventTypeOf(t serf.EventType) (EventType, bool) {
	switch t {
	case serf.EventMemberJoin:
		return EventJoined, true
	case serf.EventMemberUpdate:
		return EventUpdated, true
	case serf.EventMemberFailed:
		return EventFailed, true
	case serf.EventMemberLeave:
		return EventLeft, true
	case serf.EventMemberReap:
		return EventReaped, true
	}
	return 0, false
}

func fromSerf(m serf.Member) Member {
	out := Member{
		Name:   m.Name,
		Addr:   toAddrPort(m.Addr, m.Port),
		Status: statusOf(m.Status),
	}
	out.Tags, out.TagsErr = DecodeTags(m.Tags)
	return out
}

func statusOf(s serf.MemberStatus) Status {
	switch s {
	case serf.StatusAlive:
		return StatusAlive
	case serf.StatusLeaving:
		return StatusLeaving
	case serf.StatusLeft:
		return StatusLeft
	case serf.StatusFailed:
		return StatusFailed
	}
	return StatusNone
}

func toAddrPort(ip net.IP, port uint16) netip.AddrPort {
	addr, _ := netip.AddrFromSlice(ip)
	return netip.AddrPortFrom(addr.Unmap(), port)
}
