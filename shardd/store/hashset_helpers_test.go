package store

import (
	"fmt"
	"strings"
	"testing"
)

// hashsetSetString stores a string key in redis and in both stores directly
// (the string commands live in another file of the package and may be
// missing from this worktree).
func hashsetSetString(d *diffEnv, key, val string) {
	d.t.Helper()
	if r := d.redis.Do("SET", key, val); string(r) != "+OK\r\n" {
		d.t.Fatalf("redis SET %s: %q", key, r)
	}
	d.master.setKey([]byte(key), []byte(val), 0)
	d.replica.setKey([]byte(key), []byte(val), 0)
}

// hashsetEncoding is what OBJECT ENCODING would answer for key in s.
func hashsetEncoding(s *Store, key string) string {
	e, ok := s.keys[key]
	if !ok {
		return "(nil)"
	}
	if o, ok := e.val.(object); ok {
		return o.encoding()
	}
	return "string"
}

// hashsetRedisEncoding asks redis for OBJECT ENCODING key.
func hashsetRedisEncoding(d *diffEnv, key string) string {
	r := string(d.redis.Do("OBJECT", "ENCODING", key))
	switch {
	case r == "$-1\r\n" || strings.HasPrefix(r, "-"):
		return "(nil)"
	case strings.HasPrefix(r, "$"):
		parts := strings.SplitN(r, "\r\n", 3)
		switch parts[1] {
		case "embstr", "int", "raw":
			return "string"
		}
		return parts[1]
	}
	return r
}

// checkEncodings compares OBJECT ENCODING of keys with redis's.
func (d *diffEnv) checkEncodings(keys ...string) {
	d.t.Helper()
	for _, k := range keys {
		want, got := hashsetRedisEncoding(d, k), hashsetEncoding(d.master, k)
		if want != got {
			d.t.Errorf("OBJECT ENCODING %s: redis %s, shoal %s", k, want, got)
		}
		if rep := hashsetEncoding(d.replica, k); (rep == "(nil)") != (got == "(nil)") {
			d.t.Errorf("key %s: replica has %s, master %s", k, rep, got)
		}
	}
}

// hashsetExec runs a command on a store directly and returns the reply.
func hashsetExec(s *Store, args ...string) string {
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	return string(s.Exec(1, b, nil))
}

// hashsetSeq returns "prefix0 prefix1 ... prefix(n-1)" as one string.
func hashsetSeq(prefix string, from, n int, withValues bool) string {
	var b strings.Builder
	for i := from; i < from+n; i++ {
		if i > from {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s%d", prefix, i)
		if withValues {
			fmt.Fprintf(&b, " v%d", i)
		}
	}
	return b.String()
}

// hashsetFrames parses an array reply into its bulk elements.
func hashsetFrames(t testing.TB, reply []byte) []string {
	t.Helper()
	elems, ok := splitFrames(reply)
	if !ok {
		t.Fatalf("not an array: %q", reply)
	}
	out := make([]string, len(elems))
	for i, e := range elems {
		s := string(e)
		if !strings.HasPrefix(s, "$") {
			t.Fatalf("element %d is not a bulk: %q", i, s)
		}
		out[i] = s[strings.Index(s, "\r\n")+2 : len(s)-2]
	}
	return out
}
