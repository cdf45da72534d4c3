package frontend

// Differential tests: the same requests go to one redis-server and, through
// a frontend, to three shoal shard daemons, and the replies must match byte
// for byte. These are shardd's differential scripts (shardd/diff_test.go)
// with multi-key commands that Redis Cluster would refuse rewritten to use
// hash tags; the cases where a frontend must answer CROSSSLOT are asserted
// on their own ("!" lines).

import (
	"bytes"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/hashring"
	"github.com/shoal-kv/shoal/internal/testutil"
)

// pair is one connection to redis-server and one to a frontend.
type pair struct {
	t         testing.TB
	redis, fe *testutil.RawClient
}

func newPair(t testing.TB, redisAddr, feAddr string) *pair {
	return &pair{t: t, redis: testutil.DialRaw(t, redisAddr), fe: testutil.DialRaw(t, feAddr)}
}

// run sends each line of script (split like redis-cli) to both and compares
// the replies. A leading "~" compares array replies as unordered sets; "?"
// compares only the reply type; "!" sends the line to the frontend only
// and expects -CROSSSLOT.
func (p *pair) run(script string) {
	p.t.Helper()
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		mod := ""
		if line[0] == '~' || line[0] == '?' || line[0] == '!' {
			mod, line = line[:1], strings.TrimSpace(line[1:])
		}
		args := testutil.SplitArgs(line)
		if mod == "!" {
			if got := string(p.fe.Do(args...)); got != "-"+crossSlot+"\r\n" {
				p.t.Errorf("%s\n  frontend: %q, want CROSSSLOT", line, got)
			}
			continue
		}
		r, s := p.redis.Do(args...), p.fe.Do(args...)
		if !testutil.SameReply(mod, r, s) {
			p.t.Errorf("%s\n  redis:    %q\n  frontend: %q", line, r, s)
		}
	}
}

// diffSetup starts redis-server, three shard daemons and a frontend.
func diffSetup(t *testing.T) (redisAddr, feAddr string, mc *memCluster) {
	t.Helper()
	redisAddr = testutil.StartRedis(t)
	mc = newShardCluster(t, 3)
	_, feAddr = mc.frontend()
	return redisAddr, feAddr, mc
}

func TestDiffConnectionCommands(t *testing.T) {
	raddr, faddr, _ := diffSetup(t)
	p := newPair(t, raddr, faddr)
	p.run(`
		PING
		PING hello
		ECHO "hello world"
		SELECT 0
		SELECT 1x
		SELECT 99
		NOSUCHCOMMAND a b
		nosuch
		GET
		SET a
		PING a b
		ECHO
		AUTH foo
		AUTH user pass
		HELLO 4
		HELLO abc
		CLIENT SETNAME conn-1
		CLIENT GETNAME
		CLIENT SETNAME "bad name"
		CLIENT NOSUCH
		CLIENT KILL 1.2.3.4:5
		CONFIG NOSUCH
		CONFIG SET nosuchparam 1
		ROLE
		WAIT 0 0
		COMMAND INFO get mset nosuch
		COMMAND GETKEYS MSET a 1 b 2
		MSET a 1 b
		QUIT
	`)
}

func TestDiffArityOfEveryCommand(t *testing.T) {
	raddr, faddr, _ := diffSetup(t)
	p := newPair(t, raddr, faddr)
	// Every command with too few arguments and, for fixed-arity commands,
	// too many: the errors must match Redis's.
	for _, spec := range allSpecs() {
		name := spec.Name
		if spec.Parent != nil || name == "quit" || name == "exec" || name == "multi" || name == "discard" ||
			name == "shoal" || spec.Arity == -1 {
			continue
		}
		a := spec.Arity
		if a < 0 {
			a = -a
		}
		if a >= 2 {
			args := []string{name}
			for i := 1; i < a-1; i++ {
				args = append(args, "x")
			}
			r, s := p.redis.Do(args...), p.fe.Do(args...)
			if !bytes.Equal(r, s) {
				t.Errorf("%q\n  redis:    %q\n  frontend: %q", args, r, s)
			}
		}
	}
}

