package store

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// Differential tests of the list commands against redis-server 7.0.15.
// SET/GET/DEL are not in this worktree: string keys are made with
// listSetString, and a list's existence is probed with LPUSHX (0 when the
// key is gone) and LSET ("no such key").

func TestListPush(t *testing.T) {
	d := newDiffEnv(t)
	d.setString("s", "v")
	d.runBlocking(`
LPUSH l a
LPUSH l b c d
RPUSH l e f
LRANGE l 0 -1
LLEN l
RPUSH r 1 2 3 "" "with space" 12345678901234567890 -1
LRANGE r 0 -1
LPUSHX nokey a b
RPUSHX nokey a
LLEN nokey
LPUSHX l x y
RPUSHX l z
LRANGE l 0 -1
# wrong type, with and without X
LPUSH s a
RPUSH s a
LPUSHX s a
RPUSHX s a
# case-insensitive names
lpush l lower
LRANGE l 0 0
`)
}

func TestListPop(t *testing.T) {
	d := newDiffEnv(t)
	d.setString("s", "v")
	d.runBlocking(`
RPUSH l a b c d e f g
LPOP l
RPOP l
LPOP l 0
RPOP l 0
LPOP l 2
RPOP l 2
LRANGE l 0 -1
# count larger than the list empties and deletes the key
RPOP l 100
LLEN l
LPUSHX l x
LSET l 0 x
# missing key: null bulk without count, null array with any count
LPOP nokey
RPOP nokey
LPOP nokey 0
LPOP nokey 5
RPOP nokey 1
# count validation comes before the key lookup
LPOP nokey -1
LPOP nokey abc
RPOP l -5
LPOP l 1.5
LPOP l " 1"
LPOP l 9223372036854775808
LPOP s -1
# wrong type
LPOP s
RPOP s 1
LPOP s 0
# too many arguments is the command's own arity error
LPOP l 1 2
RPOP l 1 2 3
# single element pops delete the key
RPUSH one x
LPOP one
LPUSHX one y
RPUSH two x
RPOP two 1
RPUSHX two y
# exact count
RPUSH three a b c
LPOP three 3
LPUSHX three y
RPUSH four a b c d
RPOP four 9223372036854775807
LLEN four
`)
}

func TestListRangeAndTrim(t *testing.T) {
	d := newDiffEnv(t)
	d.setString("s", "v")
	idx := []string{"-100", "-8", "-7", "-6", "-2", "-1", "0", "1", "3", "5", "6", "7", "100",
		"9223372036854775807", "-9223372036854775808"}
	var b strings.Builder
	b.WriteString("RPUSH l a b c d e f g\n")
	for _, s := range idx {
		for _, e := range idx {
			fmt.Fprintf(&b, "LRANGE l %s %s\n", s, e)
		}
	}
	d.runBlocking(b.String())

	b.Reset()
	for i, s := range idx {
		for j, e := range idx {
			k := fmt.Sprintf("t%d.%d", i, j)
			fmt.Fprintf(&b, "RPUSH %s a b c d e f g\nLTRIM %s %s %s\nLRANGE %s 0 -1\nLPUSHX %s probe\n", k, k, s, e, k, k)
		}
	}
	d.runBlocking(b.String())

	d.runBlocking(`
LRANGE nokey 0 -1
LRANGE nokey a 1
LRANGE nokey 0 b
LRANGE l a 1
LRANGE l 0 1.0
LRANGE l 9223372036854775808 1
LRANGE s 0 -1
LRANGE s x 1
LTRIM nokey 0 1
LTRIM nokey a 1
LTRIM l 0 x
LTRIM s 0 1
LTRIM s x 1
# no-op trim
RPUSH n a b c
LTRIM n 0 -1
LTRIM n -100 100
LRANGE n 0 -1
# trim everything away deletes the key
LTRIM n 1 0
LPUSHX n probe
RPUSH n a b c
LTRIM n 5 10
LPUSHX n probe
RPUSH n a b c
LTRIM n -1 -2
LPUSHX n probe
`)
}

