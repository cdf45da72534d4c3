package shardd

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/wal"
)

// restartable runs a server on one data dir that a test can stop and start.
func restartServer(t *testing.T, dir string, mutate ...func(*Config)) (*Server, *testutil.RawClient) {
	t.Helper()
	srv, addr := startServer(t, append([]func(*Config){func(c *Config) { c.DataDir = dir }}, mutate...)...)
	return srv, testutil.DialRaw(t, addr)
}

func mustDo(t *testing.T, c *testutil.RawClient, want string, args ...string) {
	t.Helper()
	if got := string(c.Do(args...)); got != want {
		t.Fatalf("%q = %q, want %q", args, got, want)
	}
}

func TestRestartReplaysLogAndSnapshot(t *testing.T) {
	dir := t.TempDir()
	srv, c := restartServer(t, dir)
	mustDo(t, c, "+OK\r\n", "SET", "a", "1")
	mustDo(t, c, ":3\r\n", "RPUSH", "l", "x", "y", "z")
	mustDo(t, c, ":1\r\n", "HSET", "h", "f", "v")
	mustDo(t, c, "+OK\r\n", "SET", "ttl", "v", "EX", "1000")
	mustDo(t, c, "+OK\r\n", "SAVE")
	// Writes after the snapshot live only in the log.
	mustDo(t, c, ":2\r\n", "INCR", "a")
	mustDo(t, c, ":2\r\n", "SADD", "s", "m1", "m2")
	mustDo(t, c, ":1\r\n", "ZADD", "z", "1.5", "m")
	mustDo(t, c, "$1\r\nz\r\n", "RPOP", "l")
	srv.Close()

	_, c = restartServer(t, dir)
	mustDo(t, c, "$1\r\n2\r\n", "GET", "a")
	mustDo(t, c, "*2\r\n$1\r\nx\r\n$1\r\ny\r\n", "LRANGE", "l", "0", "-1")
	mustDo(t, c, "$1\r\nv\r\n", "HGET", "h", "f")
	mustDo(t, c, ":2\r\n", "SCARD", "s")
	mustDo(t, c, "$3\r\n1.5\r\n", "ZSCORE", "z", "m")
	if got := string(c.Do("TTL", "ttl")); got != ":1000\r\n" && got != ":999\r\n" {
		t.Fatalf("TTL after restart = %q", got)
	}
}

// lastSegment returns the newest segment file of the log in dir.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	var files []string
	filepath.Walk(filepath.Join(dir, "log"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && len(info.Name()) == 20 && strings.Trim(info.Name(), "0123456789") == "" {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Fatalf("no segment files under %s", dir)
	}
	sort.Strings(files)
	return files[len(files)-1]
}

func TestRecoversFromTornTailAndFlippedByte(t *testing.T) {
	for _, damage := range []string{"torn", "flipped"} {
		t.Run(damage, func(t *testing.T) {
			dir := t.TempDir()
			srv, c := restartServer(t, dir)
			for i := 0; i < 10; i++ {
				mustDo(t, c, "+OK\r\n", "SET", fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i))
			}
			srv.Close()
			seg := lastSegment(t, dir)
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			switch damage {
			case "torn": // the last record was only partly written
				b = b[:len(b)-3]
			case "flipped": // one byte of the last record changed on disk
				b[len(b)-4] ^= 0x40
			}
			if err := os.WriteFile(seg, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, c = restartServer(t, dir)
			for i := 0; i < 9; i++ {
				mustDo(t, c, fmt.Sprintf("$2\r\nv%d\r\n", i), "GET", fmt.Sprintf("k%d", i))
			}
			mustDo(t, c, "$-1\r\n", "GET", "k9") // the damaged record was cut
			mustDo(t, c, "+OK\r\n", "SET", "after", "repair")
			mustDo(t, c, "$6\r\nrepair\r\n", "GET", "after")
		})
	}
}

func TestFailedFsyncRefusesWrites(t *testing.T) {
	var fail atomic.Bool
	_, addr := startServer(t, func(c *Config) {
		c.AppendFsync = "always"
		c.walFaultHook = func(op wal.DiskOp) error {
			if fail.Load() && op == wal.DiskSync {
				return errors.New("injected: no space left on device")
			}
			return nil
		}
	})
	c := testutil.DialRaw(t, addr)
	mustDo(t, c, "+OK\r\n", "SET", "a", "1")
	fail.Store(true)
	// The write whose fsync failed is not acknowledged: the connection
	// closes without a reply.
	if err := c.Send("SET", "b", "2"); err != nil {
		t.Fatal(err)
	}
	if reply, err := c.Read(); err == nil {
		t.Fatalf("write with a failed fsync was answered %q", reply)
	}
	// Later writes are refused with MISCONF; reads still work.
	c = testutil.DialRaw(t, addr)
	if got := c.Do("SET", "c", "3"); !bytes.HasPrefix(got, []byte("-MISCONF ")) {
		t.Fatalf("SET after a failed fsync = %q, want -MISCONF", got)
	}
	mustDo(t, c, "$1\r\n1\r\n", "GET", "a")
}

func TestBgsaveSnapshotsInTheBackground(t *testing.T) {
	dir := t.TempDir()
	srv, c := restartServer(t, dir)
	for i := 0; i < 100; i++ {
		mustDo(t, c, "+OK\r\n", "SET", fmt.Sprintf("k%d", i), "v")
	}
	if info := string(c.Do("INFO", "persistence")); !strings.Contains(info, "rdb_changes_since_last_save:100\r\n") {
		t.Fatalf("before BGSAVE: %s", info)
	}
	mustDo(t, c, "+Background saving started\r\n", "BGSAVE")
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		info := string(c.Do("INFO", "persistence"))
		return strings.Contains(info, "rdb_changes_since_last_save:0\r\n") && strings.Contains(info, "rdb_bgsave_in_progress:0\r\n"), info
	})
	srv.Close()
	if _, err := wal.OpenLatestSnapshot(filepath.Join(dir, "snapshots")); err != nil {
		t.Fatalf("no snapshot after BGSAVE: %v", err)
	}
	_, c = restartServer(t, dir)
	mustDo(t, c, ":100\r\n", "DBSIZE")
}
