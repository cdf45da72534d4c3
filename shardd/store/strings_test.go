package store

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStringsGetSet(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
GET nokey
SET k v
GET k
SET k ""
GET k
STRLEN k
SET k "hello world"
GET k
set K other
GET K
SET k v extra
SET k v EX
SET k v PX
SET k v EXAT
SET k v PXAT
SET k v FOO
SET k v NX XX
SET k v XX NX
SET k v EX 10 PX 100
SET k v PX 100 EX 10
SET k v EX 10 EXAT 100
SET k v EXAT 100 PXAT 100
SET k v KEEPTTL EX 10
SET k v EX 10 KEEPTTL
SET k v PXAT 100 KEEPTTL
SET k v PERSIST
SET k v EX 0
SET k v EX -1
SET k v PX 0
SET k v EXAT 0
SET k v PXAT -5
SET k v EX abc
SET k v EX 1.5
SET k v EX 9223372036854775
SET k v EX 9223372036854775807
SET k v PX 9223372036854775807
SET k v PX 9223372036854770000
SET k v EXAT 9223372036854776
GET k
SET k v EX 100
%1 TTL k
%10 PTTL k
SET k v2 EX 10 EX 20
%1 TTL k
SET k v3 PX 5000 PX 50000
%1 TTL k
SET k v4 KEEPTTL
%1 TTL k
GET k
SET k v5
TTL k
SET k v6 KEEPTTL KEEPTTL
TTL k
SET k v7 nx nx
SET k v8 xx xx
GET k
SET k v9 EXAT 99999999999
%1 TTL k
EXPIRETIME k
SET k v10 PXAT 99999999999999
PEXPIRETIME k
SET k v11 PXAT 1
GET k
EXISTS k
SET k v12 EXAT 1 GET
SET k v13 EXAT 1 GET
GET k
`)
}

func TestStringsSetNXXXGet(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
SET a 1 NX
SET a 2 NX
GET a
SET b 1 XX
GET b
SET a 3 XX
GET a
SET a 4 GET
SET c 5 GET
GET c
SET c 6 NX GET
SET d 7 NX GET
GET d
SET e 8 XX GET
GET e
SET d 9 XX GET
GET d
SET d 10 XX GET EX 100
%1 TTL d
SET d 11 GET KEEPTTL
%1 TTL d
SET d 12 GET
TTL d
!list l
SET l v GET
SET l v GET NX
SET l v NX GET
SET l v XX GET
SET l v GET EX abc
SET l v GET EX 0
SET l v NX
SET l v XX
TYPE l
SET l v
GET l
TYPE l
SET d 13 PX 100000 NX
SET nx1 1 PX 100000 NX
%10 PTTL nx1
SET nx1 2 EXAT 1 XX
EXISTS nx1
SET nx2 1 EXAT 1 NX
EXISTS nx2
SETNX sn 1
SETNX sn 2
GET sn
SETNX l 3
GETSET sn 5
GETSET gsnew 1
GET gsnew
SET t v EX 100
GETSET t w
TTL t
GETSET l x
`)
}

func TestStringsOptionWordsNUL(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
SET k v "nx\x00junk"
SET k v "xx\x00junk"
SET k v "ex\x00" 100
%1 TTL k
SET k v "keepttl\x00x"
%1 TTL k
SET k v "n\x00x"
GETEX k "persist\x00"
TTL k
`)
}

func TestStringsSetexPsetex(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
SETEX k 100 v
%1 TTL k
GET k
SETEX k 0 v
SETEX k -10 v
SETEX k abc v
SETEX k 9223372036854775 v
PSETEX k 0 v
PSETEX k -1 v
PSETEX k 9223372036854775807 v
PSETEX k 100000 w
%10 PTTL k
GET k
!list l
SETEX l 10 v
TYPE l
PSETEX l 1000 v
TYPE l
OBJECT ENCODING k
SETEX n 10 12345
OBJECT ENCODING n
`)
}

