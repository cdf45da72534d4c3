package store

import (
	"fmt"
	"strings"
	"testing"
)

func TestHashBasics(t *testing.T) {
	d := newDiffEnv(t)
	d.setString("str", "x")
	d.run(`
HSET h f1 v1
HSET h f2 v2 f3 v3
HSET h f1 new f4 v4
HSET h f4 v4 f4 again
HGETALL h
HKEYS h
HVALS h
HLEN h
HGET h f1
HGET h nope
HGET nokey f1
HMGET h f1 nope f2 f1
HMGET nokey a b
HEXISTS h f2
HEXISTS h nope
HEXISTS nokey f
HSTRLEN h f1
HSTRLEN h nope
HSTRLEN nokey f
HSET h "" empty
HGET h ""
HSET h int 12345
HSTRLEN h int
HMSET h f5 v5 f6 v6
HGETALL h
HSETNX h f1 x
HSETNX h f7 v7
HSETNX newh a b
HGETALL newh
HDEL h f2 nope f2
HDEL h nope
HDEL nokey f
HGETALL h
HDEL h f1 f3 f4 "" int f5 f6 f7
HGETALL h
HLEN h
HDEL newh a
HGETALL newh
HKEYS nokey
HVALS nokey
HGETALL nokey
HLEN nokey
`)
	d.checkEncodings(false, "h", "newh")
	d.run(`
HSET h a 1 b
HMSET h a 1 b
HSET str a 1
HSET str a 1 b
HMSET str a 1
HSETNX str a 1
HGET str a
HMGET str a
HGETALL str
HKEYS str
HVALS str
HDEL str a
HEXISTS str a
HLEN str
HSTRLEN str a
HINCRBY str a 1
HINCRBYFLOAT str a 1
HSCAN str 0
HRANDFIELD str
HRANDFIELD str 1
`)
}

func TestHashListpackOrder(t *testing.T) {
	d := newDiffEnv(t)
	// Insertion order is kept while listpack-encoded, HDEL removes in place
	// and an update keeps the field's position.
	d.run(`
HSET h c 1 a 2 b 3 z 4 y 5
HDEL h a
HSET h a 6 c 7
HINCRBY h b 10
HINCRBYFLOAT h new 1.5
HGETALL h
HKEYS h
HVALS h
HSCAN h 0
HSCAN h 0 COUNT 1
HSCAN h 0 MATCH ?
HSCAN h 0 MATCH [ab] COUNT 100
HSCAN h 123
HSCAN h 0 MATCH *
HRANDFIELD h 100
HRANDFIELD h 100 WITHVALUES
HRANDFIELD h 6
`)
	d.checkEncodings(false, "h")
}

func TestHashEncodingConversion(t *testing.T) {
	d := newDiffEnv(t)
	long := strings.Repeat("x", 65)
	edge := strings.Repeat("y", 64)
	d.run(fmt.Sprintf(`
HSET edge %[2]s %[2]s
HSET f %[1]s v
HSET v f %[1]s
HSET nx a b
HSETNX nx a %[1]s
HSETNX nx2 a b
HSETNX nx2 b %[1]s
HSET inc a 1
HINCRBY inc %[1]s 1
HSET incf a 1
HINCRBYFLOAT incf %[1]s 1.5
HSET del a 1 %[1]s 2
HDEL del %[1]s
`, long, edge))
	d.checkEncodings(false, "edge", "f", "v", "nx", "nx2", "inc", "incf", "del")
	d.run(`
~2 HGETALL f
~2 HGETALL v
~2 HGETALL nx2
~2 HGETALL del
~ HKEYS del
HGETALL nx
`)

	// 512 fields stay a listpack, the 513th converts for good.
	d.run("HSET big " + hashsetSeq("f", 0, 512, true))
	d.checkEncodings(false, "big")
	d.run(`
HGETALL big
HSCAN big 0 COUNT 5
HSET big f512 v
`)
	d.checkEncodings(false, "big")
	d.run(`
HDEL big f512 f0 f1
HLEN big
~2 HGETALL big
~ HKEYS big
~ HVALS big
~2 HSCAN big 0 COUNT 10000
~2 HSCAN big 0 MATCH f1* COUNT 10000
HGET big f55
HMGET big f3 f4 nope
HSTRLEN big f100
HEXISTS big f1
HEXISTS big f2
HINCRBY big f2 1
HINCRBY big n 5
HINCRBYFLOAT big n 0.5
HGET big n
`)
	d.checkEncodings(false, "big")
	// Back under the limits: still a hashtable.
	var del strings.Builder
	for i := 2; i < 512; i++ {
		fmt.Fprintf(&del, " f%d", i)
	}
	d.run("HDEL big" + del.String())
	d.run(`
~2 HGETALL big
HLEN big
`)
	d.checkEncodings(false, "big")
	d.run(`HSET many ` + hashsetSeq("g", 0, 600, true))
	d.checkEncodings(false, "many")
	d.run(`
~2 HGETALL many
HLEN many
`)
}

