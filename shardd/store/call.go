package store

import (
	"bytes"
	"strings"
	"unsafe"

	"github.com/shoal-kv/shoal/proto"
)

// Cmd executes one command. It reads c.Args and appends exactly one reply to
// c.Out (use the reply helpers below).
type Cmd func(c *Call)

// Call is one command execution: its arguments, the time, and the reply
// buffer. Args alias the caller's read buffer: copy what you keep (setKey
// copies the key; values stored must be copied with clone()).
type Call struct {
	S    *Store
	Args [][]byte
	Now  int64 // Unix milliseconds
	Out  []byte
}

// Redis 7.0's error texts, shared by all command files.
const (
	ErrWrongType   = "WRONGTYPE Operation against a key holding the wrong kind of value"
	ErrNotInt      = "ERR value is not an integer or out of range"
	ErrNotFloat    = "ERR value is not a valid float"
	ErrSyntax      = "ERR syntax error"
	ErrOverflow    = "ERR increment or decrement would overflow"
	ErrNoSuchKey   = "ERR no such key"
	ErrOutOfRange  = "ERR index out of range"
	ErrInvalidExp  = "ERR invalid expire time in '%s' command"
	ErrNaN         = "ERR resulting score is not a number (NaN)"
	ErrInvalidCurs = "ERR invalid cursor"
	ErrNotPositive = "ERR value is out of range, must be positive"
	ErrValueRange  = "ERR value is out of range"
	ErrNumkeys     = "ERR numkeys should be greater than 0"
	ErrIncrNaN     = "ERR increment would produce NaN or Infinity"
)

// ---- replies ----

func (c *Call) Bulk(b []byte)       { c.Out = proto.AppendBulk(c.Out, b) }
func (c *Call) BulkString(s string) { c.Out = proto.AppendBulkString(c.Out, s) }
func (c *Call) Int(n int64)         { c.Out = proto.AppendInt(c.Out, n) }
func (c *Call) Status(s string)     { c.Out = proto.AppendStatus(c.Out, s) }
func (c *Call) OK()                 { c.Out = proto.AppendOK(c.Out) }
func (c *Call) Err(msg string)      { c.Out = proto.AppendError(c.Out, msg) }
func (c *Call) Null()               { c.Out = proto.AppendNullBulk(c.Out) }
func (c *Call) NullArray()          { c.Out = proto.AppendNullArray(c.Out) }
func (c *Call) Array(n int)         { c.Out = proto.AppendArray(c.Out, n) }
func (c *Call) WrongType()          { c.Err(ErrWrongType) }
func (c *Call) SyntaxErr()          { c.Err(ErrSyntax) }
func (c *Call) BulkInt(n int64)     { c.Out = proto.AppendBulkInt(c.Out, n) }
func (c *Call) Float(f float64)     { c.Out = proto.AppendBulkFloat(c.Out, f) }

// replyPer is how many reply elements one element makes: 2 with its value
// or score (WITHVALUES, WITHSCORES), else 1.
func replyPer(with bool) int {
	if with {
		return 2
	}
	return 1
}

// ---- effects ----

// PropagateSelf records the command exactly as received: use it for
// commands whose effect is deterministic given the state.
func (c *Call) PropagateSelf() { c.S.propagate(c.Args...) }

// Propagate records an effect command.
func (c *Call) Propagate(args ...[]byte) { c.S.propagate(args...) }

// Touch signals that key changed (WATCH, blocked clients).
func (c *Call) Touch(key []byte) {
	if c.S.Touched != nil {
		c.S.Touched(key)
	}
}

// ---- argument parsing (Redis's rules and error texts) ----

// arity replies Redis's arity error and returns false when the call has
// fewer than n arguments (the command name included). The server checks
// arity against the command table first; this only keeps a handler from
// indexing past c.Args.
func (c *Call) arity(n int) bool {
	if len(c.Args) >= n {
		return true
	}
	c.arityErr()
	return false
}

// arityErr replies "ERR wrong number of arguments for '<name>' command".
func (c *Call) arityErr() {
	name := ""
	if len(c.Args) > 0 {
		name = strings.ToLower(string(c.Args[0]))
	}
	c.Err(proto.ErrWrongArity(name))
}

// IntArg parses argument i as an integer, replying ErrNotInt on failure.
func (c *Call) IntArg(i int) (int64, bool) {
	v, ok := ParseInt(c.Args[i])
	if !ok {
		c.Err(ErrNotInt)
	}
	return v, ok
}

// optionFlag is an option word (lower case) and the flag bit it sets.
type optionFlag struct {
	word string
	flag int
}

// matchOption returns the flag of option word b among opts (compared
// ignoring case), or 0.
func matchOption(b []byte, opts []optionFlag) int {
	for _, o := range opts {
		if eqFold(b, o.word) {
			return o.flag
		}
	}
	return 0
}

// nonNegArg parses argument i as an integer that must not be negative,
// replying errMsg otherwise (for one not an integer too). The counts of
// LPOP, ZPOPMIN and SPOP use ErrNotPositive (Redis's
// getPositiveLongFromObjectOrReply); LPOS COUNT/MAXLEN and SINTERCARD
// LIMIT have their own texts.
func (c *Call) nonNegArg(i int, errMsg string) (int64, bool) {
	n, ok := ParseInt(c.Args[i])
	if !ok || n < 0 {
		c.Err(errMsg)
		return 0, false
	}
	return n, true
}

