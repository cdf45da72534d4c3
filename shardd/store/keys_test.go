package store

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestKeysDelExistsType(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
DEL nokey
MSET a 1 b 2 c 3
EXISTS a
EXISTS a b nokey a
DEL a nokey
DEL a
EXISTS a
DEL b c b
EXISTS b c
MSET a 1 b 2
UNLINK a b nokey
UNLINK a
EXISTS a b
TOUCH nokey
SET a 1
TOUCH a a nokey
TYPE nokey
TYPE a
!list l
TYPE l
!hash h
TYPE h
!set s
TYPE s
!zset z
TYPE z
DEL l h s z
EXISTS l h s z
APPEND r x
APPEND r y
TYPE r
DBSIZE
`)
}

func TestKeysExpire(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
EXPIRE nokey 100
PEXPIRE nokey 100
EXPIREAT nokey 100
PEXPIREAT nokey 100
SET k v
EXPIRE k 100
%1 TTL k
%10 PTTL k
PEXPIRE k 200000
%1 TTL k
EXPIREAT k 99999999999
%1 TTL k
EXPIRETIME k
PEXPIRETIME k
PEXPIREAT k 99999999999999
%100 PTTL k
EXPIRETIME k
PEXPIRETIME k
PEXPIREAT k 99999999999500
EXPIRETIME k
PEXPIREAT k 99999999999499
EXPIRETIME k
EXPIRE k abc
EXPIRE k 1.5
EXPIRE k ""
EXPIRE k 100 foo
EXPIRE k abc foo
EXPIRE nokey 100 foo
EXPIRE k 100 nx xx
EXPIRE k 100 NX GT
EXPIRE k 100 nx lt
EXPIRE k 100 gt lt
EXPIRE k 100 GT LT XX
EXPIRE k 100 xx NX
EXPIRE k 100 "nx\x00zz"
EXPIRE k 100 "foo\x00zz"
EXPIRE k 9223372036854775807
EXPIRE k 9223372036854775
EXPIRE k -9223372036854775808
EXPIRE k -9223372036854776
PEXPIRE k 9223372036854775807
PEXPIRE nokey 9223372036854775807
EXPIREAT k 9223372036854775808
EXPIREAT k 9223372036854775807
EXPIREAT k -9223372036854775807
PEXPIREAT k 9223372036854775807
%100 PTTL k
EXISTS k
SET k v
EXPIRE k 100 NX
%1 TTL k
EXPIRE k 200 NX
%1 TTL k
EXPIRE k 200 XX
%1 TTL k
EXPIRE k 100 GT
EXPIRE k 300 GT
%1 TTL k
EXPIRE k 400 LT
EXPIRE k 50 LT
%1 TTL k
EXPIRE k 50 LT XX
EXPIRE k 40 xx lt
%1 TTL k
EXPIRE k 30 GT XX
PERSIST k
PERSIST k
TTL k
EXPIRE k 100 XX
EXPIRE k 100 GT
EXPIRE k 100 LT
%1 TTL k
PERSIST k
EXPIRE k -1 LT
EXISTS k
SET k v
EXPIRE k 0
EXISTS k
SET k v
PEXPIRE k -100
EXISTS k
SET k v
EXPIREAT k 1
EXISTS k
SET k v
PEXPIREAT k 1000
GET k
SET k v EX 100
EXPIRE k 0 NX
EXISTS k
EXPIRE k 0 GT
EXISTS k
EXPIRE k 0 XX
EXISTS k
PERSIST nokey
TTL nokey
PTTL nokey
EXPIRETIME nokey
PEXPIRETIME nokey
SET k v
TTL k
PTTL k
EXPIRETIME k
PEXPIRETIME k
!list l
EXPIRE l 100
%1 TTL l
PERSIST l
TTL l
`)
}

