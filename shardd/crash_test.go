package shardd

// Durability is tested by crashing: a real `shoal shardd` process with
// appendfsync always is killed with SIGKILL in the middle of writes,
// restarted on the same data, and every acknowledged write must be there.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// shardProc is a shardd child process.
type shardProc struct {
	cmd  *exec.Cmd
	addr string
}

func startShardProc(t *testing.T, bin, dataDir string, extra ...string) *shardProc {
	t.Helper()
	port := testutil.FreePort(t, "127.0.0.1")
	return startShardProcOn(t, bin, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dataDir, extra...)
}

// startShardProcOn starts `shoal shardd` on addr (a restart reuses it).
func startShardProcOn(t *testing.T, bin, addr, dataDir string, extra ...string) *shardProc {
	t.Helper()
	args := append([]string{"shardd", "--listen", addr, "--data-dir", dataDir, "--log-level", "warn"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start shardd: %v", err)
	}
	p := &shardProc{cmd: cmd, addr: addr}
	t.Cleanup(func() { p.kill() })
	waitListening(t, addr)
	return p
}

// waitListening polls until addr accepts connections.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, func() (bool, string) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
}

func (p *shardProc) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

func newClient(addr string) *redis.Client {
	// MaxRetries -1: a retried INCR would run twice (LIBRARIES.md).
	return redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, MaxRetries: -1, DisableIdentity: true,
		DialTimeout: time.Second, ReadTimeout: 5 * time.Second, PoolSize: 4})
}

// ackLog is what one writer knows was acknowledged.
type ackLog struct {
	counter int64    // last acknowledged INCR result
	sets    []string // keys whose SET was acknowledged (value = key)
	pushed  int      // elements acknowledged by RPUSH (values 0..pushed-1)
}

func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	seed := testutil.Seed(t, uint64(time.Now().UnixNano()))
	rng := rand.New(rand.NewPCG(seed, 1))
	bin := testutil.BuildBinary(t, "./cmd/shoal")
	dataDir := t.TempDir()
	const writers = 4
	logs := make([]ackLog, writers)
	rounds := 5
	if testing.Short() {
		rounds = 2
	}
	for round := 0; round < rounds; round++ {
		p := startShardProc(t, bin, dataDir, "--appendfsync", "always", "--snapshot-log-size", "256kb")
		verifyAcks(t, p.addr, logs, round)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				c := newClient(p.addr)
				defer c.Close()
				l := &logs[w]
				for i := 0; ctx.Err() == nil; i++ {
					switch i % 3 {
					case 0:
						n, err := c.Incr(ctx, fmt.Sprintf("counter:%d", w)).Result()
						if err != nil {
							return
						}
						l.counter = n
					case 1:
						k := fmt.Sprintf("set:%d:%d:%d", w, round, i)
						if err := c.Set(ctx, k, k, 0).Err(); err != nil {
							return
						}
						l.sets = append(l.sets, k)
					case 2:
						if err := c.RPush(ctx, fmt.Sprintf("list:%d", w), l.pushed).Err(); err != nil {
							return
						}
						l.pushed++
					}
				}
			}(w)
		}
		time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond) // the crash moment is random
		p.kill()
		cancel()
		wg.Wait()
		t.Logf("round %d: killed; acknowledged so far: counters %v", round, counters(logs))
	}
	p := startShardProc(t, bin, dataDir)
	verifyAcks(t, p.addr, logs, rounds)
}

func counters(logs []ackLog) []int64 {
	out := make([]int64, len(logs))
	for i, l := range logs {
		out[i] = l.counter
	}
	return out
}

// verifyAcks checks every acknowledged write. A write that was in flight
// when the process died may or may not be there; an acknowledged one must.
func verifyAcks(t *testing.T, addr string, logs []ackLog, round int) {
	t.Helper()
	ctx := context.Background()
	c := newClient(addr)
	defer c.Close()
	for w, l := range logs {
		n, err := c.Get(ctx, fmt.Sprintf("counter:%d", w)).Int64()
		if err != nil && err != redis.Nil {
			t.Fatalf("round %d: GET counter:%d: %v", round, w, err)
		}
		if n < l.counter || n > l.counter+1 {
			t.Fatalf("round %d: counter:%d = %d, acknowledged %d", round, w, n, l.counter)
		}
		logs[w].counter = n // an unacknowledged INCR that survived counts from now on
		for _, k := range l.sets {
			v, err := c.Get(ctx, k).Result()
			if err != nil || v != k {
				t.Fatalf("round %d: acknowledged SET %s lost: %q %v", round, k, v, err)
			}
		}
		vals, err := c.LRange(ctx, fmt.Sprintf("list:%d", w), 0, -1).Result()
		if err != nil {
			t.Fatalf("round %d: LRANGE: %v", round, err)
		}
		if len(vals) < l.pushed || len(vals) > l.pushed+1 {
			t.Fatalf("round %d: list:%d has %d elements, acknowledged %d", round, w, len(vals), l.pushed)
		}
		for i, v := range vals {
			if v != strconv.Itoa(i) {
				t.Fatalf("round %d: list:%d[%d] = %q", round, w, i, v)
			}
		}
		logs[w].pushed = len(vals)
	}
}
