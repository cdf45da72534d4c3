package store

import (
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

// listGen produces random list commands over a small key space, including a
// string key for WRONGTYPE, odd numbers and bad options.
type listGen struct{ r *rand.Rand }

var (
	listGenKeys  = []string{"la", "lb", "lc", "s"}
	listGenElems = []string{"a", "b", "c", "1", "", "x y", "-1"}
	listGenOdd   = []string{"x", "1.5", "", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", " 1", "+1", "01"}
	listGenTimeouts = []string{"0", "0", "0.01", "1", "-1", "abc", "0x10", "1e400", "-0.0001", "inf"}
)

func (g *listGen) pick(s []string) string { return s[g.r.Intn(len(s))] }

// key is one of the list keys, or (one time in ten) the string key.
func (g *listGen) key() string {
	if g.r.Intn(10) == 0 {
		return "s"
	}
	return g.pick(listGenKeys[:3])
}
func (g *listGen) elem() string { return g.pick(listGenElems) }

func (g *listGen) idx() string {
	if g.r.Intn(25) == 0 {
		return g.pick(listGenOdd)
	}
	return strconv.Itoa(g.r.Intn(25) - 12)
}

func (g *listGen) count() string {
	if g.r.Intn(20) == 0 {
		return g.pick(listGenOdd)
	}
	return strconv.Itoa(g.r.Intn(7) - 1)
}

func (g *listGen) where() string {
	if g.r.Intn(30) == 0 {
		return "UP"
	}
	return g.pick([]string{"LEFT", "RIGHT", "left", "Right"})
}

func (g *listGen) elems(min int) []string {
	n := min + g.r.Intn(4)
	out := make([]string, n)
	for i := range out {
		out[i] = g.elem()
	}
	return out
}

func (g *listGen) keys(min int) []string {
	n := min + g.r.Intn(3)
	out := make([]string, n)
	for i := range out {
		out[i] = g.key()
	}
	return out
}

func (g *listGen) cmd() []string {
	r := g.r
	c := func(parts ...any) []string {
		var out []string
		for _, p := range parts {
			switch v := p.(type) {
			case string:
				out = append(out, v)
			case []string:
				out = append(out, v...)
			}
		}
		return out
	}
	switch r.Intn(26) {
	case 0, 1, 2:
		return c(g.pick([]string{"LPUSH", "RPUSH"}), g.key(), g.elems(1))
	case 3:
		return c(g.pick([]string{"LPUSHX", "RPUSHX"}), g.key(), g.elems(1))
	case 4, 5:
		if r.Intn(2) == 0 {
			return c(g.pick([]string{"LPOP", "RPOP"}), g.key())
		}
		return c(g.pick([]string{"LPOP", "RPOP"}), g.key(), g.count())
	case 6:
		return c("LLEN", g.key())
	case 7, 8:
		return c("LRANGE", g.key(), g.idx(), g.idx())
	case 9:
		return c("LINDEX", g.key(), g.idx())
	case 10:
		return c("LSET", g.key(), g.idx(), g.elem())
	case 11:
		where := g.pick([]string{"BEFORE", "AFTER", "after", "AROUND"})
		return c("LINSERT", g.key(), where, g.elem(), g.elem())
	case 12:
		return c("LREM", g.key(), g.idx(), g.elem())
	case 13:
		return c("LTRIM", g.key(), g.idx(), g.idx())
	case 14, 15:
		args := c("LPOS", g.key(), g.elem())
		for n := r.Intn(4); n > 0; n-- {
			switch r.Intn(7) {
			case 0, 1:
				args = append(args, "RANK", g.pick([]string{"1", "2", "-1", "-2", "3", "0", "x", "-9223372036854775808"}))
			case 2, 3:
				args = append(args, "COUNT", g.count())
			case 4, 5:
				args = append(args, "MAXLEN", g.count())
			case 6:
				args = append(args, g.pick([]string{"FOO", "RANK"}))
			}
		}
		return args
	case 16:
		return c("LMOVE", g.key(), g.key(), g.where(), g.where())
	case 17:
		return c("RPOPLPUSH", g.key(), g.key())
	case 18, 19:
		return c(g.pick([]string{"BLPOP", "BRPOP"}), g.keys(1), g.pick(listGenTimeouts))
	case 20:
		return c("BLMOVE", g.key(), g.key(), g.where(), g.where(), g.pick(listGenTimeouts))
	case 21:
		return c("BRPOPLPUSH", g.key(), g.key(), g.pick(listGenTimeouts))
	case 22, 23:
		keys := g.keys(1)
		numkeys := strconv.Itoa(len(keys))
		if r.Intn(15) == 0 {
			numkeys = g.pick([]string{"0", "x", "9", "-1"})
		}
		args := c(numkeys, keys, g.where())
		if r.Intn(2) == 0 {
			args = append(args, "COUNT", g.count())
		}
		if r.Intn(2) == 0 {
			return c("LMPOP", args)
		}
		return c("BLMPOP", g.pick(listGenTimeouts), args)
	default:
		// Bulk pushes keep the lists long enough for interesting ranges.
		return c("RPUSH", g.key(), g.elems(4), g.elems(4))
	}
}

// TestListRandomized runs a few thousand random list commands against Redis
// and the store, checking every reply and, regularly, the replica.
func TestListRandomized(t *testing.T) {
	seed := int64(testSeed(t, 20260701))
	g := &listGen{r: rand.New(rand.NewSource(seed))}
	d := newDiffEnv(t)
	d.setString("s", "v")
	n := 4000
	if testing.Short() {
		n = 1000
	}
	failures := 0
	for i := 0; i < n; i++ {
		args := g.cmd()
		r, s, ok := d.doBlocking(args...)
		if !ok {
			t.Errorf("seed %d step %d: %s\n  redis: %q\n  shoal: %q", seed, i, strings.Join(args, " "), r, s)
			if failures++; failures > 10 {
				t.FailNow()
			}
		}
		if i%250 == 0 {
			d.checkReplica()
		}
	}
	for _, k := range listGenKeys[:3] {
		if r, s, ok := d.doBlocking("LRANGE", k, "0", "-1"); !ok {
			t.Errorf("final LRANGE %s\n  redis: %q\n  shoal: %q", k, r, s)
		}
	}
	d.checkReplica()
}

// TestListRandomTimeouts compares the timeout parser with Redis on random
// number-like strings.
func TestListRandomTimeouts(t *testing.T) {
	seed := int64(testSeed(t, 20260701))
	r := rand.New(rand.NewSource(seed))
	d := newDiffEnv(t)
	digits := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteByte(byte('0' + r.Intn(10)))
		}
		return b.String()
	}
	n := 600
	if testing.Short() {
		n = 150
	}
	for i := 0; i < n; i++ {
		var s string
		switch r.Intn(8) {
		case 0: // around the long long limit in ms
			s = "92233720368547" + digits(2) + "." + digits(1+r.Intn(6))
		case 1: // small negatives around -1 ms
			s = "-0.00" + digits(1+r.Intn(20))
		case 2: // exponents near the long double limits
			s = digits(1+r.Intn(3)) + "e" + []string{"4931", "4932", "4933", "-4950", "-4951", "-4952", "18", "15", "16"}[r.Intn(9)]
		case 3: // hex
			s = "0x" + strings.ReplaceAll(digits(1+r.Intn(4)), "9", "f")
			if r.Intn(2) == 0 {
				s += "p" + strconv.Itoa(r.Intn(80)-20)
			}
		case 4: // decimals
			s = digits(1+r.Intn(4)) + "." + digits(r.Intn(5))
		default: // random junk made of number characters
			const chars = "0123456789.eE+-xXpP iInNfF"
			var b strings.Builder
			for k := 1 + r.Intn(6); k > 0; k-- {
				b.WriteByte(chars[r.Intn(len(chars))])
			}
			s = b.String()
		}
		if r.Intn(4) == 0 {
			s = "-" + s
		}
		listTimeoutCase(d, s)
	}
	d.checkReplica()
}
