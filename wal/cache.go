package wal

// tailCache keeps the encodings of the most recent durable records, a
// contiguous run of indexes ending at the log's last index, bounded in bytes.
// It is not safe for concurrent use (Log guards it with its mutex). Cached
// slices are never modified, so readers may keep them.
type tailCache struct {
	limit int
	first uint64   // index of recs[head]
	recs  [][]byte // recs[head:] are cached
	head  int
	bytes int
}

func (c *tailCache) len() int { return len(c.recs) - c.head }

// add appends records first, first+1, ... If they do not continue the cached
// run, the cache restarts with them.
func (c *tailCache) add(first uint64, recs [][]byte) {
	if c.limit <= 0 || len(recs) == 0 {
		return
	}
	if c.len() > 0 && first != c.first+uint64(c.len()) {
		c.reset()
	}
	if c.len() == 0 {
		c.recs, c.head, c.first = c.recs[:0], 0, first
	}
	for _, r := range recs {
		c.recs = append(c.recs, r)
		c.bytes += len(r)
	}
	for c.bytes > c.limit && c.len() > 0 {
		c.bytes -= len(c.recs[c.head])
		c.recs[c.head] = nil
		c.head++
		c.first++
	}
	if c.head > 1024 && c.head > len(c.recs)/2 {
		n := copy(c.recs, c.recs[c.head:])
		clear(c.recs[n:])
		c.recs, c.head = c.recs[:n], 0
	}
}

// get returns the encoding of record index, if cached.
func (c *tailCache) get(index uint64) ([]byte, bool) {
	if c.len() == 0 || index < c.first || index-c.first >= uint64(c.len()) {
		return nil, false
	}
	return c.recs[c.head+int(index-c.first)], true
}

// firstCached returns the lowest cached index, or ok=false when empty.
func (c *tailCache) firstCached() (uint64, bool) { return c.first, c.len() > 0 }

// dropBefore forgets records before index.
func (c *tailCache) dropBefore(index uint64) {
	for c.len() > 0 && c.first < index {
		c.bytes -= len(c.recs[c.head])
		c.recs[c.head] = nil
		c.head++
		c.first++
	}
}

// dropAfter forgets records after index.
func (c *tailCache) dropAfter(index uint64) {
	for c.len() > 0 && c.first+uint64(c.len())-1 > index {
		last := len(c.recs) - 1
		c.bytes -= len(c.recs[last])
		c.recs[last] = nil
		c.recs = c.recs[:last]
	}
}

func (c *tailCache) reset() {
	clear(c.recs)
	c.recs, c.head, c.bytes = c.recs[:0], 0, 0
}