func TestStringsGetDelGetEx(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
GETDEL nokey
SET k v
GETDEL k
EXISTS k
!list l
GETDEL l
GETEX nokey
GETEX nokey EX abc
GETEX nokey EX 0
GETEX nokey FOO
GETEX nokey EX 10 PX 10
GETEX nokey PERSIST EX 10
GETEX nokey EX 10 PERSIST
GETEX nokey KEEPTTL
GETEX nokey NX
GETEX nokey GET
GETEX nokey EX
SET k v
GETEX k
TTL k
GETEX k EX 100
%1 TTL k
GETEX k PX 200000
%1 TTL k
GETEX k EXAT 99999999999
%1 TTL k
GETEX k PXAT 99999999999999
%100 PTTL k
GETEX k PERSIST
TTL k
GETEX k PERSIST PERSIST
GETEX k EX 0
GETEX k EX -1
GETEX k PX 0
GETEX k EXAT 0
GETEX k EX abc
GETEX k EX 9223372036854775
GETEX k PX 9223372036854775807
GETEX k EX 10 EX 20
%1 TTL k
GETEX k EXAT 1
EXISTS k
SET k v
GETEX k PXAT 2
GET k
GETEX l
GETEX l EX 10
GETEX l FOO
GETEX l EX abc
SET n 123
GETEX n EX 100
OBJECT ENCODING n
`)
}

func TestStringsMGetMSet(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
MGET a b c
MSET a 1 b 2 c 3
MGET a b c d
!list l
MGET a l b
MSET a 1 b
MSET a
MSET a 1 a 2
GET a
SET t v EX 100
MSET t w
TTL t
MSETNX a 1 z 2
EXISTS z
MSETNX x 1 y 2
MGET x y
MSETNX x
MSETNX p 1 p 2
GET p
MSETNX l 1 q 2
EXISTS q
MSET l v
TYPE l
OBJECT ENCODING a
MSET big 12345678901234567890 small 99 str hello
OBJECT ENCODING big
OBJECT ENCODING small
OBJECT ENCODING str
`)
}

func TestStringsIncrDecr(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
INCR n
INCR n
DECR n
DECR n
DECR n
INCRBY n 100
INCRBY n -1000
DECRBY n 5
DECRBY n -5
INCRBY n abc
INCRBY n 1.5
INCRBY n ""
DECRBY n abc
DECRBY n -9223372036854775808
DECRBY n 9223372036854775807
INCRBY n 9223372036854775808
INCRBY n +5
INCRBY n " 5"
INCRBY n 05
INCRBY n -0
SET m 9223372036854775807
INCR m
INCRBY m 0
GET m
SET m -9223372036854775808
DECR m
INCRBY m -1
INCRBY m 9223372036854775807
SET m -9223372036854775807
DECRBY m 1
DECRBY m 1
SET s abc
INCR s
DECR s
INCRBY s 1
SET s " 1"
INCR s
SET s "1 "
INCR s
SET s 01
INCR s
SET s +1
INCR s
SET s -0
INCR s
SET s ""
INCR s
SET s 1.0
INCR s
SET s "1\x00"
INCR s
SET s 99999999999999999999
INCR s
!list l
INCR l
INCRBY l x
DECRBY l 1
SET t 10 EX 100
INCR t
%1 TTL t
DECRBY t 3
%1 TTL t
GET t
OBJECT ENCODING t
SET r 1
APPEND r 0
OBJECT ENCODING r
INCR r
OBJECT ENCODING r
GET r
INCRBY big 9223372036854775807
OBJECT ENCODING big
`)
}

func TestStringsIncrByFloat(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
INCRBYFLOAT f 1
GET f
INCRBYFLOAT f 0.1
INCRBYFLOAT f 0.2
INCRBYFLOAT f -0.3
INCRBYFLOAT f 10.5e3
INCRBYFLOAT f -1e-20
INCRBYFLOAT f 3.0e3
INCRBYFLOAT f abc
INCRBYFLOAT f ""
INCRBYFLOAT f " 1"
INCRBYFLOAT f "1 "
INCRBYFLOAT f inf
INCRBYFLOAT f -inf
INCRBYFLOAT f +INF
INCRBYFLOAT f infinity
INCRBYFLOAT f nan
INCRBYFLOAT f NaN
INCRBYFLOAT f "nan(1)"
INCRBYFLOAT f 1e
INCRBYFLOAT f 1e+
INCRBYFLOAT f .5
INCRBYFLOAT f 5.
INCRBYFLOAT f +.5e+1
INCRBYFLOAT f .
INCRBYFLOAT f -.
INCRBYFLOAT f 0x10
INCRBYFLOAT f 0x.8p1
INCRBYFLOAT f 0X1P-2
INCRBYFLOAT f 0x1.p0
INCRBYFLOAT f 0x
INCRBYFLOAT f 0xg
INCRBYFLOAT f 0x1p
INCRBYFLOAT f 1_0
INCRBYFLOAT f 1,5
INCRBYFLOAT f 00012
INCRBYFLOAT f "1\x00"
INCRBYFLOAT f 1..2
INCRBYFLOAT f 1e5.5
GET f
INCRBYFLOAT g 1e30
INCRBYFLOAT g2 1e300
INCRBYFLOAT g3 -1e-20
INCRBYFLOAT g4 1.0e-4950
INCRBYFLOAT g5 1e-4951
INCRBYFLOAT g6 3.6e-4951
INCRBYFLOAT g7 1.8e-4951
INCRBYFLOAT g8 1.18973149535723176e4932
INCRBYFLOAT g9 1.18973149535723177e4932
INCRBYFLOAT g10 1e4933
INCRBYFLOAT g11 0e99999999999
INCRBYFLOAT g12 1e-99999999999
INCRBYFLOAT g13 1e99999999999
INCRBYFLOAT g14 0.000003814697265625
INCRBYFLOAT g15 1.5
INCRBYFLOAT g15 0.000003814697265625
INCRBYFLOAT g16 123456789012345678901234567890
INCRBYFLOAT g17 0.1
INCRBYFLOAT g17 0.7
INCRBYFLOAT g18 1.18973149535723176e4932
INCRBYFLOAT g18 1.18973149535723176e4932
INCRBYFLOAT g19 -5
INCRBYFLOAT g19 5
INCRBYFLOAT g20 0x1p-16445
INCRBYFLOAT g21 0x1p-16446
INCRBYFLOAT g22 0x1.8p-16446
INCRBYFLOAT g23 0x1p16383
INCRBYFLOAT g24 0x1p16384
SET s abc
INCRBYFLOAT s 1
SET s 1.5abc
INCRBYFLOAT s 1
SET s "1.5\x00"
INCRBYFLOAT s 1
SET s " 1.5"
INCRBYFLOAT s 1
SET s inf
INCRBYFLOAT s 1
INCRBYFLOAT s x
SET s 10
INCRBYFLOAT s 2.5
SET s 5.0e3
INCRBYFLOAT s 2.0e2
!list l
INCRBYFLOAT l 1
SET t 1.5 EX 100
INCRBYFLOAT t 1
%1 TTL t
GET t
OBJECT ENCODING t
INCRBYFLOAT h 1.5
OBJECT ENCODING h
`)
}

