package testutil

import (
	"bytes"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SplitArgs splits a script line as redis-cli does: spaces separate,
// double quotes group. The differential tests of shardd and the frontend
// write their requests this way.
func SplitArgs(line string) []string {
	var args []string
	var cur strings.Builder
	inQ, have := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '"':
			inQ, have = !inQ, true
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

// SameReply compares two raw replies under a script line's modifier: ""
// byte for byte, "~" as an order-insensitive flat array, "?" by reply type
// only (random results).
func SameReply(mod string, a, b []byte) bool {
	switch mod {
	case "?":
		return len(a) > 0 && len(b) > 0 && a[0] == b[0]
	case "~":
		return bytes.Equal(sortLines(a), sortLines(b))
	}
	return bytes.Equal(a, b)
}

// sortLines is a crude order-insensitive form of a flat array reply: its
// lines, sorted. Enough for SMEMBERS/KEYS style replies of short items.
func sortLines(b []byte) []byte {
	lines := strings.Split(string(b), "\r\n")
	sort.Strings(lines)
	return []byte(strings.Join(lines, "\r\n"))
}

// DiffPair is the driver of the differential tests over the wire: one
// connection to a real redis-server and one to a shoal server (shardd or
// a frontend), each request sent to both and the replies compared byte for
// byte. Like RawClient it is not safe for concurrent use.
type DiffPair struct {
	t            testing.TB
	Redis, Shoal *RawClient
	// Refusal, when set, allows "!" lines in scripts: the line goes to
	// shoal only, whose reply must be Refusal (a frontend's -CROSSSLOT for
	// keys Redis would serve together).
	Refusal string
	// Name is shoal's side in failure messages ("shardd", "frontend").
	Name string
}

// NewDiffPair connects to both servers; the connections close when the
// test ends.
func NewDiffPair(t testing.TB, redisAddr, shoalAddr, name string) *DiffPair {
	return &DiffPair{t: t, Redis: DialRaw(t, redisAddr), Shoal: DialRaw(t, shoalAddr), Name: name}
}

// Run sends each line of script (split like redis-cli) to both servers and
// compares the replies. Blank lines and lines starting with # are
// skipped. A leading "~" compares array replies as unordered sets, "?" only
// the reply type (SameReply), "!" expects Refusal from shoal alone.
func (p *DiffPair) Run(script string) {
	p.t.Helper()
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		mod := ""
		if line[0] == '~' || line[0] == '?' || (line[0] == '!' && p.Refusal != "") {
			mod, line = line[:1], strings.TrimSpace(line[1:])
		}
		args := SplitArgs(line)
		if mod == "!" {
			if got := string(p.Shoal.Do(args...)); got != p.Refusal {
				p.t.Errorf("%s\n  %s: %q, want %q", line, p.Name, got, p.Refusal)
			}
			continue
		}
		if r, s, ok := p.Do(mod, args...); !ok {
			p.t.Errorf("%s\n  redis: %q\n  %s: %q", line, r, p.Name, s)
		}
	}
}

// Do sends one command to both servers and compares the replies under the
// modifier mod ("", "~" or "?", as SameReply); it returns both replies.
func (p *DiffPair) Do(mod string, args ...string) (redis, shoal []byte, same bool) {
	p.t.Helper()
	redis, shoal = p.Redis.Do(args...), p.Shoal.Do(args...)
	return redis, shoal, SameReply(mod, redis, shoal)
}

// ReadBoth reads the next reply frame (a pushed message) from each server.
func (p *DiffPair) ReadBoth() (redis, shoal []byte) {
	p.t.Helper()
	redis, err := p.Redis.Read()
	if err != nil {
		p.t.Fatalf("redis: %v", err)
	}
	shoal, err = p.Shoal.Read()
	if err != nil {
		p.t.Fatalf("%s: %v", p.Name, err)
	}
	return redis, shoal
}

// SendBoth writes one command to both servers without reading the reply.
func (p *DiffPair) SendBoth(args ...string) {
	p.t.Helper()
	for _, c := range []*RawClient{p.Redis, p.Shoal} {
		if err := c.Send(args...); err != nil {
			p.t.Fatal(err)
		}
	}
}

// CheckArity sends the command name with too few arguments and, when its
// arity is fixed, too many: the errors must be Redis's. Commands of arity
// 1 or -1 (no wrong count below) are skipped.
func (p *DiffPair) CheckArity(name string, arity int) {
	p.t.Helper()
	a := arity
	if a < 0 {
		a = -a
	}
	if a < 2 {
		return
	}
	args := []string{name}
	for i := 1; i < a-1; i++ {
		args = append(args, "x")
	}
	if r, s, ok := p.Do("", args...); !ok {
		p.t.Errorf("%q\n  redis: %q\n  %s: %q", args, r, p.Name, s)
	}
}

// WaitBlocked waits until both servers report n blocked clients in INFO.
func (p *DiffPair) WaitBlocked(n int) {
	p.t.Helper()
	want := "blocked_clients:" + strconv.Itoa(n) + "\r\n"
	for _, c := range []*RawClient{p.Redis, p.Shoal} {
		WaitFor(p.t, 5*time.Second, func() (bool, string) {
			info := string(c.Do("INFO", "clients"))
			return strings.Contains(info, want), info
		})
	}
}

// CompareKeys compares the final contents of keys on both servers: each
// key's type, then its value read with the type's full read (sets and the
// like compared as unordered).
func (p *DiffPair) CompareKeys(keys []string) {
	p.t.Helper()
	for _, k := range keys {
		typ, s, ok := p.Do("", "TYPE", k)
		if !ok {
			p.t.Errorf("TYPE %s: redis %q %s %q", k, typ, p.Name, s)
			continue
		}
		read := map[string][]string{
			"+string\r\n": {"GET", k}, "+hash\r\n": {"HGETALL", k}, "+list\r\n": {"LRANGE", k, "0", "-1"},
			"+set\r\n": {"SMEMBERS", k}, "+zset\r\n": {"ZRANGE", k, "0", "-1", "WITHSCORES"},
		}[string(typ)]
		if read == nil {
			continue
		}
		if r, s, ok := p.Do("~", read...); !ok {
			p.t.Errorf("%q: redis %q %s %q", read, r, p.Name, s)
		}
	}
}

// Seed returns the seed of a randomized test: SHOAL_SEED when set, else
// def. It logs the seed, so a failure can be repeated.
func Seed(t testing.TB, def uint64) uint64 {
	seed := def
	if s := os.Getenv("SHOAL_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (set SHOAL_SEED to repeat)", seed)
	return seed
}

// RandomMix sends steps random commands over every data type, on keys,
// to both servers and stops the test at the first difference. skip, when
// not nil, sees each command first: when it returns true the command is
// not compared (the caller checked it on its own, e.g. a frontend's
// CROSSSLOT). It returns how many commands skip took. Compare the final
// contents with CompareKeys.
func (p *DiffPair) RandomMix(seed uint64, keys []string, steps int, skip func(args []string) bool) (skipped int) {
	p.t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	vals := []string{"0", "1", "-5", "10", "x", "hello", "3.5", ""}
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	gens := []func() []string{
		func() []string { return []string{"SET", pick(keys), pick(vals)} },
		func() []string { return []string{"GET", pick(keys)} },
		func() []string { return []string{"INCR", pick(keys)} },
		func() []string { return []string{"APPEND", pick(keys), pick(vals)} },
		func() []string { return []string{"DEL", pick(keys), pick(keys)} },
		func() []string { return []string{"EXISTS", pick(keys), pick(keys), pick(keys)} },
		func() []string { return []string{"MGET", pick(keys), pick(keys), pick(keys)} },
		func() []string { return []string{"MSET", pick(keys), pick(vals), pick(keys), pick(vals)} },
		func() []string { return []string{"TYPE", pick(keys)} },
		func() []string { return []string{"HSET", pick(keys), pick(vals), pick(vals)} },
		func() []string { return []string{"HGETALL", pick(keys)} },
		func() []string { return []string{"HINCRBY", pick(keys), pick(vals), "2"} },
		func() []string { return []string{"LPUSH", pick(keys), pick(vals)} },
		func() []string { return []string{"RPOP", pick(keys)} },
		func() []string { return []string{"LRANGE", pick(keys), "0", "-1"} },
		func() []string { return []string{"SADD", pick(keys), pick(vals)} },
		func() []string { return []string{"SCARD", pick(keys)} },
		func() []string { return []string{"SISMEMBER", pick(keys), pick(vals)} },
		func() []string { return []string{"SINTER", pick(keys), pick(keys)} },
		func() []string { return []string{"SMOVE", pick(keys), pick(keys), pick(vals)} },
		func() []string { return []string{"ZADD", pick(keys), strconv.Itoa(rng.IntN(10)), pick(vals)} },
		func() []string { return []string{"ZRANGE", pick(keys), "0", "-1", "WITHSCORES"} },
		func() []string { return []string{"ZINCRBY", pick(keys), "1.5", pick(vals)} },
		func() []string { return []string{"EXPIRE", pick(keys), "100"} },
		func() []string { return []string{"TTL", pick(keys)} },
		func() []string { return []string{"PERSIST", pick(keys)} },
		func() []string { return []string{"RENAME", pick(keys), pick(keys)} },
		func() []string { return []string{"STRLEN", pick(keys)} },
		func() []string { return []string{"LLEN", pick(keys)} },
	}
	for i := 0; i < steps; i++ {
		args := gens[rng.IntN(len(gens))]()
		if skip != nil && skip(args) {
			skipped++
			continue
		}
		if r, s, ok := p.Do("", args...); !ok {
			p.t.Fatalf("step %d (seed %d): %q\n  redis: %q\n  %s: %q", i, seed, args, r, p.Name, s)
		}
	}
	return skipped
}
