package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/configs"
	"github.com/shoal-kv/shoal/integration/cluster"
	"github.com/shoal-kv/shoal/internal/testutil"
)

// `shoal dev`'s defaults are the cluster package's defaults, and the
// example dev.yaml converts to a valid cluster configuration.
func TestDevDefaultsMatchCluster(t *testing.T) {
	got, err := devClusterConfig(configs.DefaultDev())
	if err != nil {
		t.Fatal(err)
	}
	want := cluster.DefaultConfig()
	want.Version = version
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("shoal dev defaults %+v\ncluster defaults %+v", got, want)
	}
	d := configs.DefaultDev()
	if err := configs.Load("dev", &d, nil, "../../configs/dev.yaml"); err != nil {
		t.Fatal(err)
	}
	if _, err := devClusterConfig(d); err != nil {
		t.Fatalf("configs/dev.yaml: %v", err)
	}
	d.MaxMemory = "lots"
	if _, err := devClusterConfig(d); err == nil || !strings.Contains(err.Error(), "maxmemory") {
		t.Errorf("bad maxmemory: %v", err)
	}
}

// devProc is a running `shoal dev`.
type devProc struct {
	cmd   *exec.Cmd
	lines chan string // stdout, closed at EOF
	exit  chan error
}

func startDev(t *testing.T, env []string, args ...string) *devProc {
	t.Helper()
	bin := testutil.BuildBinary(t, "./cmd/shoal")
	cmd := exec.Command(bin, append([]string{"dev"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = testWriter{t}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &devProc{cmd: cmd, lines: make(chan string, 100), exit: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.exit <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	return p
}

// table reads the start-up output up to its last line and returns the
// node rows (fields of each) and the "key: value" lines.
func (p *devProc) table(t *testing.T, timeout time.Duration) (rows [][]string, info map[string]string) {
	t.Helper()
	info = map[string]string{}
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("shoal dev ended before printing its table: %v", <-p.exit)
			}
			t.Log("stdout: " + line)
			f := strings.Fields(line)
			switch {
			case strings.HasPrefix(line, "shoal dev: "):
				info["shoal dev"] = strings.TrimPrefix(line, "shoal dev: ")
			case strings.HasPrefix(line, "Ctrl-C"):
				return rows, info
			case len(f) == 7 && (f[0] == "frontend" || f[0] == "master" || f[0] == "replica"):
				rows = append(rows, f)
			case len(f) >= 2 && strings.HasSuffix(f[0], ":"):
				info[strings.TrimSuffix(f[0], ":")] = strings.Join(f[1:], " ")
			}
		case <-deadline:
			t.Fatalf("no table within %v", timeout)
		}
	}
}

// stop sends sig and wants exit status 0 within the deadline.
func (p *devProc) stop(t *testing.T, sig os.Signal) time.Duration {
	t.Helper()
	begin := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	for range p.lines {
	}
	select {
	case err := <-p.exit:
		if err != nil {
			t.Fatalf("shoal dev after %v: %v, want exit status 0", sig, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("shoal dev did not exit within 20 s of %v", sig)
	}
	return time.Since(begin)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log("stderr: " + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func countRoles(rows [][]string) map[string]int {
	n := map[string]int{}
	for _, r := range rows {
		n[r[0]]++
	}
	return n
}

// `shoal dev --port P`: the default cluster, its table, redis-cli through
// the frontend, SIGINT → exit 0 and the temporary data gone.
func TestDevCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the shoal binary")
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli is not on PATH (apt-get install redis-tools)")
	}
	testutil.BuildBinary(t, "./cmd/shoal") // not part of the timing
	port := strconv.Itoa(testutil.FreePort(t, "127.0.0.1"))
	begin := time.Now()
	p := startDev(t, nil, "--port", port)
	rows, info := p.table(t, 20*time.Second)
	took := time.Since(begin)
	t.Logf("shoal dev: process start → table printed (ready) in %v; it reports %q", took, info["shoal dev"])
	if took > 10*time.Second {
		t.Errorf("shoal dev took %v to be ready; want 2 s (10 s on a loaded machine)", took)
	}
	if n := countRoles(rows); n["frontend"] != 1 || n["master"] != 3 || n["replica"] != 3 {
		t.Fatalf("table: %v", rows)
	}
	if rows[0][0] != "frontend" || rows[0][3] != "127.0.0.1:"+port {
		t.Errorf("frontend row %v, want RESP 127.0.0.1:%s", rows[0], port)
	}
	// The control plane: a raft address on every shard node, the leader
	// and the three voters (the replicas) named, SHOAL MAP on a shard node.
	for _, r := range rows[1:] {
		if !strings.HasPrefix(r[5], "127.0.0.1:") {
			t.Errorf("shard node row %v: no raft address", r)
		}
	}
	const voters = "voters shard-0-replica-1 shard-1-replica-1 shard-2-replica-1;"
	if c := info["control"]; !strings.HasPrefix(c, "raft leader shard-") || !strings.Contains(c, voters) {
		t.Errorf("control line %q, want the leader and %q", c, voters)
	}
	mapArgs := strings.Fields(info["map"]) // redis-cli -p PORT SHOAL MAP ...
	if len(mapArgs) < 5 || mapArgs[0] != "redis-cli" || mapArgs[3] != "SHOAL" {
		t.Fatalf("map line %q", info["map"])
	}
	out, err := exec.Command(cli, mapArgs[1:5]...).CombinedOutput()
	if err != nil || strings.Count(string(out), "shard-") != 6 { // each shard and its master node
		t.Errorf("%s: %v\n%s", strings.Join(mapArgs[:5], " "), err, out)
	}
	if want := "redis-cli -p " + port; !strings.HasPrefix(info["connect"], want) {
		t.Errorf("connect line %q, want %q", info["connect"], want)
	}
	dataDir, _, _ := strings.Cut(info["data"], " ")
	if _, err := os.Stat(filepath.Join(dataDir, "shard-2", "replica-1")); err != nil {
		t.Errorf("data dir: %v", err)
	}
	run := func(args ...string) string {
		out, err := exec.Command(cli, append([]string{"-p", port}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %v: %v %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := run("SET", "k", "v"); got != "OK" {
		t.Fatalf("SET k v: %q", got)
	}
	if got := run("GET", "k"); got != "v" {
		t.Fatalf("GET k: %q", got)
	}
	t.Logf("SIGINT → exit 0 in %v", p.stop(t, os.Interrupt))
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary data dir %s after exit: %v", dataDir, err)
	}
}

// Settings come from the dev section of --config, SHOAL_DEV_* and flags
// (flags win); a given --data-dir is kept; SIGTERM stops it with exit 0;
// a bad setting fails.
func TestDevCommandSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the shoal binary")
	}
	file := filepath.Join(t.TempDir(), "dev.yaml")
	if err := os.WriteFile(file, []byte("dev:\n  shards: 2\n  replicas: 0\n  frontends: 1\n  port: 0\n  no-failover: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	p := startDev(t, []string{"SHOAL_DEV_FRONTENDS=2", "SHOAL_DEV_SHARDS=5", "SHOAL_DEV_DISKLESS_REPLICAS=true"},
		"--config", file, "--shards", "2", "--replicas", "1", "--data-dir", data)
	rows, info := p.table(t, 20*time.Second)
	if n := countRoles(rows); n["frontend"] != 2 || n["master"] != 2 || n["replica"] != 2 {
		t.Fatalf("table: %v", rows)
	}
	for _, r := range rows {
		if r[0] == "replica" && r[6] != "(memory)" || r[5] != "-" {
			t.Errorf("row %v: want diskless replicas and no raft", r)
		}
	}
	if !strings.HasPrefix(info["control"], "off") {
		t.Errorf("control line %q with no-failover: true", info["control"])
	}
	if !strings.Contains(info["data"], "kept") {
		t.Errorf("data line %q", info["data"])
	}
	p.stop(t, syscall.SIGTERM)
	if _, err := os.Stat(filepath.Join(data, "shard-1", "master")); err != nil {
		t.Errorf("given data dir after exit: %v", err)
	}

	out, err := exec.Command(testutil.BuildBinary(t, "./cmd/shoal"), "dev", "--shards", "0").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Shards") {
		t.Errorf("--shards 0: %v %s", err, out)
	}
}