// TestKeysLazyExpiry lets TTLs pass for real: an expired key is invisible
// to every command, and the master's DEL reaches the replica.
func TestKeysLazyExpiry(t *testing.T) {
	d := newDiffEnv(t)
	var setup, check strings.Builder
	cmds := []string{"GET", "EXISTS", "TYPE", "TTL", "PTTL", "EXPIRETIME", "PERSIST", "EXPIRE %s 100",
		"STRLEN", "APPEND %s x", "INCR", "GETDEL", "GETEX", "SETRANGE %s 1 x", "GETRANGE %s 0 -1",
		"OBJECT ENCODING", "RENAME %s fresh", "COPY %s fresh2", "TOUCH", "DEL", "UNLINK", "SET %s v NX",
		"SET %s v XX", "MSETNX %s v", "INCRBYFLOAT %s 1", "RENAMENX %s fresh3", "COPY src %s", "KEYS %s*",
		"SET %s v GET", "GETSET %s v"}
	for i := range cmds {
		fmt.Fprintf(&setup, "SET e%d 5 PX 30\n", i)
	}
	setup.WriteString("SET src v\nSET keep v PX 30000\n")
	for i, c := range cmds {
		key := "e" + strconv.Itoa(i)
		if strings.Contains(c, "%s") {
			c = fmt.Sprintf(c, key)
		} else {
			c += " " + key
		}
		if strings.HasPrefix(c, "KEYS") {
			c = "~ " + c
		}
		check.WriteString(c + "\n")
	}
	// No DBSIZE: redis's active expiry may already have removed keys
	// that only KEYS looked at.
	check.WriteString("~ KEYS *\n")
	strkeysRun(d, setup.String())
	time.Sleep(80 * time.Millisecond)
	strkeysRun(d, check.String())
}

// TestKeysReplicaHidesExpired: a replica never deletes an expired key on
// its own, but no read shows it.
func TestKeysReplicaHidesExpired(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Replica = true
	s := New(cfg)
	now := int64(1_000_000)
	s.setKey([]byte("gone"), []byte("v"), now-1)
	s.setKey([]byte("live"), []byte("v"), 0)
	ex := func(args ...string) string {
		b := byteArgs(args...)
		return string(s.Exec(now, b, nil))
	}
	for _, tc := range []struct{ cmd, want string }{
		{"EXISTS gone", ":0\r\n"},
		{"TYPE gone", "+none\r\n"},
		{"TTL gone", ":-2\r\n"},
		{"GET gone", "$-1\r\n"},
		{"KEYS *", "*1\r\n$4\r\nlive\r\n"},
		{"SCAN 0", "*2\r\n$1\r\n0\r\n*1\r\n$4\r\nlive\r\n"},
		{"DBSIZE", ":2\r\n"},
		{"OBJECT ENCODING gone", "$-1\r\n"},
	} {
		if got := ex(strings.Fields(tc.cmd)...); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.cmd, got, tc.want)
		}
	}
	for range 20 {
		if got := ex("RANDOMKEY"); got != "$4\r\nlive\r\n" {
			t.Fatalf("RANDOMKEY = %q", got)
		}
	}
	if s.Len() != 2 {
		t.Fatalf("replica deleted a key: %d left", s.Len())
	}
	if eff, n := s.TakeEffects(); n != 0 {
		t.Fatalf("replica recorded effects %q", eff)
	}
	// Every key expired: RANDOMKEY answers one anyway, as Redis does.
	ex("DEL", "live")
	if got := ex("RANDOMKEY"); got != "$4\r\ngone\r\n" {
		t.Fatalf("RANDOMKEY with only expired keys = %q", got)
	}
}

