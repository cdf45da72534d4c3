package store

// String commands, as Redis 7.0.15 answers them (t_string.c).
//
// Values are []byte (Redis's "int" or "embstr" encoding, or "raw" when longer
// than 44 bytes) or rawString (after APPEND/SETRANGE on an existing key).
// []byte values are never changed in place and may be shared (COPY shares
// them). A rawString is owned by exactly one key (COPY clones it): APPEND may
// extend it in place into spare capacity beyond its length, which no other
// holder (a snapshot's saved copy, say) can see; SETRANGE changes bytes within
// the length in place only while no snapshot is in progress.

import (
	"fmt"
	"math"
	"strconv"
)

func registerStrings(m map[string]Cmd) {
	register(m, "get", strGet)
	register(m, "set", strSet)
	register(m, "setnx", strSetNX)
	register(m, "setex", strSetEX)
	register(m, "psetex", strPSetEX)
	register(m, "getset", strGetSet)
	register(m, "getdel", strGetDel)
	register(m, "getex", strGetEx)
	register(m, "mget", strMGet)
	register(m, "mset", strMSet)
	register(m, "msetnx", strMSetNX)
	register(m, "incr", func(c *Call) { strIncrDecrCmd(c, 1) })
	register(m, "decr", func(c *Call) { strIncrDecrCmd(c, -1) })
	register(m, "incrby", func(c *Call) { strIncrByCmd(c, false) })
	register(m, "decrby", func(c *Call) { strIncrByCmd(c, true) })
	register(m, "incrbyfloat", strIncrByFloat)
	register(m, "append", strAppend)
	register(m, "strlen", strStrlen)
	register(m, "getrange", strGetRange)
	register(m, "substr", strGetRange)
	register(m, "setrange", strSetRange)
}

// strMaxLen is Redis's default proto-max-bulk-len, the largest string value.
const strMaxLen = 512 << 20

var (
	strWSET       = []byte("SET")
	strWDEL       = []byte("DEL")
	strWPXAT      = []byte("PXAT")
	strWKEEPTTL   = []byte("KEEPTTL")
	strWPEXPIREAT = []byte("PEXPIREAT")
	strWPERSIST   = []byte("PERSIST")
	strWMSET      = []byte("MSET")
)

// strValue returns v's bytes when it is a string value.
func strValue(v any) ([]byte, bool) {
	switch s := v.(type) {
	case []byte:
		return s, true
	case rawString:
		return s, true
	}
	return nil, false
}

// strEncoding is OBJECT ENCODING for a string value. Redis int-encodes a
// value of at most 20 bytes that string2l accepts (tryObjectEncoding), keeps
// up to 44 bytes embedded, and makes APPEND/SETRANGE results raw.
func strEncoding(v any) string {
	switch s := v.(type) {
	case rawString:
		return "raw"
	case []byte:
		if len(s) <= 20 {
			if _, ok := ParseInt(s); ok {
				return "int"
			}
		}
		if len(s) <= 44 {
			return "embstr"
		}
		return "raw"
	}
	return ""
}

// strSharedInt reports whether Redis would store v as one of its shared
// integer objects (0..9999), whose OBJECT REFCOUNT is INT_MAX.
func strSharedInt(v any) bool {
	s, ok := v.([]byte)
	if !ok || len(s) > 4 {
		return false
	}
	n, ok := ParseInt(s)
	return ok && n >= 0 && n < 10000
}

// strGrowCap is the capacity Redis's sdsMakeRoomFor gives a string growing
// to n bytes (greedy: double below 1 MB, else 1 MB more).
func strGrowCap(n int) int {
	if n < 1<<20 {
		return n * 2
	}
	return n + 1<<20
}

// strCheckLen is Redis's checkStringLength: the result of growing a string of
// size bytes by add bytes must fit proto-max-bulk-len (the master's effects
// are exempt).
func strCheckLen(c *Call, size, add int64) bool {
	if c.S.replay {
		return true
	}
	total := size + add
	if total > strMaxLen || total < size || total < add {
		c.Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
		return false
	}
	return true
}

// ---- GET / SET family ----

