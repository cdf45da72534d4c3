package waitload

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// Against a real redis-server master with one replica: writes are
// acknowledged and WAIT-confirmed; Verify finds them all, then counts a
// confirmed write removed behind the writer's back as lost (with a
// sample), and a write that failed as failed, not acknowledged.
func TestWriterVerify(t *testing.T) {
	master := testutil.StartRedis(t, "--repl-diskless-sync-delay", "0") // no 5 s wait before the first sync
	host, port, _ := strings.Cut(master, ":")
	replica := testutil.StartRedis(t, "--replicaof", host, port)
	rdb := redis.NewClient(&redis.Options{Addr: master, MaxRetries: -1})
	defer rdb.Close()
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: replica})
	defer rc.Close()
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		info, _ := rc.Info(ctx, "replication").Result()
		return strings.Contains(info, "master_link_status:up"), info
	})

	// WAIT returns once the replica acknowledges; a generous timeout keeps
	// a loaded machine from turning a slow acknowledgement into a failure.
	w := NewWriter(rdb, 5*time.Second)
	for i := 0; i < 20; i++ {
		waited, err := w.Write(ctx, "k"+strconv.Itoa(i), "v"+strconv.Itoa(i))
		if err != nil || !waited {
			t.Fatalf("write %d: waited %v, %v", i, waited, err)
		}
	}
	tally, err := Verify(ctx, rdb, w)
	if err != nil || tally.Acked != 20 || tally.Waited != 20 || tally.LostWaited != 0 || tally.LostOther != 0 {
		t.Fatalf("Verify: %v %v", tally, err)
	}

	rdb.Del(ctx, "k3")
	bad := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer bad.Close()
	failing := NewWriter(bad, 0)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := failing.Write(short, "never", "x"); err == nil {
		t.Fatal("a write to a closed port succeeded")
	}
	tally, err = Verify(ctx, rdb, w, failing)
	if err != nil || tally.LostWaited != 1 || tally.Failed != 1 || tally.Acked != 20 || len(tally.Samples) != 1 ||
		!strings.HasPrefix(tally.Samples[0], `k3 = "v3"`) {
		t.Fatalf("Verify after a loss: %v %q %v", tally, tally.Samples, err)
	}
	t.Log(tally)
}