func TestListIndexSetInsert(t *testing.T) {
	d := newDiffEnv(t)
	d.setString("s", "v")
	d.runBlocking(`
RPUSH l a b c
LINDEX l 0
LINDEX l 2
LINDEX l 3
LINDEX l -1
LINDEX l -3
LINDEX l -4
LINDEX l 9223372036854775807
LINDEX l -9223372036854775808
LINDEX l x
LINDEX nokey 0
LINDEX nokey x
LINDEX s 0
LINDEX s x
LSET l 0 A
LSET l -1 C
LSET l 1 ""
LRANGE l 0 -1
LSET l 3 x
LSET l -4 x
LSET l x y
LSET nokey 0 x
LSET nokey x y
LSET s 0 x
LSET s x y
LINSERT l BEFORE A first
LINSERT l AFTER C last
LINSERT l after "" mid
LINSERT l before "" mid0
LRANGE l 0 -1
LINSERT l BEFORE nothere x
LINSERT l AROUND A x
LINSERT nokey BEFORE a x
LINSERT nokey AROUND a x
LINSERT s BEFORE a x
LINSERT s AROUND a x
# the first match from the head is the pivot
RPUSH dup x y x y
LINSERT dup AFTER x z
LINSERT dup BEFORE y w
LRANGE dup 0 -1
`)
}

func TestListRem(t *testing.T) {
	d := newDiffEnv(t)
	d.setString("s", "v")
	d.runBlocking(`
RPUSH l a b a c a b a
LREM l 2 a
LRANGE l 0 -1
LREM l -1 b
LRANGE l 0 -1
LREM l 0 a
LRANGE l 0 -1
LREM l 0 zz
LREM l 1 zz
RPUSH l2 x y x y x y x
LREM l2 -2 x
LRANGE l2 0 -1
LREM l2 -100 y
LRANGE l2 0 -1
LREM l2 100 x
LPUSHX l2 probe
RPUSH l3 q q q
LREM l3 -9223372036854775808 q
LPUSHX l3 probe
RPUSH l4 q r q
LREM l4 9223372036854775807 q
LRANGE l4 0 -1
LREM l4 x q
LREM l4 1.5 q
LREM nokey 1 a
LREM nokey x a
LREM s 1 a
LREM s x a
`)
}

func TestListLPos(t *testing.T) {
	d := newDiffEnv(t)
	d.setString("s", "v")
	d.runBlocking(`
RPUSH l a b c a b c a x a
LPOS l a
LPOS l x
LPOS l zz
LPOS l a RANK 0
LPOS l a RANK x
LPOS l a RANK 9223372036854775808
LPOS l a COUNT -1
LPOS l a COUNT x
LPOS l a MAXLEN -1
LPOS l a MAXLEN x
LPOS l a FOO 1
LPOS l a RANK
LPOS l a COUNT
LPOS l a MAXLEN
LPOS l a rank 1 count 1 maxlen 1 extra
LPOS nokey a
LPOS nokey a COUNT 0
LPOS nokey a COUNT 2
LPOS nokey a RANK 0
LPOS nokey a COUNT -1
LPOS s a
LPOS s a COUNT 0
LPOS s a RANK 0
LPOS l a RANK 1 RANK 2
LPOS l a COUNT 1 COUNT 0
LPOS l a COUNT 0 RANK 0
`)
	// Every combination of the three options, in two orders.
	ranks := []string{"", "1", "2", "4", "5", "-1", "-2", "-4", "-5", "9223372036854775807",
		"-9223372036854775807", "-9223372036854775808"}
	counts := []string{"", "0", "1", "2", "3", "10"}
	maxlens := []string{"", "0", "1", "2", "4", "9", "100"}
	var b strings.Builder
	for _, r := range ranks {
		for _, c := range counts {
			for _, m := range maxlens {
				opts := ""
				if r != "" {
					opts += " RANK " + r
				}
				if c != "" {
					opts += " COUNT " + c
				}
				if m != "" {
					opts += " MAXLEN " + m
				}
				fmt.Fprintf(&b, "LPOS l a%s\n", opts)
				fmt.Fprintf(&b, "LPOS l zz%s\n", opts)
				rev := ""
				if m != "" {
					rev += " maxlen " + m
				}
				if c != "" {
					rev += " count " + c
				}
				if r != "" {
					rev += " rank " + r
				}
				fmt.Fprintf(&b, "LPOS l c%s\n", rev)
			}
		}
	}
	d.runBlocking(b.String())
}

