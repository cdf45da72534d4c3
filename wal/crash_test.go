package wal

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const crashDirEnv = "SHOAL_WAL_CRASH_DIR"

// TestCrashChild is the child process of TestUncleanStop: it appends from 8
// goroutines until killed, printing "ack <index> <payload>" once WaitDurable
// has returned nil for a record.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("child process of TestUncleanStop")
	}
	policy, err := ParsePolicy(os.Getenv("SHOAL_WAL_CRASH_POLICY"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Dir, cfg.Fsync, cfg.SegmentSize = dir, policy, 8<<10
	l, err := Open(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	fmt.Printf("opened %d\n", l.LastIndex())
	var out sync.Mutex
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; ; i++ {
				p := fmt.Sprintf("g%d-%d-%s", g, i, strings.Repeat("z", i%50))
				idx, err := l.Append(1, time.Now().UnixMilli(), []byte(p))
				if err == nil {
					err = l.WaitDurable(context.Background(), idx)
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(3)
				}
				out.Lock()
				fmt.Printf("ack %d %s\n", idx, p)
				out.Unlock()
			}
		}()
	}
	select {} // until SIGKILL
}

// TestUncleanStop kills a child process (SIGKILL, no Close) while it appends,
// twice per policy, and checks after each kill that every record the child
// saw acknowledged by WaitDurable is in the reopened log, and that appends
// continue at LastIndex+1. A process crash must lose nothing under every
// policy (the page cache survives it).
func TestUncleanStop(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	for _, policy := range []string{"always", "everysec", "no"} {
		t.Run(policy, func(t *testing.T) {
			dir := t.TempDir()
			acked := map[uint64]string{}
			for round := 0; round < 2; round++ {
				runChildUntilKilled(t, dir, policy, acked, 300)
				cfg := testConfig(t, dir, FsyncNo)
				l := mustOpen(t, cfg)
				var maxAcked uint64
				for idx, p := range acked {
					maxAcked = max(maxAcked, idx)
					r, err := l.Read(idx)
					if err != nil || string(r.Payload) != p {
						l.Close()
						t.Fatalf("round %d: acknowledged record %d: got %q, %v; want %q", round, idx, r.Payload, err, p)
					}
				}
				last := l.LastIndex()
				t.Logf("round %d: %d records acknowledged (max %d), log has %d", round, len(acked), maxAcked, last)
				if last < maxAcked {
					t.Fatalf("LastIndex %d < max acknowledged %d", last, maxAcked)
				}
				idx, err := l.Append(2, 1, []byte("after crash"))
				if err != nil || idx != last+1 {
					t.Fatalf("Append after crash = %d, %v; want %d", idx, err, last+1)
				}
				acked[idx] = "after crash"
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func runChildUntilKilled(t *testing.T, dir, policy string, acked map[uint64]string, want int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, "SHOAL_WAL_CRASH_POLICY="+policy)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var killed atomic.Bool
	var once sync.Once
	kill := func() {
		once.Do(func() {
			killed.Store(true)
			cmd.Process.Kill()
		})
	}
	timer := time.AfterFunc(60*time.Second, kill) // a hung child must not hang the test
	defer timer.Stop()
	r := bufio.NewReader(stdout)
	n := 0
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading child output: %v", err)
		}
		fields := strings.SplitN(strings.TrimSpace(line), " ", 3)
		if len(fields) != 3 || fields[0] != "ack" {
			continue
		}
		idx, err := strconv.ParseUint(fields[1], 10, 64)
		if err != nil {
			t.Fatalf("bad child line %q", line)
		}
		acked[idx] = fields[2]
		if n++; n == want {
			kill() // lines already in the pipe are still read: they were acknowledged
		}
	}
	cmd.Wait()
	if !killed.Load() {
		t.Fatalf("child exited on its own after %d acks; stderr:\n%s", n, stderr.String())
	}
	if n < want {
		t.Fatalf("child killed after only %d acks (timeout?); stderr:\n%s", n, stderr.String())
	}
}
