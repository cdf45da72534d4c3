package store

// The differential harness: the same commands go to a real redis-server and
// to a Store; replies are compared byte for byte. Every write's effects are
// replayed into a replica Store, and at the end of each script the replica
// must hold exactly what the master holds.

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// diffEnv is one redis-server plus a master and a replica store.
type diffEnv struct {
	t       testing.TB
	redis   *testutil.RawClient
	master  *Store
	replica *Store
	clock   func() int64
}

func newDiffEnv(t testing.TB) *diffEnv {
	addr := testutil.StartRedis(t)
	rcfg := DefaultConfig()
	rcfg.Replica = true
	return &diffEnv{
		t:       t,
		redis:   testutil.DialRaw(t, addr),
		master:  New(DefaultConfig()),
		replica: New(rcfg),
		clock:   func() int64 { return time.Now().UnixMilli() },
	}
}

// do sends args to both and returns both replies; effects go to the replica.
func (d *diffEnv) do(args ...string) (redis, shoal []byte) {
	d.t.Helper()
	redis = d.redis.Do(args...)
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	now := d.clock()
	shoal = d.master.Exec(now, bargs, nil)
	eff, _ := d.master.TakeEffects()
	if len(eff) > 0 {
		if err := d.replica.Apply(now, eff); err != nil {
			d.t.Fatalf("replaying effects of %q: %v\neffects: %q", args, err, eff)
		}
	}
	return redis, shoal
}

// run executes a script. Each line is one command, split like redis-cli does
// (spaces, double quotes). A line may start with a modifier:
//
//	~   the reply is an array whose elements may come in any order
//	~2  the same, for an array of pairs (HGETALL, ZRANGE WITHSCORES...)
//	%N  the reply is an integer that may differ by at most N (TTLs)
//	?   only the reply's type byte must match (random results)
//
// At the end the replica's content must equal the master's.
func (d *diffEnv) run(script string) {
	d.t.Helper()
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		mod := ""
		if line[0] == '~' || line[0] == '%' || line[0] == '?' {
			i := strings.IndexByte(line, ' ')
			mod, line = line[:i], strings.TrimSpace(line[i+1:])
		}
		d.check(mod, splitArgs(line)...)
	}
	d.checkReplica()
}

// check runs one command on both sides and reports a difference in the
// replies (mod is a run modifier, "" for an exact comparison).
func (d *diffEnv) check(mod string, args ...string) {
	d.t.Helper()
	r, s := d.do(args...)
	if !replyEqual(mod, r, s) {
		d.t.Errorf("%q\n  redis: %q\n  shoal: %q", args, r, s)
	}
}

func replyEqual(mod string, r, s []byte) bool {
	switch {
	case mod == "":
		return bytes.Equal(r, s)
	case mod == "?":
		return len(r) > 0 && len(s) > 0 && r[0] == s[0]
	case mod[0] == '%':
		tol, _ := strconv.ParseInt(mod[1:], 10, 64)
		if len(r) < 3 || len(s) < 3 || r[0] != ':' || s[0] != ':' {
			return bytes.Equal(r, s)
		}
		a, _ := strconv.ParseInt(string(r[1:len(r)-2]), 10, 64)
		b, _ := strconv.ParseInt(string(s[1:len(s)-2]), 10, 64)
		return a-b <= tol && b-a <= tol
	case mod[0] == '~':
		group := 1
		if len(mod) > 1 {
			group, _ = strconv.Atoi(mod[1:])
		}
		return bytes.Equal(sortedFrames(r, group), sortedFrames(s, group))
	}
	return false
}

// sortedFrames re-encodes an array reply with its elements (in groups)
// sorted; a nested array at the second level (SCAN's) is sorted instead.
func sortedFrames(b []byte, group int) []byte {
	if len(b) == 0 || b[0] != '*' {
		return b
	}
	elems, ok := splitFrames(b)
	if !ok {
		return b
	}
	if len(elems) == 2 && len(elems[1]) > 0 && elems[1][0] == '*' {
		return append(append([]byte{}, elems[0]...), sortedFrames(elems[1], group)...)
	}
	var groups []string
	for i := 0; i+group <= len(elems); i += group {
		groups = append(groups, string(bytes.Join(elems[i:i+group], nil)))
	}
	sort.Strings(groups)
	out := []byte(fmt.Sprintf("*%d\r\n", len(elems)))
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// splitFrames splits a flat-ish array reply into its elements' raw frames.
func splitFrames(b []byte) ([][]byte, bool) {
	i := bytes.IndexByte(b, '\n')
	n, err := strconv.Atoi(string(b[1 : i-1]))
	if err != nil || n < 0 {
		return nil, false
	}
	rest := b[i+1:]
	var out [][]byte
	for k := 0; k < n; k++ {
		l := frameLen(rest)
		if l <= 0 {
			return nil, false
		}
		out = append(out, rest[:l])
		rest = rest[l:]
	}
	return out, true
}

// frameLen returns the length of the first RESP frame in b.
func frameLen(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return -1
	}
	switch b[0] {
	case '+', '-', ':':
		return i + 1
	case '$':
		n, _ := strconv.Atoi(string(b[1 : i-1]))
		if n < 0 {
			return i + 1
		}
		return i + 1 + n + 2
	case '*':
		n, _ := strconv.Atoi(string(b[1 : i-1]))
		total := i + 1
		for k := 0; k < n; k++ {
			l := frameLen(b[total:])
			if l <= 0 {
				return -1
			}
			total += l
		}
		return total
	}
	return -1
}

