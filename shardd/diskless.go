package shardd

// Diskless cached mode (--diskless --maxmemory SIZE): the node keeps only as
// many keys as its memory bound allows, and ristretto decides which. The
// store holds the values of admitted keys only: an eviction or a rejected
// admission deletes the key from the store (without an effect: the master
// still has it).
//
// As a replica, a cached node must never answer a wrong value or a false
// "no such key". For every key it knows one of three things:
//
//   - held: the key is in the store with the master's value;
//   - absent: the master deleted it (a DEL effect, FLUSHALL), remembered as
//     a tombstone, itself bounded by the cache (an evicted tombstone makes
//     the key unknown); or, while nothing was ever evicted since the last
//     reset ("complete"), every key not in the store is absent;
//   - unknown: evicted, rejected, or never seen.
//
// Reads of held and absent keys are answered as any replica would. A
// command that reads an unknown key, and KEYS, SCAN, DBSIZE and RANDOMKEY
// once the keyspace is partial, answer
//
//	-NOTCACHED key not held by this cached replica; read it from the master
//
// which the frontend turns into the same read at the master (DESIGN.md:
// the read falls through). Effects from the master apply to a key only when
// its state is known: a partial update (INCR, HSET, LPUSH, EXPIRE...) of an
// unknown key would build a wrong value from nothing, so the key stays
// unknown instead (and every other key the effect touches becomes unknown
// too). Effects that set a key's whole value (SET without KEEPTTL, MSET) or
// remove it (DEL, UNLINK) make it known whatever it was before.
//
// Standalone (a cache shard with no master), the node is a plain bounded
// cache: an evicted key is gone, as in Redis with an allkeys eviction
// policy, and reads of keys it does not hold answer nil.

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/ristretto/v2"

	"github.com/shoal-kv/shoal/proto"
	"github.com/shoal-kv/shoal/shardd/store"
)

// Error replies of a cached replica.
const (
	errNotCached        = "NOTCACHED key not held by this cached replica; read it from the master"
	errNotCachedKeyless = "NOTCACHED this cached replica holds only part of the keyspace; ask the master"
)

// Costs used by the cache besides Store.Footprint.
const (
	tombstoneCost = 128 // bytes per remembered deletion (key counted apart)
	// cacheShare is the part of maxmemory given to the cache's items, less
	// baseMemory (the process's code and runtime at rest, about 10 MB
	// resident); the rest is for the garbage collector's headroom, buffers
	// and the cache's own structures. runtimeShare is the part given to
	// the Go runtime as a whole (see MemoryLimit).
	cacheShare   = 0.45
	runtimeShare = 0.75
	baseMemory   = 4 << 20
	// drainEvery and drainShare: after this many admissions, or admissions
	// costing this share of the cache, wait for ristretto's decisions and
	// apply the evictions before going on, so a burst of new keys cannot
	// outrun the bound by much.
	drainEvery = 8192
	drainShare = 1.0 / 32
)

// keyCache tracks which keys a cached node holds. Fields marked (mu) are
// guarded by the server's mu.
type keyCache struct {
	s *Server
	c *ristretto.Cache[string, cacheItem]
	// gen is bumped by reset; callbacks about items of older generations
	// are ignored (those items were flushed with the store).
	gen atomic.Uint64

	tombs     map[string]struct{} // (mu) keys the master deleted
	complete  bool                // (mu) every key not in the store is absent
	lost      bool                // (mu) a key was dropped since the last reset
	memo      map[string]sizeMemo // (mu) sizes of big collections
	admitted  int                 // (mu) admissions since the last drain
	admitCost int64               // (mu) their cost
	drainCost int64               // admitCost that triggers a drain
	buf       []byte              // (mu) scratch
	src       bytes.Reader        // (mu) the record being applied
	rd        *proto.Reader       // (mu) reads src

	qmu   sync.Mutex
	queue []cacheItem // evicted or rejected items to drop from the store
	wake  chan struct{}

	evicted, rejected, dropped, notCached atomic.Int64
}

// cacheItem is what ristretto stores per key: the key itself (ristretto
// keeps only hashes) so an eviction can find it in the store.
type cacheItem struct {
	key  string
	tomb bool
	gen  uint64
}

type sizeMemo struct {
	elems int
	bytes int64
}

