package store

import (
	"bytes"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Redis parses sorted-set numbers with C's strtod, in three flavours that
// accept slightly different inputs; these functions emulate glibc's strtod
// grammar exactly so that every input gets Redis's answer:
//
//   - zsetParseFloat is string2d (ZADD scores, ZINCRBY increments, WEIGHTS):
//     the whole argument must parse, no leading space, no NaN, and overflow
//     or underflow to zero is an error ("1e400", "1e-400"); "inf", hex
//     floats ("0x10", "0x1p-3") and denormals are accepted.
//   - zsetParseScoreBound is zslParseRange (ZRANGEBYSCORE, ZCOUNT, ...):
//     plain strtod, so leading spaces are skipped, "" is 0, overflow gives
//     ±inf, and parsing stops at an embedded NUL byte.
//   - zsetParseTimeout is getTimeoutFromObjectOrReply (BZPOPMIN/BZPOPMAX):
//     strtold (long double range), then seconds*1000 truncated to an
//     integer, where an out-of-range conversion yields LLONG_MIN.

// zsetStrtodResult is what zsetStrtod parsed.
type zsetStrtodResult struct {
	v         float64
	n         int  // bytes consumed; 0 when nothing parsed (strtod's endptr == str)
	overflow  bool // the literal is finite but beyond float64 (v is ±Inf)
	underflow bool // the literal is not zero but rounds to zero
}

func zsetIsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func zsetIsDigit(c byte) bool { return '0' <= c && c <= '9' }

func zsetIsHex(c byte) bool {
	return zsetIsDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func zsetHasPrefixFold(b []byte, word string) bool {
	return len(b) >= len(word) && eqFold(b[:len(word)], word)
}

// zsetStrtod parses the longest prefix of b that glibc's strtod accepts.
func zsetStrtod(b []byte) zsetStrtodResult {
	i := 0
	for i < len(b) && zsetIsSpace(b[i]) {
		i++
	}
	start := i
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	rest := b[i:]
	switch {
	case zsetHasPrefixFold(rest, "inf"):
		n := i + 3
		if zsetHasPrefixFold(rest, "infinity") {
			n = i + 8
		}
		return zsetStrtodResult{v: math.Copysign(math.Inf(1), zsetSign(neg)), n: n}
	case zsetHasPrefixFold(rest, "nan"):
		n := i + 3
		if n < len(b) && b[n] == '(' {
			j := n + 1
			for j < len(b) && (zsetIsDigit(b[j]) || ('a' <= b[j]|0x20 && b[j]|0x20 <= 'z') || b[j] == '_') {
				j++
			}
			if j < len(b) && b[j] == ')' {
				n = j + 1
			}
		}
		return zsetStrtodResult{v: math.NaN(), n: n}
	}
	if len(rest) >= 2 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X') {
		if r, ok := zsetStrtodHex(rest[2:], neg); ok {
			r.n += i + 2
			return r
		}
		// "0x" without hex digits: strtod reads the "0" only.
		return zsetStrtodResult{v: math.Copysign(0, zsetSign(neg)), n: i + 1}
	}
	j := i
	digits, nonzero := 0, false
	for j < len(b) && zsetIsDigit(b[j]) {
		nonzero = nonzero || b[j] != '0'
		digits++
		j++
	}
	if j < len(b) && b[j] == '.' {
		j++
		for j < len(b) && zsetIsDigit(b[j]) {
			nonzero = nonzero || b[j] != '0'
			digits++
			j++
		}
	}
	if digits == 0 {
		return zsetStrtodResult{}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		k := j + 1
		if k < len(b) && (b[k] == '+' || b[k] == '-') {
			k++
		}
		if k < len(b) && zsetIsDigit(b[k]) {
			for k < len(b) && zsetIsDigit(b[k]) {
				k++
			}
			j = k
		}
	}
	v, err := strconv.ParseFloat(string(b[start:j]), 64)
	r := zsetStrtodResult{v: v, n: j}
	if err != nil && math.IsInf(v, 0) {
		r.overflow = true
	} else if v == 0 && nonzero {
		r.underflow = true
	}
	return r
}

// zsetStrtodHex parses the part of a hex float after "0x": hex digits with
// an optional point, then an optional binary exponent.
func zsetStrtodHex(b []byte, neg bool) (zsetStrtodResult, bool) {
	j, digits, nonzero := 0, 0, false
	for j < len(b) && zsetIsHex(b[j]) {
		nonzero = nonzero || b[j] != '0'
		digits++
		j++
	}
	if j < len(b) && b[j] == '.' {
		j++
		for j < len(b) && zsetIsHex(b[j]) {
			nonzero = nonzero || b[j] != '0'
			digits++
			j++
		}
	}
	if digits == 0 {
		return zsetStrtodResult{}, false
	}
	mant := b[:j]
	exp := 0
	if j < len(b) && (b[j] == 'p' || b[j] == 'P') {
		k := j + 1
		eneg := false
		if k < len(b) && (b[k] == '+' || b[k] == '-') {
			eneg = b[k] == '-'
			k++
		}
		if k < len(b) && zsetIsDigit(b[k]) {
			for k < len(b) && zsetIsDigit(b[k]) {
				if exp < 1<<20 {
					exp = exp*10 + int(b[k]-'0')
				}
				k++
			}
			if eneg {
				exp = -exp
			}
			j = k
		}
	}
	// strconv wants the binary exponent: rebuild the literal with one.
	var sb strings.Builder
	sb.Grow(len(mant) + 16)
	if neg {
		sb.WriteByte('-')
	}
	sb.WriteString("0x")
	if mant[0] == '.' {
		sb.WriteByte('0')
	}
	sb.Write(mant)
	sb.WriteByte('p')
	sb.WriteString(strconv.Itoa(exp))
	v, err := strconv.ParseFloat(sb.String(), 64)
	r := zsetStrtodResult{v: v, n: j}
	if err != nil && math.IsInf(v, 0) {
		r.overflow = true
	} else if v == 0 && nonzero {
		r.underflow = true
	}
	return r, true
}

func zsetSign(neg bool) float64 {
	if neg {
		return -1
	}
	return 1
}

// zsetParseFloat parses a number as Redis's string2d (getDoubleFromObject).
func zsetParseFloat(b []byte) (float64, bool) {
	if len(b) == 0 || zsetIsSpace(b[0]) {
		return 0, false
	}
	r := zsetStrtod(b)
	if r.n != len(b) || math.IsNaN(r.v) || r.overflow || r.underflow {
		return 0, false
	}
	return r.v, true
}

// zsetFormatScore formats a score so that parsing it gives back the same
// float64 (used in effects: ZINCRBY and ZADD INCR record the new score).
func zsetFormatScore(f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return []byte("inf")
	case math.IsInf(f, -1):
		return []byte("-inf")
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64)
}

