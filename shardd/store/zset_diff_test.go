package store

import "testing"

func TestZSetZAdd(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
ZADD z 1 a
ZADD z 2 b 3 c 1 a
ZADD z 1.5 a
ZRANGE z 0 -1 WITHSCORES
ZADD z NX 10 a 10 d
ZADD z XX 20 a 20 e
ZADD z XX CH 21 a 3 c
ZADD z CH 22 a 23 f
ZADD z GT 1 a
ZADD z GT CH 100 a
ZADD z LT CH 200 a 1 b
ZADD z LT 0 b
ZADD z XX GT CH 300 a 0 c
ZADD z GT LT 1 a
ZADD z NX GT 1 a
ZADD z NX LT 1 a
ZADD z NX XX 1 a
ZADD z nx xx 1
ZADD z 1 a 2
ZADD z INCR 1 a 2 b
ZADD z INCR 5 a
ZADD z INCR -5.5 newmember
ZADD z INCR NX 5 a
ZADD z INCR XX 5 nosuch
ZADD z INCR GT -1 a
ZADD z INCR LT -1 a
ZADD z INCR LT 1 a
ZADD z INCR 0 a
ZADD z abc a
ZADD z 1 a abc b
ZADD z " 1" a
ZADD z "1 " a
ZADD z "" a
ZADD z nan a
ZADD z 1e400 a
ZADD z 1e-400 a
ZADD z 4.9e-324 tiny
ZADD z 0x10 hex 0x1p-3 hex2 0X1.8P1 hex3
ZADD z inf i1 -inf i2 +inf i3 Infinity i4 -INF i5
ZADD z INCR -inf i1
ZADD z INCR inf i2
ZADD z INCR inf i1
ZADD z "1\x00" a
ZADD z 1.0000000000000001 p 0.1 q 1e300 r -0.0 s 2.5 t 1e17 u 1e16 v 1e-5 w 0.0001 x 123456789012345678 y
ZRANGE z 0 -1 WITHSCORES
ZSCORE z s
ZADD z 0 s
ZSCORE z s
ZADD zneg -0 m
ZADD zneg 0 m
ZSCORE zneg m
ZADD nokey XX 1 a
ZADD nokey XX INCR 1 a
ZADD nokey XX CH 1 a
ZCARD nokey
ZADD z ch incr 1 a
ZADD z CH 5 a 5 a 6 a
ZINCRBY z 1 a
ZINCRBY z -2.5 newm
ZINCRBY z abc a
ZINCRBY z nx a
ZINCRBY z incr a
ZINCRBY z 1e400 a
ZINCRBY z inf i1
ZINCRBY z -inf i1
ZINCRBY znew 3 m
ZRANGE z 0 -1 WITHSCORES
ZRANGE znew 0 -1 WITHSCORES
ZCARD z
ZCARD nokey
`)
	zsetCheckEncoding(d, "z")
	zsetCheckEncoding(d, "znew")
	zsetSetString(d, "str", "v")
	d.run(`
ZADD str 1 a
ZADD str abc a
ZADD str NX XX 1 a
ZINCRBY str 1 a
ZADD str XX 1 a
ZCARD str
ZSCORE str a
ZMSCORE str a
ZRANK str a
ZREM str a
`)
}

func TestZSetFloatFormat(t *testing.T) {
	d := newDiffEnv(t)
	vals := []string{
		"0.1", "1e-300", "1e300", "-0.0", "0", "inf", "-inf", "3", "2.5", "0.3333333333333333",
		"1.1", "100", "1e16", "1e17", "1e15", "123456789", "1234567890123456789", "0.0001",
		"0.00001", "1e-5", "-1e-5", "9007199254740993", "4503599627370496", "4503599627370495.5",
		"1.7976931348623157e308", "2.2250738585072014e-308", "5e-324", "-5e-324", "0.5", "1e21",
		"1e22", "12345.678", "-12345.678e-10", "0x1.fffffffffffffp1023", "1e-4", "1.5e-4",
		"99999999999999999", "0.30000000000000004", "7", ".5", "5.", "+5", "-.5e3", "1E3", "00012",
		"0x", "0x.8", "0xg", "1e", "1e+", "1e+3x", "infinit", "infinity", "nan(123)", "-nan",
	}
	for i, v := range vals {
		m := "m" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		d.run(`
ZADD f ` + `"` + v + `" ` + m + `
ZSCORE f ` + m + `
ZADD g INCR "` + v + `" ` + m + `
ZINCRBY g "` + v + `" ` + m + `
`)
	}
	d.run(`
ZRANGE f 0 -1 WITHSCORES
ZRANGE g 0 -1 WITHSCORES
ZSCAN f 0
`)
}
