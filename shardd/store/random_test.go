package store

import (
	"strconv"
	"testing"
)

// TestRandCountDiff checks the count forms of HRANDFIELD, SRANDMEMBER and
// ZRANDMEMBER against redis-server: errors and whole-collection replies
// byte for byte; for random picks the number of elements, that every one
// is in the collection, and that a positive count gives distinct ones.
func TestRandCountDiff(t *testing.T) {
	d := newDiffEnv(t)
	d.run(`
HSET h a 1 b 2 c 3 d 4 e 5
SADD s 5 3 1 4 2
SADD ss x y z u v
ZADD z 1 a 2 b 3 c 4 d 5 e
SET str x
`)
	members := map[string]map[string]bool{
		"h": {"a": true, "b": true, "c": true, "d": true, "e": true},
		"s": {"1": true, "2": true, "3": true, "4": true, "5": true}, "ss": {"x": true, "y": true, "z": true, "u": true, "v": true},
		"z": {"a": true, "b": true, "c": true, "d": true, "e": true},
	}
	cmds := []struct {
		name, key, with string
	}{
		{"HRANDFIELD", "h", "WITHVALUES"}, {"SRANDMEMBER", "s", ""}, {"SRANDMEMBER", "ss", ""}, {"ZRANDMEMBER", "z", "WITHSCORES"},
	}
	for _, c := range cmds {
		// Errors and exact answers (a hashtable set's order is unspecified).
		mod := ""
		if c.key == "ss" {
			mod = "~"
		}
		for _, args := range [][]string{
			{c.key, "x"}, {c.key, "-9223372036854775808"}, {c.key, "1.5"}, {"nokey", "3"}, {"nokey", "-3"},
			{c.key, "0"}, {"str", "1"}, {c.key, "5"}, {c.key, "6"}, {c.key, "100"}, {c.key, "1", "2"},
			{c.key, "1", "FOO"}, {c.key, "-4611686018427387904", "WITHVALUES"},
			{c.key, "4611686018427387904", "withscores"},
		} {
			d.check(mod, append([]string{c.name}, args...)...)
		}
		if c.with != "" {
			d.check("", c.name, c.key, "5", c.with)
			d.check("", c.name, c.key, "9", c.with)
			d.check("", c.name, c.key, "0", c.with)
			d.check("", c.name, "nokey", "-2", c.with)
			d.check("", c.name, c.key, "4611686018427387904", c.with)
		}
		// Random picks.
		for _, n := range []int{-7, -1, 1, 2, 4} {
			for _, with := range []bool{false, true} {
				if with && c.with == "" {
					continue
				}
				args := []string{c.name, c.key, strconv.Itoa(n)}
				per := 1
				if with {
					args = append(args, c.with)
					per = 2
				}
				r, s := d.do(args...)
				re, rok := splitFrames(r)
				se, sok := splitFrames(s)
				if !rok || !sok || len(re) != len(se) || len(se) != abs(n)*per {
					t.Errorf("%q: redis %q, shoal %q", args, r, s)
					continue
				}
				seen := map[string]bool{}
				for i := 0; i < len(se); i += per {
					m := bulkText(se[i])
					if !members[c.key][m] {
						t.Errorf("%q: %q is not a member", args, m)
					}
					if n > 0 && seen[m] {
						t.Errorf("%q: %q twice in %q", args, m, s)
					}
					seen[m] = true
				}
			}
		}
	}
	d.checkReplica()
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
