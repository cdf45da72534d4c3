package store

// Redis's number syntaxes, reproduced exactly. Every command parses numbers
// with the functions in this file:
//
//   - ParseInt is string2ll (integers: INCRBY, LRANGE indexes, COUNT ...).
//   - strtod is glibc's strtod: the longest prefix of the input that is a
//     double. ParseFloat (string2d: ZADD scores, ZINCRBY, WEIGHTS) requires
//     the whole input; zset score ranges (zslParseRange) use the prefix.
//   - parseLongDouble is string2ld, glibc's strtold into the x87 80-bit long
//     double of x86-64 (INCRBYFLOAT, HINCRBYFLOAT, blocking timeouts), and
//     longDouble.appendHuman prints a result as ld2string(LD_STR_HUMAN).
//   - ParseTimeout is getTimeoutFromObjectOrReply (BLPOP, BZPOPMIN ...).
//
// glibc's grammar, shared by strtod and strtold: optional leading space
// (string2d/string2ld refuse it), an optional sign, then "inf"/"infinity"
// or "nan[(chars)]" in any case, or a decimal number (digits with an
// optional point, at least one digit, optional e[sign]digits) or a
// hexadecimal one ("0x", hex digits with an optional point, optional
// p[sign]digits, a binary exponent). Results are correctly rounded (to
// nearest, ties to even), subnormals included; a finite literal beyond the
// type's range overflows and a non-zero one below half its smallest
// subnormal underflows to zero, both with ERANGE, which string2d and
// string2ld refuse.

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// ---- characters ----

// isSpace is C's isspace in the C locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || ('a' <= c|0x20 && c|0x20 <= 'f')
}

// hasPrefixFold reports whether b starts with the lower-case word, ignoring
// case.
func hasPrefixFold(b []byte, word string) bool {
	return len(b) >= len(word) && eqFold(b[:len(word)], word)
}

// scanMantissa scans digits with an optional point (hex digits when hex)
// at the start of b: n is the bytes it spans, digits how many digits there
// are (none means no number), nonzero whether one of them is not '0'.
func scanMantissa(b []byte, hex bool) (n, digits int, nonzero bool) {
	seenDot := false
	for ; n < len(b); n++ {
		d := b[n]
		if d == '.' && !seenDot {
			seenDot = true
			continue
		}
		if !isDigit(d) && !(hex && isHexDigit(d)) {
			break
		}
		digits++
		nonzero = nonzero || d != '0'
	}
	if digits == 0 {
		return 0, 0, false
	}
	return n, digits, nonzero
}

// scanExponent scans an exponent's [sign] digits at the start of b (after
// its 'e' or 'p'): n is the bytes spanned, 0 when no digit follows (strtod
// then stops before the exponent letter). The value saturates at ±2^40,
// far beyond any exponent that does not overflow or underflow.
func scanExponent(b []byte) (n int, exp int64) {
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		n = 1
	}
	if n == len(b) || !isDigit(b[n]) {
		return 0, 0
	}
	for ; n < len(b) && isDigit(b[n]); n++ {
		if exp < 1<<40 {
			exp = exp*10 + int64(b[n]-'0')
		}
	}
	if neg {
		exp = -exp
	}
	return n, exp
}

// ---- integers ----