func strGet(c *Call) {
	if !c.arity(2) {
		return
	}
	v, found, ok := c.getString(c.Args[1])
	if !ok {
		return
	}
	if !found {
		c.Null()
		return
	}
	c.Bulk(v)
}

// SET option flags (parseExtendedStringArgumentsOrReply).
const (
	strNX = 1 << iota
	strXX
	strGET
	strKeepTTL
	strPersist
	strEX
	strPX
	strEXAT
	strPXAT
)

// strParseOptions parses SET (isSet) or GETEX options from c.Args[start:],
// accepting exactly the combinations Redis 7.0 accepts (repeating an option
// is allowed; the last expiry wins).
func strParseOptions(c *Call, start int, isSet bool) (flags int, expire []byte, ok bool) {
	for j := start; j < len(c.Args); j++ {
		opt := cString(c.Args[j])
		var next []byte
		hasNext := j+1 < len(c.Args)
		if hasNext {
			next = c.Args[j+1]
		}
		switch {
		case isSet && eqFold(opt, "nx") && flags&strXX == 0:
			flags |= strNX
		case isSet && eqFold(opt, "xx") && flags&strNX == 0:
			flags |= strXX
		case isSet && eqFold(opt, "get"):
			flags |= strGET
		case isSet && eqFold(opt, "keepttl") && flags&(strPersist|strEX|strEXAT|strPX|strPXAT) == 0:
			flags |= strKeepTTL
		case !isSet && eqFold(opt, "persist") && flags&(strEX|strEXAT|strPX|strPXAT|strKeepTTL) == 0:
			flags |= strPersist
		case eqFold(opt, "ex") && flags&(strKeepTTL|strPersist|strEXAT|strPX|strPXAT) == 0 && hasNext:
			flags |= strEX
			expire = next
			j++
		case eqFold(opt, "px") && flags&(strKeepTTL|strPersist|strEX|strEXAT|strPXAT) == 0 && hasNext:
			flags |= strPX
			expire = next
			j++
		case eqFold(opt, "exat") && flags&(strKeepTTL|strPersist|strEX|strPX|strPXAT) == 0 && hasNext:
			flags |= strEXAT
			expire = next
			j++
		case eqFold(opt, "pxat") && flags&(strKeepTTL|strPersist|strEX|strEXAT|strPX) == 0 && hasNext:
			flags |= strPXAT
			expire = next
			j++
		default:
			c.SyntaxErr()
			return 0, nil, false
		}
	}
	return flags, expire, true
}

// strExpireAt converts an EX/PX/EXAT/PXAT argument into an absolute time in
// Unix ms, with Redis's validation (getExpireMillisecondsOrReply).
func strExpireAt(c *Call, arg []byte, flags int, cmd string) (int64, bool) {
	ms, ok := ParseInt(arg)
	if !ok {
		c.Err(ErrNotInt)
		return 0, false
	}
	seconds := flags&(strEX|strEXAT) != 0
	if ms <= 0 || (seconds && ms > math.MaxInt64/1000) {
		c.Err(fmt.Sprintf(ErrInvalidExp, cmd))
		return 0, false
	}
	if seconds {
		ms *= 1000
	}
	if flags&(strEX|strPX) != 0 {
		ms += c.Now // wraps on overflow, caught below as Redis does
	}
	if ms <= 0 {
		c.Err(fmt.Sprintf(ErrInvalidExp, cmd))
		return 0, false
	}
	return ms, true
}

// strReply is what a SET-family command answers when it set (or declined to
// set) the key.
type strReply int

const (
	strReplyOK  strReply = iota // +OK / nil bulk (SET, SETEX, PSETEX)
	strReplyInt                 // :1 / :0 (SETNX)
)