// INCRBYFLOAT stores its result without int encoding (a deviation noted in
// strEncoding's caller: shoal answers "int" for an integer result).
func TestStringsIncrByFloatValues(t *testing.T) {
	d := newDiffEnv(t)
	var b strings.Builder
	vals := []string{"0.1", "1.1", "-2.25", "3e-5", "7.77777777777777777777", "1e17", "1e18", "1e19", "1e20",
		"123.456", "-0.000001", "99999999999999999", "0.3333333333333333333333", "2.5e-10", "1e-17", "5e-18",
		"1.23456789012345678901234567890", "-1e25", "4.9e-324", "1.7976931348623157e308", "0x1.fffffffffffffffep16383"}
	for i, v := range vals {
		fmt.Fprintf(&b, "INCRBYFLOAT acc %s\n", v)
		fmt.Fprintf(&b, "INCRBYFLOAT v%d %s\n", i, v)
		fmt.Fprintf(&b, "INCRBYFLOAT v%d %s\n", i, v)
		fmt.Fprintf(&b, "INCRBYFLOAT v%d -%s\n", i, v)
	}
	strkeysRun(d, b.String())
}

func TestStringsAppendStrlenRanges(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
APPEND a hello
OBJECT ENCODING a
APPEND a " world"
OBJECT ENCODING a
GET a
STRLEN a
APPEND a ""
STRLEN a
APPEND n 12
OBJECT ENCODING n
APPEND n 3
OBJECT ENCODING n
GET n
SET e hello
APPEND e ""
OBJECT ENCODING e
APPEND empty ""
EXISTS empty
OBJECT ENCODING empty
!list l
APPEND l x
STRLEN l
STRLEN nokey
SET i 12345
STRLEN i
GETRANGE i 1 2
SET t v EX 100
APPEND t w
%1 TTL t
GETRANGE nokey 0 -1
GETRANGE nokey a 1
GETRANGE a 0 -1
GETRANGE a 0 4
GETRANGE a -5 -1
GETRANGE a -1 -5
GETRANGE a -100 -200
GETRANGE a -100 100
GETRANGE a 3 -100
GETRANGE a 5 3
GETRANGE a 100 200
GETRANGE a 0 0
GETRANGE a -1 -1
GETRANGE a 0 9223372036854775807
GETRANGE a -9223372036854775808 -1
GETRANGE a -9223372036854775808 9223372036854775807
GETRANGE a x 1
GETRANGE a 1 x
GETRANGE l 0 1
GETRANGE l x 1
SET z ""
GETRANGE z 0 -1
GETRANGE z 0 0
GETRANGE z -1 0
SUBSTR a 0 4
SUBSTR a -3 -1
SUBSTR l 0 1
`)
}

func TestStringsSetRange(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
SETRANGE k 0 hello
OBJECT ENCODING k
GET k
SETRANGE k 6 world
GET k
SETRANGE k 0 H
GET k
SETRANGE k 20 "!"
GET k
STRLEN k
SETRANGE k 3 ""
SETRANGE new 5 ""
EXISTS new
SETRANGE new 3 ab
GET new
OBJECT ENCODING new
SETRANGE k -1 x
SETRANGE k abc x
SETRANGE k 1.5 x
SETRANGE nokey -1 ""
SETRANGE k 536870911 ""
SETRANGE k 536870912 x
SETRANGE k 536870911 xy
SETRANGE k 9223372036854775807 x
SETRANGE nokey2 536870912 x
SETRANGE nokey2 9223372036854775807 x
EXISTS nokey2
!list l
SETRANGE l 0 x
SETRANGE l -1 x
SETRANGE l 0 ""
SET e hello
SETRANGE e 0 ""
OBJECT ENCODING e
SETRANGE e 0 J
OBJECT ENCODING e
GET e
SET i 12345
SETRANGE i 1 9
OBJECT ENCODING i
GET i
INCR i
OBJECT ENCODING i
SET t v EX 100
SETRANGE t 2 x
%1 TTL t
GET t
APPEND k more
SETRANGE k 1 XYZ
GET k
APPEND k tail
GET k
`)
}