func TestHashIncr(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
HINCRBY h a 5
HINCRBY h a -12
HINCRBY h a 0
HINCRBY h a abc
HINCRBY h a 1.5
HINCRBY h a ""
HINCRBY h a " 1"
HINCRBY h a 9223372036854775808
HSET h s hello big 9223372036854775807 small -9223372036854775808 sp " 1" lead 01 neg -0 plus +1 fl 1.5
HINCRBY h s 1
HINCRBY h sp 1
HINCRBY h lead 1
HINCRBY h neg 1
HINCRBY h plus 1
HINCRBY h fl 1
HINCRBY h big 1
HINCRBY h big 0
HINCRBY h big -1
HINCRBY h small -1
HINCRBY h small 1
HINCRBY h x 9223372036854775807
HINCRBY h x 1
HINCRBY h y -9223372036854775808
HINCRBY h y -1
HINCRBY h y 9223372036854775807
HGETALL h
HINCRBY newkey f -3
HGETALL newkey
`)
	d.checkEncodings(false, "h", "newkey")
}

func TestHashIncrByFloat(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
HINCRBYFLOAT h a 0.1
HINCRBYFLOAT h a 0.1
HINCRBYFLOAT h a 0.1
HINCRBYFLOAT h a -0.3
HINCRBYFLOAT h b 10.5
HINCRBYFLOAT h b -5.0e3
HINCRBYFLOAT h b 1e300
HINCRBYFLOAT h b -1e300
HINCRBYFLOAT h c 3
HINCRBYFLOAT h c 1.18e4932
HINCRBYFLOAT h c 1e4932
HINCRBYFLOAT h c -1.18e4932
HINCRBYFLOAT h d 1e4932
HINCRBYFLOAT h d 1e4932
HINCRBYFLOAT h e 1e-30
HINCRBYFLOAT h e -1e-30
HINCRBYFLOAT h e -1e-30
HINCRBYFLOAT h f 0x10
HINCRBYFLOAT h f 0x.8p1
HINCRBYFLOAT h f 0X1P3
HINCRBYFLOAT h f .5
HINCRBYFLOAT h f 5.
HINCRBYFLOAT h f +.5
HINCRBYFLOAT h f 1E2
HINCRBYFLOAT h f -0
HINCRBYFLOAT h f 1e-4950
HINCRBYFLOAT h f 0x1p-16445
HINCRBYFLOAT h f 0x1.8p-16446
HINCRBYFLOAT h f 0e999999999999
HINCRBYFLOAT h f 123456789012345678901234567890
HINCRBYFLOAT h f 0.00000000000000000000000000001
HINCRBYFLOAT h f 3.14159265358979323846264338327950288
HINCRBYFLOAT h f -99999999999999999999.123
HINCRBYFLOAT h g 1.5
HINCRBYFLOAT h g 0.0000000000000000001
HINCRBYFLOAT h g 123456.000000000000000000001
HINCRBYFLOAT h g 1e18
HINCRBYFLOAT h g 7.7e-7
HINCRBYFLOAT h g 12345678912345678912345
~2 HGETALL h
`)
	// Errors and the order of checks.
	d.setString("str", "x")
	d.run(`
HINCRBYFLOAT h z 0x
HINCRBYFLOAT h z 1e
HINCRBYFLOAT h z 1e+
HINCRBYFLOAT h z -
HINCRBYFLOAT h z +
HINCRBYFLOAT h z .
HINCRBYFLOAT h z ""
HINCRBYFLOAT h z " 1"
HINCRBYFLOAT h z "1 "
HINCRBYFLOAT h z "\t1"
HINCRBYFLOAT h z 1_0
HINCRBYFLOAT h z nan
HINCRBYFLOAT h z -nan
HINCRBYFLOAT h z NaN
HINCRBYFLOAT h z "1\x002"
HINCRBYFLOAT h z "\x00"
HINCRBYFLOAT h z 1e-4951
HINCRBYFLOAT h z 1e-5000
HINCRBYFLOAT h z 1e5000
HINCRBYFLOAT h z -1e5000
HINCRBYFLOAT h z 0x1p-16446
HINCRBYFLOAT h z 0x1p16384
HINCRBYFLOAT h z 0x1p16383
HINCRBYFLOAT h z 0x1.fffffffffffffffep16383
HINCRBYFLOAT h z 0x1.ffffffffffffffffp16383
HINCRBYFLOAT h z inf
HINCRBYFLOAT h z -inf
HINCRBYFLOAT h z +inf
HINCRBYFLOAT h z INFINITY
HINCRBYFLOAT h z infinit
HINCRBYFLOAT h z infx
HINCRBYFLOAT str z inf
HINCRBYFLOAT str z abc
HINCRBYFLOAT str z 1
HINCRBYFLOAT nokey z abc
HSET h s hello i inf ni -inf sp " 1" nul "1\x00" hex 0x1A e 1e2 big 1e4932
HINCRBYFLOAT h s 1
HINCRBYFLOAT h i 1
HINCRBYFLOAT h ni 1
HINCRBYFLOAT h sp 1
HINCRBYFLOAT h nul 1
HINCRBYFLOAT h hex 1
HINCRBYFLOAT h e 1
HINCRBYFLOAT h big 1e4932
HINCRBYFLOAT h big -1e4932
~2 HGETALL h
`)
	d.checkEncodings(false, "h")
	// The effect is an HSET of the result.
	d.master.TakeEffects()
	storeExec(d.master, 1, "HINCRBYFLOAT", "eff", "f", "0.1")
	eff, n := d.master.TakeEffects()
	if want := "*4\r\n$4\r\nHSET\r\n$3\r\neff\r\n$1\r\nf\r\n$3\r\n0.1\r\n"; n != 1 || string(eff) != want {
		t.Errorf("effect of HINCRBYFLOAT = %d %q, want %q", n, eff, want)
	}
}

