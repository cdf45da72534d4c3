package store

import (
	"os"
	"strconv"
	"testing"
)

// zsetTestSeed returns the seed for randomized tests: SHOAL_SEED when set,
// else a fixed default. It is logged so a failure can be replayed.
func zsetTestSeed(t testing.TB) uint64 {
	t.Helper()
	seed := uint64(20240607)
	if s := os.Getenv("SHOAL_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SHOAL_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (set SHOAL_SEED to replay)", seed)
	return seed
}

// zsetSetString stores a string key on redis, the master and the replica
// (string commands live in another file of the package).
func zsetSetString(d *diffEnv, key, val string) {
	d.t.Helper()
	d.redis.Do("SET", key, val)
	d.master.setKey([]byte(key), []byte(val), 0)
	d.replica.setKey([]byte(key), []byte(val), 0)
}

// zsetCheckEncoding compares OBJECT ENCODING of key with the master's (and
// the replica's) encoding of it.
func zsetCheckEncoding(d *diffEnv, key string) {
	d.t.Helper()
	want := string(d.redis.Do("OBJECT", "ENCODING", key))
	for name, s := range map[string]*Store{"master": d.master, "replica": d.replica} {
		got := "$-1\r\n"
		if e, ok := s.keys[key]; ok {
			enc := e.val.(object).encoding()
			got = "$" + strconv.Itoa(len(enc)) + "\r\n" + enc + "\r\n"
		}
		if got != want {
			d.t.Errorf("OBJECT ENCODING %s: redis %q, %s %q", key, want, name, got)
		}
	}
}
