package proto

import (
	"math"
	"math/big"
	"strconv"
)

// AppendFloat appends f formatted as Redis 7.0 formats double replies
// (addReplyDouble: ZSCORE, ZINCRBY, ZMSCORE, ZRANGE ... WITHSCORES): C's
// "%.17g", with "inf" and "-inf" for infinities. Examples: 1.1 →
// "1.1000000000000001", 3.0 → "3", 1e-7 → "9.9999999999999995e-08",
// 123456789012345678 → "1.2345678901234568e+17", -0.0 → "-0".
func AppendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		if math.Signbit(f) {
			return append(dst, "-nan"...)
		}
		return append(dst, "nan"...)
	}
	// Go's 'g' with an explicit precision follows C's %g rules: exponent
	// form when exp < -4 or exp >= precision, trailing zeros removed, at
	// least two exponent digits.
	return strconv.AppendFloat(dst, f, 'g', 17, 64)
}

// FormatFloat is AppendFloat returning a string.
func FormatFloat(f float64) string {
	var tmp [32]byte
	return string(AppendFloat(tmp[:0], f))
}

// LongDouble is a software copy of the x86-64 C "long double" (x87 80-bit
// extended precision: 64-bit mantissa, 15-bit exponent). Redis 7.0 computes
// INCRBYFLOAT and HINCRBYFLOAT in long double and prints the result with
// "%.17Lf", so 0.1 + 0.2 gives "0.3" there, not 0.30000000000000004: a
// store must do its arithmetic in this type to answer byte for byte like
// Redis. The zero value is +0. LongDouble values are immutable.
//
// Subnormal results (below about 3.4e-4932) are rounded to 64 bits instead
// of the shorter subnormal mantissa; Redis cannot produce them from decimal
// input in practice.
type LongDouble struct {
	mant uint64 // normalized (top bit set), 0 for zero
	exp  int32  // value = mant / 2^64 * 2^exp
	neg  bool
	form ldForm
}

type ldForm uint8

const (
	ldFinite ldForm = iota
	ldInf
	ldNaN
)

const (
	ldPrec    = 64
	ldMaxExp  = 16384  // 2^16384 overflows
	ldMinExp  = -16444 // below the smallest subnormal
	maxLDChar = 5 * 1024
)

// LongDoubleFromInt64 converts n exactly (as Redis does for an integer-
// encoded value).
func LongDoubleFromInt64(n int64) LongDouble {
	f := new(big.Float).SetPrec(ldPrec).SetInt64(n)
	return ldFromBig(f)
}

// LongDoubleFromFloat64 converts f exactly.
func LongDoubleFromFloat64(f float64) LongDouble {
	switch {
	case math.IsNaN(f):
		return LongDouble{form: ldNaN, neg: math.Signbit(f)}
	case math.IsInf(f, 0):
		return LongDouble{form: ldInf, neg: f < 0}
	}
	return ldFromBig(new(big.Float).SetPrec(ldPrec).SetFloat64(f))
}

// IsInf reports an infinity.
func (x LongDouble) IsInf() bool { return x.form == ldInf }

// IsNaN reports a NaN.
func (x LongDouble) IsNaN() bool { return x.form == ldNaN }

// Float64 returns the nearest float64.
func (x LongDouble) Float64() float64 {
	switch x.form {
	case ldInf:
		if x.neg {
			return math.Inf(-1)
		}
		return math.Inf(1)
	case ldNaN:
		return math.NaN()
	}
	f, _ := x.big().Float64()
	return f
}

// Add returns x + y rounded to nearest-even at 64 bits, overflowing to an
// infinity like the hardware; inf + -inf is NaN.
func (x LongDouble) Add(y LongDouble) LongDouble {
	switch {
	case x.form == ldNaN:
		return x
	case y.form == ldNaN:
		return y
	case x.form == ldInf && y.form == ldInf:
		if x.neg != y.neg {
			return LongDouble{form: ldNaN, neg: true}
		}
		return x
	case x.form == ldInf:
		return x
	case y.form == ldInf:
		return y
	}
	z := new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven)
	z.Add(x.big(), y.big())
	return ldFromBig(z)
}

