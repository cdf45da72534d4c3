package store

import (
	"strconv"
	"strings"
	"testing"
)

// Cursor arguments that Redis's strtoul-based parsing reads as 0, as
// another number, or refuses, in ways a naive parser would not.
var (
	scanCursorZero    = []string{"0", "", "+0", "-0", "00", "0\x00junk", "\x00", "\x00x"}
	scanCursorNonzero = []string{"+5", "-1", "18446744073709551615", "-18446744073709551615", "5\x00"}
	scanCursorInvalid = []string{"18446744073709551616", "+", "-", "+-1", " 0", "0 ", "\t0", "0x0", "abc", "1e3"}
)

// TestScanCursorFormsDiff: HSCAN, SSCAN and ZSCAN on small encodings
// (which Redis answers whole, whatever a valid cursor says) and on missing
// keys with every cursor form; SCAN and an SSCAN of a hashtable with the
// forms of 0 and invalid ones (other cursors differ by design); plus
// option words compared as C strings.
func TestScanCursorFormsDiff(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
HSET h a 1 b 2
SADD s 1 2 3
SADD sh a b
ZADD z 1 a 2 b
SET k v
`)
	all := append(append(append([]string{}, scanCursorZero...), scanCursorNonzero...), scanCursorInvalid...)
	for _, cur := range all {
		d.check("", "HSCAN", "h", cur)
		d.check("", "HSCAN", "nokey", cur)
		d.check("", "SSCAN", "s", cur)
		d.check("", "ZSCAN", "z", cur)
		d.check("", "ZSCAN", "nokey", cur, "COUNT", "0")
	}
	for _, cur := range append(append([]string{}, scanCursorZero...), scanCursorInvalid...) {
		d.check("~", "SSCAN", "sh", cur)
		d.check("~", "SCAN", cur)
	}
	d.run(`
HSCAN h 0 "count\x00junk" 5
HSCAN h 0 "MATCH\x00" a
SSCAN s 0 "count\x00" 0
ZSCAN z 0 "match\x00x" b "COUNT\x00" 3
ZSCAN z 0 "COUNT\x00" x
SCAN 0 "match\x00" nothing* "type\x00" "string\x00x"
`)
}

// TestScanStepEndsAtCount: an iteration that ends exactly after COUNT
// elements answers cursor 0 at once (scanStep fetches one element ahead).
func TestScanStepEndsAtCount(t *testing.T) {
	s := New(DefaultConfig())
	long := strings.Repeat("v", 70) // beyond the listpack limits
	for i := 0; i < 20; i++ {
		storeExec(s, 1, "HSET", "h", "f"+strconv.Itoa(i), long)
		storeExec(s, 1, "SADD", "s", "m"+strconv.Itoa(i))
		storeExec(s, 1, "ZADD", "z", strconv.Itoa(i), long+strconv.Itoa(i))
		storeExec(s, 1, "SET", "k"+strconv.Itoa(i), "v")
	}
	storeExec(s, 1, "DEL", "h", "s", "z") // the keyspace: 20 string keys
	for i := 0; i < 20; i++ {
		storeExec(s, 1, "HSET", "h", "f"+strconv.Itoa(i), long)
		storeExec(s, 1, "SADD", "s", "m"+strconv.Itoa(i))
		storeExec(s, 1, "ZADD", "z", strconv.Itoa(i), long+strconv.Itoa(i))
	}
	scan := func(args ...string) (string, []string) {
		t.Helper()
		reply := []byte(storeExec(s, 1, args...))
		elems, ok := splitFrames(reply)
		if !ok || len(elems) != 2 {
			t.Fatalf("%q: reply %q", args, reply)
		}
		inner, ok := splitFrames(elems[1])
		if !ok {
			t.Fatalf("%q: reply %q", args, reply)
		}
		var out []string
		for _, e := range inner {
			out = append(out, bulkText(e))
		}
		return bulkText(elems[0]), out
	}
	for _, tc := range []struct {
		cmd      []string
		elements int // reply elements per key element
	}{
		{[]string{"SCAN"}, 1}, {[]string{"HSCAN", "h"}, 2}, {[]string{"SSCAN", "s"}, 1}, {[]string{"ZSCAN", "z"}, 2},
	} {
		name := strings.Join(tc.cmd, " ")
		// 23 keys in the keyspace (20 strings, h, s, z): exactly 23 for SCAN.
		n := 20
		if tc.cmd[0] == "SCAN" {
			n = 23
		}
		cur, got := scan(append(tc.cmd, "0", "COUNT", strconv.Itoa(n))...)
		if cur != "0" || len(got) != n*tc.elements {
			t.Errorf("%s 0 COUNT %d: cursor %s, %d elements; want 0, %d", name, n, cur, len(got), n*tc.elements)
		}
		cur, got = scan(append(tc.cmd, "0", "COUNT", strconv.Itoa(n-1))...)
		if cur == "0" || len(got) != (n-1)*tc.elements {
			t.Errorf("%s 0 COUNT %d: cursor %s, %d elements", name, n-1, cur, len(got))
		}
		cur, got = scan(append(tc.cmd, cur, "COUNT", strconv.Itoa(n-1))...)
		if cur != "0" || len(got) != tc.elements {
			t.Errorf("%s second call: cursor %s, %d elements; want 0, %d", name, cur, len(got), tc.elements)
		}
	}
}

// TestScanStepPeekedElement: the element fetched ahead is checked again
// when it is returned: a removed one is skipped, a changed score is the
// current one.
func TestScanStepPeekedElement(t *testing.T) {
	s := New(DefaultConfig())
	long := strings.Repeat("v", 70)
	var hargs, zargs []string
	for i := 0; i < 10; i++ {
		hargs = append(hargs, "f"+strconv.Itoa(i), long)
		zargs = append(zargs, strconv.Itoa(i), "m"+strconv.Itoa(i)+long)
	}
	storeExec(s, 1, append([]string{"HSET", "h"}, hargs...)...)
	storeExec(s, 1, append([]string{"ZADD", "z"}, zargs...)...)
	firstHalf := func(cmd, key string) (string, map[string]bool) {
		reply := []byte(storeExec(s, 1, cmd, key, "0", "COUNT", "5"))
		elems, _ := splitFrames(reply)
		inner, _ := splitFrames(elems[1])
		seen := map[string]bool{}
		for i := 0; i < len(inner); i += 2 {
			seen[bulkText(inner[i])] = true
		}
		return bulkText(elems[0]), seen
	}
	// HSCAN: remove every field not returned yet, the peeked one included.
	cur, seen := firstHalf("HSCAN", "h")
	for i := 0; i < 10; i++ {
		if f := "f" + strconv.Itoa(i); !seen[f] {
			storeExec(s, 1, "HDEL", "h", f)
		}
	}
	if got := storeExec(s, 1, "HSCAN", "h", cur, "COUNT", "5"); got != "*2\r\n$1\r\n0\r\n*0\r\n" {
		t.Errorf("HSCAN after the rest was deleted: %q", got)
	}
	// ZSCAN: change the scores of the members not returned yet.
	cur, seen = firstHalf("ZSCAN", "z")
	for i := 0; i < 10; i++ {
		if m := "m" + strconv.Itoa(i) + long; !seen[m] {
			storeExec(s, 1, "ZADD", "z", "42.5", m)
		}
	}
	reply := []byte(storeExec(s, 1, "ZSCAN", "z", cur, "COUNT", "5"))
	elems, _ := splitFrames(reply)
	inner, _ := splitFrames(elems[1])
	if bulkText(elems[0]) != "0" || len(inner) != 10 {
		t.Fatalf("ZSCAN second half: %q", reply)
	}
	for i := 1; i < len(inner); i += 2 {
		if got := bulkText(inner[i]); got != "42.5" {
			t.Errorf("ZSCAN returned %s with score %s, want the current 42.5", bulkText(inner[i-1]), got)
		}
	}
}