// strSetGeneric is Redis's setGenericCommand. expire is the EX/PX/EXAT/PXAT
// argument (nil for none); cmd names the command in expiry errors.
func strSetGeneric(c *Call, flags int, key, val, expire []byte, cmd string, reply strReply) {
	var when int64
	if expire != nil {
		var ok bool
		if when, ok = strExpireAt(c, expire, flags, cmd); !ok {
			return
		}
	}
	if flags&strGET != 0 {
		old, found, ok := c.getString(key)
		if !ok {
			return
		}
		if found {
			c.Bulk(old)
		} else {
			c.Null()
		}
	}
	// Plain SET (the hot path) needs no lookup: setKey replaces whatever is
	// there, expired or not.
	var cur entry
	var found bool
	if flags&(strNX|strXX|strKeepTTL) != 0 || expire != nil {
		cur, found = c.S.lookup(c.Now, key)
	}
	if (flags&strNX != 0 && found) || (flags&strXX != 0 && !found) {
		if flags&strGET == 0 {
			if reply == strReplyInt {
				c.Int(0)
			} else {
				c.Null()
			}
		}
		return
	}
	switch {
	case expire != nil && !c.S.replay && when <= c.Now:
		// An absolute time already past: the key is set and gone at once.
		if found {
			c.S.removeKey(string(key))
			c.Propagate(strWDEL, key)
		}
	case expire != nil:
		c.S.setKey(key, clone(val), when)
		var buf [20]byte
		c.Propagate(strWSET, key, val, strWPXAT, strconv.AppendInt(buf[:0], when, 10))
	case flags&strKeepTTL != 0:
		c.S.setKey(key, clone(val), cur.exp)
		if cur.exp != 0 {
			c.Propagate(strWSET, key, val, strWKEEPTTL)
		} else {
			c.Propagate(strWSET, key, val)
		}
	default:
		c.S.setKey(key, clone(val), 0)
		if len(c.Args) == 3 && eqFold(c.Args[0], "set") {
			c.PropagateSelf()
		} else {
			c.Propagate(strWSET, key, val)
		}
	}
	c.Touch(key)
	if flags&strGET == 0 {
		if reply == strReplyInt {
			c.Int(1)
		} else {
			c.OK()
		}
	}
}

func strSet(c *Call) {
	if !c.arity(3) {
		return
	}
	flags, expire, ok := 0, []byte(nil), true
	if len(c.Args) > 3 {
		if flags, expire, ok = strParseOptions(c, 3, true); !ok {
			return
		}
	}
	strSetGeneric(c, flags, c.Args[1], c.Args[2], expire, "set", strReplyOK)
}

func strSetNX(c *Call) {
	if !c.arity(3) {
		return
	}
	strSetGeneric(c, strNX, c.Args[1], c.Args[2], nil, "setnx", strReplyInt)
}

func strSetEX(c *Call) {
	if !c.arity(4) {
		return
	}
	strSetGeneric(c, strEX, c.Args[1], c.Args[3], c.Args[2], "setex", strReplyOK)
}

func strPSetEX(c *Call) {
	if !c.arity(4) {
		return
	}
	strSetGeneric(c, strPX, c.Args[1], c.Args[3], c.Args[2], "psetex", strReplyOK)
}

func strGetSet(c *Call) {
	if !c.arity(3) {
		return
	}
	key, val := c.Args[1], c.Args[2]
	old, found, ok := c.getString(key)
	if !ok {
		return
	}
	if found {
		c.Bulk(old)
	} else {
		c.Null()
	}
	c.S.setKey(key, clone(val), 0)
	c.Propagate(strWSET, key, val)
	c.Touch(key)
}

func strGetDel(c *Call) {
	if !c.arity(2) {
		return
	}
	key := c.Args[1]
	v, found, ok := c.getString(key)
	if !ok {
		return
	}
	if !found {
		c.Null()
		return
	}
	c.Bulk(v)
	c.S.removeKey(string(key))
	c.Propagate(strWDEL, key)
	c.Touch(key)
}

func strGetEx(c *Call) {
	if !c.arity(2) {
		return
	}
	key := c.Args[1]
	flags, expire, ok := strParseOptions(c, 2, false)
	if !ok {
		return
	}
	e, found := c.S.lookupRead(c.Now, key)
	if !found {
		c.Null()
		return
	}
	v, isStr := strValue(e.val)
	if !isStr {
		c.WrongType()
		return
	}
	var when int64
	if expire != nil {
		if when, ok = strExpireAt(c, expire, flags, "getex"); !ok {
			return
		}
	}
	c.Bulk(v)
	switch {
	case flags&(strEXAT|strPXAT) != 0 && !c.S.replay && when <= c.Now:
		c.S.removeKey(string(key))
		c.Propagate(strWDEL, key)
		c.Touch(key)
	case expire != nil:
		c.S.setExpire(key, when)
		var buf [20]byte
		c.Propagate(strWPEXPIREAT, key, strconv.AppendInt(buf[:0], when, 10))
		c.Touch(key)
	case flags&strPersist != 0 && e.exp != 0:
		c.S.setExpire(key, 0)
		c.Propagate(strWPERSIST, key)
		c.Touch(key)
	}
}