func TestKeysKeys(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
KEYS *
MSET hello 1 hallo 2 hxllo 3 hllo 4 heeeello 5 "a*b" 6 "" 7 "h\nllo" 8 x 9 H 10
~ KEYS *
~ KEYS h?llo
~ KEYS h*llo
~ KEYS h[ae]llo
~ KEYS h[^e]llo
~ KEYS h[a-b]llo
~ KEYS a\*b
~ KEYS a*
~ KEYS **
~ KEYS ""
~ KEYS ?
~ KEYS [
~ KEYS h[
~ KEYS nomatch
~ KEYS h
!list hlist
~ KEYS h*
`)
}

func TestKeysScanSmall(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
SCAN 0
SCAN abc
SCAN ""
SCAN +0
SCAN -0
SCAN 00
SCAN " 0"
SCAN "0 "
SCAN +
SCAN -
SCAN 18446744073709551616
SCAN "0\x00junk"
SCAN 0 COUNT 0
SCAN 0 COUNT -1
SCAN 0 COUNT abc
SCAN abc COUNT 0
SCAN 0 MATCH
SCAN 0 FOO bar
SCAN 0 TYPE
SCAN 0 COUNT 5 FOO
MSET a1 1 a2 2 b1 3 "" 4
!list la
!hash ha
!set sa
!zset za
~ SCAN 0
~ SCAN 0 COUNT 100
~ SCAN 0 MATCH a*
~ SCAN 0 MATCH *
~ SCAN 0 MATCH ""
~ SCAN 0 MATCH ?1 COUNT 20
~ SCAN 0 TYPE string
~ SCAN 0 TYPE STRING
~ SCAN 0 TYPE list
~ SCAN 0 TYPE hash
~ SCAN 0 TYPE set
~ SCAN 0 TYPE zset
~ SCAN 0 TYPE none
~ SCAN 0 TYPE stream
~ SCAN 0 TYPE foo
~ SCAN 0 MATCH *a TYPE list COUNT 50
~ SCAN 0 count 50 match ?a type "set\x00x"
SET expired v PXAT 1
~ SCAN 0
`)
}

// TestKeysScanFull walks whole SCAN iterations (with COUNT, MATCH and TYPE)
// on redis and on the store and compares the keys returned; cursors differ
// by design.
func TestKeysScanFull(t *testing.T) {
	d := newDiffEnv(t)
	var b strings.Builder
	for i := range 300 {
		fmt.Fprintf(&b, "SET k%d %d\n", i, i)
	}
	for i := range 20 {
		fmt.Fprintf(&b, "!list l%d\n", i)
	}
	strkeysRun(d, b.String())
	scanAll := func(do func(args ...string) []byte, opts ...string) []string {
		var keys []string
		cursor := "0"
		for calls := 0; ; calls++ {
			if calls > 1000 {
				t.Fatal("SCAN does not end")
			}
			reply := do(append([]string{"SCAN", cursor}, opts...)...)
			elems, ok := splitFrames(reply)
			if !ok || len(elems) != 2 {
				t.Fatalf("SCAN reply %q", reply)
			}
			cursor = bulkText(elems[0])
			inner, ok := splitFrames(elems[1])
			if !ok {
				t.Fatalf("SCAN reply %q", reply)
			}
			for _, e := range inner {
				keys = append(keys, bulkText(e))
			}
			if cursor == "0" {
				break
			}
		}
		sort.Strings(keys)
		return keys
	}
	store := func(args ...string) []byte { _, s := d.do(args...); return s }
	redis := func(args ...string) []byte { return d.redis.Do(args...) }
	for _, opts := range [][]string{
		nil, {"COUNT", "1"}, {"COUNT", "7"}, {"COUNT", "1000"}, {"MATCH", "k1*"}, {"MATCH", "k1*", "COUNT", "3"},
		{"TYPE", "list"}, {"TYPE", "string", "COUNT", "50"}, {"MATCH", "l1*", "TYPE", "list"},
	} {
		r, s := scanAll(redis, opts...), scanAll(store, opts...)
		if !slices.Equal(r, s) {
			t.Errorf("SCAN %v: redis %d keys, store %d keys\nredis: %v\nstore: %v", opts, len(r), len(s), r, s)
		}
	}
	// A key present for the whole iteration is returned exactly once, even
	// while other keys come and go.
	seen := map[string]int{}
	cursor := "0"
	for i := 0; ; i++ {
		_, reply := d.do("SCAN", cursor, "COUNT", "5")
		elems, _ := splitFrames(reply)
		cursor = bulkText(elems[0])
		inner, _ := splitFrames(elems[1])
		for _, e := range inner {
			seen[bulkText(e)]++
		}
		d.do("SET", "new"+strconv.Itoa(i), "x")
		d.do("DEL", "k"+strconv.Itoa(299-i))
		if cursor == "0" {
			break
		}
	}
	for i := range 150 {
		if n := seen["k"+strconv.Itoa(i)]; n != 1 {
			t.Errorf("k%d returned %d times", i, n)
		}
	}
	// FLUSHALL drops every cursor.
	_, reply := d.do("SCAN", "0", "COUNT", "1")
	elems, _ := splitFrames(reply)
	cursor = bulkText(elems[0])
	d.do("FLUSHALL")
	if _, got := d.do("SCAN", cursor); string(got) != "-"+ErrInvalidCurs+"\r\n" {
		t.Errorf("SCAN after FLUSHALL = %q", got)
	}
	d.checkReplica()
}

func TestKeysRandomKey(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
RANDOMKEY
SET only v
RANDOMKEY
SET gone v PXAT 1
RANDOMKEY
MSET a 1 b 2 c 3
? RANDOMKEY
`)
	seen := map[string]bool{}
	for range 200 {
		_, r := d.do("RANDOMKEY")
		seen[bulkText(r)] = true
	}
	if len(seen) < 3 {
		t.Errorf("RANDOMKEY over 4 keys returned only %v", seen)
	}
	// On a master, expired keys met are deleted and their DEL recorded.
	s := New(DefaultConfig())
	for i := range 50 {
		s.setKey([]byte("x"+strconv.Itoa(i)), []byte("v"), 10)
	}
	s.setKey([]byte("live"), []byte("v"), 0)
	if got := string(s.Exec(100, [][]byte{[]byte("RANDOMKEY")}, nil)); got != "$4\r\nlive\r\n" {
		t.Fatalf("RANDOMKEY = %q", got)
	}
	_, n := s.TakeEffects()
	if n != 50-(s.Len()-1) {
		t.Fatalf("%d DELs recorded, %d keys deleted", n, 50-(s.Len()-1))
	}
	s.Exec(100, [][]byte{[]byte("DEL"), []byte("live")}, nil)
	if got := string(s.Exec(100, [][]byte{[]byte("RANDOMKEY")}, nil)); got != "$-1\r\n" || s.Len() != 0 {
		t.Fatalf("RANDOMKEY = %q with %d keys left", got, s.Len())
	}
}

func TestKeysRename(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
RENAME nokey x
RENAME nokey nokey
RENAMENX nokey x
SET a 1
RENAME a a
RENAMENX a a
GET a
RENAME a b
EXISTS a
GET b
SET c 3 EX 100
RENAME c b
%1 TTL b
GET b
SET d 4
RENAME d b
TTL b
SET e 5 EX 100
RENAMENX e b
RENAMENX e f
%1 TTL f
GET f
!list l
RENAME l b
TYPE b
RENAME b l2
TYPE l2
SET s v
RENAME s l2
TYPE l2
APPEND r x
RENAME r r2
OBJECT ENCODING r2
SET i 5
RENAME i i2
OBJECT ENCODING i2
`)
}