func (x LongDouble) big() *big.Float {
	f := new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven)
	f.SetUint64(x.mant)
	f.SetMantExp(f, int(x.exp)-64)
	if x.neg {
		f.Neg(f)
	}
	return f
}

// ldFromBig converts a finite big.Float, rounding to 64 bits and applying
// the long double exponent range.
func ldFromBig(f *big.Float) LongDouble {
	neg := f.Signbit()
	if f.Sign() == 0 {
		return LongDouble{neg: neg}
	}
	if f.Prec() != ldPrec {
		f = new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven).Set(f)
	}
	m := new(big.Float)
	e := f.MantExp(m) // f = m * 2^e, 0.5 <= |m| < 1
	if e > ldMaxExp {
		return LongDouble{form: ldInf, neg: neg}
	}
	if e < ldMinExp {
		return LongDouble{neg: neg}
	}
	m.Abs(m)
	m.SetMantExp(m, 64)
	u, _ := m.Uint64()
	return LongDouble{mant: u, exp: int32(e), neg: neg}
}

// ParseLongDouble parses b as Redis 7.0's string2ld does (strtold in the C
// locale): optional sign, decimal or hexadecimal ("0x1.8p3") notation,
// "inf"/"infinity" in any case; the whole input must be consumed (so no
// NUL byte), no leading space, at most 5119 bytes.
// NaN, and overflow or underflow to zero, are refused. The result is
// correctly rounded to 64 bits.
func ParseLongDouble(b []byte) (LongDouble, bool) {
	if len(b) == 0 || len(b) >= maxLDChar {
		return LongDouble{}, false
	}
	if hasNUL(b) {
		return LongDouble{}, false // strtold would stop there: not all consumed
	}
	if isSpace(b[0]) {
		return LongDouble{}, false
	}
	neg := false
	s := b
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
	}
	if x, ok, matched := parseInfNaN(s, neg); matched {
		return x, ok
	}
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return parseHexLD(s[2:], neg)
	}
	return parseDecLD(s, neg)
}

func lowerEq(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func parseInfNaN(s []byte, neg bool) (LongDouble, bool, bool) {
	switch {
	case lowerEq(s, "inf"), lowerEq(s, "infinity"):
		return LongDouble{form: ldInf, neg: neg}, true, true
	case len(s) >= 3 && lowerEq(s[:3], "nan"):
		return LongDouble{}, false, true // NaN is refused
	case len(s) >= 3 && lowerEq(s[:3], "inf"):
		return LongDouble{}, false, true // "infxyz": not fully consumed
	}
	return LongDouble{}, false, false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseDecLD parses digits [. digits] [(e|E) [sign] digits].
func parseDecLD(s []byte, neg bool) (LongDouble, bool) {
	var digits []byte // significant digits, leading zeros dropped
	var stack [64]byte
	digits = stack[:0]
	exp10 := int64(0)
	i, nd := 0, 0
	for ; i < len(s) && isDigit(s[i]); i++ {
		nd++
		if len(digits) > 0 || s[i] != '0' {
			digits = append(digits, s[i])
		}
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && isDigit(s[i]); i++ {
			nd++
			if len(digits) > 0 || s[i] != '0' {
				digits = append(digits, s[i])
			}
			exp10--
		}
	}
	if nd == 0 {
		return LongDouble{}, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		eneg := false
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			eneg = s[j] == '-'
			j++
		}
		if j == len(s) || !isDigit(s[j]) {
			return LongDouble{}, false // strtold stops before 'e': not consumed
		}
		e := int64(0)
		for ; j < len(s) && isDigit(s[j]); j++ {
			if e < 1<<40 {
				e = e*10 + int64(s[j]-'0')
			}
		}
		if eneg {
			e = -e
		}
		exp10 += e
		i = j
	}
	if i != len(s) {
		return LongDouble{}, false
	}
	if len(digits) == 0 {
		return LongDouble{neg: neg}, true
	}
	// Quick range checks (the value is about 10^(len(digits)+exp10)).
	mag := int64(len(digits)) + exp10
	if mag > 4934 {
		return LongDouble{}, false // overflow: HUGE_VALL with ERANGE
	}
	if mag < -4952 {
		return LongDouble{}, false // underflow to zero with ERANGE
	}
	d, _ := new(big.Int).SetString(string(digits), 10)
	z := new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven)
	if exp10 >= 0 {
		d.Mul(d, new(big.Int).Exp(big.NewInt(10), big.NewInt(exp10), nil))
		z.SetInt(d)
	} else {
		num := new(big.Float).SetInt(d)
		den := new(big.Float).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(-exp10), nil))
		z.Quo(num, den)
	}
	if neg {
		z.Neg(z)
	}
	x := ldFromBig(z)
	if x.form == ldInf || (x.form == ldFinite && x.mant == 0) {
		return LongDouble{}, false
	}
	return x, true
}

