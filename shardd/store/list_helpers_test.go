package store

import (
	"bytes"
	"strings"
	"testing"
)

// Helpers for the list tests. Blocking commands need care against the real
// redis-server: one that would block must not hang the test. listDo runs the
// command on the store first; when the store answers nothing (it would block)
// or an error, redis gets the command inside MULTI/EXEC, where blocking is
// not allowed and Redis answers the null it answers on timeout.

// listIsBlocking reports whether name is one of the blocking list commands.
func listIsBlocking(name string) bool {
	switch strings.ToLower(name) {
	case "blpop", "brpop", "blmove", "brpoplpush", "blmpop":
		return true
	}
	return false
}

// listBlockedNull is what Redis answers inside MULTI for a blocking command
// that would block.
func listBlockedNull(name string) string {
	switch strings.ToLower(name) {
	case "blmove", "brpoplpush":
		return "$-1\r\n"
	}
	return "*-1\r\n"
}

// listDo executes args on the store (replaying its effects into the replica)
// and on redis, and reports whether the replies agree. A store reply of zero
// bytes from a blocking command agrees with Redis's null inside MULTI.
func listDo(d *diffEnv, args ...string) (redis, shoal []byte, equal bool) {
	d.t.Helper()
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
	if listIsBlocking(args[0]) && (string(shoal) == "*-1\r\n" || string(shoal) == "$-1\r\n") {
		// The store never answers a null to a blocking command: it answers
		// nothing and the server blocks (see list.go).
		return nil, shoal, false
	}
	if !listIsBlocking(args[0]) || (len(shoal) > 0 && shoal[0] != '-') {
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
		return redis, shoal, string(redis) == listBlockedNull(args[0])
	}
	return redis, shoal, bytes.Equal(redis, shoal)
}

// listRun is diffEnv.run for scripts with blocking commands (see listDo).
// Lines are commands; '#' starts a comment. At the end the replica must
// match the master.
func listRun(d *diffEnv, script string) {
	d.t.Helper()
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		args := splitArgs(line)
		r, s, ok := listDo(d, args...)
		if !ok {
			d.t.Errorf("%s\n  redis: %q\n  shoal: %q", line, r, s)
		}
	}
	d.checkReplica()
}

// listSetString stores a string under key on redis, the master and the
// replica (the string commands live in another engineer's worktree).
func listSetString(d *diffEnv, key, val string) {
	d.t.Helper()
	if r := d.redis.Do("SET", key, val); string(r) != "+OK\r\n" {
		d.t.Fatalf("SET %s: %q", key, r)
	}
	d.master.setKey([]byte(key), []byte(val), 0)
	d.replica.setKey([]byte(key), []byte(val), 0)
}

// listExec runs one command on s and returns its reply as a string.
func listExec(s *Store, now int64, args ...string) string {
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	return string(s.Exec(now, b, nil))
}

// listEffects returns s's pending effects decoded as space-joined commands.
func listEffects(t testing.TB, s *Store) []string {
	t.Helper()
	eff, n := s.TakeEffects()
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
	if len(out) != n {
		t.Fatalf("TakeEffects said %d effects, decoded %d", n, len(out))
	}
	return out
}
