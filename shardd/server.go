// Package shardd is the shard daemon: a Redis-protocol server over one
// shard's keyspace (shardd/store) that logs every write's effects to the
// write-ahead log (wal) before acknowledging it, takes snapshots without
// stopping, and restores snapshot + log on start.
//
// A Server has the net/http shape: New, Serve(ln), Shutdown(ctx), Addr().
// Every client connection is served by its own goroutine; commands touching
// the keyspace run under one mutex (the store is single-threaded, like
// Redis), and the log's group commit lets many connections share one write
// and fsync. Replies to a pipeline are flushed once, after the writes they
// acknowledge are durable according to appendfsync.
//
//	srv, err := shardd.New(cfg)
//	ln, _ := net.Listen("tcp", "127.0.0.1:6380")
//	go srv.Serve(ln)
//	...
//	srv.Shutdown(ctx)
package shardd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/internal/respserver"
	"github.com/shoal-kv/shoal/shardd/store"
	"github.com/shoal-kv/shoal/wal"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("shardd: server closed")

// Server is one shard daemon. Its methods are safe for concurrent use.
type Server struct {
	cfg   Config
	log   *slog.Logger
	table map[string]*command

	// mu serializes the keyspace, the log's append order, WATCH and
	// blocked-client bookkeeping. Lock order: mu → pubsub.mu → conn.outbox.
	mu     sync.Mutex
	store  *store.Store
	wal    *wal.Log      // nil when diskless
	gossip *gossip.Agent // nil when gossip is off
	// tagsDirty asks publishTags to publish the tags again; lastTags are
	// the tags published (publishTags only).
	tagsDirty  chan struct{}
	lastTags   gossip.Tags
	gossipAddr netip.AddrPort // set before the agent is shared
	mapSource  atomic.Pointer[MapSource]
	epoch      uint64
	watchers   map[string]map[*conn]struct{}
	blocked    map[string]map[*waiter]struct{}
	repl       replState // replication (replication.go)

	// persistence state (see persist.go)
	snapMu         sync.Mutex // one snapshot at a time
	lastSave       atomic.Int64
	lastSaveOK     atomic.Bool
	saving         atomic.Bool
	logSizeAtSnap  atomic.Int64
	dirty          atomic.Int64 // writes since the last snapshot (rdb_changes_since_last_save)
	pubsub         pubsub
	cfgMu          sync.RWMutex // guards the run-time settable fields of cfg
	requirePass    atomic.Pointer[string]
	startTime      time.Time
	nextClientID   atomic.Int64
	conns          respserver.Conns[*conn] // listeners, clients, maxclients
	inShutdown     atomic.Bool
	quit           chan struct{}
	bg             sync.WaitGroup
	stats          serverStats
	shutdownOnce   sync.Once
	shutdownResult error
}

type serverStats struct {
	commandsProcessed   atomic.Int64
	netInput, netOutput atomic.Int64
}

// New opens (or creates) the shard's data, restores it, and returns a server
// ready to Serve.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("shardd: invalid config: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{
		cfg:       cfg,
		log:       log.With("shard", cfg.Shard),
		store:     store.New(store.DefaultConfig()),
		epoch:     1,
		watchers:  make(map[string]map[*conn]struct{}),
		blocked:   make(map[string]map[*waiter]struct{}),
		quit:      make(chan struct{}),
		tagsDirty: make(chan struct{}, 1),
		startTime: time.Now(),
	}
	pw := cfg.RequirePass
	s.requirePass.Store(&pw)
	s.conns.Name, s.conns.ErrClosed = "shardd", ErrServerClosed
	s.conns.SetMaxClients(int64(cfg.MaxClients))
	s.SetMapSource(cfg.MapSource)
	s.pubsub.init()
	s.store.Touched = s.keyTouched
	s.store.Flushed = s.allTouched
	s.table = buildTable(s)
	s.lastSave.Store(time.Now().Unix())
	s.lastSaveOK.Store(true)
	if !cfg.Diskless {
		if err := s.openData(); err != nil {
			return nil, err
		}
	}
	if err := s.initReplication(); err != nil {
		if s.wal != nil {
			s.wal.Close()
		}
		return nil, err
	}
	if cfg.Gossip != nil {
		if err := s.startGossip(); err != nil {
			if s.wal != nil {
				s.wal.Close()
			}
			return nil, err
		}
	}
	s.bg.Add(1)
	go s.every(cfg.ActiveExpireInterval, s.housekeeping)
	return s, nil
}

// Addr returns the address of a listener Serve runs on, or nil.
func (s *Server) Addr() net.Addr { return s.conns.Addr() }

// Serve accepts connections on ln until Shutdown; it always returns a
// non-nil error (ErrServerClosed after Shutdown).
func (s *Server) Serve(ln net.Listener) error {
	return s.conns.Serve(ln, s.newConn, (*conn).serve)
}

// Shutdown stops accepting, closes every client connection, waits for
// background work, and closes the log (syncing it). It is idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		s.inShutdown.Store(true)
		conns := s.conns.Close() // no new clients from here on
		if s.gossip != nil {
			// Leave first, so the rest of the cluster stops routing here.
			if err := s.gossip.Shutdown(ctx); err != nil {
				s.log.Warn("leaving gossip", "err", err)
			}
		}
		for _, c := range conns {
			c.close()
		}
		s.stopReplication()
		close(s.quit)
		done := make(chan struct{})
		go func() { s.bg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			s.shutdownResult = ctx.Err()
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.wal != nil {
			if err := s.wal.Close(); err != nil {
				s.shutdownResult = fmt.Errorf("shardd: closing log: %w", err)
			}
		}
	})
	return s.shutdownResult
}

// Close is Shutdown without a deadline.
func (s *Server) Close() error { return s.Shutdown(context.Background()) }

// housekeeping runs the active expire cycle and automatic snapshots.
func (s *Server) housekeeping() {
	s.activeExpire()
	s.maybeSnapshot()
}

// every calls fn every d until Shutdown: the body of a background
// goroutine counted in s.bg.
func (s *Server) every(d time.Duration, fn func()) {
	defer s.bg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		fn()
	}
}

// activeExpire deletes expired keys a batch at a time, like Redis's cycle:
// repeat while a quarter of the sample was expired.
func (s *Server) activeExpire() {
	const batch = 20
	for i := 0; i < 16; i++ {
		s.mu.Lock()
		now := time.Now().UnixMilli()
		n := s.store.ActiveExpire(now, batch)
		idx := s.logEffects(now)
		s.mu.Unlock()
		if idx > 0 {
			s.wal.WaitDurable(context.Background(), idx)
		}
		if n < batch/4 {
			return
		}
	}
}

// keyTouched is the store's hook for every changed key (under mu).
func (s *Server) keyTouched(key []byte) {
	if len(s.watchers) == 0 && len(s.blocked) == 0 {
		return
	}
	if ws := s.watchers[string(key)]; ws != nil {
		for c := range ws {
			c.watchDirty = true
		}
	}
	if bs := s.blocked[string(key)]; bs != nil {
		for w := range bs {
			w.signal()
		}
	}
}

// allTouched is the store's hook for FLUSHALL and snapshot loads (under mu).
func (s *Server) allTouched() {
	for _, ws := range s.watchers {
		for c := range ws {
			c.watchDirty = true
		}
	}
}
