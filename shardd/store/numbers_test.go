package store

import (
	"math"
	"testing"
)

func TestLongDoubleParseFormat(t *testing.T) {
	// Values checked against redis-server 7.0.15 (x87 long double).
	cases := []struct{ in, want string }{
		{"0.1", "0.1"},
		{"1e300", "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144"},
		{"-0", "0"},
		{"1e-30", "0"},
		{"0x1p-16445", "0"},
		{"123456.000000000000000000001", "123456"},
		{"0.3", "0.3"},
		{"2.5", "2.5"},
	}
	for _, c := range cases {
		f, ok := parseLongDouble([]byte(c.in))
		if !ok {
			t.Errorf("parse %q failed", c.in)
			continue
		}
		if got := string(f.appendHuman(nil)); got != c.want {
			t.Errorf("%q formats as %q, want %q", c.in, got, c.want)
		}
	}
	for _, bad := range []string{"", " 1", "1 ", "nan", "1e", "0x", "0x1p", "1e5000", "1e-5000", "--1", "1..2", "inf x", "\x001"} {
		if _, ok := parseLongDouble([]byte(bad)); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseTimeoutValues(t *testing.T) {
	cases := []struct {
		in  string
		ms  int64
		err string
	}{
		{"0", 0, ""}, {"1", 1000, ""}, {"0.5", 500, ""}, {"0.0001", 1, ""}, {"-0.0001", 0, ""},
		{"1.0001", 1001, ""}, {"0x10", 16000, ""}, {"9223372036854775.807", 9223372036854775807, ""},
		{"-0.002", 0, ErrTimeoutNegative}, {"inf", 0, ErrTimeoutNegative}, {"x", 0, ErrTimeoutNotFloat},
		{"1e-4950", 1, ""}, {"-1e-4950", 0, ""},
	}
	for _, c := range cases {
		ms, err := ParseTimeout([]byte(c.in))
		if ms != c.ms || err != c.err {
			t.Errorf("ParseTimeout(%q) = %d, %q; want %d, %q", c.in, ms, err, c.ms, c.err)
		}
	}
}

// numberForms are spellings of numbers on which Redis's parsers (string2d,
// strtod, string2ld) disagree with naive ones.
var numberForms = []string{
	"0x10", "0X1P3", "0x1p-3", "0x.8", "0x", "0xg", "0x1p", "1e-400", "-1e-400", "1e400", "1e-320", "3e-324",
	"2e-324", "1e-4940", "1e-5000", "1e5000", "INF", "+inf", "-inf", "-INF", "infinity", "-Infinity", "infin",
	"inf ", "nan", "-nan", ".5", "5.", ".", "+1.5", "-0", " 1", "1 ", "1.5\x00x", "\x001", "", "1e", "1e+3",
	"9223372036854775807", "0.1", "0x1p-16446", "0x1.1c5p-16446", "-0x1.80d56c4bp-16446", "2e-4951", "1.8e-4951",
}

// TestNumberFormsDiff feeds every number form to every command that parses
// a double or a long double, against redis-server.
func TestNumberFormsDiff(t *testing.T) {
	d := newDiffEnv(t)
	for _, n := range numberForms {
		// Long doubles: INCRBYFLOAT, HINCRBYFLOAT (increment and stored value).
		d.check("", "SET", "f", "1.5")
		d.check("", "INCRBYFLOAT", "f", n)
		d.check("", "GET", "f")
		d.check("", "DEL", "f")
		d.check("", "INCRBYFLOAT", "f", n)
		d.check("", "SET", "f", n)
		d.check("", "INCRBYFLOAT", "f", "1")
		d.check("", "HSET", "h", "f", "2.5")
		d.check("", "HINCRBYFLOAT", "h", "f", n)
		d.check("", "HINCRBYFLOAT", "h", "new", n)
		d.check("", "HSET", "h", "g", n)
		d.check("", "HINCRBYFLOAT", "h", "g", "1")
		d.check("~2", "HGETALL", "h")
		d.check("", "DEL", "h")
		// Doubles: ZADD, ZINCRBY, WEIGHTS (string2d); score ranges (strtod).
		d.check("", "ZADD", "z", "1", "one", "2.5", "two")
		d.check("", "ZADD", "z", n, "m")
		d.check("", "ZSCORE", "z", "m")
		d.check("", "ZINCRBY", "z", n, "one")
		d.check("", "ZADD", "z", "INCR", n, "two")
		d.check("", "ZRANGEBYSCORE", "z", n, "+inf", "WITHSCORES")
		d.check("", "ZRANGEBYSCORE", "z", "-inf", n, "WITHSCORES")
		d.check("", "ZCOUNT", "z", "("+n, "+inf")
		d.check("", "ZREVRANGEBYSCORE", "z", n, "("+n)
		d.check("", "ZUNIONSTORE", "u", "1", "z", "WEIGHTS", n)
		d.check("", "ZRANGE", "u", "0", "-1", "WITHSCORES")
		d.check("", "DEL", "z", "u")
		// Long doubles again: blocking timeouts (an element is there, so
		// only the validation shows).
		d.check("", "RPUSH", "l", "x", "y", "z")
		d.check("", "BLPOP", "l", n)
		d.check("", "BRPOPLPUSH", "l", "l2", n)
		d.check("", "BLMPOP", n, "1", "l", "LEFT")
		d.check("", "ZADD", "bz", "1", "a")
		d.check("", "BZPOPMIN", "bz", n)
		d.check("", "DEL", "l", "l2", "bz")
	}
	d.checkReplica()
}

func TestParseFloatExact(t *testing.T) {
	cases := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0x10", 16, true}, {"0x1p-3", 0.125, true}, {"1e-400", 0, false}, {"1e400", 0, false},
		{"INF", math.Inf(1), true}, {"+inf", math.Inf(1), true}, {"infinity", math.Inf(1), true},
		{"-Infinity", math.Inf(-1), true}, {"infin", 0, false}, {"nan", 0, false}, {" 1", 0, false},
		{"1 ", 0, false}, {"", 0, false}, {"1.5\x00", 0, false}, {"4.9e-324", 5e-324, true}, {".5", 0.5, true},
		{"5.", 5, true}, {"+1", 1, true}, {"1e", 0, false}, {"0x", 0, false},
	}
	for _, c := range cases {
		got, ok := ParseFloat([]byte(c.in))
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("ParseFloat(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
