package compose

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// cluster is one docker compose project started from compose/ by a test:
// a unique project name, its own image tag and its own host port range
// for the frontends. Everything it creates is removed when the test ends.
type cluster struct {
	t       *testing.T
	compose []string // "docker-compose" or "docker", "compose"
	project string
	image   string
	portLo  int // frontends publish 127.0.0.1:portLo..portLo+9
	env     []string
}

// requireDocker skips the test, saying why, unless the compose scenario
// was asked for and a Docker engine and a compose tool answer. It returns
// the compose command.
func requireDocker(t *testing.T) []string {
	t.Helper()
	if os.Getenv("SHOAL_COMPOSE_TEST") == "" {
		t.Skip("the compose scenario runs with `make test-compose` (SHOAL_COMPOSE_TEST=1): it needs a Docker engine")
	}
	out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err != nil {
		t.Skipf("skipped: no Docker engine answers: docker info: %v: %s", err, bytes.TrimSpace(out))
	}
	t.Logf("Docker engine %s", bytes.TrimSpace(out))
	compose := strings.Fields(os.Getenv("SHOAL_COMPOSE"))
	if len(compose) == 0 {
		compose = []string{"docker-compose"}
		if _, err := exec.LookPath("docker-compose"); err != nil {
			compose = []string{"docker", "compose"}
		}
	}
	out, err = exec.Command(compose[0], append(compose[1:], "version")...).CombinedOutput()
	if err != nil {
		t.Skipf("skipped: no compose tool: %s version: %v: %s", strings.Join(compose, " "), err, bytes.TrimSpace(out))
	}
	t.Logf("%s: %s", strings.Join(compose, " "), firstLine(string(out)))
	return compose
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// startCluster builds the image from a fresh static binary, brings the
// compose cluster up under a new project name and waits until every
// container is healthy. Cleanup (registered before anything is created)
// dumps the logs when the test failed, then removes containers, networks,
// volumes and the image, and checks that nothing is left.
func startCluster(t *testing.T, compose []string) *cluster {
	t.Helper()
	suffix := make([]byte, 4)
	rand.Read(suffix)
	c := &cluster{t: t, compose: compose, project: "shoaltest" + hex.EncodeToString(suffix)}
	c.image = "shoal:" + c.project
	c.portLo = freePortRange(t, 10)
	c.env = append(os.Environ(),
		"SHOAL_IMAGE="+c.image,
		fmt.Sprintf("SHOAL_FRONTEND_PORTS=127.0.0.1:%d-%d", c.portLo, c.portLo+9),
	)
	t.Logf("project %s, image %s, frontend ports 127.0.0.1:%d-%d", c.project, c.image, c.portLo, c.portLo+9)

	start := time.Now()
	bin := testutil.BuildBinary(t, "./cmd/shoal") // CGO_ENABLED=0: static
	dockerfile, err := filepath.Abs(filepath.Join(composeDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { docker(t, "rmi", "-f", c.image) })
	if out, err := docker(t, "build", "-q", "-f", dockerfile, "-t", c.image, filepath.Dir(bin)); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Logf("image built in %v", time.Since(start).Round(time.Millisecond))

	t.Cleanup(c.down)
	start = time.Now()
	c.must("up", "-d")
	c.waitHealthy(2 * time.Minute)
	t.Logf("cluster up and healthy in %v", time.Since(start).Round(time.Millisecond))
	return c
}

// down tears the project down and checks nothing of it is left.
func (c *cluster) down() {
	t := c.t
	if t.Failed() {
		out, _ := c.run("logs", "--no-color", "--tail", "60")
		t.Logf("compose logs (last 60 lines per container):\n%s", out)
	}
	start := time.Now()
	if out, err := c.run("down", "-v", "--remove-orphans", "-t", "20"); err != nil {
		t.Errorf("compose down: %v\n%s", err, out)
	}
	label := "label=com.docker.compose.project=" + c.project
	for _, what := range [][]string{
		{"ps", "-aq", "--filter", label},
		{"network", "ls", "-q", "--filter", label},
		{"volume", "ls", "-q", "--filter", label},
	} {
		out, err := docker(t, what...)
		if err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("after compose down, docker %s: %q %v", strings.Join(what, " "), out, err)
		}
	}
	t.Logf("torn down (containers, networks, volumes) in %v", time.Since(start).Round(time.Millisecond))
}

// run runs a compose command for this project.
func (c *cluster) run(args ...string) (string, error) {
	full := append(slices.Clone(c.compose[1:]), "-p", c.project, "-f", composeFile)
	cmd := exec.Command(c.compose[0], append(full, args...)...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *cluster) must(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// docker runs a docker command and returns its combined output.
func docker(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	return string(out), err
}

// containers lists the running containers of a service (all services
// when service is empty), by ID.
func (c *cluster) containers(service string) []string {
	c.t.Helper()
	args := []string{"ps", "-q", "--no-trunc", "--filter", "label=com.docker.compose.project=" + c.project}
	if service != "" {
		args = append(args, "--filter", "label=com.docker.compose.service="+service)
	}
	out, err := docker(c.t, args...)
	if err != nil {
		c.t.Fatalf("docker ps: %v: %s", err, out)
	}
	return strings.Fields(out)
}

// inspect evaluates a Go template against a container.
func (c *cluster) inspect(id, format string) string {
	c.t.Helper()
	out, err := docker(c.t, "inspect", "-f", format, id)
	if err != nil {
		c.t.Fatalf("docker inspect %s: %v: %s", id, err, out)
	}
	return strings.TrimSpace(out)
}

// waitHealthy waits until every container of the project is healthy.
func (c *cluster) waitHealthy(timeout time.Duration) {
	c.t.Helper()
	testutil.WaitFor(c.t, timeout, func() (bool, string) {
		ids := c.containers("")
		if len(ids) == 0 {
			return false, "no containers"
		}
		for _, id := range ids {
			if h := c.inspect(id, "{{.Name}} {{.State.Health.Status}}"); !strings.HasSuffix(h, " healthy") {
				return false, h
			}
		}
		return true, ""
	})
}

// frontend is one frontend container and its published RESP address.
type frontend struct {
	id, name, addr string
}

// frontends lists the running frontend containers.
func (c *cluster) frontends() []frontend {
	c.t.Helper()
	var out []frontend
	for _, id := range c.containers("frontend") {
		hp := c.inspect(id, `{{range (index .NetworkSettings.Ports "6379/tcp")}}{{.HostIp}}:{{.HostPort}} {{end}}`)
		out = append(out, frontend{id: id, name: strings.TrimPrefix(c.inspect(id, "{{.Name}}"), "/"), addr: strings.Fields(hp + " ")[0]})
	}
	slices.SortFunc(out, func(a, b frontend) int { return strings.Compare(a.name, b.name) })
	return out
}

// startedAt is when the container's process was started.
func (c *cluster) startedAt(id string) time.Time {
	c.t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, c.inspect(id, "{{.State.StartedAt}}"))
	if err != nil {
		c.t.Fatal(err)
	}
	return ts
}

// service returns the single container of a service.
func (c *cluster) service(name string) string {
	c.t.Helper()
	ids := c.containers(name)
	if len(ids) != 1 {
		c.t.Fatalf("service %s: %d running containers", name, len(ids))
	}
	return ids[0]
}

// freePortRange finds n consecutive free TCP ports on 127.0.0.1 below
// the kernel's ephemeral range (other tests' kernel-chosen ports live
// there).
func freePortRange(t *testing.T, n int) int {
	t.Helper()
	for attempt := 0; attempt < 50; attempt++ {
		var b [2]byte
		rand.Read(b[:])
		lo := 20000 + int(b[0])<<8%12000 + int(b[1])%100
		ok := true
		for p := lo; p < lo+n && ok; p++ {
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				ok = false
				continue
			}
			ln.Close()
		}
		if ok {
			return lo
		}
	}
	t.Fatalf("no %d free consecutive ports found", n)
	return 0
}

// deadline returns a context that ends after d or with the test.
func deadline(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// ip returns a container's address on the project network: the host
// reaches containers on a bridge network directly, so the test can talk
// to shard nodes, whose ports are not published. Empty while the
// container is not running.
func (c *cluster) ip(id string) string {
	c.t.Helper()
	return c.inspect(id, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}")
}

// shardDo sends one command to a shard node's RESP port on a new
// connection.
func (c *cluster) shardDo(id string, args ...string) (any, error) {
	ip := c.ip(id)
	if ip == "" {
		return nil, fmt.Errorf("container %.12s has no address (not running)", id)
	}
	p, err := dialProbe(net.JoinHostPort(ip, "6379"))
	if err != nil {
		return nil, err
	}
	defer p.close()
	return p.do(args...)
}

// mapEntry is one shard of SHOAL MAP.
type mapEntry struct {
	node, addr string
	epoch      int64
}

// clusterMap reads SHOAL MAP on a shard node; an error fails the test.
func (c *cluster) clusterMap(id string) map[string]mapEntry {
	c.t.Helper()
	v, err := c.shardDo(id, "SHOAL", "MAP")
	rows, ok := v.([]any)
	if err != nil || !ok {
		c.t.Fatalf("SHOAL MAP: %v %v", v, err)
	}
	m := map[string]mapEntry{}
	for _, r := range rows {
		f, _ := r.([]any)
		if len(f) != 4 {
			c.t.Fatalf("SHOAL MAP row %v", r)
		}
		epoch, _ := f[3].(int64)
		m[fmt.Sprint(f[0])] = mapEntry{node: fmt.Sprint(f[1]), addr: fmt.Sprint(f[2]), epoch: epoch}
	}
	return m
}

// waitRole waits until ROLE on a shard node reads want: "master", or
// "slave HOST:PORT STATE".
func (c *cluster) waitRole(id, want string, timeout time.Duration) {
	c.t.Helper()
	testutil.WaitFor(c.t, timeout, func() (bool, string) {
		v, err := c.shardDo(id, "ROLE")
		r, _ := v.([]any)
		if err != nil || len(r) == 0 {
			return false, fmt.Sprintf("ROLE %v %v", v, err)
		}
		got := fmt.Sprint(r[0])
		if got == "slave" && len(r) >= 4 {
			got = fmt.Sprintf("slave %v:%v %v", r[1], r[2], r[3])
		}
		return got == want, "ROLE: " + got + ", want " + want
	})
}

// logControl logs the raft leader and the cluster map as a shard node
// answers them (SHOAL LEADER, SHOAL MAP).
func (c *cluster) logControl(when string) {
	c.t.Helper()
	id := c.service(shardNames[0] + "-master")
	leader, err := c.shardDo(id, "SHOAL", "LEADER")
	if err != nil {
		c.t.Fatalf("SHOAL LEADER: %v", err)
	}
	c.t.Logf("control plane %s: SHOAL LEADER %v; SHOAL MAP %v", when, leader, c.clusterMap(id))
}

// logLine is a container's log line with its time= stamp.
type logLine struct {
	at   time.Time
	text string
}

// logsSince returns the lines of the running shard containers' logs since
// t that contain every one of subs.
func (c *cluster) logsSince(t time.Time, subs ...string) []logLine {
	c.t.Helper()
	fronts := c.containers("frontend")
	var out []logLine
	for _, id := range c.containers("") {
		if slices.Contains(fronts, id) {
			continue
		}
		logs, err := docker(c.t, "logs", "--since", t.UTC().Format(time.RFC3339Nano), id)
		if err != nil {
			c.t.Logf("docker logs %.12s: %v", id, err)
			continue
		}
	lines:
		for _, l := range strings.Split(logs, "\n") {
			for _, s := range subs {
				if !strings.Contains(l, s) {
					continue lines
				}
			}
			ts, _, _ := strings.Cut(strings.TrimPrefix(l, "time="), " ")
			at, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil {
				continue
			}
			out = append(out, logLine{at, l})
		}
	}
	slices.SortFunc(out, func(a, b logLine) int { return a.at.Compare(b.at) })
	return out
}
