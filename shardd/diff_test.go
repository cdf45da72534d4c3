package shardd

// Differential tests over the wire: the same requests go to a real
// redis-server and to shardd and the replies are compared byte for byte.
// The store's own tests cover every data-type command in depth; these cover
// the server layer (connection commands, arity and unknown-command errors,
// MULTI/EXEC/WATCH, pub/sub, blocking commands) and a randomized mix over
// every data type through the whole network path.

import (
	"bytes"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// pair is one connection to redis-server and one to shardd.
type pair struct {
	t            testing.TB
	redis, shoal *testutil.RawClient
}

func newPair(t testing.TB, redisAddr, shoalAddr string) *pair {
	return &pair{t: t, redis: testutil.DialRaw(t, redisAddr), shoal: testutil.DialRaw(t, shoalAddr)}
}

// run sends each line of script (split like redis-cli) to both and compares
// the replies. A leading "~" compares array replies as unordered sets; "?"
// compares only the reply type.
func (p *pair) run(script string) {
	p.t.Helper()
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		mod := ""
		if line[0] == '~' || line[0] == '?' {
			mod, line = line[:1], strings.TrimSpace(line[1:])
		}
		args := testutil.SplitArgs(line)
		r, s := p.redis.Do(args...), p.shoal.Do(args...)
		if !testutil.SameReply(mod, r, s) {
			p.t.Errorf("%s\n  redis: %q\n  shoal: %q", line, r, s)
		}
	}
}

func TestDiffConnectionCommands(t *testing.T) {
	raddr := testutil.StartRedis(t)
	_, saddr := startServer(t)
	p := newPair(t, raddr, saddr)
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
		? LASTSAVE
		ROLE
		WAIT 0 0
		QUIT
	`)
}

func TestDiffArityOfEveryCommand(t *testing.T) {
	raddr := testutil.StartRedis(t)
	srv, saddr := startServer(t)
	p := newPair(t, raddr, saddr)
	// Every command shardd implements, called with too few arguments and
	// (for fixed-arity commands) too many: the errors must match Redis's.
	for name, cmd := range srv.table {
		if name == "quit" || name == "exec" || name == "multi" || name == "discard" || cmd.spec.Arity == -1 ||
			name == "shoal" { // shoal's own command: Redis does not know it
			continue
		}
		a := cmd.spec.Arity
		if a < 0 {
			a = -a
		}
		if a >= 2 {
			args := []string{name}
			for i := 1; i < a-1; i++ {
				args = append(args, "x")
			}
			r, s := p.redis.Do(args...), p.shoal.Do(args...)
			if !bytes.Equal(r, s) {
				t.Errorf("%q\n  redis: %q\n  shoal: %q", args, r, s)
			}
		}
	}
}

func TestDiffTransactions(t *testing.T) {
	raddr := testutil.StartRedis(t)
	_, saddr := startServer(t)
	p := newPair(t, raddr, saddr)
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
		WATCH a b
		MULTI
		WATCH c
		SET a 1
		EXEC
		UNWATCH
	`)
	// WATCH: a write by another client aborts the transaction.
	other := newPair(t, raddr, saddr)
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
	// A blocking command inside MULTI does not block.
	p.run(`
		MULTI
		BLPOP emptylist 0
		BRPOPLPUSH emptylist dst 0
		EXEC
	`)
}