func TestKeysCopy(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
COPY nokey x
COPY a a
COPY nokey nokey
COPY a a DB 0
COPY a b FOO
COPY a b DB
COPY a b DB abc
COPY a b DB 2147483648
COPY a b DB -2147483649
COPY a b DB 16
COPY a b DB -1
COPY a b REPLACE FOO
SET a 1
COPY a b
GET b
COPY a b
SET a 2
COPY a b REPLACE
GET b
COPY a b replace replace
COPY a b DB 0 REPLACE
COPY a b REPLACE DB 0
COPY a b "replace\x00x"
SET t v EX 100
COPY t b REPLACE
%1 TTL b
GET b
SET t2 w
COPY t2 b REPLACE
TTL b
APPEND r x
COPY r r2
OBJECT ENCODING r2
APPEND r2 y
GET r
GET r2
APPEND r z
GET r
GET r2
SET i 12345
COPY i i2
OBJECT ENCODING i2
SET e hello
COPY e e2
OBJECT ENCODING e2
!list l
COPY l l2
TYPE l2
COPY a l
COPY a l REPLACE
TYPE l
`)
}

func TestKeysFlush(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
MSET a 1 b 2
DBSIZE
FLUSHDB
DBSIZE
MSET a 1 b 2
FLUSHALL
DBSIZE
SET a 1
FLUSHALL ASYNC
FLUSHALL sync
FLUSHDB async
FLUSHDB SYNC
SET a 1
FLUSHALL foo
FLUSHDB foo
FLUSHALL async sync
FLUSHALL "sync\x00x"
DBSIZE
SET a 1 EX 100
DBSIZE
FLUSHALL
GET a
`)
}

