package store

// The differential harness: the same commands go to a real redis-server and
// to a Store; replies are compared byte for byte. Every write's effects are
// replayed into a replica Store, and at the end of each script the replica
// must hold exactly what the master holds.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/proto"
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
	shoal, _ = d.doStore(args...)
	return redis, shoal
}

// doStore runs args on the master only and replays its effects into the
// replica; it returns the master's reply and the effects.
func (d *diffEnv) doStore(args ...string) (reply, effects []byte) {
	d.t.Helper()
	now := d.clock()
	reply = d.master.Exec(now, byteArgs(args...), nil)
	effects, _ = d.master.TakeEffects()
	if len(effects) > 0 {
		if err := d.replica.Apply(now, effects); err != nil {
			d.t.Fatalf("replaying effects of %q: %v\neffects: %q", args, err, effects)
		}
	}
	return reply, effects
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
	exec := func(args ...string) []byte { return s.Exec(now, byteArgs(args...), nil) }
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

// setString stores a string under key on redis, the master and the replica
// directly (tests of one type use it for WRONGTYPE without depending on the
// string commands).
func (d *diffEnv) setString(key, val string) {
	d.t.Helper()
	if r := d.redis.Do("SET", key, val); string(r) != "+OK\r\n" {
		d.t.Fatalf("redis SET %s: %q", key, r)
	}
	d.master.setKey([]byte(key), []byte(val), 0)
	d.replica.setKey([]byte(key), []byte(val), 0)
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
		if got := proto.GlobMatch([]byte(c.p), []byte(c.s), false); got != c.want {
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

// ---- blocking commands ----

// Blocking commands must not hang a test against the real redis-server.
// doBlocking runs the command on the store first; when the store answers
// nothing (it would block) or an error, redis gets the command inside
// MULTI/EXEC, where blocking is not allowed and Redis answers the null it
// answers on a timeout.

// isBlocking reports whether name is a blocking command.
func isBlocking(name string) bool {
	switch strings.ToLower(name) {
	case "blpop", "brpop", "blmove", "brpoplpush", "blmpop", "bzpopmin", "bzpopmax":
		return true
	}
	return false
}

// blockedNull is what Redis answers inside MULTI for a blocking command that
// would block.
func blockedNull(name string) string {
	switch strings.ToLower(name) {
	case "blmove", "brpoplpush":
		return "$-1\r\n"
	}
	return "*-1\r\n"
}

// doBlocking executes args on the store (replaying its effects into the
// replica) and on redis, and reports whether the replies agree. A store
// reply of zero bytes from a blocking command agrees with Redis's null
// inside MULTI.
func (d *diffEnv) doBlocking(args ...string) (redis, shoal []byte, equal bool) {
	d.t.Helper()
	shoal, _ = d.doStore(args...)
	if isBlocking(args[0]) && (string(shoal) == "*-1\r\n" || string(shoal) == "$-1\r\n") {
		// The store never answers a null to a blocking command: it answers
		// nothing and the server blocks (see list.go).
		return nil, shoal, false
	}
	if !isBlocking(args[0]) || (len(shoal) > 0 && shoal[0] != '-') {
		redis = d.redis.Do(args...)
		return redis, shoal, bytes.Equal(redis, shoal)
	}
	if r := d.redis.Do("MULTI"); string(r) != "+OK\r\n" {
		d.t.Fatalf("MULTI: %q", r)
	}
	if r := d.redis.Do(args...); string(r) != "+QUEUED\r\n" {
		d.t.Fatalf("queue %q: %q", args, r)
	}
	exec := d.redis.Do("EXEC")
	if !bytes.HasPrefix(exec, []byte("*1\r\n")) {
		d.t.Fatalf("EXEC of %q: %q", args, exec)
	}
	redis = exec[4:]
	if len(shoal) == 0 {
		return redis, shoal, string(redis) == blockedNull(args[0])
	}
	return redis, shoal, bytes.Equal(redis, shoal)
}

// runBlocking is run for scripts with blocking commands (see doBlocking),
// without modifiers. At the end the replica must match the master.
func (d *diffEnv) runBlocking(script string) {
	d.t.Helper()
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		args := splitArgs(line)
		r, s, ok := d.doBlocking(args...)
		if !ok {
			d.t.Errorf("%s\n  redis: %q\n  shoal: %q", line, r, s)
		}
	}
	d.checkReplica()
}

// ---- encodings ----

// storeEncoding is what OBJECT ENCODING answers for key in s, with every
// string encoding as "string" and "(nil)" for a missing key.
func storeEncoding(s *Store, key string) string {
	e, ok := s.keys[key]
	if !ok {
		return "(nil)"
	}
	if o, ok := e.val.(object); ok {
		return o.encoding()
	}
	return "string"
}

// redisEncoding asks redis for OBJECT ENCODING key, in storeEncoding's
// terms.
func redisEncoding(d *diffEnv, key string) string {
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

// checkEncodings compares OBJECT ENCODING of keys on redis with the
// master's, and checks the replica has the same keys; with sameOnReplica
// the replica's encodings must match too (SPOP, replayed as SREM, may leave
// a replica's set in another encoding).
func (d *diffEnv) checkEncodings(sameOnReplica bool, keys ...string) {
	d.t.Helper()
	for _, k := range keys {
		want, got := redisEncoding(d, k), storeEncoding(d.master, k)
		if want != got {
			d.t.Errorf("OBJECT ENCODING %s: redis %s, shoal %s", k, want, got)
		}
		rep := storeEncoding(d.replica, k)
		if (rep == "(nil)") != (got == "(nil)") || (sameOnReplica && rep != got) {
			d.t.Errorf("key %s: replica has %s, master %s", k, rep, got)
		}
	}
}

// objectEncodings lists "key=encoding" for every collection in s, sorted.
func objectEncodings(s *Store) string {
	var out []string
	for k, e := range s.keys {
		if o, ok := e.val.(object); ok {
			out = append(out, k+"="+o.encoding())
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// ---- running commands on a store directly ----

// byteArgs converts a command's arguments to the form Exec takes.
func byteArgs(args ...string) [][]byte {
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	return b
}

// storeExec runs one command on s at now and returns the reply. Its effects
// stay pending (takeEffects reads them).
func storeExec(s *Store, now int64, args ...string) string {
	return string(s.Exec(now, byteArgs(args...), nil))
}

// storeExecLine is storeExec for a command line, split like redis-cli.
func storeExecLine(s *Store, now int64, line string) string {
	return storeExec(s, now, splitArgs(strings.TrimSpace(line))...)
}

// effectLines decodes RESP effects (with parseCommand, not the store's own
// decoder) into "CMD a b" lines.
func effectLines(t testing.TB, eff []byte) []string {
	t.Helper()
	var out []string
	for len(eff) > 0 {
		args, rest, err := parseCommand(eff)
		if err != nil {
			t.Fatalf("bad effects %q: %v", eff, err)
		}
		eff = rest
		parts := make([]string, len(args))
		for i, a := range args {
			parts[i] = string(a)
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

// effectsString renders RESP effects as "CMD a b | CMD c".
func effectsString(t testing.TB, eff []byte) string {
	t.Helper()
	return strings.Join(effectLines(t, eff), " | ")
}

// effectCase is a command line and the effects it must record, rendered
// as effectsString does ("" for none).
type effectCase struct{ cmd, want string }

// checkEffects runs each case's command on s at now, in order, and compares
// the effects it records.
func checkEffects(t *testing.T, s *Store, now int64, cases []effectCase) {
	t.Helper()
	for _, tc := range cases {
		s.Exec(now, byteArgs(splitArgs(tc.cmd)...), nil)
		eff, _ := s.TakeEffects()
		if got := effectsString(t, eff); got != tc.want {
			t.Errorf("%s: effects %q, want %q", tc.cmd, got, tc.want)
		}
	}
}

// takeEffects takes s's pending effects as lines, checking their count.
func takeEffects(t testing.TB, s *Store) []string {
	t.Helper()
	eff, n := s.TakeEffects()
	out := effectLines(t, eff)
	if len(out) != n {
		t.Fatalf("TakeEffects said %d effects, decoded %d", n, len(out))
	}
	return out
}

// ---- replies ----

// bulkText returns a bulk string frame's content.
func bulkText(frame []byte) string {
	s := string(frame)
	i := strings.IndexByte(s, '\n')
	return strings.TrimSuffix(s[i+1:], "\r\n")
}

// bulkTexts parses an array reply of bulk strings into their contents.
func bulkTexts(t testing.TB, reply []byte) []string {
	t.Helper()
	elems, ok := splitFrames(reply)
	if !ok {
		t.Fatalf("not an array: %q", reply)
	}
	out := make([]string, len(elems))
	for i, e := range elems {
		if len(e) == 0 || e[0] != '$' {
			t.Fatalf("element %d is not a bulk: %q", i, e)
		}
		out[i] = bulkText(e)
	}
	return out
}

// ---- snapshots ----

// snapTake writes the whole snapshot sn of s, chunk keys at a time, calling
// between(i) after each chunk but the last, and closes it.
func snapTake(t testing.TB, s *Store, sn *Snapshot, chunk int, between func(i int)) []byte {
	t.Helper()
	var buf []byte
	for i := 0; ; i++ {
		var done bool
		buf, done = sn.Next(buf, chunk)
		if done {
			break
		}
		if between != nil {
			between(i)
		}
	}
	sn.Close()
	return buf
}

// takeSnapshot begins a snapshot of s and takes it whole (see snapTake).
func takeSnapshot(t testing.TB, s *Store, chunk int, between func(i int)) []byte {
	t.Helper()
	sn, err := s.BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	return snapTake(t, s, sn, chunk, between)
}

// snapLoad loads a snapshot into a fresh store.
func snapLoad(t testing.TB, buf []byte) *Store {
	t.Helper()
	s := New(DefaultConfig())
	if err := s.LoadSnapshot(bytes.NewReader(buf)); err != nil {
		t.Fatalf("LoadSnapshot: %v", err)
	}
	return s
}

// snapRecord builds one snapshot record by hand: type, key, no expiry,
// then body (the end marker is the caller's).
func snapRecord(typ byte, key string, body ...byte) []byte {
	b := []byte{typ}
	b = appendBytes(b, key)
	b = binary.AppendVarint(b, 0)
	return append(b, body...)
}

// snapOneRecord is a whole snapshot of one record: key "k" holding a value
// of record type typ with the given body.
func snapOneRecord(typ byte, body []byte) []byte {
	return append(snapRecord(typ, "k", body...), recEnd)
}

// ---- randomized tests ----

// testSeed returns the seed of a randomized test: SHOAL_SEED when set, else
// def. It is logged so that a failure can be replayed.
func testSeed(t testing.TB, def uint64) uint64 {
	t.Helper()
	seed := def
	if s := os.Getenv("SHOAL_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SHOAL_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (set SHOAL_SEED to replay)", seed)
	return seed
}