func TestListMove(t *testing.T) {
	d := newDiffEnv(t)
	d.setString("s", "v")
	d.runBlocking(`
RPUSH src a b c d
LMOVE src dst LEFT LEFT
LMOVE src dst LEFT RIGHT
LMOVE src dst RIGHT LEFT
LMOVE src dst right right
LRANGE dst 0 -1
LPUSHX src probe
LMOVE src dst LEFT LEFT
LMOVE nokey dst LEFT LEFT
LMOVE nokey s LEFT LEFT
LMOVE nokey dst UP LEFT
LMOVE nokey dst LEFT UP
LMOVE s dst LEFT UP
LMOVE s dst LEFT LEFT
LMOVE dst s LEFT LEFT
LRANGE dst 0 -1
# source == destination: rotation
RPUSH rot 1 2 3 4
LMOVE rot rot LEFT RIGHT
LRANGE rot 0 -1
LMOVE rot rot RIGHT LEFT
LRANGE rot 0 -1
LMOVE rot rot LEFT LEFT
LMOVE rot rot RIGHT RIGHT
LRANGE rot 0 -1
RPUSH single x
LMOVE single single LEFT RIGHT
LMOVE single single RIGHT LEFT
LRANGE single 0 -1
# moving the last element deletes the source
RPUSH last only
LMOVE last other RIGHT LEFT
LPUSHX last probe
LRANGE other 0 -1
RPOPLPUSH other last
LRANGE last 0 -1
RPOPLPUSH last last
RPOPLPUSH nokey dst
RPOPLPUSH nokey s
RPOPLPUSH s dst
RPOPLPUSH dst s
RPUSH rot2 a b c
RPOPLPUSH rot2 rot2
LRANGE rot2 0 -1
`)
}

func TestListBlocking(t *testing.T) {
	d := newDiffEnv(t)
	d.setString("s", "v")
	d.runBlocking(`
# would block: the store answers nothing, Redis answers null inside MULTI
BLPOP nokey 0
BRPOP nokey1 nokey2 0.5
BLMOVE nokey dst LEFT RIGHT 0
BRPOPLPUSH nokey dst 0
# a source that is missing blocks without looking at the destination
BLMOVE nokey s LEFT RIGHT 0
BRPOPLPUSH nokey s 0
# served
RPUSH l a b c
BLPOP nokey l 0
BRPOP nokey l 0
BLPOP l nokey 1.5
BLPOP l 0
LPUSHX l probe
# the first non-empty key in argument order
RPUSH k1 x
RPUSH k2 y z
BLPOP nokey k2 k1 0
BRPOP k1 k2 0
BRPOP k1 k2 0
BLPOP k1 k2 0
# wrong type: checked in order; a served key before it wins
RPUSH k3 w
BLPOP s k3 0
BLPOP k3 s 0
BLPOP nokey s 0
BRPOP s 0
# timeouts are checked before the keys
BLPOP s -1
BLPOP s abc
BLPOP k3 -0.5
BLPOP k3 1e400
BLPOP k3 inf
BLPOP k3 nan
BLPOP k3 ""
BLPOP k3 " 1"
BRPOP k3 0x10
LPUSHX k3 probe
# BLMOVE / BRPOPLPUSH served
RPUSH src a b c d
BLMOVE src dst LEFT RIGHT 0
BLMOVE src dst RIGHT LEFT 0.001
BLMOVE src src LEFT RIGHT 0
BRPOPLPUSH src dst 0
BRPOPLPUSH src src 0
LRANGE src 0 -1
LRANGE dst 0 -1
BLMOVE src dst UP RIGHT 0
BLMOVE src dst LEFT UP 0
BLMOVE src dst LEFT RIGHT abc
BLMOVE src dst LEFT RIGHT -1
BLMOVE src dst UP RIGHT abc
BRPOPLPUSH src dst abc
BRPOPLPUSH src dst -1
BLMOVE src s LEFT RIGHT 0
BRPOPLPUSH src s 0
BLMOVE s dst LEFT RIGHT 0
BRPOPLPUSH s dst 0
LRANGE src 0 -1
# emptying by a blocking pop deletes the key
RPUSH e1 only
BLPOP e1 0
LPUSHX e1 probe
RPUSH e2 only
BLMOVE e2 e3 LEFT LEFT 0
LPUSHX e2 probe
LRANGE e3 0 -1
# a blocked command retried after a push is served
BLPOP later 0
RPUSH later v
BLPOP later 0
BLMOVE later2 dst LEFT LEFT 0
LPUSH later2 v
BLMOVE later2 dst LEFT LEFT 0
`)
}