func strMGet(c *Call) {
	c.Array(len(c.Args) - 1)
	for _, k := range c.Args[1:] {
		e, found := c.S.lookupRead(c.Now, k)
		if v, ok := strValue(e.val); found && ok {
			c.Bulk(v)
		} else {
			c.Null()
		}
	}
}

func strMSetArity(c *Call) bool {
	if len(c.Args) < 3 || len(c.Args)%2 == 0 {
		c.arityErr()
		return false
	}
	return true
}

func strMSet(c *Call) {
	if !strMSetArity(c) {
		return
	}
	for j := 1; j+1 < len(c.Args); j += 2 {
		c.S.setKey(c.Args[j], clone(c.Args[j+1]), 0)
		c.Touch(c.Args[j])
	}
	c.PropagateSelf()
	c.OK()
}

func strMSetNX(c *Call) {
	if !strMSetArity(c) {
		return
	}
	for j := 1; j < len(c.Args); j += 2 {
		if _, found := c.S.lookup(c.Now, c.Args[j]); found {
			c.Int(0)
			return
		}
	}
	for j := 1; j+1 < len(c.Args); j += 2 {
		c.S.setKey(c.Args[j], clone(c.Args[j+1]), 0)
		c.Touch(c.Args[j])
	}
	eff := make([][]byte, len(c.Args))
	eff[0] = strWMSET
	copy(eff[1:], c.Args[1:])
	c.Propagate(eff...)
	c.Int(1)
}

// ---- counters ----

// strIncrDecr adds incr to key's integer value (incrDecrCommand).
func strIncrDecr(c *Call, key []byte, incr int64) {
	e, found := c.S.lookup(c.Now, key)
	var v int64
	if found {
		b, isStr := strValue(e.val)
		if !isStr {
			c.WrongType()
			return
		}
		var ok bool
		if v, ok = ParseInt(b); !ok {
			c.Err(ErrNotInt)
			return
		}
	}
	if (incr < 0 && v < 0 && incr < math.MinInt64-v) || (incr > 0 && v > 0 && incr > math.MaxInt64-v) {
		c.Err(ErrOverflow)
		return
	}
	v += incr
	var buf [20]byte
	nb := clone(strconv.AppendInt(buf[:0], v, 10))
	if found {
		c.S.setValue(key, nb)
	} else {
		c.S.setKey(key, nb, 0)
	}
	c.Touch(key)
	c.PropagateSelf()
	c.Int(v)
}

func strIncrDecrCmd(c *Call, incr int64) {
	if !c.arity(2) {
		return
	}
	strIncrDecr(c, c.Args[1], incr)
}

// strIncrByCmd is INCRBY, and DECRBY (decr) which negates the argument.
func strIncrByCmd(c *Call, decr bool) {
	if !c.arity(3) {
		return
	}
	incr, ok := c.IntArg(2)
	if !ok {
		return
	}
	if decr {
		if incr == math.MinInt64 {
			c.Err("ERR decrement would overflow")
			return
		}
		incr = -incr
	}
	strIncrDecr(c, c.Args[1], incr)
}

// strIncrByFloat is INCRBYFLOAT, computed in x87 long double precision as
// Redis does on amd64 (see numbers.go), propagated as SET key result
// KEEPTTL.
func strIncrByFloat(c *Call) {
	if !c.arity(3) {
		return
	}
	key := c.Args[1]
	e, found := c.S.lookup(c.Now, key)
	var cur []byte
	if found {
		b, isStr := strValue(e.val)
		if !isStr {
			c.WrongType()
			return
		}
		cur = b
	}
	var x longDouble
	if found {
		var ok bool
		if x, ok = parseLongDouble(cur); !ok {
			c.Err(ErrNotFloat)
			return
		}
	}
	y, ok := parseLongDouble(c.Args[2])
	if !ok {
		c.Err(ErrNotFloat)
		return
	}
	sum, ok := x.add(y)
	if !ok {
		c.Err(ErrIncrNaN)
		return
	}
	res := sum.appendHuman(nil)
	if found {
		c.S.setValue(key, res)
	} else {
		c.S.setKey(key, res, 0)
	}
	c.Touch(key)
	c.Propagate(strWSET, key, res, strWKEEPTTL)
	c.Bulk(res)
}