// MemoryLimit is the Go runtime memory limit (runtime/debug.SetMemoryLimit)
// a process running in cached mode with maxMemory should set, so the
// garbage collector works harder as the heap nears the bound; the shoal
// binary does. Servers in tests share the test's process and leave it.
func MemoryLimit(maxMemory int64) int64 {
	return max(int64(float64(maxMemory)*runtimeShare)-baseMemory, 8<<20)
}

// newKeyCache creates the cache for a memory bound of maxMemory bytes.
func newKeyCache(s *Server, maxMemory int64) (*keyCache, error) {
	kc := &keyCache{
		s:        s,
		tombs:    make(map[string]struct{}),
		memo:     make(map[string]sizeMemo),
		complete: true,
		wake:     make(chan struct{}, 1),
	}
	budget := max(int64(float64(maxMemory)*cacheShare)-baseMemory, 1<<20)
	c, err := ristretto.NewCache(&ristretto.Config[string, cacheItem]{
		NumCounters:        max(budget/32, 10000),
		MaxCost:            budget,
		BufferItems:        64,
		IgnoreInternalCost: true, // Footprint counts the item's overhead
		OnEvict:            kc.onEvict,
		OnReject:           kc.onReject,
	})
	if err != nil {
		return nil, err
	}
	kc.c = c
	kc.drainCost = max(int64(float64(budget)*drainShare), 64<<10)
	return kc, nil
}

// onEvict runs on ristretto's goroutine: queue the key for removal.
func (kc *keyCache) onEvict(it *ristretto.Item[cacheItem]) {
	v := it.Value
	if v.key == "" || v.gen != kc.gen.Load() {
		return
	}
	kc.evicted.Add(1)
	kc.enqueue(v)
}

// onReject runs on ristretto's goroutine. ristretto also "rejects" a second
// insertion of a key it admitted meanwhile: that key is still held.
func (kc *keyCache) onReject(it *ristretto.Item[cacheItem]) {
	v := it.Value
	if v.key == "" || v.gen != kc.gen.Load() {
		return
	}
	if cur, ok := kc.c.Get(v.key); ok && cur.gen == v.gen {
		return
	}
	kc.rejected.Add(1)
	kc.enqueue(v)
}

func (kc *keyCache) enqueue(v cacheItem) {
	kc.qmu.Lock()
	kc.queue = append(kc.queue, v)
	kc.qmu.Unlock()
	select {
	case kc.wake <- struct{}{}:
	default:
	}
}

// run applies queued evictions until the server shuts down.
func (kc *keyCache) run() {
	defer kc.s.bg.Done()
	for {
		select {
		case <-kc.s.quit:
			kc.c.Close()
			return
		case <-kc.wake:
		}
		kc.s.mu.Lock()
		kc.drainLocked()
		kc.s.mu.Unlock()
	}
}

// drainLocked removes the queued keys from the store. mu held.
func (kc *keyCache) drainLocked() {
	kc.qmu.Lock()
	q := kc.queue
	kc.queue = nil
	kc.qmu.Unlock()
	gen := kc.gen.Load()
	for _, v := range q {
		if v.gen != gen {
			continue
		}
		if v.tomb {
			delete(kc.tombs, v.key)
		} else {
			kc.s.store.Evict([]byte(v.key))
			delete(kc.memo, v.key)
		}
		if kc.complete {
			kc.s.log.Info("cache: first key dropped; the keyspace is now partial", "key", v.key, "tombstone", v.tomb)
		}
		kc.complete, kc.lost = false, true
	}
}

// sync waits for ristretto's pending decisions and applies them, when
// enough admissions happened since the last time. Call it without mu.
func (kc *keyCache) sync(force bool) {
	kc.s.mu.Lock()
	due := force || kc.admitted >= drainEvery || kc.admitCost >= kc.drainCost
	if due {
		kc.admitted, kc.admitCost = 0, 0
	}
	kc.s.mu.Unlock()
	if !due {
		return
	}
	kc.c.Wait()
	kc.s.mu.Lock()
	kc.drainLocked()
	kc.s.mu.Unlock()
}

// reset forgets every key (after FLUSHALL, or before a new keyspace is
// loaded). complete says whether the store now holds every key. mu held.
func (kc *keyCache) reset(complete bool) {
	kc.gen.Add(1)
	kc.c.Clear()
	kc.tombs = make(map[string]struct{})
	kc.memo = make(map[string]sizeMemo)
	kc.complete, kc.lost = complete, false
	kc.qmu.Lock()
	kc.queue = nil
	kc.qmu.Unlock()
}

