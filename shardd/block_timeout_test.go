package shardd

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// TestBlockTimeoutParsing: the server reads a blocking command's timeout
// with the store's ParseTimeout (Redis's strtold rules), not strconv:
// "1e-400" is 1 ms and "0x1p-10" about 1 ms, where strconv made the first
// 0 (block forever).
func TestBlockTimeoutParsing(t *testing.T) {
	raddr := testutil.StartRedis(t)
	_, saddr := startServer(t)
	p := newPair(t, raddr, saddr)
	p.Run(`
		BLPOP empty 1e-400
		BRPOP empty 0x1p-10
		BZPOPMIN emptyz 1e-400
		BLMOVE empty dst LEFT RIGHT 1e-400
	`)
}

// TestBlockHugeTimeout: a timeout of 9.2e15 seconds (9.2e18 ms) must not
// overflow a time.Duration (which made the timer fire at once); the client
// stays blocked until served. Redis 7.0.15 itself crashes on this one, so
// only shardd is asked.
func TestBlockHugeTimeout(t *testing.T) {
	_, saddr := startServer(t)
	waiter := testutil.DialRaw(t, saddr)
	ctl := testutil.DialRaw(t, saddr)
	if err := waiter.Send("BLPOP", "q", "9.2e15"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		info := string(ctl.Do("INFO", "clients"))
		return strings.Contains(info, "blocked_clients:1"), info
	})
	if r, err := waiter.ReadTimeout(50 * time.Millisecond); err == nil {
		t.Fatalf("BLPOP with a huge timeout answered %q before anything was pushed", r)
	}
	ctl.Do("RPUSH", "q", "job")
	r, err := waiter.Read()
	if want := []byte("*2\r\n$1\r\nq\r\n$3\r\njob\r\n"); err != nil || !bytes.Equal(r, want) {
		t.Fatalf("blocked BLPOP got %q (%v), want %q", r, err, want)
	}
}