func TestKeysObject(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
OBJECT
OBJECT HELP
object help
OBJECT HELP extra
OBJECT FOO
OBJECT FOO bar
OBJECT encoding
OBJECT ENCODING a b
OBJECT ENCODING nokey
OBJECT FREQ nokey
OBJECT IDLETIME nokey
OBJECT REFCOUNT nokey
SET a hello
OBJECT ENCODING a
OBJECT encoding a
OBJECT FREQ a
OBJECT freq
OBJECT IDLETIME a
OBJECT REFCOUNT a
SET n 5
OBJECT REFCOUNT n
`)
	long := strings.Repeat("x", 200)
	strkeysRun(d, "OBJECT "+long+"\n")
}

func TestKeysEffects(t *testing.T) {
	s := New(DefaultConfig())
	now := int64(1_700_000_000_000)
	cases := []effectCase{
		{"MSET a 1 b 2 c 3", "MSET a 1 b 2 c 3"},
		{"DEL a", "DEL a"},
		{"DEL a", ""},
		{"DEL b x b c", "DEL b c"},
		{"MSET a 1 b 2", "MSET a 1 b 2"},
		{"UNLINK a b", "UNLINK a b"},
		{"SET k v", "SET k v"},
		{"EXPIRE k 10", "PEXPIREAT k " + strconv.FormatInt(now+10000, 10)},
		{"EXPIRE k 10 NX", ""},
		{"PEXPIRE k 10", "PEXPIREAT k " + strconv.FormatInt(now+10, 10)},
		{"EXPIREAT k 2000000000", "PEXPIREAT k 2000000000000"},
		{"PEXPIREAT k 2000000000001", "PEXPIREAT k 2000000000001"},
		{"PERSIST k", "PERSIST k"},
		{"PERSIST k", ""},
		{"EXPIRE nokey 10", ""},
		{"EXPIRE k -1", "DEL k"},
		{"SET k v", "SET k v"},
		{"PEXPIREAT k 5", "DEL k"},
		{"SET k v", "SET k v"},
		{"RENAME k k", ""},
		{"RENAME k j", "RENAME k j"},
		{"RENAMENX j j", ""},
		{"COPY j i", "COPY j i"},
		{"COPY j i", ""},
		{"TOUCH i j", ""},
		{"EXISTS i j", ""},
		{"FLUSHDB", "FLUSHALL"},
		{"FLUSHALL ASYNC", "FLUSHALL"},
	}
	checkEffects(t, s, now, cases)
}

// TestKeysTouch checks that every key a write changes is signalled.
func TestKeysTouch(t *testing.T) {
	s := New(DefaultConfig())
	var touched []string
	s.Touched = func(k []byte) { touched = append(touched, string(k)) }
	flushed := 0
	s.Flushed = func() { flushed++ }
	now := int64(1_000_000)
	cases := []struct {
		cmd  string
		want []string
	}{
		{"SET a 1", []string{"a"}},
		{"SET a 1 NX", nil},
		{"GET a", nil},
		{"MSET b 2 c 3", []string{"b", "c"}},
		{"INCR a", []string{"a"}},
		{"INCRBYFLOAT a 1", []string{"a"}},
		{"APPEND a x", []string{"a"}},
		{"SETRANGE a 0 y", []string{"a"}},
		{"SETRANGE a 0 \"\"", nil},
		{"GETSET a z", []string{"a"}},
		{"GETEX a EX 10", []string{"a"}},
		{"GETEX a PERSIST", []string{"a"}},
		{"GETEX a", nil},
		{"EXPIRE a 10", []string{"a"}},
		{"PERSIST a", []string{"a"}},
		{"RENAME a d", []string{"a", "d"}},
		{"COPY d e", []string{"e"}},
		{"DEL d e nokey", []string{"d", "e"}},
		{"GETDEL b", []string{"b"}},
		{"MSETNX x 1 y 2", []string{"x", "y"}},
		{"SETEX s 10 v", []string{"s"}},
		{"EXISTS s x", nil},
	}
	for _, tc := range cases {
		touched = nil
		args := splitArgs(tc.cmd)
		b := byteArgs(args...)
		s.Exec(now, b, nil)
		if !slices.Equal(touched, tc.want) {
			t.Errorf("%s touched %v, want %v", tc.cmd, touched, tc.want)
		}
	}
	s.Exec(now, [][]byte{[]byte("FLUSHALL")}, nil)
	if flushed != 1 {
		t.Errorf("FLUSHALL: Flushed called %d times", flushed)
	}
}

// TestKeysStats compares keyspace_hits and keyspace_misses with redis's
// after commands that read, write, or both.
func TestKeysStats(t *testing.T) {
	d := newDiffEnv(t)
	d.redis.Do("CONFIG", "RESETSTAT")
	script := `SET a 1
SET b hello EX 100
GET a
GET nokey
MGET a b nokey
EXISTS a nokey
TOUCH a nokey
TYPE a
TYPE nokey
TTL a
PTTL nokey
EXPIRETIME b
STRLEN a
STRLEN nokey
GETRANGE b 0 1
GETRANGE nokey 0 1
SET a 2 GET
SET c 3 GET
SETNX a 1
GETSET a 3
GETDEL c
GETDEL c
GETEX a
GETEX nokey
INCR a
INCRBYFLOAT a 1
APPEND a x
SETRANGE a 0 y
MSETNX a 1 z 2
COPY a a2
COPY nokey a3
RENAME a2 a4
EXPIRE a4 100
PERSIST a4
DEL a4 nokey
OBJECT ENCODING a
OBJECT ENCODING nokey
KEYS *
SCAN 0
SCAN 0 TYPE string
RANDOMKEY
SET gone v PXAT 1
EXISTS gone`
	for _, line := range strings.Split(script, "\n") {
		d.do(splitArgs(line)...)
	}
	info := string(d.redis.Do("INFO", "stats"))
	field := func(name string) int64 {
		i := strings.Index(info, name+":")
		if i < 0 {
			t.Fatalf("no %s in INFO", name)
		}
		rest := info[i+len(name)+1:]
		v, _ := strconv.ParseInt(rest[:strings.IndexByte(rest, '\r')], 10, 64)
		return v
	}
	st := d.master.Stats()
	if h, m := field("keyspace_hits"), field("keyspace_misses"); st.Hits != h || st.Misses != m {
		t.Errorf("hits/misses: redis %d/%d, store %d/%d", h, m, st.Hits, st.Misses)
	}
}