func TestStringsEncodings(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
SET a 0
OBJECT ENCODING a
SET a -1
OBJECT ENCODING a
SET a 9223372036854775807
OBJECT ENCODING a
SET a -9223372036854775808
OBJECT ENCODING a
SET a 9223372036854775808
OBJECT ENCODING a
SET a 007
OBJECT ENCODING a
SET a -0
OBJECT ENCODING a
SET a +1
OBJECT ENCODING a
SET a 1.5
OBJECT ENCODING a
SET a ""
OBJECT ENCODING a
SET a 12345678901234567890123456789012345678901234
OBJECT ENCODING a
SET a 123456789012345678901234567890123456789012345
OBJECT ENCODING a
SET a abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqr
OBJECT ENCODING a
SET a abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrs
OBJECT ENCODING a
OBJECT REFCOUNT a
SET a 5
OBJECT REFCOUNT a
SET a 9999
OBJECT REFCOUNT a
SET a 10000
OBJECT REFCOUNT a
SET a -1
OBJECT REFCOUNT a
INCR cnt
OBJECT REFCOUNT cnt
OBJECT ENCODING cnt
APPEND app 7
OBJECT REFCOUNT app
OBJECT REFCOUNT nokey
OBJECT ENCODING nokey
`)
}

// TestStringsAppendInPlace checks that growing a raw string in place never
// changes what another holder sees: a COPY, a snapshot in progress, a value
// read before.
func TestStringsAppendInPlace(t *testing.T) {
	s := New(DefaultConfig())
	ex := func(args ...string) string {
		b := byteArgs(args...)
		return string(s.Exec(1000, b, nil))
	}
	ex("SET", "a", "x")
	ex("APPEND", "a", "yz") // raw, with spare capacity
	ex("COPY", "a", "b")
	ex("APPEND", "a", "1")
	ex("APPEND", "b", "2")
	if got := ex("GET", "a"); got != "$4\r\nxyz1\r\n" {
		t.Fatalf("GET a = %q", got)
	}
	if got := ex("GET", "b"); got != "$4\r\nxyz2\r\n" {
		t.Fatalf("GET b = %q", got)
	}
	// A snapshot taken now must keep "xyz1" for a while the value grows and
	// is overwritten in place.
	want := dump(t, s, 1000)
	sn, err := s.BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	ex("APPEND", "a", "more")
	ex("SETRANGE", "a", "0", "Q")
	ex("SETRANGE", "b", "1", "QQ")
	ex("RENAME", "a", "c")
	ex("SETRANGE", "c", "0", "R")
	ex("APPEND", "c", "S")
	var buf []byte
	for done := false; !done; {
		buf, done = sn.Next(buf, 1)
	}
	sn.Close()
	s2 := New(DefaultConfig())
	if err := s2.LoadSnapshot(strings.NewReader(string(buf))); err != nil {
		t.Fatal(err)
	}
	if got := dump(t, s2, 1000); got != want {
		t.Fatalf("snapshot:\n%s\nwant:\n%s", got, want)
	}
	if got := ex("GET", "c"); got != "$9\r\nRyz1moreS\r\n" {
		t.Fatalf("GET c = %q", got)
	}
	// No snapshot now: SETRANGE works in place.
	ex("SETRANGE", "c", "1", "__")
	if got := ex("GET", "c"); got != "$9\r\nR__1moreS\r\n" {
		t.Fatalf("GET c = %q", got)
	}
	ex("SETRANGE", "c", "12", "!")
	if got := ex("GET", "c"); got != "$13\r\nR__1moreS\x00\x00\x00!\r\n" {
		t.Fatalf("GET c = %q", got)
	}
}

func TestStringsEffects(t *testing.T) {
	s := New(DefaultConfig())
	now := int64(1_700_000_000_000)
	cases := []effectCase{
		{"SET k v", "SET k v"},
		{"SET k v EX 10", "SET k v PXAT " + strconv.FormatInt(now+10000, 10)},
		{"SET k v KEEPTTL", "SET k v KEEPTTL"},
		{"SET k w NX", ""},
		{"SET k w XX GET", "SET k w"},
		{"SET k w2 PXAT 5", "DEL k"},
		{"SET k w2 PXAT 5", ""},
		{"SETNX k v", "SET k v"},
		{"SETEX k 5 v", "SET k v PXAT " + strconv.FormatInt(now+5000, 10)},
		{"PSETEX k 5 v", "SET k v PXAT " + strconv.FormatInt(now+5, 10)},
		{"GETSET k x", "SET k x"},
		{"GETEX k", ""},
		{"GETEX k EX 1", "PEXPIREAT k " + strconv.FormatInt(now+1000, 10)},
		{"GETEX k PERSIST", "PERSIST k"},
		{"GETEX k PERSIST", ""},
		{"GETEX k PXAT 1", "DEL k"},
		{"SET k 1", "SET k 1"},
		{"INCR k", "INCR k"},
		{"INCRBYFLOAT k 1.5", "SET k 3.5 KEEPTTL"},
		{"GETDEL k", "DEL k"},
		{"GETDEL k", ""},
		{"APPEND k x", "APPEND k x"},
		{"SETRANGE k 0 \"\"", ""},
		{"SETRANGE k 0 y", "SETRANGE k 0 y"},
		{"MSET a 1 b 2", "MSET a 1 b 2"},
		{"MSETNX a 1 c 2", ""},
		{"MSETNX c 1 d 2", "MSET c 1 d 2"},
		{"GET a", ""},
	}
	checkEffects(t, s, now, cases)
}

// TestStringsNoPanicShortArgs calls every string and key command with too
// few arguments: the handlers must answer, never panic.
func TestStringsNoPanicShortArgs(t *testing.T) {
	s := New(DefaultConfig())
	m := map[string]Cmd{}
	registerStrings(m)
	registerKeys(m)
	for name := range m {
		for n := 1; n <= 3; n++ {
			args := [][]byte{[]byte(name)}
			for i := 1; i < n; i++ {
				args = append(args, []byte("x"))
			}
			out := s.Exec(time.Now().UnixMilli(), args, nil)
			if len(out) == 0 {
				t.Errorf("%s with %d args: no reply", name, n)
			}
		}
	}
}
