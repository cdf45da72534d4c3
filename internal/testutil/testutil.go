// Package testutil holds helpers shared by every test in shoal: polling with a
// deadline instead of sleeping, loggers that write to t.Log, loopback
// addresses, a real redis-server to compare against, and a raw RESP client
// that returns reply frames byte for byte.
//
// It imports nothing of shoal's own, so any package's tests can use it.
package testutil

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// WaitFor polls cond every few milliseconds until it returns true or the
// timeout passes; then it fails the test with the last message cond returned.
// Use it wherever a test would otherwise sleep.
func WaitFor(t testing.TB, timeout time.Duration, cond func() (ok bool, why string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %s", timeout, why)
		}
		time.Sleep(wait)
		if wait < 50*time.Millisecond {
			wait *= 2
		}
	}
}

// Logger returns a *slog.Logger whose records go to t.Log, so they show up
// only for failing tests (or with -v). Records logged after the test ends are
// dropped instead of panicking.
func Logger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	t    testing.TB
	done atomic.Bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// Listen opens a TCP listener on 127.0.0.1 with a port chosen by the kernel
// and closes it when the test ends.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	return ListenOn(t, "127.0.0.1")
}

// ListenOn opens a TCP listener on the given loopback IP (127.0.0.x) with a
// kernel-chosen port and closes it when the test ends.
func ListenOn(t testing.TB, ip string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// FreePort returns a TCP port on ip that was free a moment ago. Prefer Listen
// when the code under test accepts a listener; use this for child processes.
func FreePort(t testing.TB, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

var nextIP atomic.Uint32

// LoopbackIP returns a distinct 127.0.0.x address (x from 2 to 254, cycling)
// for tests that need several nodes on the same port number, like serf does.
func LoopbackIP() string {
	n := nextIP.Add(1)
	return fmt.Sprintf("127.0.0.%d", 2+(n-1)%253)
}

var (
	buildMu  sync.Mutex
	builtBin = map[string]string{}
)

// BuildBinary builds the main package pkg (e.g. "./cmd/shoal", relative to
// the module root) once per test process and returns the binary's path.
func BuildBinary(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := builtBin[pkg]; ok {
		return p
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("finding module root: %v", err)
	}
	dir, err := os.MkdirTemp("", "shoal-bin-")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	builtBin[pkg] = out
	return out
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