// zsetAppendScore appends a score as a bulk string the way Redis 7.0's
// addReplyDouble does in RESP2: "%.17g", and "inf"/"-inf".
func zsetAppendScore(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "$3\r\ninf\r\n"...)
	case math.IsInf(f, -1):
		return append(dst, "$4\r\n-inf\r\n"...)
	}
	var buf [40]byte
	var num []byte
	if f == math.Trunc(f) && math.Abs(f) < 1e15 && (f != 0 || !math.Signbit(f)) {
		// Integral: "%.17g" prints the plain integer, and this is faster.
		num = strconv.AppendInt(buf[:0], int64(f), 10)
	} else {
		num = strconv.AppendFloat(buf[:0], f, 'g', 17, 64)
	}
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(num)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, num...)
	return append(dst, '\r', '\n')
}

// ---- score ranges (zslParseRange) ----

// zsetScoreRange is a score interval; minex/maxex make a bound exclusive.
type zsetScoreRange struct {
	min, max     float64
	minex, maxex bool
}

// zsetParseScoreBound parses one bound: "(" makes it exclusive, the rest
// goes through strtod, which must stop at the end or at a NUL byte.
func zsetParseScoreBound(b []byte) (v float64, ex, ok bool) {
	if len(b) > 0 && b[0] == '(' {
		ex = true
		b = b[1:]
	}
	r := zsetStrtod(b)
	if (r.n != len(b) && b[r.n] != 0) || math.IsNaN(r.v) {
		return 0, false, false
	}
	return r.v, ex, true
}

func zsetParseScoreRange(minArg, maxArg []byte) (zsetScoreRange, bool) {
	var r zsetScoreRange
	var ok bool
	if r.min, r.minex, ok = zsetParseScoreBound(minArg); !ok {
		return r, false
	}
	if r.max, r.maxex, ok = zsetParseScoreBound(maxArg); !ok {
		return r, false
	}
	return r, true
}

func (r *zsetScoreRange) gteMin(it *zsetItem) bool {
	if r.minex {
		return it.score > r.min
	}
	return it.score >= r.min
}

func (r *zsetScoreRange) lteMax(it *zsetItem) bool {
	if r.maxex {
		return it.score < r.max
	}
	return it.score <= r.max
}

func (r *zsetScoreRange) empty() bool {
	return r.min > r.max || (r.min == r.max && (r.minex || r.maxex))
}

// ---- lex ranges (zslParseLexRange) ----

// zsetLexBound is one end of a lex range: "-" (kind -1), "+" (kind 1) or a
// string, inclusive "[" or exclusive "(".
type zsetLexBound struct {
	kind int8
	ex   bool
	val  []byte
}

