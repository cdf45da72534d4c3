// Package eventq is an unbounded, order-preserving hand-off from producers
// that must never block to one channel read by a consumer. gossip.Agent and
// gossiptest.Node serve their Events channels with it.
package eventq

import "sync"

// Queue buffers values pushed by any number of goroutines and delivers them
// in push order on the channel returned by Out. Push never blocks: the
// backlog grows without limit while the consumer is slow. A Queue owns one
// goroutine from New until Close. All methods are safe for concurrent use.
type Queue[T any] struct {
	mu      sync.Mutex
	pending []T
	wake    chan struct{} // capacity 1: "pending may be non-empty"
	out     chan T
	done    chan struct{}
	exited  chan struct{}
	closeMu sync.Once
}

// New starts a Queue whose output channel has the given buffer size.
func New[T any](outBuffer int) *Queue[T] {
	q := &Queue[T]{
		wake:   make(chan struct{}, 1),
		out:    make(chan T, outBuffer),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	go q.run()
	return q
}

// Out returns the delivery channel. It is closed by Close.
func (q *Queue[T]) Out() <-chan T { return q.out }

// Push appends v to the backlog and returns at once. It returns the backlog
// length after the push (values not yet handed to the output channel). After
// Close, Push drops v and returns 0.
func (q *Queue[T]) Push(v T) int {
	select {
	case <-q.done:
		return 0
	default:
	}
	q.mu.Lock()
	q.pending = append(q.pending, v)
	n := len(q.pending)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return n
}

// Len returns the number of values not yet handed to the output channel
// (values sitting in the channel's own buffer are not counted).
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

// Close stops delivery, discards values still in the backlog and closes the
// output channel once the delivery goroutine has exited. Values already in
// the channel's buffer can still be received. Close is idempotent.
func (q *Queue[T]) Close() {
	q.closeMu.Do(func() {
		close(q.done)
		<-q.exited
		q.mu.Lock()
		q.pending = nil
		q.mu.Unlock()
		close(q.out)
	})
}

func (q *Queue[T]) run() {
	defer close(q.exited)
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.mu.Unlock()
			select {
			case <-q.wake:
				continue
			case <-q.done:
				return
			}
		}
		v := q.pending[0]
		var zero T
		q.pending[0] = zero // let the GC take it once delivered
		q.pending = q.pending[1:]
		if len(q.pending) == 0 {
			q.pending = nil // drop the grown backing array
		}
		q.mu.Unlock()
		select {
		case q.out <- v:
		case <-q.done:
			return
		}
	}
}
