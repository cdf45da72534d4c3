// Package store is one shard's keyspace: strings, hashes, lists, sets and
// sorted sets, with expiry, executing Redis commands and recording their
// effects for the write-ahead log and replication.
//
// A Store is not safe for concurrent use: its owner (shardd.Server) serializes
// every call, the way Redis runs commands on one thread. Time never comes from
// the clock inside this package: every call takes `now` (Unix milliseconds),
// so a replica replaying the master's effects with the master's timestamps
// reaches the master's state.
//
// Walk-through:
//
//	s := store.New(store.DefaultConfig())
//	out := s.Exec(now, [][]byte{[]byte("SET"), []byte("k"), []byte("v"), []byte("EX"), []byte("10")}, nil)
//	// out is the RESP reply "+OK\r\n"
//	eff := s.TakeEffects() // "SET k v PXAT <now+10000>" encoded as RESP, for the log
//	replica.Apply(now, eff) // a replica reaches the same state
//
// Effects are Redis commands that are deterministic when replayed: relative
// expiries become PEXPIREAT/PXAT, random choices (SPOP, SRANDMEMBER used to
// write) become the concrete members, INCRBYFLOAT becomes a SET of the result,
// a key deleted because it expired becomes a DEL.
package store

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/shoal-kv/shoal/proto"
)

// Config holds the store's settings. The zero value is not valid; start from
// DefaultConfig.
type Config struct {
	// Replica makes the store behave as a replica: keys whose expiry has
	// passed are hidden from reads but never deleted locally; only the
	// master's effects (a DEL) remove them.
	Replica bool
	// MaxScanCursors bounds how many SCAN/HSCAN/SSCAN/ZSCAN cursors are kept
	// alive at once; the least recently used is dropped beyond it.
	MaxScanCursors int
}

// DefaultConfig returns the settings of a master store.
func DefaultConfig() Config {
	return Config{MaxScanCursors: 4096}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	if c.MaxScanCursors < 1 {
		return fmt.Errorf("store: MaxScanCursors must be at least 1, got %d", c.MaxScanCursors)
	}
	return nil
}

// entry is one key's value and absolute expiry (Unix ms, 0 = none).
// val is []byte (a string, "embstr"/"int" encoding), rawString (a string
// that was appended to or SETRANGEd: "raw" encoding) or an object.
type entry struct {
	val  any
	exp  int64
	mark uint32 // snapshot generation that already holds this key (see snapshot.go)
}

// object is implemented by the collection types (hash, list, set, zset).
type object interface {
	// typeName is what TYPE answers: "hash", "list", "set", "zset".
	typeName() string
	// encoding is what OBJECT ENCODING answers, as Redis 7.0 would.
	encoding() string
	// length is the number of elements; a collection with 0 is deleted.
	length() int
	// clone returns a deep copy (COPY, snapshots taken while writing).
	clone() object
	// appendSnapshot appends the object's elements in the snapshot format.
	appendSnapshot(dst []byte) []byte
}

// rawString is a string value with Redis's "raw" encoding (after APPEND or
// SETRANGE); plain []byte values are "embstr" or "int".
type rawString []byte

// Store is one shard's keyspace. See the package doc for the concurrency
// rules: the caller serializes all calls.
type Store struct {
	cfg     Config
	keys    map[string]entry
	keysGen uint64           // incremented whenever keys is replaced (FLUSHALL, load)
	expires map[string]int64 // keys with a TTL, for active expiry sampling

	effects  []byte // RESP commands recorded since the last TakeEffects
	neffects int
	replay   bool // executing the master's effects (Apply): no expiry checks

	// Touched, when set, is called with every key a write changes (WATCH,
	// blocked clients); key is only valid during the call. Flushed is
	// called when every key is removed at once.
	Touched func(key []byte)
	Flushed func()

	call  Call          // reused by Run: the store is single-threaded
	effRd *effectReader // reused by Apply

	cursors cursorTable
	snap    *snapshotState
	stats   Stats
	cmds    map[string]Cmd
}

// Stats are counters for INFO.
type Stats struct {
	Hits, Misses  int64 // keyspace_hits, keyspace_misses
	ExpiredKeys   int64 // expired_keys
	CommandsTotal int64
}