func TestListMPop(t *testing.T) {
	d := newDiffEnv(t)
	d.setString("s", "v")
	d.runBlocking(`
RPUSH l a b c d e
LMPOP 1 l LEFT
LMPOP 1 l RIGHT COUNT 2
LMPOP 2 nokey l left count 100
LPUSHX l probe
LMPOP 1 nokey LEFT
LMPOP 2 nokey nokey2 RIGHT COUNT 3
LMPOP 0 l LEFT
LMPOP -1 l LEFT
LMPOP x l LEFT
LMPOP 2 l LEFT
LMPOP 3 l LEFT
LMPOP 9223372036854775807 l LEFT
LMPOP 1 l UP
LMPOP 1 l LEFT COUNT 0
LMPOP 1 l LEFT COUNT -1
LMPOP 1 l LEFT COUNT x
LMPOP 1 l LEFT COUNT 1 COUNT 1
LMPOP 1 l LEFT COUNT
LMPOP 1 l LEFT FOO
LMPOP 1 s LEFT
LMPOP 2 nokey s LEFT
RPUSH m 1 2 3
LMPOP 2 m s LEFT
LMPOP 2 s m LEFT
BLMPOP 0 1 nokey LEFT
BLMPOP 0 2 nokey m RIGHT COUNT 2
BLMPOP 0.5 1 m LEFT COUNT 5
LPUSHX m probe
BLMPOP x 1 m LEFT
BLMPOP -1 1 m LEFT
BLMPOP x 0 m LEFT
BLMPOP x 1 m UP
BLMPOP x 1 m LEFT COUNT 0
BLMPOP x 2 m LEFT
BLMPOP 0 1 s LEFT
BLMPOP 0 2 nokey s LEFT
BLMPOP 0 2 s nokey LEFT
`)
}

// TestListLarge exercises the ring buffer's wraparound and middle
// operations through the commands.
func TestListLarge(t *testing.T) {
	d := newDiffEnv(t)
	var b strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "RPUSH big r%d r%d x\nLPUSH big l%d x\n", i, i, i)
		if i%3 == 0 {
			b.WriteString("LPOP big 2\nRPOP big\n")
		}
		if i%5 == 0 {
			fmt.Fprintf(&b, "LINSERT big AFTER r%d ins%d\nLINSERT big BEFORE l%d insb%d\n", i/2, i, i/3, i)
			fmt.Fprintf(&b, "LSET big %d set%d\n", i, i)
		}
		if i%7 == 0 {
			b.WriteString("LREM big 3 x\nLREM big -2 x\n")
		}
		if i%11 == 0 {
			b.WriteString("LTRIM big 2 -3\n")
		}
		b.WriteString("LRANGE big 0 -1\nLPOS big x COUNT 0\n")
	}
	b.WriteString("LREM big 0 x\nLRANGE big 0 -1\nLMPOP 1 big RIGHT COUNT 50\nLRANGE big 0 -1\n")
	for i := 0; i < 30; i++ {
		b.WriteString("LMOVE big big RIGHT LEFT\nRPOPLPUSH big other\n")
	}
	b.WriteString("LRANGE big 0 -1\nLRANGE other 0 -1\n")
	d.runBlocking(b.String())
}