type zsetLexRange struct {
	min, max zsetLexBound
}

func zsetParseLexBound(b []byte) (zsetLexBound, bool) {
	if len(b) == 0 {
		return zsetLexBound{}, false
	}
	switch b[0] {
	case '+':
		// Redis checks the byte after '+' against the sds NUL terminator.
		if len(b) > 1 && b[1] != 0 {
			return zsetLexBound{}, false
		}
		return zsetLexBound{kind: 1, ex: true}, true
	case '-':
		if len(b) > 1 && b[1] != 0 {
			return zsetLexBound{}, false
		}
		return zsetLexBound{kind: -1, ex: true}, true
	case '(':
		return zsetLexBound{ex: true, val: b[1:]}, true
	case '[':
		return zsetLexBound{val: b[1:]}, true
	}
	return zsetLexBound{}, false
}

func zsetParseLexRange(minArg, maxArg []byte) (zsetLexRange, bool) {
	var r zsetLexRange
	var ok bool
	if r.min, ok = zsetParseLexBound(minArg); !ok {
		return r, false
	}
	if r.max, ok = zsetParseLexBound(maxArg); !ok {
		return r, false
	}
	return r, true
}

// zsetLexCmp compares a member with a bound (sdscmplex).
func zsetLexCmp(m string, b *zsetLexBound) int {
	switch b.kind {
	case -1:
		return 1
	case 1:
		return -1
	}
	switch {
	case m == string(b.val):
		return 0
	case m < string(b.val):
		return -1
	}
	return 1
}

func (r *zsetLexRange) gteMin(it *zsetItem) bool {
	c := zsetLexCmp(it.member, &r.min)
	if r.min.ex {
		return c > 0
	}
	return c >= 0
}

func (r *zsetLexRange) lteMax(it *zsetItem) bool {
	c := zsetLexCmp(it.member, &r.max)
	if r.max.ex {
		return c < 0
	}
	return c <= 0
}

func (r *zsetLexRange) empty() bool {
	a, b := &r.min, &r.max
	var c int
	switch {
	case a.kind != 0 && a.kind == b.kind:
		c = 0
	case a.kind == -1 || b.kind == 1:
		c = -1
	case a.kind == 1 || b.kind == -1:
		c = 1
	default:
		c = bytes.Compare(a.val, b.val)
	}
	return c > 0 || (c == 0 && (a.ex || b.ex))
}

// zsetRange is a score or lex range.
type zsetRange interface {
	gteMin(*zsetItem) bool
	lteMax(*zsetItem) bool
	empty() bool
}

// ---- blocking timeouts ----

const (
	zsetErrTimeoutNotFloat = "ERR timeout is not a float or out of range"
	zsetErrTimeoutNegative = "ERR timeout is negative"
)

// zsetParseTimeout validates a BZPOPMIN/BZPOPMAX timeout (seconds) as Redis
// 7.0's getTimeoutFromObjectOrReply does and returns it in milliseconds
// (0 = block forever), or an error text. Redis parses it with strtold and
// multiplies by 1000 in x87 long double arithmetic (64-bit mantissa, 15-bit
// exponent), so "-0.001" is -0.00099999999999999999996 there and truncates
// to 0: big.Float at precision 64 reproduces that.
func zsetParseTimeout(b []byte) (int64, string) {
	const maxLongDoubleChars = 5 * 1024
	if len(b) == 0 || len(b) >= maxLongDoubleChars || zsetIsSpace(b[0]) {
		return 0, zsetErrTimeoutNotFloat
	}
	r := zsetStrtod(b)
	if r.n != len(b) || math.IsNaN(r.v) {
		return 0, zsetErrTimeoutNotFloat
	}
	if math.IsInf(r.v, 0) && !r.overflow {
		// "inf": (long long)(inf*1000) is LLONG_MIN on x86-64.
		return 0, zsetErrTimeoutNegative
	}
	f := new(big.Float).SetPrec(64).SetMode(big.ToNearestEven)
	if _, ok := f.SetString(string(b)); !ok {
		return 0, zsetErrTimeoutNotFloat
	}
	// Beyond long double's range strtold fails with ERANGE.
	if exp := f.MantExp(nil); f.Sign() != 0 && (exp > 16384 || exp < -16444) {
		return 0, zsetErrTimeoutNotFloat
	}
	ms, acc := new(big.Float).SetPrec(64).Mul(f, big.NewFloat(1000)).Int64()
	if ms < 0 || (ms == math.MaxInt64 && acc == big.Below) {
		// Negative, or out of long long's range (LLONG_MIN on x86-64).
		return 0, zsetErrTimeoutNegative
	}
	return ms, ""
}