// ParseInt parses a strict base-10 int64 as Redis's string2ll does (no
// spaces, no '+', no leading zeros except "0").
func ParseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := false
	i := 0
	if b[0] == '-' {
		neg = true
		i = 1
		if len(b) == 1 {
			return 0, false
		}
	}
	if b[i] < '1' || b[i] > '9' {
		return 0, false
	}
	var v uint64
	for ; i < len(b); i++ {
		d := b[i]
		if d < '0' || d > '9' {
			return 0, false
		}
		if v > (math.MaxUint64-uint64(d-'0'))/10 {
			return 0, false
		}
		v = v*10 + uint64(d-'0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// parseIntString is ParseInt for a stored string.
func parseIntString(s string) (int64, bool) {
	return ParseInt(bytesView(s))
}

// ---- doubles: strtod ----

// strtodResult is what strtod parsed.
type strtodResult struct {
	v         float64
	n         int  // bytes consumed; 0 when nothing parsed (strtod's endptr == str)
	overflow  bool // the literal is finite but beyond float64 (v is ±Inf)
	underflow bool // the literal is not zero but rounds to zero
}

// strtod parses the longest prefix of b that glibc's strtod accepts.
func strtod(b []byte) strtodResult {
	i := 0
	for i < len(b) && isSpace(b[i]) {
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
	case hasPrefixFold(rest, "inf"):
		n := i + 3
		if hasPrefixFold(rest, "infinity") {
			n = i + 8
		}
		return strtodResult{v: math.Copysign(math.Inf(1), sign(neg)), n: n}
	case hasPrefixFold(rest, "nan"):
		n := i + 3
		if n < len(b) && b[n] == '(' {
			j := n + 1
			for j < len(b) && (isDigit(b[j]) || ('a' <= b[j]|0x20 && b[j]|0x20 <= 'z') || b[j] == '_') {
				j++
			}
			if j < len(b) && b[j] == ')' {
				n = j + 1
			}
		}
		return strtodResult{v: math.NaN(), n: n}
	}
	if len(rest) >= 2 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X') {
		if r, ok := strtodHex(rest[2:], neg); ok {
			r.n += i + 2
			return r
		}
		// "0x" without hex digits: strtod reads the "0" only.
		return strtodResult{v: math.Copysign(0, sign(neg)), n: i + 1}
	}
	n, digits, nonzero := scanMantissa(b[i:], false)
	if digits == 0 {
		return strtodResult{}
	}
	j := i + n
	if j < len(b) && b[j]|0x20 == 'e' {
		if k, _ := scanExponent(b[j+1:]); k > 0 {
			j += 1 + k
		}
	}
	v, err := strconv.ParseFloat(string(b[start:j]), 64)
	r := strtodResult{v: v, n: j}
	if err != nil && math.IsInf(v, 0) {
		r.overflow = true
	} else if v == 0 && nonzero {
		r.underflow = true
	}
	return r
}

// strtodHex parses the part of a hex float after "0x": hex digits with an
// optional point, then an optional binary exponent.
func strtodHex(b []byte, neg bool) (strtodResult, bool) {
	j, digits, nonzero := scanMantissa(b, true)
	if digits == 0 {
		return strtodResult{}, false
	}
	mant := b[:j]
	var exp int64
	if j < len(b) && b[j]|0x20 == 'p' {
		if k, e := scanExponent(b[j+1:]); k > 0 {
			exp = e
			j += 1 + k
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
	sb.WriteString(strconv.FormatInt(exp, 10))
	v, err := strconv.ParseFloat(sb.String(), 64)
	r := strtodResult{v: v, n: j}
	if err != nil && math.IsInf(v, 0) {
		r.overflow = true
	} else if v == 0 && nonzero {
		r.underflow = true
	}
	return r, true
}

func sign(neg bool) float64 {
	if neg {
		return -1
	}
	return 1
}

// ParseFloat parses a double as Redis's string2d (getDoubleFromObject)
// does: strtod must consume the whole input; leading space, NaN, overflow
// ("1e400") and underflow to zero ("1e-400") are refused; "inf",
// "-Infinity", hex floats ("0x10", "0x1p-3") and subnormals are accepted.
func ParseFloat(b []byte) (float64, bool) {
	if len(b) == 0 || isSpace(b[0]) {
		return 0, false
	}
	r := strtod(b)
	if r.n != len(b) || math.IsNaN(r.v) || r.overflow || r.underflow {
		return 0, false
	}
	return r.v, true
}

// ---- long doubles: strtold ----

// x87 80-bit extended precision, C's long double on x86-64: a 64-bit
// significand, exponents up to 2^16383, subnormals down to 2^-16445. Values
// are big.Floats at 64 bits of precision rounding to nearest even, as the
// FPU does; exponents are in big.Float's MantExp form (x = m·2^e, ½ ≤ m < 1).
const (
	ldPrec             = 64
	ldMaxExp           = 16384  // x ≥ 2^16384 overflows (LDBL_MAX < 2^16384)
	ldMinNormExp       = -16381 // the smallest normal, 2^-16382
	ldMinSubExp        = -16445 // the smallest subnormal is 2^-16445
	maxLongDoubleChars = 5 * 1024
)

// longDouble is a C long double. The zero value is 0.
type longDouble struct {
	f   *big.Float // the finite value at ldPrec bits; nil is 0
	inf bool       // ±infinity (f is nil); the sign is never needed
}

// parseLongDouble parses b as Redis's string2ld: glibc's strtold must
// consume the whole input (so a NUL byte is refused), no leading space, at
// most 5119 bytes; NaN, overflow and underflow to zero are refused;
// "inf"/"infinity" in any case and with a sign are infinite.
func parseLongDouble(b []byte) (longDouble, bool) {
	if len(b) == 0 || len(b) >= maxLongDoubleChars || isSpace(b[0]) {
		return longDouble{}, false
	}
	s := b
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
	}
	if eqFold(s, "inf") || eqFold(s, "infinity") {
		return longDouble{inf: true}, true
	}
	hex := len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')
	expChar := byte('e')
	if hex {
		s = s[2:]
		expChar = 'p'
	}
	// Mantissa: digits [. digits] with at least one digit. digits keeps the
	// significant ones (leading zeros dropped); frac counts those after the
	// point, so the mantissa's value is int(digits) · base^-frac.
	i, ndigits, _ := scanMantissa(s, hex)
	if ndigits == 0 {
		return longDouble{}, false // "0x" alone: strtold reads "0" and stops at 'x'
	}
	var stack [40]byte
	digits := stack[:0]
	frac := int64(0)
	seenDot := false
	for _, d := range s[:i] {
		switch {
		case d == '.':
			seenDot = true
			continue
		case seenDot:
			frac++
		}
		if len(digits) > 0 || d != '0' {
			digits = append(digits, d)
		}
	}
	var exp int64
	if i < len(s) && s[i]|0x20 == expChar {
		k, e := scanExponent(s[i+1:])
		if k == 0 {
			return longDouble{}, false // strtold stops before the exponent
		}
		exp = e
		i += 1 + k
	}
	if i != len(s) {
		return longDouble{}, false
	}
	if len(digits) == 0 {
		return longDouble{}, true // zero
	}
	// value = int(digits) · 10^e10 (decimal) or · 2^e2 (hex).
	var e10, e2 int64
	if hex {
		e2 = exp - 4*frac
	} else {
		e10 = exp - frac
	}
	// Cheap range checks before any big power: log2 of the value lies in
	// [lo, lo+4) for hex and [lo, lo+3.33) for decimal.
	nd := float64(len(digits) - 1)
	lo := 4*nd + float64(e2)
	if !hex {
		lo = (nd + float64(e10)) * math.Log2(10)
	}
	if lo > ldMaxExp+1 {
		return longDouble{}, false // overflow
	}
	if lo < ldMinSubExp-6 {
		return longDouble{}, false // underflow to zero
	}
	// The exact value as num/den.
	num, den := ldMantissa(digits, hex), (*big.Int)(nil)
	switch {
	case e10 > 0:
		num.Mul(num, pow10(e10))
	case e10 < 0:
		den = pow10(-e10)
	case e2 > 0:
		num.Lsh(num, uint(e2))
	case e2 < 0:
		den = new(big.Int).Lsh(big.NewInt(1), uint(-e2))
	}
	f := ldRound(num, den, ldPrec)
	e := f.MantExp(nil)
	if e > ldMaxExp {
		return longDouble{}, false // overflow (ERANGE, HUGE_VALL)
	}
	if e < ldMinNormExp {
		// Subnormal: the last bit is worth 2^ldMinSubExp.
		if bits := e - ldMinSubExp; bits >= 1 {
			f = ldRound(num, den, uint(bits)).SetPrec(ldPrec)
		} else {
			// Below the smallest subnormal: it, or zero (ties to even).
			// num/den > 2^(ldMinSubExp-1) ⟺ num·2^-(ldMinSubExp-1) > den.
			// (den is never nil here: such a value is at least 1.)
			if den != nil && new(big.Int).Lsh(num, uint(1-ldMinSubExp)).Cmp(den) <= 0 {
				return longDouble{}, false // underflow to zero (ERANGE)
			}
			f = new(big.Float).SetPrec(ldPrec).SetMantExp(big.NewFloat(0.5), ldMinSubExp+1)
		}
	}
	if neg {
		f.Neg(f)
	}
	return longDouble{f: f}, true
}

// ldMantissa returns the integer the digits spell in base 10 or 16.
func ldMantissa(digits []byte, hex bool) *big.Int {
	if (!hex && len(digits) <= 19) || (hex && len(digits) <= 16) {
		var v uint64
		for _, d := range digits {
			switch {
			case hex && d >= 'a':
				v = v<<4 | uint64(d-'a'+10)
			case hex && d >= 'A':
				v = v<<4 | uint64(d-'A'+10)
			case hex:
				v = v<<4 | uint64(d-'0')
			default:
				v = v*10 + uint64(d-'0')
			}
		}
		return new(big.Int).SetUint64(v)
	}
	base := 10
	if hex {
		base = 16
	}
	m, _ := new(big.Int).SetString(string(digits), base)
	return m
}

// pow10 returns 10^n as a new big.Int.
func pow10(n int64) *big.Int {
	if n < 20 {
		p := uint64(1)
		for ; n > 0; n-- {
			p *= 10
		}
		return new(big.Int).SetUint64(p)
	}
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(n), nil)
}

// ldRound returns num/den (den nil meaning 1) correctly rounded to prec
// bits, ties to even.
func ldRound(num, den *big.Int, prec uint) *big.Float {
	f := new(big.Float).SetPrec(prec).SetMode(big.ToNearestEven)
	if den == nil {
		return f.SetInt(num)
	}
	return f.Quo(new(big.Float).SetInt(num), new(big.Float).SetInt(den))
}

// add returns x + y as the FPU computes it; ok is false when the sum is
// infinite or NaN (an operand is infinite, or the sum overflows). A sum in
// the subnormal range is exact, so rounding to 64 bits is all x87 does.
func (x longDouble) add(y longDouble) (sum longDouble, ok bool) {
	if x.inf || y.inf {
		return longDouble{}, false
	}
	switch {
	case x.f == nil:
		return y, true
	case y.f == nil:
		return x, true
	}
	z := new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven).Add(x.f, y.f)
	if z.Sign() != 0 && z.MantExp(nil) > ldMaxExp {
		return longDouble{}, false
	}
	return longDouble{f: z}, true
}

