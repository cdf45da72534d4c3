package respserver

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is what Conns.Serve returns after Close when Conns.ErrClosed
// is not set.
var ErrClosed = errors.New("respserver: closed")

// MaxClientsReply is what a connection over the maxclients limit is sent
// before it is closed (Redis's text).
const MaxClientsReply = "-ERR max number of clients reached\r\n"

// Conns is a server's set of listeners and client connections, of the
// server's own connection type C (a pointer). It runs the accept loop
// (Serve), refuses clients over the maxclients limit, counts connections
// for INFO, and lists the open ones for CLIENT LIST, CLIENT KILL and
// Shutdown.
//
// The zero value is ready to use with a maxclients limit of 0, which
// refuses every client: call SetMaxClients first. Set the exported fields
// before the first Serve. All methods are safe for concurrent use.
type Conns[C comparable] struct {
	// Name prefixes the errors Serve returns ("shardd": "shardd: accept:
	// ...").
	Name string
	// ErrClosed is what Serve returns after Close (the server's
	// ErrServerClosed); nil means respserver.ErrClosed.
	ErrClosed error

	mu        sync.Mutex
	conns     map[C]struct{}
	listeners map[net.Listener]struct{}
	closed    bool
	live      sync.WaitGroup // one per connection in conns

	maxClients atomic.Int64
	received   atomic.Int64
	rejected   atomic.Int64
}

// SetMaxClients sets the maxclients limit for the connections accepted
// from now on (CONFIG SET maxclients).
func (r *Conns[C]) SetMaxClients(n int64) { r.maxClients.Store(n) }

// MaxClients returns the maxclients limit.
func (r *Conns[C]) MaxClients() int64 { return r.maxClients.Load() }

// Received returns how many connections were accepted
// (total_connections_received), refused ones included.
func (r *Conns[C]) Received() int64 { return r.received.Load() }

// Rejected returns how many connections were refused for maxclients
// (rejected_connections).
func (r *Conns[C]) Rejected() int64 { return r.rejected.Load() }

// ResetStats zeroes Received and Rejected (CONFIG RESETSTAT).
func (r *Conns[C]) ResetStats() {
	r.received.Store(0)
	r.rejected.Store(0)
}

// Serve accepts connections on ln until Close or a permanent accept error;
// it returns r.ErrClosed after Close and otherwise the accept error,
// wrapped (Name: accept: err). It never returns nil. A
// temporary error (the process is out of file descriptors) is retried
// after a backoff growing from 5 ms to 1 s. For each client under the
// limit, newConn makes the connection's state and serve runs on a new
// goroutine; a client over the limit gets MaxClientsReply and is closed
// (newConn is not called). newConn runs with r's lock held: it must not
// call r's methods. serve must call Remove when the connection ends.
func (r *Conns[C]) Serve(ln net.Listener, newConn func(net.Conn) C, serve func(C)) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		ln.Close()
		return r.errClosed()
	}
	if r.listeners == nil {
		r.listeners = make(map[net.Listener]struct{})
	}
	r.listeners[ln] = struct{}{}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.listeners, ln)
		r.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if r.isClosed() {
				return r.errClosed()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("%s: accept: %w", r.Name, err)
		}
		backoff = 0
		r.received.Add(1)
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			nc.Close()
			return r.errClosed()
		}
		if int64(len(r.conns)) >= r.maxClients.Load() {
			r.mu.Unlock()
			r.rejected.Add(1)
			nc.Write([]byte(MaxClientsReply))
			nc.Close()
			continue
		}
		c := newConn(nc)
		if r.conns == nil {
			r.conns = make(map[C]struct{})
		}
		r.conns[c] = struct{}{}
		r.live.Add(1)
		r.mu.Unlock()
		go serve(c)
	}
}

func (r *Conns[C]) errClosed() error {
	if r.ErrClosed != nil {
		return r.ErrClosed
	}
	return ErrClosed
}

func (r *Conns[C]) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Remove forgets c (its connection ended); it reports whether c was
// there. Removing twice is harmless.
func (r *Conns[C]) Remove(c C) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.conns[c]; !ok {
		return false
	}
	delete(r.conns, c)
	r.live.Done()
	return true
}

// Close stops accepting: every Serve returns ErrClosed and its listener
// is closed. It returns the connections open at that moment (closing them
// is the server's business: at once, or after draining). Idempotent.
func (r *Conns[C]) Close() []C {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for ln := range r.listeners {
		ln.Close()
	}
	return r.snapshotLocked()
}

// Wait blocks until every connection was removed.
func (r *Conns[C]) Wait() { r.live.Wait() }

// Snapshot returns the open connections, in no particular order. The slice
// is the caller's.
func (r *Conns[C]) Snapshot() []C {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snapshotLocked()
}

func (r *Conns[C]) snapshotLocked() []C {
	out := make([]C, 0, len(r.conns))
	for c := range r.conns {
		out = append(out, c)
	}
	return out
}

// Len returns how many connections are open (connected_clients).
func (r *Conns[C]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}

// Port returns the port of Addr (INFO's tcp_port), or "" without a
// listener.
func (r *Conns[C]) Port() string {
	a := r.Addr()
	if a == nil {
		return ""
	}
	s := a.String()
	return s[strings.LastIndexByte(s, ':')+1:]
}

// Addr returns the address of one of the listeners Serve runs on, or nil.
func (r *Conns[C]) Addr() net.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	for ln := range r.listeners {
		return ln.Addr()
	}
	return nil
}
