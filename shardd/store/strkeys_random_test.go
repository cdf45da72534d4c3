package store

import (
	"bytes"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// strkeysGen generates random string and keyspace commands over a small key
// space, with a list key for wrong-type collisions.
type strkeysGen struct {
	r *rand.Rand
}

var strkeysKeys = []string{"k0", "k1", "k2", "k3", "k4", "l0"}

func (g *strkeysGen) key() string { return strkeysKeys[g.r.IntN(len(strkeysKeys))] }

func (g *strkeysGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g *strkeysGen) value() string {
	switch g.r.IntN(8) {
	case 0:
		return ""
	case 1:
		return strconv.Itoa(g.r.IntN(20000) - 100)
	case 2:
		return g.pick("9223372036854775807", "-9223372036854775808", "9223372036854775806", "007", "-0", "+1", " 1")
	case 3:
		return g.pick("1.5", "-0.25", "3e2", "0x10", "inf", "1e400")
	case 4:
		return strings.Repeat("x", 40+g.r.IntN(10))
	default:
		return g.pick("a", "hello", "foo bar", "zz")
	}
}

func (g *strkeysGen) seconds() string {
	switch g.r.IntN(10) {
	case 0:
		return g.pick("0", "-1", "abc", "9223372036854775807")
	default:
		return strconv.Itoa(100 + g.r.IntN(10000))
	}
}

func (g *strkeysGen) expireOpts(set bool) []string {
	var out []string
	for range g.r.IntN(3) {
		switch g.r.IntN(9) {
		case 0:
			out = append(out, "EX", g.seconds())
		case 1:
			out = append(out, "PX", strconv.Itoa(100000+g.r.IntN(1000000)))
		case 2:
			out = append(out, "EXAT", g.pick("1", "99999999999", strconv.Itoa(2000000000+g.r.IntN(1000))))
		case 3:
			out = append(out, "PXAT", g.pick("1", "99999999999999"))
		case 4:
			if set {
				out = append(out, "KEEPTTL")
			} else {
				out = append(out, "PERSIST")
			}
		case 5:
			out = append(out, g.pick("NX", "XX", "GET"))
		case 6:
			out = append(out, g.pick("NX", "XX", "GET"))
		case 7:
			out = append(out, "FOO")
		default:
		}
	}
	return out
}

// cmd returns a command and the harness modifier for its reply.
func (g *strkeysGen) cmd() (string, []string) {
	k := g.key()
	switch g.r.IntN(46) {
	case 0, 1, 2:
		return "", append([]string{"SET", k, g.value()}, g.expireOpts(true)...)
	case 3, 4:
		return "", []string{"GET", k}
	case 5:
		return "", []string{"SETNX", k, g.value()}
	case 6:
		return "", []string{g.pick("SETEX", "PSETEX"), k, g.seconds() + g.pick("", "000"), g.value()}
	case 7:
		return "", []string{"GETSET", k, g.value()}
	case 8:
		return "", []string{"GETDEL", k}
	case 9:
		return "", append([]string{"GETEX", k}, g.expireOpts(false)...)
	case 10:
		return "", []string{"MGET", k, g.key(), g.key()}
	case 11:
		return "", []string{g.pick("MSET", "MSETNX"), k, g.value(), g.key(), g.value()}
	case 12, 13:
		return "", []string{g.pick("INCR", "DECR"), k}
	case 14:
		return "", []string{g.pick("INCRBY", "DECRBY"), k, g.pick("1", "-7", "1000000", "9223372036854775807",
			"-9223372036854775808", "x", "1.5")}
	case 15:
		return "", []string{"INCRBYFLOAT", k, g.pick("0.1", "1.5", "-2.25", "1e3", "3", "abc", "inf", "1e4000", "-0.1")}
	case 16, 17:
		return "", []string{"APPEND", k, g.value()}
	case 18:
		return "", []string{"STRLEN", k}
	case 19:
		return "", []string{g.pick("GETRANGE", "SUBSTR"), k, strconv.Itoa(g.r.IntN(30) - 15), strconv.Itoa(g.r.IntN(30) - 15)}
	case 20:
		return "", []string{"SETRANGE", k, g.pick(strconv.Itoa(g.r.IntN(60)), "-1", "x"), g.pick("", "ab", "Z", "12")}
	case 21:
		return "", []string{g.pick("DEL", "UNLINK"), k, g.key()}
	case 22:
		return "", []string{g.pick("EXISTS", "TOUCH"), k, g.key(), k}
	case 23:
		return "", []string{"TYPE", k}
	case 24, 25:
		cmd := g.pick("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT")
		var when string
		switch cmd {
		case "EXPIRE":
			when = g.pick(strconv.Itoa(100+g.r.IntN(5000)), "-5", "0")
		case "PEXPIRE":
			when = g.pick(strconv.Itoa(100000+g.r.IntN(5000000)), "-5")
		case "EXPIREAT":
			when = g.pick(strconv.Itoa(2000000000+g.r.IntN(1000)), "1")
		default:
			when = g.pick(strconv.Itoa(2000000000000+g.r.IntN(1000000)), "1")
		}
		args := []string{cmd, k, when}
		for range g.r.IntN(3) {
			args = append(args, g.pick("NX", "XX", "GT", "LT", "nx", "gt"))
		}
		return "", args
	case 26:
		return "%1", []string{g.pick("TTL", "EXPIRETIME"), k}
	case 27:
		return "%250", []string{g.pick("PTTL", "PEXPIRETIME"), k}
	case 28:
		return "", []string{"PERSIST", k}
	case 29:
		return "~", []string{"KEYS", g.pick("*", "k*", "k[0-2]", "?0", "l*")}
	case 30:
		args := []string{"SCAN", "0"}
		if g.r.IntN(2) == 0 {
			args = append(args, "MATCH", g.pick("*", "k*", "l?"))
		}
		if g.r.IntN(2) == 0 {
			args = append(args, "TYPE", g.pick("string", "list", "hash"))
		}
		return "~", args
	case 31:
		return "?", []string{"RANDOMKEY"}
	case 32, 33:
		return "", []string{g.pick("RENAME", "RENAMENX"), k, g.key()}
	case 34, 35:
		args := []string{"COPY", k, g.key()}
		if g.r.IntN(2) == 0 {
			args = append(args, "REPLACE")
		}
		return "", args
	case 36:
		return "", []string{"OBJECT", "ENCODING", k}
	case 37:
		if g.r.IntN(20) == 0 {
			return "", []string{g.pick("FLUSHALL", "FLUSHDB")}
		}
		return "", []string{"EXISTS", k}
	case 38, 39:
		return "list", []string{"l0"}
	default:
		return "", []string{"SET", k, g.value()}
	}
}

// TestStrkeysRandom runs a few thousand random string and keyspace commands
// against redis and the store and compares every reply; the replica must end
// up identical.
func TestStrkeysRandom(t *testing.T) {
	seed := testSeed(t, 20240607)
	d := newDiffEnv(t)
	g := &strkeysGen{r: rand.New(rand.NewPCG(seed, seed^0x5eed))}
	n := 3000
	if v, err := strconv.Atoi(os.Getenv("SHOAL_RANDOM_N")); err == nil {
		n = v
	}
	if testing.Short() {
		n = 500
	}
	failures := 0
	var history []string
	for i := 0; i < n && failures < 10; i++ {
		mod, args := g.cmd()
		if mod == "list" {
			strkeysMakeType(d, "list", args[0])
			history = append(history, "!list "+args[0])
			continue
		}
		history = append(history, strings.Join(args, " "))
		r, s := d.do(args...)
		if replyEqual(mod, r, s) {
			continue
		}
		// A documented deviation: INCRBYFLOAT stores an integer-looking
		// result embstr in Redis; shoal's []byte answers "int".
		if args[0] == "OBJECT" && bytes.Equal(r, []byte("$6\r\nembstr\r\n")) && bytes.Equal(s, []byte("$3\r\nint\r\n")) {
			continue
		}
		// Before the list type lands in this worktree its placeholder has no
		// encoding.
		if args[0] == "OBJECT" && bytes.Equal(s, []byte("$0\r\n\r\n")) && d.master.Lookup([]byte("rpush")) == nil {
			continue
		}
		failures++
		from := max(0, len(history)-15)
		t.Errorf("command %d: %s\n  redis: %q\n  shoal: %q\n  recent:\n    %s", i, history[len(history)-1], r, s,
			strings.Join(history[from:], "\n    "))
	}
	d.checkReplica()
}
