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
	// blocked-client bookkeeping. Lock order: mu → pubsub.mu → conn.wmu.
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
	maxClients     atomic.Int64
	startTime      time.Time
	nextClientID   atomic.Int64
	connsMu        sync.Mutex
	conns          map[*conn]struct{}
	listeners      map[net.Listener]struct{}
	inShutdown     atomic.Bool
	quit           chan struct{}
	bg             sync.WaitGroup
	stats          serverStats
	shutdownOnce   sync.Once
	shutdownResult error
}

type serverStats struct {
	connectionsReceived atomic.Int64
	rejectedConnections atomic.Int64
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
		conns:     make(map[*conn]struct{}),
		listeners: make(map[net.Listener]struct{}),
		quit:      make(chan struct{}),
		tagsDirty: make(chan struct{}, 1),
		startTime: time.Now(),
	}
	pw := cfg.RequirePass
	s.requirePass.Store(&pw)
	s.maxClients.Store(int64(cfg.MaxClients))
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

// Addr returns the address of the first listener, or nil.
func (s *Server) Addr() net.Addr {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	for ln := range s.listeners {
		return ln.Addr()
	}
	return nil
}

// Serve accepts connections on ln until Shutdown; it always returns a
// non-nil error (ErrServerClosed after Shutdown).
func (s *Server) Serve(ln net.Listener) error {
	s.connsMu.Lock()
	if s.inShutdown.Load() {
		s.connsMu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.connsMu.Unlock()
	defer func() {
		s.connsMu.Lock()
		delete(s.listeners, ln)
		s.connsMu.Unlock()
	}()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.inShutdown.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("shardd: accept: %w", err)
		}
		backoff = 0
		s.stats.connectionsReceived.Add(1)
		c := newConn(s, nc)
		s.connsMu.Lock()
		if s.inShutdown.Load() {
			s.connsMu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		if int64(len(s.conns)) >= s.maxClients.Load() {
			s.connsMu.Unlock()
			s.stats.rejectedConnections.Add(1)
			nc.Write([]byte("-ERR max number of clients reached\r\n"))
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.connsMu.Unlock()
		go c.serve()
	}
}

// Shutdown stops accepting, closes every client connection, waits for
// background work, and closes the log (syncing it). It is idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		s.inShutdown.Store(true)
		if s.gossip != nil {
			// Leave first, so the rest of the cluster stops routing here.
			if err := s.gossip.Shutdown(ctx); err != nil {
				s.log.Warn("leaving gossip", "err", err)
			}
		}
		s.connsMu.Lock()
		for ln := range s.listeners {
			ln.Close()
		}
		conns := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.connsMu.Unlock()
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

func (s *Server) removeConn(c *conn) {
	s.connsMu.Lock()
	delete(s.conns, c)
	s.connsMu.Unlock()
}

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