// ---- APPEND / STRLEN / GETRANGE / SETRANGE ----

func strAppend(c *Call) {
	if !c.arity(3) {
		return
	}
	key, add := c.Args[1], c.Args[2]
	e, found := c.S.lookup(c.Now, key)
	if !found {
		c.S.setKey(key, clone(add), 0)
		c.Touch(key)
		c.PropagateSelf()
		c.Int(int64(len(add)))
		return
	}
	old, isStr := strValue(e.val)
	if !isStr {
		c.WrongType()
		return
	}
	if !strCheckLen(c, int64(len(old)), int64(len(add))) {
		return
	}
	n := len(old) + len(add)
	var nv rawString
	if r, isRaw := e.val.(rawString); isRaw && cap(r)-len(r) >= len(add) {
		// In place, beyond the old length: nobody else sees these bytes.
		nv = append(r, add...)
	} else {
		nv = make(rawString, n, strGrowCap(n))
		copy(nv, old)
		copy(nv[len(old):], add)
	}
	c.S.setValue(key, nv)
	c.Touch(key)
	c.PropagateSelf()
	c.Int(int64(n))
}

func strStrlen(c *Call) {
	if !c.arity(2) {
		return
	}
	v, _, ok := c.getString(c.Args[1])
	if !ok {
		return
	}
	c.Int(int64(len(v)))
}

func strGetRange(c *Call) {
	if !c.arity(4) {
		return
	}
	start, end, ok := c.IntArgPair(2, 3)
	if !ok {
		return
	}
	v, found, ok := c.getString(c.Args[1])
	if !ok {
		return
	}
	if !found {
		c.Bulk(nil)
		return
	}
	n := int64(len(v))
	if start < 0 && end < 0 && start > end {
		c.Bulk(nil)
		return
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if start < 0 {
		start = 0
	}
	if end < 0 {
		end = 0
	}
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		c.Bulk(nil)
		return
	}
	c.Bulk(v[start : end+1])
}

func strSetRange(c *Call) {
	if !c.arity(4) {
		return
	}
	key, val := c.Args[1], c.Args[3]
	offset, ok := c.IntArg(2)
	if !ok {
		return
	}
	if offset < 0 {
		c.Err("ERR offset is out of range")
		return
	}
	e, found := c.S.lookup(c.Now, key)
	if !found {
		if len(val) == 0 {
			c.Int(0)
			return
		}
		if !strCheckLen(c, offset, int64(len(val))) {
			return
		}
		nv := make(rawString, int(offset)+len(val))
		copy(nv[offset:], val)
		c.S.setKey(key, nv, 0)
		c.Touch(key)
		c.PropagateSelf()
		c.Int(int64(len(nv)))
		return
	}
	old, isStr := strValue(e.val)
	if !isStr {
		c.WrongType()
		return
	}
	if len(val) == 0 {
		c.Int(int64(len(old)))
		return
	}
	if !strCheckLen(c, offset, int64(len(val))) {
		return
	}
	n := max(len(old), int(offset)+len(val))
	var nv rawString
	if r, isRaw := e.val.(rawString); isRaw && c.S.snap == nil && cap(r) >= n {
		// In place: no snapshot can hold this value, and a rawString has
		// one owner. Bytes past the old length are zeroed first.
		nv = r[:n]
		clear(nv[len(r):])
	} else {
		if n > len(old) {
			nv = make(rawString, n, strGrowCap(n))
		} else {
			nv = make(rawString, n)
		}
		copy(nv, old)
	}
	copy(nv[offset:], val)
	c.S.setValue(key, nv)
	c.Touch(key)
	c.PropagateSelf()
	c.Int(int64(n))
}