// footprint estimates key's size, re-measuring big collections only when
// their length changed by more than an eighth. mu held.
func (kc *keyCache) footprint(key []byte) int64 {
	st := kc.s.store
	if elems, ok := st.Elems(key); ok && elems > 256 {
		if m, has := kc.memo[string(key)]; has {
			if d := elems - m.elems; d < m.elems/8 && -d < m.elems/8 {
				return m.bytes * int64(elems) / int64(m.elems)
			}
		}
	}
	b, elems, _ := st.Footprint(key)
	if elems > 256 {
		kc.memo[string(key)] = sizeMemo{elems: elems, bytes: b}
	} else if len(kc.memo) > 0 {
		delete(kc.memo, string(key))
	}
	return b
}

// admit (re)tracks a key that is in the store with its current size. A
// key ristretto cannot even queue is dropped at once. mu held.
func (kc *keyCache) admit(key []byte) {
	cost := kc.footprint(key)
	k := string(key)
	delete(kc.tombs, k)
	kc.admitted++
	kc.admitCost += cost
	if !kc.set(k, cacheItem{key: k, gen: kc.gen.Load()}, cost) {
		if kc.complete {
			kc.s.log.Info("cache: first key dropped (ristretto's queue stayed full); the keyspace is now partial", "key", k)
		}
		kc.dropped.Add(1)
		kc.s.store.Evict(key)
		delete(kc.memo, k)
		kc.complete, kc.lost = false, true
	}
}

// set hands an item to ristretto. Its queue of new items may be full (a
// burst of writes): wait for it to drain rather than drop the key. Waiting
// under mu is safe: ristretto's goroutine never takes mu (the callbacks
// only queue).
func (kc *keyCache) set(k string, v cacheItem, cost int64) bool {
	for try := 0; ; try++ {
		if kc.c.Set(k, v, cost) {
			return true
		}
		if try == 3 {
			return false
		}
		kc.c.Wait()
	}
}

// tomb remembers that the master deleted key. mu held.
func (kc *keyCache) tomb(key []byte) {
	k := string(key)
	delete(kc.memo, k)
	if kc.complete {
		kc.c.Del(k) // absence is implied; stop accounting for the key
		delete(kc.tombs, k)
		return
	}
	kc.tombs[k] = struct{}{}
	kc.admitted++
	if !kc.set(k, cacheItem{key: k, tomb: true, gen: kc.gen.Load()}, tombstoneCost+int64(2*len(k))) {
		delete(kc.tombs, k)
	}
}

// forget makes key unknown. mu held.
func (kc *keyCache) forget(key []byte) {
	k := string(key)
	kc.s.store.Evict(key)
	delete(kc.tombs, k)
	delete(kc.memo, k)
	kc.c.Del(k)
}

// known reports whether the node knows key's state: held or absent. mu held.
func (kc *keyCache) known(key []byte) bool {
	if kc.complete || kc.s.store.Has(key) {
		return true
	}
	_, ok := kc.tombs[string(key)]
	return ok
}

// keyspaceCommands answer about the whole keyspace.
var keyspaceCommands = map[string]bool{"keys": true, "scan": true, "dbsize": true, "randomkey": true}

// checkRead decides whether a read can be answered from the store, and
// counts the access for the eviction policy. It returns "" or the error to
// answer. mu held.
func (kc *keyCache) checkRead(cmd *command, args [][]byte, replica bool) string {
	spec := proto.LookupCommand(args)
	if spec == nil {
		return ""
	}
	keys := spec.Keys(args)
	if len(keys) == 0 {
		if replica && !kc.complete && keyspaceCommands[cmd.name] {
			kc.notCached.Add(1)
			return errNotCachedKeyless
		}
		return ""
	}
	for _, i := range keys {
		k := args[i]
		if kc.s.store.Has(k) {
			kc.c.Get(string(k)) // frequency for the admission policy
			continue
		}
		if replica && !kc.known(k) {
			kc.notCached.Add(1)
			return errNotCached
		}
	}
	return ""
}

// afterWrite re-tracks the keys a client's write changed (standalone cache
// shard). mu held.
func (kc *keyCache) afterWrite(cmd *command, args [][]byte) {
	if cmd.name == "flushall" || cmd.name == "flushdb" {
		kc.reset(true)
		return
	}
	spec := proto.LookupCommand(args)
	if spec == nil {
		return
	}
	for _, i := range spec.Keys(args) {
		if kc.s.store.Has(args[i]) {
			kc.admit(args[i])
		} else {
			kc.c.Del(string(args[i]))
			delete(kc.memo, string(args[i]))
		}
	}
}