// btoi is 1 for true, 0 for false.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// IntArgPair parses arguments i and j as integers (start and end, offset
// and count), replying ErrNotInt for the first that is not one.
func (c *Call) IntArgPair(i, j int) (a, b int64, ok bool) {
	if a, ok = c.IntArg(i); !ok {
		return 0, 0, false
	}
	b, ok = c.IntArg(j)
	return a, b, ok
}

// FloatArg parses argument i as a double (see ParseFloat), replying
// ErrNotFloat on failure.
func (c *Call) FloatArg(i int) (float64, bool) {
	v, ok := ParseFloat(c.Args[i])
	if !ok {
		c.Err(ErrNotFloat)
	}
	return v, ok
}

// indexRange converts the start and end indexes of LRANGE, LTRIM, ZRANGE,
// ZREMRANGEBYRANK ... (negative ones count from the end) into the inclusive
// range lo..hi of a collection of n elements, as Redis clamps them; ok is
// false when the range is empty.
func indexRange(start, end int64, n int) (lo, hi int, ok bool) {
	ln := int64(n)
	if start < 0 {
		start += ln
	}
	if end < 0 {
		end += ln
	}
	if start < 0 {
		start = 0
	}
	if start > end || start >= ln {
		return 0, 0, false
	}
	if end >= ln {
		end = ln - 1
	}
	return int(start), int(end), true
}

// clone copies b (values stored in the keyspace never alias the caller's
// read buffer).
func clone(b []byte) []byte {
	out := make([]byte, len(b))
	copy(out, b)
	return out
}

// stringView returns b as a string without copying, for lookups that do
// not keep it (map and tree searches). The result must never be stored.
func stringView(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// bytesView returns s as a byte slice without copying, for read-only use
// (parsing, pattern matching, membership tests). It must never be modified.
func bytesView(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// cString is b up to its first NUL byte: Redis compares option words as C
// strings (strcasecmp), so "nx\x00junk" is NX to it.
func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// eqFold reports whether b equals the lower-case ASCII word s, ignoring case.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// ---- typed access for the command files ----

// getString returns key's string value. found is false when the key does not
// exist; ok is false when it holds another type (WRONGTYPE was replied).
func (c *Call) getString(key []byte) (val []byte, found, ok bool) {
	e, found := c.S.lookupRead(c.Now, key)
	if !found {
		return nil, false, true
	}
	switch v := e.val.(type) {
	case []byte:
		return v, true, true
	case rawString:
		return v, true, true
	}
	c.WrongType()
	return nil, true, false
}

// getObject returns key's value as T for reading. found is false when the key
// does not exist; ok is false when it holds another type (WRONGTYPE was
// replied).
func getObject[T object](c *Call, key []byte) (obj T, found, ok bool) {
	e, found := c.S.lookupRead(c.Now, key)
	if !found {
		return obj, false, true
	}
	if obj, ok = e.val.(T); !ok {
		c.WrongType()
	}
	return obj, true, ok
}

// lookupForWrite is getObject for a command that may change the object in
// place: hits and misses are not counted (Redis counts only reads). The
// caller must call c.S.mutated(key) before it changes the object (so a
// command that changes nothing costs a snapshot in progress no copy). It
// repeats getObject's few lines rather than sharing a helper: both are on
// every hot path.
func lookupForWrite[T object](c *Call, key []byte) (obj T, found, ok bool) {
	e, found := c.S.lookup(c.Now, key)
	if !found {
		return obj, false, true
	}
	if obj, ok = e.val.(T); !ok {
		c.WrongType()
	}
	return obj, true, ok
}

// getObjectForWrite is lookupForWrite for a command about to change the
// object in place: it calls c.S.mutated(key) at once.
func getObjectForWrite[T object](c *Call, key []byte) (obj T, found, ok bool) {
	obj, found, ok = lookupForWrite[T](c, key)
	if found && ok {
		c.S.mutated(key)
	}
	return obj, found, ok
}

// createObject stores a new, empty collection under key (which must not
// exist) and returns it.
func createObject[T object](c *Call, key []byte, obj T) T {
	c.S.setKey(key, obj, 0)
	return obj
}

// storeResult writes the result of a STORE command (SINTERSTORE,
// SUNIONSTORE, SDIFFSTORE, ZRANGESTORE, ZUNIONSTORE, ZINTERSTORE,
// ZDIFFSTORE) under dst: an expired dst is expired first (as Redis's setKey
// does through lookupKeyWrite), then a non-empty result replaces whatever
// dst held (its TTL included) and an empty (or nil) one deletes dst. When
// dst changed it is touched and the command recorded as is (replaying it is
// deterministic). It replies the result's cardinality.
//
// For an empty result Redis calls dbDelete without the lookup, so it would
// not count an expired dst in expired_keys and would record the command
// rather than a DEL; the replica ends the same either way.
func storeResult(c *Call, dst []byte, res object) {
	c.S.lookup(c.Now, dst)
	if res == nil || res.length() == 0 {
		c.Int(0)
		if c.S.removeKey(string(dst)) {
			c.Touch(dst)
			c.PropagateSelf()
		}
		return
	}
	c.S.setKey(dst, res, 0)
	c.Touch(dst)
	c.PropagateSelf()
	c.Int(int64(res.length()))
}