// appendHuman appends x (finite) as Redis's ld2string(LD_STR_HUMAN) prints
// it: "%.17Lf", then trailing zeros and a trailing point removed, "-0"
// written as "0".
func (x longDouble) appendHuman(dst []byte) []byte {
	if x.f == nil {
		return append(dst, '0')
	}
	start := len(dst)
	dst = x.f.Append(dst, 'f', 17)
	// There is always a point with 17 digits after it.
	for dst[len(dst)-1] == '0' {
		dst = dst[:len(dst)-1]
	}
	if dst[len(dst)-1] == '.' {
		dst = dst[:len(dst)-1]
	}
	if string(dst[start:]) == "-0" {
		dst = append(dst[:start], '0')
	}
	return dst
}

// ---- blocking timeouts ----

// Errors of getTimeoutFromObjectOrReply.
const (
	ErrTimeoutNotFloat = "ERR timeout is not a float or out of range"
	ErrTimeoutNegative = "ERR timeout is negative"
)

// ParseTimeout parses the timeout (seconds) of a blocking command (BLPOP,
// BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX) exactly as Redis
// 7.0.15's getTimeoutFromObjectOrReply does, and returns it in milliseconds
// (0 = block forever) or the error Redis replies. Redis reads a long double
// with strtold, multiplies it by 1000 in long double, rounds up (ceill) and
// converts to long long, which gives LLONG_MIN ("timeout is negative") for
// anything out of range, infinities included. So "0x10" is 16000, "0.0001"
// is 1 (not forever), "-0.0001" is 0 (forever), "1e-400" is 1; ms can be as
// large as math.MaxInt64: a server must cap it before making a
// time.Duration of it. The store's handlers have validated the argument
// before they answer nothing (block), so the server may ignore errMsg then.
func ParseTimeout(b []byte) (ms int64, errMsg string) {
	// Fast path: plain small integers.
	if len(b) > 0 && len(b) <= 12 {
		var v int64
		digits := true
		for _, ch := range b {
			if !isDigit(ch) {
				digits = false
				break
			}
			v = v*10 + int64(ch-'0')
		}
		if digits {
			return v * 1000, ""
		}
	}
	x, ok := parseLongDouble(b)
	if !ok {
		return 0, ErrTimeoutNotFloat
	}
	if x.inf {
		return 0, ErrTimeoutNegative // (long long) of ±inf is LLONG_MIN
	}
	if x.f == nil {
		return 0, ""
	}
	// x * 1000.0, rounded to a long double.
	p := new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven)
	p.Mul(x.f, big.NewFloat(1000))
	// ceill, then (long long): out of range is LLONG_MIN.
	i, acc := p.Int(nil)
	if acc == big.Below { // truncated toward zero below a positive p: round up
		i.Add(i, big.NewInt(1))
	}
	if !i.IsInt64() || i.Sign() < 0 {
		return 0, ErrTimeoutNegative
	}
	return i.Int64(), ""
}

// timeoutArg validates argument i as a blocking command's timeout, replying
// the error when it is not valid.
func (c *Call) timeoutArg(i int) bool {
	if _, msg := ParseTimeout(c.Args[i]); msg != "" {
		c.Err(msg)
		return false
	}
	return true
}