// New returns an empty store. It panics on an invalid Config (a programming
// error: callers validate user input first).
func New(cfg Config) *Store {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	s := &Store{
		cfg:     cfg,
		keys:    make(map[string]entry),
		expires: make(map[string]int64),
	}
	s.cursors.init(cfg.MaxScanCursors)
	s.cmds = commandTable()
	return s
}

// SetReplica switches between master and replica behaviour (REPLICAOF).
func (s *Store) SetReplica(replica bool) { s.cfg.Replica = replica }

// Stats returns the counters.
func (s *Store) Stats() Stats { return s.stats }

// Len is the number of keys, including expired keys not yet removed (as
// Redis's DBSIZE).
func (s *Store) Len() int { return len(s.keys) }

// ExpiresLen is the number of keys with a TTL.
func (s *Store) ExpiresLen() int { return len(s.expires) }

// ErrUnknownCommand is returned by Lookup for a name the store does not
// execute (server-level commands live in shardd).
var ErrUnknownCommand = errors.New("store: unknown command")

// Lookup returns the handler for a command name (case-insensitive) or nil.
// Server-level commands (MULTI, SUBSCRIBE, INFO, ...) are not here.
func (s *Store) Lookup(name []byte) Cmd {
	var buf [32]byte
	if len(name) > len(buf) {
		return nil
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return s.cmds[string(buf[:len(name)])]
}

// Names lists the commands the store executes, lower-case.
func (s *Store) Names() []string {
	out := make([]string, 0, len(s.cmds))
	for n := range s.cmds {
		out = append(out, n)
	}
	return out
}

// Exec runs one command (args[0] is its name) at time now and appends the
// RESP reply to out. Arity has been checked by the caller against the
// command table; handlers still never index past len(args).
func (s *Store) Exec(now int64, args [][]byte, out []byte) []byte {
	h := s.Lookup(args[0])
	if h == nil {
		return proto.AppendError(out, proto.ErrUnknownCommand(args))
	}
	return s.Run(h, now, args, out)
}

// Run is Exec with the handler already looked up.
func (s *Store) Run(h Cmd, now int64, args [][]byte, out []byte) []byte {
	// One Call is reused: handlers never run Run recursively, and a Call
	// passed to an unknown function would otherwise escape to the heap.
	c := &s.call
	*c = Call{S: s, Args: args, Now: now, Out: out}
	s.stats.CommandsTotal++
	h(c)
	out = c.Out
	*c = Call{}
	return out
}

// ---- keyspace primitives used by the command files ----

// expired reports whether e's expiry has passed at now.
func (e *entry) expired(now int64) bool { return e.exp != 0 && e.exp <= now }

// lookup returns key's entry if it exists and has not expired. On a master an
// expired key is deleted and a DEL is recorded; on a replica it is only
// hidden; while replaying the master's effects, expiry is not considered at
// all (the master's own DEL will arrive).
func (s *Store) lookup(now int64, key []byte) (entry, bool) {
	e, ok := s.keys[string(key)]
	if !ok {
		return e, false
	}
	if e.exp != 0 && !s.replay && e.exp <= now {
		if !s.cfg.Replica {
			s.expireKey(string(key))
		}
		return entry{}, false
	}
	return e, true
}

// lookupRead is lookup that counts keyspace hits and misses.
func (s *Store) lookupRead(now int64, key []byte) (entry, bool) {
	e, ok := s.lookup(now, key)
	if ok {
		s.stats.Hits++
	} else {
		s.stats.Misses++
	}
	return e, ok
}

// expireKey deletes an expired key and records the DEL for replicas.
func (s *Store) expireKey(key string) {
	s.removeKey(key)
	s.stats.ExpiredKeys++
	s.propagate([]byte("DEL"), []byte(key))
	s.touch(key)
}

// setKey stores val under key with expiry exp (0 = none). The key string is
// copied. It does not record an effect or touch; callers do.
func (s *Store) setKey(key []byte, val any, exp int64) {
	k := string(key)
	old, existed := s.keys[k]
	s.snapshotBeforeWrite(k, old, existed)
	e := entry{val: val, exp: exp}
	if s.snap != nil {
		e.mark = s.snap.gen
	}
	s.keys[k] = e
	if exp != 0 {
		s.expires[k] = exp
	} else if existed && old.exp != 0 {
		delete(s.expires, k)
	}
}

// setValue replaces key's value and keeps its expiry (an existing key's TTL
// survives in-place updates such as INCR or HSET).
func (s *Store) setValue(key []byte, val any) {
	k := string(key)
	old, existed := s.keys[k]
	s.snapshotBeforeWrite(k, old, existed)
	old.val = val
	if s.snap != nil {
		old.mark = s.snap.gen
	}
	s.keys[k] = old
}

// mutated must be called before an object stored under key is changed in
// place, so a snapshot in progress keeps the old contents.
func (s *Store) mutated(key []byte) {
	if s.snap == nil {
		return
	}
	k := string(key)
	old, existed := s.keys[k]
	s.snapshotBeforeWrite(k, old, existed)
	if existed && old.mark != s.snap.gen {
		old.mark = s.snap.gen
		s.keys[k] = old
	}
}

// setExpire sets key's absolute expiry (0 removes it). The key must exist.
func (s *Store) setExpire(key []byte, exp int64) {
	k := string(key)
	old := s.keys[k]
	s.snapshotBeforeWrite(k, old, true)
	old.exp = exp
	if s.snap != nil {
		old.mark = s.snap.gen
	}
	s.keys[k] = old
	if exp != 0 {
		s.expires[k] = exp
	} else {
		delete(s.expires, k)
	}
}

// removeKey deletes key without recording anything; it reports whether the
// key was there.
func (s *Store) removeKey(key string) bool {
	old, ok := s.keys[key]
	if !ok {
		return false
	}
	s.snapshotBeforeWrite(key, old, true)
	delete(s.keys, key)
	if old.exp != 0 {
		delete(s.expires, key)
	}
	return true
}

// deleteIfEmpty removes key when its collection became empty (Redis never
// keeps empty collections).
func (s *Store) deleteIfEmpty(key []byte, o object) {
	if o.length() == 0 {
		s.removeKey(string(key))
	}
}

// touch signals that key changed (WATCH, blocked clients).
func (s *Store) touch(key string) {
	if s.Touched != nil {
		s.Touched([]byte(key))
	}
}

// flushAll removes every key.
func (s *Store) flushAll() {
	s.snapshotBeforeFlush()
	s.keys = make(map[string]entry)
	s.expires = make(map[string]int64)
	s.keysGen++
	if s.Flushed != nil {
		s.Flushed()
	}
}

// ActiveExpire samples keys with a TTL, as Redis's active expire cycle does,
// and deletes up to budget expired ones, recording a DEL for each. It is a
// no-op on a replica. It returns how many keys it deleted.
func (s *Store) ActiveExpire(now int64, budget int) int {
	if s.cfg.Replica || len(s.expires) == 0 {
		return 0
	}
	deleted, sampled := 0, 0
	for k, exp := range s.expires {
		if sampled >= budget*4 || deleted >= budget {
			break
		}
		sampled++
		if exp <= now {
			s.expireKey(k)
			deleted++
		}
	}
	return deleted
}

// ---- effects ----

// propagate records one effect command. Commands whose execution is
// deterministic record themselves (see Call.PropagateSelf).
func (s *Store) propagate(args ...[]byte) {
	if s.replay {
		return
	}
	s.effects = proto.AppendCommand(s.effects, args...)
	s.neffects++
}

// TakeEffects returns the effects recorded since the last call as RESP
// multibulk commands, and how many there are. The returned slice is only
// valid until the next call that executes a command; copy it to keep it.
func (s *Store) TakeEffects() ([]byte, int) {
	b, n := s.effects, s.neffects
	s.effects = s.effects[:0]
	s.neffects = 0
	return b, n
}

// Apply replays a master's effects (as returned by TakeEffects) at the
// master's time now. Replies are discarded; an effect that fails is reported.
func (s *Store) Apply(now int64, effects []byte) error {
	s.replay = true
	defer func() { s.replay = false }()
	var out []byte
	rd := s.effectReaderFor(effects)
	for {
		args, err := rd.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: apply: %w", err)
		}
		out = s.Exec(now, args, out[:0])
		if len(out) > 0 && out[0] == '-' {
			return fmt.Errorf("store: apply %q: %s", args[0], strings.TrimSpace(string(out[1:])))
		}
	}
}