func TestDiffTransactions(t *testing.T) {
	raddr, faddr, _ := diffSetup(t)
	p := newPair(t, raddr, faddr)
	p.run(`
		EXEC
		DISCARD
		MULTI
		MULTI
		SET k 1
		INCR k
		GET k
		EXEC
		MULTI
		SET k 2
		NOSUCH
		EXEC
		GET k
		MULTI
		SET k 3
		GET
		EXEC
		MULTI
		SET k 4
		DISCARD
		GET k
		MULTI
		INCR k
		LPUSH k x
		GET k
		EXEC
		MULTI
		PING
		ECHO hi
		EXEC
		WATCH {w}a {w}b
		MULTI
		WATCH c
		SET {w}a 1
		EXEC
		UNWATCH
		MULTI
		SET {x}1 a
		MSET {x}2 b {x}3 c
		MGET {x}1 {x}2 {x}3
		EXEC
	`)
	// WATCH: a write by another client aborts the transaction.
	other := newPair(t, raddr, faddr)
	p.run(`
		WATCH w
		MULTI
		SET w mine
	`)
	other.run("SET w theirs")
	p.run(`
		EXEC
		GET w
	`)
	// Without a write in between, it commits.
	p.run(`
		WATCH w
		MULTI
		SET w mine
		EXEC
		GET w
	`)
	// A blocking command inside MULTI does not block.
	p.run(`
		MULTI
		BLPOP {e}mptylist 0
		BRPOPLPUSH {e}mptylist {e}dst 0
		EXEC
	`)
}

// TestCrossSlotCases asserts the documented differences: commands whose
// keys must be together answer CROSSSLOT when they are not, also inside
// transactions (which then abort), while element-wise commands are split.
func TestCrossSlotCases(t *testing.T) {
	raddr, faddr, mc := diffSetup(t)
	ring, err := hashring.NewFromNames(hashring.DefaultConfig(), mc.names)
	if err != nil {
		t.Fatal(err)
	}
	// Two keys on different shards.
	a, b := "a", ""
	for i := 0; b == ""; i++ {
		k := "b" + strconv.Itoa(i)
		if ring.Lookup([]byte(k)) != ring.Lookup([]byte(a)) {
			b = k
		}
	}
	p := newPair(t, raddr, faddr)
	script := `
		MSET @A 1 @B 2
		MGET @A @B nosuch
		EXISTS @A @B @A
		TOUCH @A @B
		! RENAME @A @B
		! RENAMENX @A @B
		! MSETNX @A 1 @B 2
		! SMOVE @A @B x
		! LMOVE @A @B LEFT RIGHT
		! RPOPLPUSH @A @B
		! SINTER @A @B
		! SUNIONSTORE @A @A @B
		! SDIFF @A @B
		! ZUNIONSTORE @A 2 @A @B
		! ZINTER 2 @A @B
		! ZDIFF 2 @A @B
		! COPY @A @B
		! BLPOP @A @B 1
		! WATCH @A @B
		DEL @A @B nosuch
		MULTI
		SET @A 1
		! SET @B 2
		EXEC
		GET @A
		MULTI
		! MGET @A @B
		EXEC
	`
	script = strings.NewReplacer("@A", a, "@B", b).Replace(script)
	// Redis runs the CROSSSLOT lines; the frontend refuses them. Make the
	// data agree again before comparing the rest: the "!" lines are not
	// sent to redis, but the transaction's EXEC differs (EXECABORT).
	lines := strings.Split(script, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "EXEC" {
			lines[i] = "! EXEC_ABORT"
		}
	}
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "! EXEC_ABORT" {
			if got := string(p.fe.Do("EXEC")); got != "-EXECABORT Transaction discarded because of previous errors.\r\n" {
				t.Errorf("EXEC after CROSSSLOT in MULTI: %q", got)
			}
			p.redis.Do("DISCARD")
			continue
		}
		p.run(l)
	}
}

func TestDiffPubSub(t *testing.T) {
	raddr, faddr, _ := diffSetup(t)
	sub := newPair(t, raddr, faddr)
	pub := newPair(t, raddr, faddr)
	sub.run(`
		SUBSCRIBE news sports
		PSUBSCRIBE n* s?orts
		PING
		PING hi
		GET x
	`)
	pub.run(`
		PUBLISH news hello
		PUBLISH sports goal
		PUBLISH nothing x
		PUBSUB NUMSUB news sports none
		PUBSUB NUMPAT
		~ PUBSUB CHANNELS
		PUBSUB CHANNELS n*
		PUBSUB NOSUCH
	`)
	// Both subscribers get the same frames: the two replies run's Do left
	// unread (SUBSCRIBE and PSUBSCRIBE answer two frames each) and the five
	// messages. The channels are on different shards, whose messages reach
	// the frontend on separate upstream links, and the replies are written
	// while messages arrive: their order is not defined (about 3 % of runs
	// differed from redis's), so the frames are compared as sets.
	var rs, fs []string
	for i := 0; i < 7; i++ {
		r, err := sub.redis.Read()
		if err != nil {
			t.Fatalf("redis message %d: %v", i, err)
		}
		s, err := sub.fe.Read()
		if err != nil {
			t.Fatalf("frontend message %d: %v", i, err)
		}
		rs, fs = append(rs, string(r)), append(fs, string(s))
	}
	slices.Sort(rs)
	slices.Sort(fs)
	if !slices.Equal(rs, fs) {
		t.Errorf("replies and messages\n  redis:    %q\n  frontend: %q", rs, fs)
	}
	sub.run(`
		UNSUBSCRIBE news
		PUNSUBSCRIBE
		UNSUBSCRIBE
		UNSUBSCRIBE
		PING
	`)
}

