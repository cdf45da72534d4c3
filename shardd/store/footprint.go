package store

// Support for shardd's diskless cached mode, which keeps only some keys and
// must account for their memory: a size estimate per key, and removing a key
// without recording an effect (an eviction is local; the master still has
// the key).

// Per-key and per-element overheads of the estimate, in bytes: Go map slot,
// string and slice headers, the boxed value, and the cache's own item.
const (
	keyOverhead  = 200
	elemOverhead = 48
)

// Footprint estimates the memory key takes in the store, in bytes: its name,
// its value and their bookkeeping. elems is the element count of a
// collection (0 for a string). ok is false when the key is not in the store;
// expired keys not yet removed count as present (they still take memory).
// For a collection it serializes the value: O(elements).
func (s *Store) Footprint(key []byte) (bytes int64, elems int, ok bool) {
	e, ok := s.keys[string(key)]
	if !ok {
		return 0, 0, false
	}
	n := int64(keyOverhead + 2*len(key))
	switch v := e.val.(type) {
	case []byte:
		return n + int64(len(v)), 0, true
	case rawString:
		return n + int64(cap(v)), 0, true
	case object:
		l := v.length()
		return n + int64(len(v.appendSnapshot(nil))) + int64(elemOverhead*l), l, true
	}
	return n, 0, true
}

// Elems returns the element count of a collection (0 for a string) without
// serializing it, and whether key is in the store.
func (s *Store) Elems(key []byte) (int, bool) {
	e, ok := s.keys[string(key)]
	if !ok {
		return 0, false
	}
	if o, isObj := e.val.(object); isObj {
		return o.length(), true
	}
	return 0, true
}

// Has reports whether key is in the store, expired or not.
func (s *Store) Has(key []byte) bool {
	_, ok := s.keys[string(key)]
	return ok
}

// Evict removes key from the store without recording an effect (a cached
// replica dropping a key it can no longer hold; the master still has it).
// Watchers of the key are signalled. It reports whether the key was there.
func (s *Store) Evict(key []byte) bool {
	if !s.removeKey(string(key)) {
		return false
	}
	s.touch(string(key))
	return true
}
