package respserver

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// PeekConn is a client's connection as the server's request reader sees
// it: a byte that a close watcher (WatchClose) read meanwhile is handed
// back by the next Read, so no input is lost. Wrap the net.Conn once, when
// the connection is accepted, and give the PeekConn to the reader.
//
// Read is for the connection's serving goroutine; WatchClose's goroutine
// reads the net.Conn underneath while that goroutine does not read (it
// waits on a blocked command). Every other method is the net.Conn's.
type PeekConn struct {
	net.Conn
	mu      sync.Mutex
	pending []byte // read by a watcher, not yet returned by Read
}

// Read returns a byte a watcher kept, if any, else reads the connection.
func (p *PeekConn) Read(b []byte) (int, error) {
	p.mu.Lock()
	if len(p.pending) > 0 {
		n := copy(b, p.pending)
		p.pending = p.pending[n:]
		p.mu.Unlock()
		return n, nil
	}
	p.mu.Unlock()
	return p.Conn.Read(b)
}

// WatchClose detects that the client went away while its serving goroutine
// waits and nobody reads the socket (a blocking command, WAIT): a watcher
// goroutine reads one byte; when the read fails (the peer closed) it calls
// gone, which closes the connection and so wakes the waiter. A byte the
// client sends meanwhile (its next request) is kept for Read, and the
// watch ends.
//
// buffered is how many bytes of input the reader holds unread: when the
// client already sent more, there is nothing to watch and stop does
// nothing. stop ends the watch: it interrupts the read with a deadline in
// the past, waits for the watcher, and clears the deadline again unless
// keepDeadline (nil: never) reports that the server wants the next read
// to fail (it is draining the connection). Call stop once, from the
// goroutine that called WatchClose.
func (p *PeekConn) WatchClose(buffered int, gone func(), keepDeadline func() bool) (stop func()) {
	if buffered > 0 {
		return func() {}
	}
	var stopping atomic.Bool
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var b [1]byte
		n, err := p.Conn.Read(b[:])
		if n > 0 {
			p.mu.Lock()
			p.pending = append(p.pending, b[0])
			p.mu.Unlock()
			return
		}
		if err != nil && !stopping.Load() {
			gone()
		}
	}()
	return func() {
		stopping.Store(true)
		p.Conn.SetReadDeadline(time.Now())
		<-finished
		if keepDeadline == nil || !keepDeadline() {
			p.Conn.SetReadDeadline(time.Time{})
		}
	}
}
