package store

import (
	"bytes"
	"math"
	"strconv"
)

// Numbers are parsed by numbers.go: ParseFloat (string2d) for ZADD scores,
// ZINCRBY increments and WEIGHTS, strtod for score ranges (zslParseRange:
// leading spaces skipped, "" is 0, overflow gives ±inf, parsing stops at an
// embedded NUL byte) and ParseTimeout for BZPOPMIN/BZPOPMAX.

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
	r := strtod(b)
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
