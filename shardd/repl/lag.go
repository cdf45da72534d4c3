package repl

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// writeClock remembers when the master wrote each of its recent records
// (a ring of writeClockSize entries), so an acknowledgement can be turned
// into the replication lag of every record it covers. One goroutine writes
// (under the server's store lock); any goroutine reads, without locks.
type writeClock struct {
	slots [writeClockSize]clockSlot
}

const writeClockSize = 1 << 18 // about a second of writes at full speed

type clockSlot struct {
	index atomic.Uint64
	nanos atomic.Int64
}

func (c *writeClock) note(index uint64, nanos int64) {
	s := &c.slots[index&(writeClockSize-1)]
	s.index.Store(0) // readers see either the old pair, nothing, or the new pair
	s.nanos.Store(nanos)
	s.index.Store(index)
}

func (c *writeClock) lookup(index uint64) (int64, bool) {
	s := &c.slots[index&(writeClockSize-1)]
	if s.index.Load() != index {
		return 0, false
	}
	n := s.nanos.Load()
	if s.index.Load() != index {
		return 0, false
	}
	return n, true
}

// LagStats summarizes replication lag: for each record, the time from the
// master's write to the acknowledgement of a replica that applied it.
type LagStats struct {
	Samples  int64
	P50, P99 time.Duration
	Max      time.Duration
	// Lost counts records acknowledged too late to still be in the write
	// clock (their lag is at least about a second of writes); they are
	// left out of the percentiles.
	Lost int64
}

// histogram is a log-linear histogram of durations in microseconds: exact
// below 8 µs, then 8 buckets per power of two (under 12.5% error).
type histogram struct {
	mu      sync.Mutex
	buckets [8 + 61*8]int64
	n, lost int64
	max     int64
}

func bucketOf(us int64) int {
	if us < 8 {
		return int(max(us, 0))
	}
	e := bits.Len64(uint64(us)) - 1 // >= 3
	sub := (us >> (e - 3)) & 7
	return 8 + (e-3)*8 + int(sub)
}

// bucketUpper is the largest value that falls in bucket b.
func bucketUpper(b int) int64 {
	if b < 8 {
		return int64(b)
	}
	e := (b-8)/8 + 3
	sub := int64((b - 8) % 8)
	return (8+sub+1)<<(e-3) - 1
}

func (h *histogram) add(us int64) {
	h.buckets[bucketOf(us)]++
	h.n++
	h.max = max(h.max, us)
}

func (h *histogram) stats() LagStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := LagStats{Samples: h.n, Lost: h.lost, Max: time.Duration(h.max) * time.Microsecond}
	if h.n == 0 {
		return st
	}
	pct := func(p float64) time.Duration {
		want := int64(p*float64(h.n) + 0.5)
		want = max(want, 1)
		var sum int64
		for b, c := range h.buckets {
			sum += c
			if sum >= want {
				return time.Duration(min(bucketUpper(b), h.max)) * time.Microsecond
			}
		}
		return time.Duration(h.max) * time.Microsecond
	}
	st.P50, st.P99 = pct(0.50), pct(0.99)
	return st
}

func (h *histogram) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buckets = [len(h.buckets)]int64{}
	h.n, h.lost, h.max = 0, 0, 0
}