// parseHexLD parses hexdigits [. hexdigits] [(p|P) [sign] digits] after "0x".
func parseHexLD(s []byte, neg bool) (LongDouble, bool) {
	m := new(big.Int)
	exp2 := int64(0)
	i, nd := 0, 0
	for ; i < len(s) && isHex(s[i]); i++ {
		nd++
		m.Lsh(m, 4)
		m.Or(m, big.NewInt(int64(hexVal(s[i]))))
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && isHex(s[i]); i++ {
			nd++
			m.Lsh(m, 4)
			m.Or(m, big.NewInt(int64(hexVal(s[i]))))
			exp2 -= 4
		}
	}
	if nd == 0 {
		return LongDouble{}, false // "0x" alone: strtold reads "0" and stops at 'x'
	}
	if i < len(s) && (s[i] == 'p' || s[i] == 'P') {
		j := i + 1
		eneg := false
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			eneg = s[j] == '-'
			j++
		}
		if j == len(s) || !isDigit(s[j]) {
			return LongDouble{}, false
		}
		e := int64(0)
		for ; j < len(s) && isDigit(s[j]); j++ {
			if e < 1<<40 {
				e = e*10 + int64(s[j]-'0')
			}
		}
		if eneg {
			e = -e
		}
		exp2 += e
		i = j
	}
	if i != len(s) {
		return LongDouble{}, false
	}
	if m.Sign() == 0 {
		return LongDouble{neg: neg}, true
	}
	bits := int64(m.BitLen()) + exp2
	if bits > ldMaxExp+1 {
		return LongDouble{}, false
	}
	if bits < ldMinExp-1 {
		return LongDouble{}, false
	}
	z := new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven).SetInt(m)
	z.SetMantExp(z, int(exp2))
	if neg {
		z.Neg(z)
	}
	x := ldFromBig(z)
	if x.form == ldInf || (x.form == ldFinite && x.mant == 0) {
		return LongDouble{}, false
	}
	return x, true
}

// AppendFloatHuman appends x formatted as Redis 7.0's INCRBYFLOAT and
// HINCRBYFLOAT results (ld2string in LD_STR_HUMAN mode): "%.17Lf", then
// trailing zeros after the point removed, then the point if nothing
// follows it, and "-0" printed as "0". Examples: 0.1+0.2 → "0.3", 1e-7 →
// "0.0000001", 3.0 → "3", 1e300 → all 301 digits.
func AppendFloatHuman(dst []byte, x LongDouble) []byte {
	switch x.form {
	case ldInf:
		if x.neg {
			return append(dst, "-inf"...)
		}
		return append(dst, "inf"...)
	case ldNaN:
		if x.neg {
			return append(dst, "-nan"...)
		}
		return append(dst, "nan"...)
	}
	start := len(dst)
	dst = x.big().Append(dst, 'f', 17)
	// The text always has a point with 17 digits after it.
	l := len(dst)
	for dst[l-1] == '0' {
		l--
	}
	if dst[l-1] == '.' {
		l--
	}
	dst = dst[:l]
	if string(dst[start:]) == "-0" {
		dst = append(dst[:start], '0')
	}
	return dst
}

// FormatFloatHuman is AppendFloatHuman returning a string.
func FormatFloatHuman(x LongDouble) string {
	return string(AppendFloatHuman(nil, x))
}
