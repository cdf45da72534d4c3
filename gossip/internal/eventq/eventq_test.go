package eventq

import (
	"sync"
	"testing"
	"time"
)

func TestOrderAndNoLossWithSlowConsumer(t *testing.T) {
	q := New[int](4)
	defer q.Close()
	const producers, each = 4, 5000
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				q.Push(p*each + i)
			}
		}()
	}
	// Push never blocks: all producers finish before anything is read.
	wg.Wait()
	if n := q.Len(); n < producers*each-4-1 {
		t.Fatalf("backlog %d after pushing %d with nobody reading", n, producers*each)
	}
	last := make([]int, producers)
	for p := range last {
		last[p] = p*each - 1
	}
	timeout := time.After(10 * time.Second)
	for range producers * each {
		select {
		case v := <-q.Out():
			p := v / each
			if v != last[p]+1 {
				t.Fatalf("producer %d: got %d after %d", p, v, last[p])
			}
			last[p] = v
		case <-timeout:
			t.Fatal("values missing")
		}
	}
	if q.Len() != 0 {
		t.Fatalf("backlog %d after reading everything", q.Len())
	}
}

func TestCloseClosesOutAndDiscards(t *testing.T) {
	q := New[int](1)
	for i := range 10 {
		q.Push(i)
	}
	q.Close()
	q.Close() // idempotent
	n := 0
	for range q.Out() {
		n++
	}
	if n > 1 {
		t.Fatalf("received %d values after Close, want at most the 1 buffered", n)
	}
	if got := q.Push(1); got != 0 {
		t.Fatalf("Push after Close = %d, want 0", got)
	}
}