func TestDiffBlocking(t *testing.T) {
	raddr, faddr, _ := diffSetup(t)
	p := newPair(t, raddr, faddr)
	p.run(`
		BLPOP {l}1 {l}2 -1
		BLPOP {l}1 {l}2 abc
		BLPOP {l}1 0.05
		RPUSH {l}2 a b
		BLPOP {l}1 {l}2 0
		BRPOP {l}1 {l}2 0
		BLPOP {l}1 {l}2 0.01
		SET str x
		BLPOP str 0
		BZPOPMIN z 0.01
		ZADD z 1 a
		BZPOPMAX z 0
		BLMOVE {s}rc {s}dst LEFT RIGHT 0.01
		WAIT 0 0
	`)
	// A client blocked on a key is served by another client's push.
	waiter := newPair(t, raddr, faddr)
	for _, c := range []*testutil.RawClient{waiter.redis, waiter.fe} {
		if err := c.Send("BLPOP", "q", "5"); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*testutil.RawClient{p.redis, p.fe} {
		testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
			info := string(c.Do("INFO", "clients"))
			return strings.Contains(info, "blocked_clients:1"), info
		})
	}
	p.run("RPUSH q job1 job2")
	r, _ := waiter.redis.Read()
	s, err := waiter.fe.Read()
	if err != nil || !bytes.Equal(r, s) {
		t.Errorf("blocked BLPOP\n  redis:    %q\n  frontend: %q (%v)", r, s, err)
	}
	p.run("LRANGE q 0 -1")
	// The same connection blocks again (its dedicated connection is reused).
	waiter.run("BLPOP q 0.01")
}

// mustTogether are the multi-key commands whose keys must share a shard.
var mustTogether = map[string]bool{"RENAME": true, "RENAMENX": true, "SMOVE": true, "SINTER": true, "SUNION": true, "SDIFF": true}

// TestDiffRandomMix sends a random mix of commands over every data type to
// redis-server and through a frontend. Commands whose keys are on
// different shards and must be together are asserted to get CROSSSLOT
// (and not sent to redis). SHOAL_SEED overrides the seed.
func TestDiffRandomMix(t *testing.T) {
	seed := uint64(20261122)
	if s := os.Getenv("SHOAL_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (set SHOAL_SEED to repeat)", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	raddr, faddr, mc := diffSetup(t)
	ring, err := hashring.NewFromNames(hashring.DefaultConfig(), mc.names)
	if err != nil {
		t.Fatal(err)
	}
	p := newPair(t, raddr, faddr)
	keys := []string{"k1", "k2", "k3", "k4", "{t}a", "{t}b"}
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
	crossed := 0
	for i := 0; i < 3000; i++ {
		args := gens[rng.IntN(len(gens))]()
		if mustTogether[args[0]] {
			k1, k2 := args[1], args[2]
			if ring.Lookup([]byte(k1)) != ring.Lookup([]byte(k2)) {
				crossed++
				if got := string(p.fe.Do(args...)); got != "-"+crossSlot+"\r\n" {
					t.Fatalf("step %d (seed %d): %q: frontend %q, want CROSSSLOT", i, seed, args, got)
				}
				continue
			}
		}
		r, s := p.redis.Do(args...), p.fe.Do(args...)
		if !bytes.Equal(r, s) {
			t.Fatalf("step %d (seed %d): %q\n  redis:    %q\n  frontend: %q", i, seed, args, r, s)
		}
	}
	if crossed == 0 {
		t.Errorf("no cross-shard command was generated")
	}
	// The final contents agree key by key.
	for _, k := range keys {
		typ := p.redis.Do("TYPE", k)
		if s := p.fe.Do("TYPE", k); !bytes.Equal(typ, s) {
			t.Errorf("TYPE %s: redis %q frontend %q", k, typ, s)
			continue
		}
		read := map[string][]string{
			"+string\r\n": {"GET", k}, "+hash\r\n": {"HGETALL", k}, "+list\r\n": {"LRANGE", k, "0", "-1"},
			"+set\r\n": {"SMEMBERS", k}, "+zset\r\n": {"ZRANGE", k, "0", "-1", "WITHSCORES"},
		}[string(typ)]
		if read == nil {
			continue
		}
		r, s := p.redis.Do(read...), p.fe.Do(read...)
		if !testutil.SameReply("~", r, s) {
			t.Errorf("%q: redis %q frontend %q", read, r, s)
		}
	}
}
