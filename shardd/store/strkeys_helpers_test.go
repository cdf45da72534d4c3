package store

import (
	"strings"
	"testing"
)

// strkeysRun is d.run with one extra directive for the string and key tests:
//
//	!list KEY   (also !hash, !set, !zset) makes KEY hold a one-element value
//	            of that type on redis and on both stores.
//
// In a worktree where that type's commands exist it runs them (RPUSH, HSET,
// SADD, ZADD) through the harness; otherwise it stores the type's value
// directly, so WRONGTYPE and TYPE can be tested before the types land.
func strkeysRun(d *diffEnv, script string) {
	d.t.Helper()
	var chunk strings.Builder
	flush := func() {
		if chunk.Len() > 0 {
			d.run(chunk.String())
			chunk.Reset()
		}
	}
	for _, line := range strings.Split(script, "\n") {
		l := strings.TrimSpace(line)
		if !strings.HasPrefix(l, "!") {
			chunk.WriteString(line)
			chunk.WriteByte('\n')
			continue
		}
		flush()
		f := strings.Fields(l[1:])
		if len(f) != 2 {
			d.t.Fatalf("bad directive %q", l)
		}
		strkeysMakeType(d, f[0], f[1])
	}
	flush()
}

// strkeysMakeType makes key hold a value of type typ (list, hash, set, zset).
func strkeysMakeType(d *diffEnv, typ, key string) {
	d.t.Helper()
	var cmd []string
	var val func() any
	switch typ {
	case "list":
		cmd, val = []string{"RPUSH", key, "x"}, func() any { return new(listValue) }
	case "hash":
		cmd, val = []string{"HSET", key, "f", "v"}, func() any { return new(hashValue) }
	case "set":
		cmd, val = []string{"SADD", key, "m"}, func() any { return new(setValue) }
	case "zset":
		cmd, val = []string{"ZADD", key, "1", "m"}, func() any { return new(zsetValue) }
	default:
		d.t.Fatalf("unknown type %q", typ)
	}
	d.do("DEL", key)
	if d.master.Lookup([]byte(cmd[0])) != nil {
		d.do(cmd...)
		return
	}
	d.redis.Do(cmd...)
	d.master.setKey([]byte(key), val(), 0)
	d.replica.setKey([]byte(key), val(), 0)
}

func TestStrkeysHelper(t *testing.T) {
	d := newDiffEnv(t)
	strkeysRun(d, `
!list l
TYPE l
!hash h
TYPE h
!set s
TYPE s
!zset z
TYPE z
`)
}