func TestDiffPubSub(t *testing.T) {
	raddr := testutil.StartRedis(t)
	_, saddr := startServer(t)
	sub := newPair(t, raddr, saddr)
	pub := newPair(t, raddr, saddr)
	// One channel per command: each gets exactly one reply, so the test
	// reads every reply before anything is published.
	sub.run(`
		SUBSCRIBE news
		SUBSCRIBE sports
		PSUBSCRIBE n*
		PSUBSCRIBE s?orts
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
	// Each message arrives at both subscribers in the same order.
	for i := 0; i < 5; i++ {
		r, err := sub.redis.Read()
		if err != nil {
			t.Fatalf("redis message %d: %v", i, err)
		}
		s, err := sub.shoal.Read()
		if err != nil {
			t.Fatalf("shoal message %d: %v", i, err)
		}
		if !bytes.Equal(r, s) {
			t.Errorf("message %d\n  redis: %q\n  shoal: %q", i, r, s)
		}
	}
	sub.run(`
		UNSUBSCRIBE news
		PUNSUBSCRIBE n*
		PUNSUBSCRIBE s?orts
		UNSUBSCRIBE
		UNSUBSCRIBE
		PING
	`)
	// A multi-channel SUBSCRIBE answers once per channel.
	for _, c := range []*testutil.RawClient{sub.redis, sub.shoal} {
		c.Send("SUBSCRIBE", "a", "b", "c")
	}
	for i := 0; i < 3; i++ {
		r, _ := sub.redis.Read()
		s, err := sub.shoal.Read()
		if err != nil || !bytes.Equal(r, s) {
			t.Errorf("SUBSCRIBE a b c reply %d\n  redis: %q\n  shoal: %q (%v)", i, r, s, err)
		}
	}
}

func TestDiffBlocking(t *testing.T) {
	raddr := testutil.StartRedis(t)
	_, saddr := startServer(t)
	p := newPair(t, raddr, saddr)
	p.run(`
		BLPOP l1 l2 -1
		BLPOP l1 l2 abc
		BLPOP l1 0.05
		RPUSH l2 a b
		BLPOP l1 l2 0
		BRPOP l1 l2 0
		BLPOP l1 l2 0.01
		SET str x
		BLPOP str 0
		BZPOPMIN z 0.01
		ZADD z 1 a
		BZPOPMAX z 0
		BLMOVE src dst LEFT RIGHT 0.01
	`)
	// A client blocked on a key is served by another client's push.
	waiter := newPair(t, raddr, saddr)
	for _, c := range []*testutil.RawClient{waiter.redis, waiter.shoal} {
		if err := c.Send("BLPOP", "q", "5"); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until both servers report the client as blocked.
	for _, c := range []*testutil.RawClient{p.redis, p.shoal} {
		testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
			info := string(c.Do("INFO", "clients"))
			return strings.Contains(info, "blocked_clients:1"), info
		})
	}
	p.run("RPUSH q job1 job2")
	r, _ := waiter.redis.Read()
	s, err := waiter.shoal.Read()
	if err != nil || !bytes.Equal(r, s) {
		t.Errorf("blocked BLPOP\n  redis: %q\n  shoal: %q (%v)", r, s, err)
	}
	p.run("LRANGE q 0 -1")
}

// TestDiffRandomMix sends a random mix of commands over every data type to
// both servers through the network path. SHOAL_SEED overrides the seed.
func TestDiffRandomMix(t *testing.T) {
	seed := uint64(20261122)
	if s := os.Getenv("SHOAL_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (set SHOAL_SEED to repeat)", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	raddr := testutil.StartRedis(t)
	_, saddr := startServer(t)
	p := newPair(t, raddr, saddr)
	keys := []string{"k1", "k2", "k3", "{t}a", "{t}b"}
	vals := []string{"0", "1", "-5", "10", "x", "hello", "3.5", ""}
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	gens := []func() []string{
		func() []string { return []string{"SET", pick(keys), pick(vals)} },
		func() []string { return []string{"GET", pick(keys)} },
		func() []string { return []string{"INCR", pick(keys)} },
		func() []string { return []string{"APPEND", pick(keys), pick(vals)} },
		func() []string { return []string{"DEL", pick(keys), pick(keys)} },
		func() []string { return []string{"EXISTS", pick(keys)} },
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
	for i := 0; i < 3000; i++ {
		args := gens[rng.IntN(len(gens))]()
		r, s := p.redis.Do(args...), p.shoal.Do(args...)
		if !bytes.Equal(r, s) {
			t.Fatalf("step %d (seed %d): %q\n  redis: %q\n  shoal: %q", i, seed, args, r, s)
		}
	}
	// The final contents agree key by key.
	for _, k := range keys {
		typ := p.redis.Do("TYPE", k)
		if s := p.shoal.Do("TYPE", k); !bytes.Equal(typ, s) {
			t.Errorf("TYPE %s: redis %q shoal %q", k, typ, s)
			continue
		}
		read := map[string][]string{
			"+string\r\n": {"GET", k}, "+hash\r\n": {"HGETALL", k}, "+list\r\n": {"LRANGE", k, "0", "-1"},
			"+set\r\n": {"SMEMBERS", k}, "+zset\r\n": {"ZRANGE", k, "0", "-1", "WITHSCORES"},
		}[string(typ)]
		if read == nil {
			continue
		}
		r, s := p.redis.Do(read...), p.shoal.Do(read...)
		if !testutil.SameReply("~", r, s) {
			t.Errorf("%q: redis %q shoal %q", read, r, s)
		}
	}
}

// TestDiffEveryCommand sends testdata/commands.txt — every command shardd
// implements, at least once — to redis-server and to shardd.
func TestDiffEveryCommand(t *testing.T) {
	script, err := os.ReadFile("testdata/commands.txt")
	if err != nil {
		t.Fatal(err)
	}
	raddr := testutil.StartRedis(t)
	srv, saddr := startServer(t)
	p := newPair(t, raddr, saddr)
	p.run(string(script))
	// Every command in the dispatch table appears in the script.
	seen := map[string]bool{}
	for _, line := range strings.Split(string(script), "\n") {
		f := strings.Fields(strings.TrimLeft(line, "~? "))
		if len(f) > 0 {
			seen[strings.ToLower(f[0])] = true
		}
	}
	elsewhere := map[string]bool{ // covered by the other differential tests
		"multi": true, "exec": true, "discard": true, "watch": true, "unwatch": true,
		"subscribe": true, "unsubscribe": true, "psubscribe": true, "punsubscribe": true,
		"publish": true, "pubsub": true, "quit": true, "auth": true, "hello": true, "client": true,
		"bgsave": true, "info": true, "readonly": true, "readwrite": true, "command": true,
		// replication (replication_test.go): Redis's answers need a replica set
		"replicaof": true, "slaveof": true, "shoal": true,
	}
	for name := range srv.table {
		if !seen[name] && !elsewhere[name] {
			t.Errorf("command %s is not in testdata/commands.txt", name)
		}
	}
}
