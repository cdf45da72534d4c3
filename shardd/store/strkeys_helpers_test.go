package store

import (
	"strings"
	"testing"
)

// strkeysRun is d.run with one extra directive for the string and key tests:
//
//	!list KEY   (also !hash, !set, !zset) makes KEY hold a one-element value
//	            of that type on redis and on both stores.
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

// strkeysMakeType makes key hold a one-element value of type typ (list,
// hash, set, zset) on redis and on both stores.
func strkeysMakeType(d *diffEnv, typ, key string) {
	d.t.Helper()
	cmds := map[string][]string{
		"list": {"RPUSH", key, "x"}, "hash": {"HSET", key, "f", "v"}, "set": {"SADD", key, "m"}, "zset": {"ZADD", key, "1", "m"},
	}
	cmd, ok := cmds[typ]
	if !ok {
		d.t.Fatalf("unknown type %q", typ)
	}
	d.do("DEL", key)
	d.do(cmd...)
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