// TestListTimeoutParsing compares the timeout validation with Redis on a
// list that always has an element (so nothing blocks).
func TestListTimeoutParsing(t *testing.T) {
	d := newDiffEnv(t)
	cases := []string{
		"0", "-0", "1", "-1", "0.5", ".5", "5.", "+1", "00012", "1e3", "1E3", "1e+3", "1e-3", "1.e3",
		"abc", "", " ", " 1", "1 ", "\t1", "1\t", "\x0b1", "1\x00", "\x00", "1e", "1e+", "0.5e", ".", "-", "+",
		"+-1", ".e3", "-.e1", "1p3", "1_0", "0b1", "0o7", "0x", "0x10", "0X1P3", "0x.8", "0x1.p1", "0x.p1",
		"0x1p", "0x1p-10000", "0x1p16383", "0x1p16384", "0x7fffffffffffffff", "0xFFp-8",
		"inf", "-inf", "+inf", "INF", "infinity", "InFiNiTy", "infinit", "inf ", "nan", "-nan", "NAN", "nan(123)",
		"1e400", "-1e400", "1e4000", "1e5000", "1e-400", "-1e-400", "1e-4940", "1e-4950", "1e-4952", "1e-5000",
		"0e-5000", "0e999999999999999999999",
		"1.1897314953572317650e4932", "1.18973149535723176505e4932", "1.189731495357231765e4932",
		"1.1897314953572317651e4932", "1.18973149535723176509e4932",
		"9.3e15", "9.3e18", "1e16", "1e300",
		"9223372036854774", "9223372036854775", "9223372036854775.807", "9223372036854775.8068",
		"9223372036854775.8070", "9223372036854775.8071", "9223372036854775.8075", "9223372036854775.8079",
		"9223372036854775.80749999", "9223372036854775807", "-9223372036854775808",
		"-9223372036854775.807", "-9223372036854775.808", "-9223372036854775.809",
		"-0.001", "-0.0009", "-0.002", "-0.00099999999999999999", "-0.000999999999999999999999", "-0.5",
		"-0.9999", "-0.0000001", "-1.0000000001", "0.0000001", "0.000000001", "-0.0", "-0.0001", "0.0001",
		"1" + strings.Repeat("0", 5118), "1" + strings.Repeat("0", 5119), "0." + strings.Repeat("0", 5000) + "1",
		strings.Repeat("0", 5119), "0x" + strings.Repeat("f", 20),
	}
	for _, c := range cases {
		listTimeoutCase(d, c)
	}
	d.checkReplica()
}

func listTimeoutCase(d *diffEnv, timeout string) {
	d.t.Helper()
	if _, _, ok := d.doBlocking("RPUSH", "t", "x"); !ok {
		d.t.Fatalf("RPUSH disagrees")
	}
	r, s, ok := d.doBlocking("BLPOP", "t", timeout)
	if !ok {
		d.t.Errorf("BLPOP t %q\n  redis: %q\n  shoal: %q", timeout, r, s)
	}
	// Leave the list empty for the next case.
	d.doBlocking("LTRIM", "t", "1", "0")
}

func TestListWrongArity(t *testing.T) {
	// The server checks arity; handlers must still never panic.
	s := New(DefaultConfig())
	for _, name := range []string{"lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "llen", "lrange",
		"lindex", "lset", "linsert", "lrem", "ltrim", "lpos", "rpoplpush", "lmove", "lmpop", "blpop", "brpop",
		"blmove", "brpoplpush", "blmpop"} {
		for n := 0; n <= 3; n++ {
			args := []string{name}
			for i := 0; i < n; i++ {
				args = append(args, "1")
			}
			out := storeExec(s, 1, args...)
			if n == 0 && out != "-ERR wrong number of arguments for '"+name+"' command\r\n" {
				t.Errorf("%q: %q", args, out)
			}
		}
	}
}

func TestListEncodingAndType(t *testing.T) {
	s := New(DefaultConfig())
	storeExec(s, 1, "RPUSH", "l", "a")
	e := s.keys["l"]
	o := e.val.(object)
	if o.typeName() != "list" || o.encoding() != "quicklist" {
		t.Fatalf("type %q encoding %q", o.typeName(), o.encoding())
	}
	// Redis 7.0.15 says quicklist for every list, even a one-element one.
	d := newDiffEnv(t)
	if r := string(d.redis.Do("RPUSH", "l", "a")); r != ":1\r\n" {
		t.Fatal(r)
	}
	if r := string(d.redis.Do("OBJECT", "ENCODING", "l")); r != "$9\r\nquicklist\r\n" {
		t.Fatalf("redis OBJECT ENCODING of a small list: %q", r)
	}
	args := []string{"RPUSH", "big"}
	for i := 0; i < 300; i++ {
		args = append(args, strconv.Itoa(i)+strings.Repeat("x", 100))
	}
	d.redis.Do(args...)
	if r := string(d.redis.Do("OBJECT", "ENCODING", "big")); r != "$9\r\nquicklist\r\n" {
		t.Fatalf("redis OBJECT ENCODING of a big list: %q", r)
	}
}