// apply applies one replicated record's effects, one command at a time,
// keeping unknown keys unknown (see the file comment). mu held.
func (kc *keyCache) apply(now int64, payload []byte) error {
	if len(payload) == 0 {
		return nil
	}
	kc.src.Reset(payload)
	if kc.rd == nil {
		kc.rd = proto.NewReaderSize(&kc.src, proto.DefaultLimits(), 4096)
	} else {
		kc.rd.Reset(&kc.src)
	}
	rd := kc.rd
	var errs []error
	for {
		args, err := rd.ReadCommand()
		if errors.Is(err, io.EOF) {
			return errors.Join(errs...)
		}
		if err != nil {
			return err
		}
		if err := kc.applyOne(now, args); err != nil {
			errs = append(errs, err)
		}
	}
}

func (kc *keyCache) applyOne(now int64, args [][]byte) error {
	st := kc.s.store
	name := string(bytes.ToLower(args[0]))
	kc.buf = proto.AppendCommand(kc.buf[:0], args...)
	if name == "flushall" || name == "flushdb" {
		err := st.Apply(now, kc.buf)
		kc.reset(true)
		return err
	}
	var keys []int
	if spec := proto.LookupCommand(args); spec != nil {
		keys = spec.Keys(args)
	}
	known := true
	for _, i := range keys {
		if !kc.known(args[i]) {
			known = false
			break
		}
	}
	if !known && !wholeValueWrite(name, args) {
		for _, i := range keys {
			kc.forget(args[i])
		}
		return nil
	}
	err := st.Apply(now, kc.buf)
	for _, i := range keys {
		if st.Has(args[i]) {
			kc.admit(args[i])
		} else {
			kc.tomb(args[i])
		}
	}
	return err
}

// wholeValueWrite reports whether an effect determines its keys' whole
// state whatever they held before.
func wholeValueWrite(name string, args [][]byte) bool {
	switch name {
	case "del", "unlink", "mset":
		return true
	case "set":
		for _, a := range args[3:] {
			switch string(bytes.ToLower(a)) {
			case "nx", "xx", "keepttl", "get":
				return false
			}
		}
		return true
	}
	return false
}

// loader inserts a snapshot's keys as they are decoded, admitting each.
type cacheLoader struct {
	kc   *keyCache
	pw   *io.PipeWriter
	done chan error
}

// startLoad empties the store and starts decoding a snapshot into it.
// mu held by the caller.
func (kc *keyCache) startLoad(newStore func() *store.Store) *cacheLoader {
	s := kc.s
	s.swapStoreLocked(newStore())
	kc.reset(false)
	pr, pw := io.Pipe()
	ld := &cacheLoader{kc: kc, pw: pw, done: make(chan error, 1)}
	go func() {
		err := ld.load(pr)
		pr.CloseWithError(err)
		ld.done <- err
	}()
	return ld
}

func (ld *cacheLoader) load(r io.Reader) error {
	kc, s := ld.kc, ld.kc.s
	dec := store.NewSnapshotDecoder(r)
	batch := make([]*store.SnapshotKey, 0, 256)
	for {
		batch = batch[:0]
		var err error
		for len(batch) < cap(batch) {
			var k *store.SnapshotKey
			if k, err = dec.Next(); err != nil {
				break
			}
			batch = append(batch, k)
		}
		s.mu.Lock()
		for _, k := range batch {
			s.store.Insert(k)
			kc.admit([]byte(k.Key()))
		}
		s.mu.Unlock()
		kc.sync(false)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// evictedKeys counts keys dropped by cached mode (INFO evicted_keys).
func (s *Server) evictedKeys() int64 {
	if kc := s.repl.cache; kc != nil {
		return kc.evicted.Load() + kc.rejected.Load() + kc.dropped.Load()
	}
	return 0
}

// maxmemoryPolicy is what INFO reports: ristretto's TinyLFU admission with
// sampled LFU eviction is closest to Redis's allkeys-lfu.
func (s *Server) maxmemoryPolicy() string {
	if s.repl.cache != nil {
		return "allkeys-lfu"
	}
	return "noeviction"
}