func TestHashScanHashtable(t *testing.T) {
	d := newDiffEnv(t)
	d.run("HSET h " + hashsetSeq("f", 0, 600, true))
	d.checkEncodings(false, "h")
	d.run(`
~2 HSCAN h 0 COUNT 100000
~2 HSCAN h 0 MATCH f2?? COUNT 100000
~2 HSCAN h 0 MATCH nothing* COUNT 100000
HSCAN h 0 COUNT 0
HSCAN h 0 COUNT -1
HSCAN h 0 COUNT x
HSCAN h 0 MATCH
HSCAN h 0 TYPE hash
HSCAN h 0 COUNT 1 junk
HSCAN h x
HSCAN h " 0"
HSCAN h 18446744073709551616
HSCAN nokey 0 COUNT 0 junk
HSCAN nokey x
`)
	// A full iteration with small counts returns every field exactly once,
	// even when fields change meanwhile.
	s := d.master
	seen := map[string]int{}
	cursor := "0"
	for i := 0; ; i++ {
		r := []byte(storeExec(s, 1, "HSCAN", "h", cursor, "COUNT", "7"))
		top, ok := splitFrames(r)
		if !ok || len(top) != 2 {
			t.Fatalf("HSCAN reply %q", r)
		}
		cursor = bulkTexts(t, append([]byte("*1\r\n"), top[0]...))[0]
		elems := bulkTexts(t, top[1])
		for j := 0; j < len(elems); j += 2 {
			seen[elems[j]]++
			if want := "v" + strings.TrimPrefix(elems[j], "f"); elems[j+1] != want && !strings.HasPrefix(elems[j], "new") {
				t.Errorf("HSCAN value of %s = %s", elems[j], elems[j+1])
			}
		}
		if i == 3 {
			storeExec(s, 1, "HDEL", "h", "f599", "f598")
			storeExec(s, 1, "HSET", "h", "new1", "x", "new2", "y")
		}
		if cursor == "0" {
			break
		}
	}
	for i := 0; i < 598; i++ {
		if n := seen[fmt.Sprintf("f%d", i)]; n != 1 {
			t.Errorf("f%d returned %d times", i, n)
		}
	}
	if r := storeExec(s, 1, "HSCAN", "h", "999999", "COUNT", "7"); r != "-ERR invalid cursor\r\n" {
		t.Errorf("unknown cursor: %q", r)
	}
}