// splitArgs splits a line as redis-cli does: spaces separate, double quotes
// group (with \n, \r, \t, \", \\ and \xHH escapes).
func splitArgs(line string) []string {
	var args []string
	var cur strings.Builder
	inQ, have := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case inQ && c == '\\' && i+1 < len(line):
			i++
			switch line[i] {
			case 'n':
				cur.WriteByte('\n')
			case 'r':
				cur.WriteByte('\r')
			case 't':
				cur.WriteByte('\t')
			case 'x':
				v, _ := strconv.ParseUint(line[i+1:i+3], 16, 8)
				cur.WriteByte(byte(v))
				i += 2
			default:
				cur.WriteByte(line[i])
			}
		case c == '"':
			inQ = !inQ
			have = true
		case c == ' ' && !inQ:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		args = append(args, cur.String())
	}
	return args
}

// dump is a canonical, order-independent description of a store's content,
// read through its own commands: type, value and absolute expiry per key.
func dump(t testing.TB, s *Store, now int64) string {
	t.Helper()
	exec := func(args ...string) []byte {
		b := make([][]byte, len(args))
		for i, a := range args {
			b[i] = []byte(a)
		}
		return s.Exec(now, b, nil)
	}
	keys := make([]string, 0, len(s.keys))
	for k, e := range s.keys {
		if e.expired(now) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out strings.Builder
	for _, k := range keys {
		e := s.keys[k]
		var v []byte
		switch e.val.(type) {
		case []byte, rawString:
			v = exec("GET", k)
		case *hashValue:
			v = sortedFrames(exec("HGETALL", k), 2)
		case *listValue:
			v = exec("LRANGE", k, "0", "-1")
		case *setValue:
			v = sortedFrames(exec("SMEMBERS", k), 1)
		case *zsetValue:
			v = exec("ZRANGE", k, "0", "-1", "WITHSCORES")
		}
		fmt.Fprintf(&out, "%q exp=%d %T %q\n", k, e.exp, e.val, v)
	}
	s.TakeEffects() // reads on a master may have expired keys
	return out.String()
}

// checkReplica compares the replica's content with the master's.
func (d *diffEnv) checkReplica() {
	d.t.Helper()
	now := d.clock()
	m, r := dump(d.t, d.master, now), dump(d.t, d.replica, now)
	if m != r {
		d.t.Errorf("replica differs from master\nmaster:\n%s\nreplica:\n%s", m, r)
	}
}

// reset empties both servers and both stores.
func (d *diffEnv) reset() {
	d.redis.Do("FLUSHALL")
	d.master = New(DefaultConfig())
	rcfg := DefaultConfig()
	rcfg.Replica = true
	d.replica = New(rcfg)
}

func TestSplitArgs(t *testing.T) {
	got := splitArgs(`SET "a b" c "\x41\n" ""`)
	want := []string{"SET", "a b", "c", "A\n", ""}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != 5 {
		t.Fatalf("splitArgs = %q, want %q", got, want)
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "anything", true}, {"h?llo", "hello", true}, {"h?llo", "hllo", false},
		{"h*llo", "heeeello", true}, {"h[ae]llo", "hallo", true}, {"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true}, {"h[^e]llo", "hello", false}, {"h[a-b]llo", "hbllo", true},
		{`h\*llo`, "h*llo", true}, {`h\*llo`, "hallo", false}, {"a*b*c", "aXbYc", true},
		{"", "", true}, {"a", "", false}, {"**", "", false}, {"*", "", false}, {"[abc", "a", true},
	}
	for _, c := range cases {
		if got := Match([]byte(c.p), []byte(c.s), false); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
}

// parseCommand splits the first multibulk command off recorded effects
// (test helper; the store itself decodes effects with effectReader).
func parseCommand(b []byte) (args [][]byte, rest []byte, err error) {
	n := frameLen(b)
	if n <= 0 || b[0] != '*' {
		return nil, nil, fmt.Errorf("not a command: %q", b)
	}
	frames, ok := splitFrames(b[:n])
	if !ok {
		return nil, nil, fmt.Errorf("bad command: %q", b[:n])
	}
	for _, f := range frames {
		i := bytes.IndexByte(f, '\n')
		if f[0] != '$' || i < 0 {
			return nil, nil, fmt.Errorf("not a bulk: %q", f)
		}
		args = append(args, f[i+1:len(f)-2])
	}
	return args, b[n:], nil
}
