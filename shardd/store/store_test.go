package store

import (
	"strings"
	"testing"
)

// TestUnknownCommandDiff: Exec answers a name it does not know with Redis's
// text (proto.ErrUnknownCommand: arguments cut at 128 bytes and at a NUL,
// CR and LF shown as spaces).
func TestUnknownCommandDiff(t *testing.T) {
	d := newDiffEnv(t)
	d.check("", "NOSUCHCMD")
	d.check("", "nosuchcmd", "a", "b c")
	d.check("", "NOSUCHCMD", strings.Repeat("x", 200), "y")
	d.check("", "NOSUCHCMD", "a\r\nb", "c\x00d")
	d.check("", strings.Repeat("N", 140), "a")
}

// TestStoreResultExpiredDestination: every STORE command writes its result
// through storeResult, which expires an expired destination first (as
// Redis's setKey does through lookupKeyWrite: a DEL is recorded and counted
// in expired_keys, checked against redis-server 7.0.15 by hand) and then
// records the command itself.
func TestStoreResultExpiredDestination(t *testing.T) {
	const now = 10_000
	for _, tc := range []struct{ cmd, want string }{
		{"SINTERSTORE dst s s", "DEL dst | SINTERSTORE dst s s"},
		{"SUNIONSTORE dst s", "DEL dst | SUNIONSTORE dst s"},
		{"SDIFFSTORE dst s", "DEL dst | SDIFFSTORE dst s"},
		{"ZRANGESTORE dst z 0 -1", "DEL dst | ZRANGESTORE dst z 0 -1"},
		{"ZUNIONSTORE dst 1 z", "DEL dst | ZUNIONSTORE dst 1 z"},
		{"ZINTERSTORE dst 1 z", "DEL dst | ZINTERSTORE dst 1 z"},
		{"ZDIFFSTORE dst 1 z", "DEL dst | ZDIFFSTORE dst 1 z"},
		// Empty results: dst is already gone once expired. (Redis's
		// dbDelete would delete it without counting an expiry and record
		// the command: the replica ends the same either way.)
		{"SDIFFSTORE dst s s", "DEL dst"},
		{"ZDIFFSTORE dst 2 z z", "DEL dst"},
		{"ZRANGESTORE dst nokey 0 -1", "DEL dst"},
	} {
		s := New(DefaultConfig())
		storeExec(s, now, "SADD", "s", "a", "b")
		storeExec(s, now, "ZADD", "z", "1", "a")
		s.setKey([]byte("dst"), []byte("old"), now-1) // expired, not yet deleted
		s.TakeEffects()
		s.Exec(now, byteArgs(strings.Fields(tc.cmd)...), nil)
		eff, _ := s.TakeEffects()
		if got := effectsString(t, eff); got != tc.want {
			t.Errorf("%s: effects %q, want %q", tc.cmd, got, tc.want)
		}
		if st := s.Stats(); st.ExpiredKeys != 1 {
			t.Errorf("%s: expired_keys %d, want 1", tc.cmd, st.ExpiredKeys)
		}
	}
}