func TestHashRandField(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
HRANDFIELD nokey
HRANDFIELD nokey 5
HRANDFIELD nokey -5 WITHVALUES
HRANDFIELD nokey 0
HSET h a 1 b 2 c 3 d 4 e 5
? HRANDFIELD h
HRANDFIELD h 0
HRANDFIELD h 0 WITHVALUES
HRANDFIELD h 5
HRANDFIELD h 6 WITHVALUES
HRANDFIELD h abc
HRANDFIELD h 1.5
HRANDFIELD h 1 WITHSCORES
HRANDFIELD h 1 WITHVALUES x
HRANDFIELD h -9223372036854775808
HRANDFIELD h -9223372036854775807 WITHVALUES
HRANDFIELD h 4611686018427387904 WITHVALUES
HRANDFIELD h -4611686018427387904 WITHVALUES
HRANDFIELD nokey 4611686018427387904 WITHVALUES
HRANDFIELD nokey abc
`)
	// Random replies: check shape, count and uniqueness against the store.
	big := hashsetSeq("f", 0, 600, true)
	storeExec(d.master, 1, strings.Fields("HSET big "+big)...)
	for _, key := range []string{"h", "big"} {
		size := 5
		if key == "big" {
			size = 600
		}
		for _, count := range []int{1, 2, 3, 4, -1, -3, -10, 60, 150, 199, 250, 599, 600, 601} {
			for _, wv := range []bool{false, true} {
				args := []string{"HRANDFIELD", key, fmt.Sprint(count)}
				if wv {
					args = append(args, "WITHVALUES")
				}
				elems := bulkTexts(t, []byte(storeExec(d.master, 1, args...)))
				per := 1
				if wv {
					per = 2
				}
				want := count
				if count < 0 {
					want = -count
				} else if count > size {
					want = size
				}
				if len(elems) != want*per {
					t.Errorf("%v: %d elements, want %d", args, len(elems), want*per)
					continue
				}
				seen := map[string]bool{}
				for i := 0; i < len(elems); i += per {
					f := elems[i]
					v := storeExec(d.master, 1, "HGET", key, f)
					if v == "$-1\r\n" {
						t.Errorf("%v: %q is not a field", args, f)
					}
					if wv && v != fmt.Sprintf("$%d\r\n%s\r\n", len(elems[i+1]), elems[i+1]) {
						t.Errorf("%v: value of %q is %q, HGET says %q", args, f, elems[i+1], v)
					}
					if count > 0 && seen[f] {
						t.Errorf("%v: %q twice", args, f)
					}
					seen[f] = true
				}
			}
		}
	}
	// Negative counts do repeat and do cover the hash.
	elems := bulkTexts(t, []byte(storeExec(d.master, 1, "HRANDFIELD", "h", "-1000")))
	seen := map[string]int{}
	for _, e := range elems {
		seen[e]++
	}
	if len(seen) != 5 {
		t.Errorf("HRANDFIELD h -1000 covered %d fields: %v", len(seen), seen)
	}
}

func TestHashTouchAndEffects(t *testing.T) {
	s := New(DefaultConfig())
	var touched []string
	s.Touched = func(k []byte) { touched = append(touched, string(k)) }
	cases := []struct {
		cmd     string
		touched bool
		effects int
	}{
		{"HSET h a 1", true, 1},
		{"HSET h a 1", true, 1},
		{"HSETNX h a 2", false, 0},
		{"HSETNX h b 2", true, 1},
		{"HDEL h zz", false, 0},
		{"HDEL nokey a", false, 0},
		{"HINCRBY h a x", false, 0},
		{"HINCRBY h a 1", true, 1},
		{"HINCRBYFLOAT h a 1", true, 1},
		{"HGET h a", false, 0},
		{"HGETALL h", false, 0},
		{"HRANDFIELD h -5", false, 0},
		{"HSCAN h 0", false, 0},
		{"HDEL h a b", true, 1},
	}
	for _, c := range cases {
		touched = nil
		storeExec(s, 1, strings.Fields(c.cmd)...)
		_, n := s.TakeEffects()
		if (len(touched) > 0) != c.touched || n != c.effects {
			t.Errorf("%s: touched %v, %d effects; want touched=%v, %d effects", c.cmd, touched, n, c.touched, c.effects)
		}
	}
	if s.Len() != 0 {
		t.Errorf("empty hash kept: %d keys", s.Len())
	}
}

func TestHashNoPanicOnShortArgs(t *testing.T) {
	s := New(DefaultConfig())
	for _, name := range []string{"hset", "hmset", "hsetnx", "hget", "hmget", "hgetall", "hkeys", "hvals", "hdel",
		"hexists", "hlen", "hstrlen", "hincrby", "hincrbyfloat", "hscan", "hrandfield"} {
		for n := 1; n <= 3; n++ {
			args := []string{name, "k", "f"}[:n]
			r := storeExec(s, 1, args...)
			if !strings.HasPrefix(r, "-ERR wrong number of arguments for '"+name+"'") && n < 3 {
				// some commands are complete with 2 or 3 arguments
				if !(n == 2 && (name == "hgetall" || name == "hkeys" || name == "hvals" || name == "hlen" || name == "hrandfield")) {
					t.Errorf("%v: %q", args, r)
				}
			}
		}
	}
}
