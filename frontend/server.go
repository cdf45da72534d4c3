package frontend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/internal/respserver"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("frontend: server closed")

// Server is one frontend: a RESP server that routes every command to the
// shard owning its keys. Its methods are safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	gather  prometheus.Gatherer

	membership gossip.Membership
	agent      *gossip.Agent // nil when Membership was given
	router     *router
	hub        *hub
	lag        *lagProber
	fobuf      *failoverBuffer // nil: FailoverBuffer is 0

	ready     atomic.Bool // expect-shards reached (latched) and not draining
	everReady atomic.Bool
	draining  atomic.Bool
	readyAt   atomic.Int64 // unix ns when first ready

	conns respserver.Conns[*clientConn] // listeners, clients, maxclients

	nextID    atomic.Int64
	startTime time.Time
	stats     serverStats

	quit         chan struct{}
	bg           sync.WaitGroup
	routerDone   chan struct{}
	mapKick      chan struct{} // a cluster map read is wanted (clustermap.go)
	shutdownOnce sync.Once
	shutdownErr  error
}

type serverStats struct {
	commandsProcessed atomic.Int64
	blockedClients    atomic.Int64
}

// New validates cfg, starts following the membership (joining gossip when
// the Server has its own agent) and returns a Server ready to Serve. The
// first view is built before New returns.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{
		cfg:        cfg,
		log:        log,
		startTime:  time.Now(),
		quit:       make(chan struct{}),
		routerDone: make(chan struct{}),
	}
	reg := cfg.Registerer
	s.gather = cfg.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, s.gather = r, r
	}
	s.conns.Name, s.conns.ErrClosed = "frontend", ErrServerClosed
	s.conns.SetMaxClients(int64(cfg.MaxClients))
	m, err := newMetrics(reg, &s.conns)
	if err != nil {
		return nil, fmt.Errorf("frontend: metrics: %w", err)
	}
	s.metrics = m
	s.router = newRouter(s)
	s.hub = newHub(s)
	s.router.onChange = append(s.router.onChange, s.viewChanged, s.hub.viewChanged)
	s.mapKick = make(chan struct{}, 1)
	if cfg.MapInterval > 0 {
		s.router.onChange = append(s.router.onChange, func(_, _ *view) { s.kickMap() })
	}

	s.membership = cfg.Membership
	if s.membership == nil {
		g := *cfg.Gossip
		g.Tags = gossip.Tags{Role: gossip.RoleFrontend, RESPAddr: cfg.RESPAddr, AdminAddr: cfg.AdminAddr, Version: cfg.Version}
		if g.Logger == nil {
			g.Logger = log
		}
		agent, err := gossip.New(g)
		if err != nil {
			return nil, fmt.Errorf("frontend: gossip: %w", err)
		}
		s.agent = agent
		s.membership = agent
	}
	s.router.start(s.membership, func() { close(s.routerDone) })
	if s.agent != nil && len(cfg.Join) > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		s.bg.Add(2)
		go func() {
			defer s.bg.Done()
			<-s.quit
			cancel()
		}()
		go func() {
			defer s.bg.Done()
			if err := s.agent.Join(ctx, cfg.Join); err != nil && ctx.Err() == nil {
				s.log.Error("joining gossip", "err", err)
			}
		}()
	}
	if cfg.ReadPolicy != ReadMaster && cfg.MaxReplicaLag > 0 {
		probe := cfg.LagProbe
		if probe == nil {
			probe = RedisLagProbe{Timeout: cfg.DialTimeout, Password: cfg.ShardPassword}
		}
		s.lag = newLagProber(s, probe)
		s.bg.Add(1)
		go s.lag.run()
	}
	if cfg.FailoverBuffer > 0 {
		s.fobuf = newFailoverBuffer(s)
		s.bg.Add(1)
		go s.fobuf.run()
	}
	if cfg.MapInterval > 0 { // after fobuf: the reader polls while it holds requests
		s.bg.Add(1)
		go s.runMapReader()
	}
	s.bg.Add(1)
	go s.watchdog()
	return s, nil
}

// viewChanged updates readiness and metrics, and ends blocked commands
// whose shard's master changed.
func (s *Server) viewChanged(old, cur *view) {
	s.metrics.shards.Set(float64(len(cur.order)))
	s.metrics.shardsMaster.Set(float64(cur.withMaster))
	if !s.everReady.Load() && cur.withMaster >= s.cfg.ExpectShards && len(cur.order) > 0 {
		s.everReady.Store(true)
		s.readyAt.Store(time.Now().UnixNano())
		s.log.Info("frontend ready", "shards", len(cur.order), "with_master", cur.withMaster, "after", time.Since(s.startTime))
	}
	s.updateReady()
	for _, n := range masterChanges(old, cur) {
		n.abortDedicated(errMasterChanged)
	}
}

func (s *Server) updateReady() {
	r := s.everReady.Load() && !s.draining.Load()
	s.ready.Store(r)
	if r {
		s.metrics.ready.Set(1)
	} else {
		s.metrics.ready.Set(0)
	}
}

// Ready reports whether the frontend serves data commands: it has seen
// ExpectShards shards with a master (once; later failures are per shard)
// and is not shutting down.
func (s *Server) Ready() bool { return s.ready.Load() }

// Addr returns the address of a listener Serve runs on, or nil.
func (s *Server) Addr() net.Addr { return s.conns.Addr() }

// Gossip returns the Server's own gossip agent, or nil when Config.Membership
// was given.
func (s *Server) Gossip() *gossip.Agent { return s.agent }

// Serve accepts client connections on ln until Shutdown or Close; it
// always returns a non-nil error (ErrServerClosed after Shutdown).
func (s *Server) Serve(ln net.Listener) error {
	return s.conns.Serve(ln, s.newClientConn, (*clientConn).serve)
}

// Shutdown drains the frontend: readiness goes false, listeners close,
// idle client connections close at once and busy ones after their
// in-flight commands are answered; connections still open when ctx ends
// (blocked commands, slow clients) are closed then. Finally the frontend
// leaves gossip (when it owns its agent). Idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		s.draining.Store(true)
		s.updateReady()
		for _, c := range s.conns.Close() {
			c.drain()
		}
		done := make(chan struct{})
		go func() { s.conns.Wait(); close(done) }()
		var err error
		select {
		case <-done:
		case <-ctx.Done():
			err = ctx.Err()
			for _, c := range s.conns.Snapshot() {
				c.close()
			}
			s.router.close() // fails requests still in flight
			s.fobuf.close()  // and those held (after the router: unsent ones land there)
			s.hub.close()
			<-done
		}
		close(s.quit)
		s.hub.close()
		s.router.close()
		s.fobuf.close()
		if s.agent != nil {
			lctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if e := s.agent.Shutdown(lctx); e != nil {
				s.log.Warn("leaving gossip", "err", e)
			}
			cancel()
		}
		s.bg.Wait()
		s.shutdownErr = err
		s.log.Info("frontend stopped")
	})
	return s.shutdownErr
}

// Close stops at once: connections are closed without waiting. Idempotent.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Shutdown(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// watchdog fails upstream requests that wait too long.
func (s *Server) watchdog() {
	defer s.bg.Done()
	every := max(s.cfg.UpstreamTimeout/4, 10*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case now := <-t.C:
			s.router.eachNode(func(n *node) { n.checkTimeouts(now) })
		}
	}
}
