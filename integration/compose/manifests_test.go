package compose

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/shoal-kv/shoal/configs"
	"github.com/shoal-kv/shoal/internal/testutil"
)

// Paths relative to this package's directory (go test runs in it).
const (
	composeDir  = "../../compose"
	composeFile = composeDir + "/docker-compose.yml"
	k8sDir      = composeDir + "/k8s"
)

// obj is a decoded YAML mapping.
type obj = map[string]any

// get walks a path of mapping keys and sequence indexes; nil when absent.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(obj)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	switch x := get(v, path...).(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
}

func list(v any, path ...any) []any {
	s, _ := get(v, path...).([]any)
	return s
}

func strs(v any, path ...any) []string {
	var out []string
	for _, x := range list(v, path...) {
		out = append(out, str(x))
	}
	return out
}

func labels(v any, path ...any) map[string]string {
	out := map[string]string{}
	m, _ := get(v, path...).(obj)
	for k, x := range m {
		out[k] = str(x)
	}
	return out
}

// readYAML decodes every document of a file (merge keys resolved).
func readYAML(t *testing.T, path string) []obj {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []obj
	for {
		var d obj
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
	return docs
}

// loaded is a container command line after shoal's own parsing.
type loaded struct {
	sub      string // shardd or frontend
	shardd   configs.Shardd
	frontend configs.Frontend
}

// loadArgs runs a container's command line (subcommand first) through the
// flag sets and configs.Load exactly as cmd/shoal wires them, then through
// ServerConfig, which validates. files maps paths inside the container to
// their contents (a --config file from a ConfigMap). SHOAL_* variables of
// the test process are read as shoal reads them.
func loadArgs(args []string, files map[string]string) (loaded, error) {
	if len(args) == 0 {
		return loaded{}, errors.New("no command")
	}
	l := loaded{sub: args[0]}
	fs := pflag.NewFlagSet(l.sub, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("config", "", "")
	switch l.sub {
	case "shardd":
		l.shardd = configs.DefaultShardd()
		configs.ShardFlags(fs, l.shardd)
	case "frontend":
		l.frontend = configs.DefaultFrontend()
		configs.FrontendFlags(fs, l.frontend)
	default:
		return l, fmt.Errorf("unknown subcommand %q", l.sub)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return l, err
	}
	if fs.NArg() > 0 {
		return l, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	path := ""
	if *file != "" {
		body, ok := files[*file]
		if !ok {
			return l, fmt.Errorf("--config %s: no such file in the container", *file)
		}
		dir, err := os.MkdirTemp("", "shoal-manifest-")
		if err != nil {
			return l, err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, filepath.Base(*file))
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			return l, err
		}
	}
	var err error
	if l.sub == "shardd" {
		if err = configs.Load("shardd", &l.shardd, fs, path); err == nil {
			_, err = l.shardd.ServerConfig()
		}
	} else {
		if err = configs.Load("frontend", &l.frontend, fs, path); err == nil {
			_, err = l.frontend.ServerConfig()
		}
	}
	return l, err
}

// checkHealthArgs runs the real `shoal health` with a probe's arguments
// and --help: cobra rejects an unknown flag or a bad value before it
// prints the help.
func checkHealthArgs(t *testing.T, cmd []string) {
	t.Helper()
	if len(cmd) < 2 || cmd[0] != "/shoal" || cmd[1] != "health" {
		t.Errorf("probe %q: want /shoal health ...", cmd)
		return
	}
	bin := testutil.BuildBinary(t, "./cmd/shoal")
	out, err := exec.Command(bin, append(slices.Clone(cmd[1:]), "--help")...).CombinedOutput()
	if err != nil {
		t.Errorf("probe %q: shoal rejects it: %v: %s", cmd, err, out)
	}
}

func port(t *testing.T, hostport string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Errorf("%q: %v", hostport, err)
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

func host(hostport string) string {
	h, _, _ := net.SplitHostPort(hostport)
	return h
}

// --- docker-compose.yml -------------------------------------------------

var interp = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-([^}]*))?\}`)

// interpolate replaces ${VAR:-default} with the default, as compose does
// when VAR is unset.
func interpolate(s string) string {
	return interp.ReplaceAllString(s, "$3")
}

// composeEnv is a service's environment after interpolation.
func composeEnv(svc any) map[string]string {
	env := map[string]string{}
	for k, v := range labels(svc, "environment") {
		env[k] = interpolate(v)
	}
	return env
}

// TestComposeFile checks compose/docker-compose.yml without Docker: the
// layout the issue asks for (3 shards × master + replica with volumes, a
// scalable frontend with published ports), that every name a node dials or
// joins is a service, that every shard node runs the control plane with
// voters placed to survive the loss of any one shard, and that every
// service's command line and SHOAL_* environment load and validate in
// shoal's own configuration code.
func TestComposeFile(t *testing.T) {
	docs := readYAML(t, composeFile)
	if len(docs) != 1 {
		t.Fatalf("%d documents, want 1", len(docs))
	}
	f := docs[0]
	if v := str(f, "version"); v != "2.4" {
		t.Errorf("version %q, want 2.4 (docker-compose 1.29: healthcheck conditions and scale)", v)
	}
	services, _ := get(f, "services").(obj)
	volumes, _ := get(f, "volumes").(obj)
	shards := map[string][]string{} // shard → services
	var raftNodes []raftNode
	for _, name := range slices.Sorted(maps.Keys(services)) {
		svc := services[name]
		t.Run(name, func(t *testing.T) {
			if img := interpolate(str(svc, "image")); img != "shoal:dev" {
				t.Errorf("image %q, want shoal:dev (SHOAL_IMAGE)", img)
			}
			env := composeEnv(svc)
			for k, v := range env {
				if !strings.HasPrefix(k, "SHOAL_") {
					t.Errorf("environment %s: not a shoal setting", k)
				}
				t.Setenv(k, v)
			}
			cmd := strs(svc, "command")
			l, err := loadArgs(cmd, nil)
			if err != nil {
				t.Fatalf("command %q with environment %v: %v", cmd, env, err)
			}
			test := strs(svc, "healthcheck", "test")
			if len(test) == 0 || test[0] != "CMD" {
				t.Fatalf("healthcheck %q: want [CMD, /shoal, health, ...]", test)
			}
			checkHealthArgs(t, test[1:])
			for _, j := range append(l.shardd.Join, l.frontend.Join...) {
				if _, ok := services[host(j)]; !ok || port(t, j) != 7946 {
					t.Errorf("join %q: not a service's gossip port", j)
				}
			}
			switch l.sub {
			case "shardd":
				c := l.shardd
				shards[c.Shard] = append(shards[c.Shard], name)
				if str(svc, "hostname") != name {
					t.Errorf("hostname %q, want the service name (stable gossip node name)", str(svc, "hostname"))
				}
				if host(c.Advertise) != name || port(t, c.Advertise) != port(t, c.Listen) {
					t.Errorf("advertise %q, want %s:<listen port>", c.Advertise, name)
				}
				wantMount := ""
				for _, v := range strs(svc, "volumes") {
					src, dst, _ := strings.Cut(v, ":")
					if dst == c.DataDir {
						wantMount = src
					}
				}
				if _, ok := volumes[wantMount]; !ok {
					t.Errorf("data-dir %s is not a named volume (volumes %q)", c.DataDir, strs(svc, "volumes"))
				}
				if strings.HasSuffix(name, "-master") != (c.ReplicaOf == "") {
					t.Errorf("replicaof %q for service %s", c.ReplicaOf, name)
				}
				if c.ReplicaOf != "" {
					m := services[host(c.ReplicaOf)]
					if m == nil || !slices.Contains(strs(m, "command"), c.Shard) || port(t, c.ReplicaOf) != 6379 {
						t.Errorf("replicaof %q: not the RESP port of a service of shard %s", c.ReplicaOf, c.Shard)
					}
				}
				if c.GossipProfile != "lan" || c.AppendFsync != "everysec" {
					t.Errorf("gossip-profile %q appendfsync %q: want lan and everysec by default", c.GossipProfile, c.AppendFsync)
				}
				if c.FailoverAfter != 500*time.Millisecond {
					t.Errorf("failover-after %v, want the default 500ms", c.FailoverAfter)
				}
				raftNodes = append(raftNodes, checkRaft(t, name, name, c))
			case "frontend":
				c := l.frontend
				if name != "frontend" {
					t.Errorf("frontend service %q: want one scalable service named frontend", name)
				}
				if s := str(svc, "scale"); s != "2" {
					t.Errorf("scale %s, want 2 frontends by default", s)
				}
				ports := strs(svc, "ports")
				if len(ports) != 1 || interpolate(ports[0]) != "127.0.0.1:6380-6389:"+strconv.Itoa(port(t, c.Listen)) {
					t.Errorf("ports %q: want 127.0.0.1:6380-6389 (one host port per scaled container) to the RESP port", ports)
				}
				if c.Admin == "" || !slices.Contains(test, "--admin") || port(t, test[slices.Index(test, "--admin")+1]) != port(t, c.Admin) {
					t.Errorf("healthcheck %q must check readiness on the admin address %q", test, c.Admin)
				}
				grace, err := time.ParseDuration(str(svc, "stop_grace_period"))
				if err != nil || grace <= c.ShutdownGrace {
					t.Errorf("stop_grace_period %q must exceed shutdown-grace %v (drain, then leave)", str(svc, "stop_grace_period"), c.ShutdownGrace)
				}
				deps, _ := get(svc, "depends_on").(obj)
				for d := range deps {
					if !strings.HasSuffix(d, "-master") || str(deps[d], "condition") != "service_healthy" {
						t.Errorf("depends_on %s: want the masters, service_healthy", d)
					}
				}
				if len(deps) != 3 {
					t.Errorf("depends_on %d services, want the 3 masters", len(deps))
				}
			}
		})
	}
	if len(shards) != 3 {
		t.Errorf("shards %v, want 3", shards)
	}
	for sh, svcs := range shards {
		if len(svcs) != 2 {
			t.Errorf("shard %s has services %v, want a master and a replica", sh, svcs)
		}
	}
	checkVoters(t, raftNodes)
	if fe := services["frontend"]; fe != nil {
		var ld loaded
		for k, v := range composeEnv(fe) {
			t.Setenv(k, v)
		}
		ld, _ = loadArgs(strs(fe, "command"), nil)
		if ld.frontend.ExpectShards != len(shards) {
			t.Errorf("frontend expect-shards %d, want %d", ld.frontend.ExpectShards, len(shards))
		}
	}
}

// raftNode is a shard node's control-plane settings, for checkVoters.
type raftNode struct {
	name, shard   string
	voter, master bool
	expect        int
}

// checkRaft checks that a shard node runs the control plane, advertised by
// the name the others reach it at (host), and returns its settings.
func checkRaft(t *testing.T, who, host string, c configs.Shardd) raftNode {
	t.Helper()
	if c.Raft == "" {
		t.Errorf("%s: no --raft: every shard node runs the control plane", who)
	} else if p := port(t, c.Raft); c.RaftAdvertiseAddr() != host+":"+strconv.Itoa(p) {
		t.Errorf("%s: raft-advertise %q, want %s:%d (its stable name)", who, c.RaftAdvertiseAddr(), host, p)
	}
	return raftNode{name: who, shard: c.Shard, voter: c.RaftVoter, master: c.ReplicaOf == "", expect: c.RaftBootstrapExpect}
}

// checkVoters checks the voters' placement: three durable voters, every
// node expecting that many at bootstrap, none of them a master (killing a
// master costs no voter) and at most one per shard, so losing all nodes of
// any one shard leaves a majority.
func checkVoters(t *testing.T, nodes []raftNode) {
	t.Helper()
	perShard := map[string]int{}
	var voters []string
	for _, n := range nodes {
		if n.voter {
			voters = append(voters, n.name)
			perShard[n.shard]++
			if n.master {
				t.Errorf("%s: a master is a voter; want the replicas (killing a master then costs no voter)", n.name)
			}
		}
	}
	if len(voters) != 3 {
		t.Fatalf("voters %v, want 3", voters)
	}
	for _, n := range nodes {
		if n.expect != len(voters) {
			t.Errorf("%s: raft-bootstrap-expect %d, want %d (the voters)", n.name, n.expect, len(voters))
		}
	}
	for sh, k := range perShard {
		if len(voters)-k < len(voters)/2+1 {
			t.Errorf("shard %s holds %d of the %d voters: losing it loses the raft majority", sh, k, len(voters))
		}
	}
}

// --- Kubernetes ---------------------------------------------------------

// kinds are the API groups/versions the manifests may use.
var kinds = map[string]string{
	"Service":                 "v1",
	"ConfigMap":               "v1",
	"StatefulSet":             "apps/v1",
	"Deployment":              "apps/v1",
	"HorizontalPodAutoscaler": "autoscaling/v2",
}

// k8sObjects reads every manifest in compose/k8s, indexed by kind and name.
func k8sObjects(t *testing.T) map[string]map[string]obj {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", k8sDir, err)
	}
	out := map[string]map[string]obj{}
	for _, f := range files {
		for _, d := range readYAML(t, f) {
			kind, name := str(d, "kind"), str(d, "metadata", "name")
			if want, ok := kinds[kind]; !ok || str(d, "apiVersion") != want {
				t.Errorf("%s: %s %s apiVersion %q: want one of %v", f, kind, name, str(d, "apiVersion"), kinds)
				continue
			}
			if name == "" {
				t.Errorf("%s: a %s without a name", f, kind)
				continue
			}
			if out[kind] == nil {
				out[kind] = map[string]obj{}
			}
			if out[kind][name] != nil {
				t.Errorf("%s %s defined twice", kind, name)
			}
			out[kind][name] = d
		}
	}
	return out
}

// subset reports whether every label of sel is in lbl.
func subset(sel, lbl map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if lbl[k] != v {
			return false
		}
	}
	return true
}

// expand replaces $(VAR) with the container's env values, as the kubelet
// does in args; fieldRef values come from the pod.
func expand(t *testing.T, s string, env map[string]string) string {
	return regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).ReplaceAllStringFunc(s, func(m string) string {
		v, ok := env[m[2:len(m)-1]]
		if !ok {
			t.Errorf("%q: %s is not in the container's env", s, m)
		}
		return v
	})
}

// podEnv resolves a container's env for one pod.
func podEnv(t *testing.T, c any, pod, ip string) map[string]string {
	env := map[string]string{}
	for _, e := range list(c, "env") {
		name := str(e, "name")
		switch ref := str(e, "valueFrom", "fieldRef", "fieldPath"); ref {
		case "":
			env[name] = str(e, "value")
		case "metadata.name":
			env[name] = pod
		case "status.podIP":
			env[name] = ip
		default:
			t.Errorf("env %s: fieldRef %s not modelled by this test", name, ref)
		}
	}
	return env
}

// containerPorts maps a container's port names to number and protocol.
func containerPorts(c any) map[string]string {
	out := map[string]string{}
	for _, p := range list(c, "ports") {
		proto := str(p, "protocol")
		if proto == "" {
			proto = "TCP"
		}
		out[str(p, "name")] = str(p, "containerPort") + "/" + proto
	}
	return out
}

// configFiles maps the paths a pod's container sees to ConfigMap contents.
func configFiles(objs map[string]map[string]obj, podSpec, c any) map[string]string {
	files := map[string]string{}
	for _, m := range list(c, "volumeMounts") {
		for _, v := range list(podSpec, "volumes") {
			if str(v, "name") != str(m, "name") || str(v, "configMap", "name") == "" {
				continue
			}
			cm := objs["ConfigMap"][str(v, "configMap", "name")]
			for k, body := range labels(cm, "data") {
				files[str(m, "mountPath")+"/"+k] = body
			}
		}
	}
	return files
}

// TestK8sManifests checks compose/k8s without Kubernetes: kinds and API
// versions, selectors against pod labels, Service ports against container
// ports, probes (a probe command goes through the real `shoal health`),
// the autoscaler's target, and every container's args for every pod it
// runs as, through shoal's own flag and config parsing: pod 0 of each
// shard is a master, pod 1 replicates pod 0 by its headless DNS name, and
// every gossip join names a headless Service's gossip port.
func TestK8sManifests(t *testing.T) {
	objs := k8sObjects(t)
	type workload struct {
		kind, name string
		o          obj
		pods       []string
	}
	var workloads []workload
	for name, o := range objs["StatefulSet"] {
		n, _ := get(o, "spec", "replicas").(int)
		var pods []string
		for i := 0; i < n; i++ {
			pods = append(pods, name+"-"+strconv.Itoa(i))
		}
		workloads = append(workloads, workload{"StatefulSet", name, o, pods})
	}
	for name, o := range objs["Deployment"] {
		workloads = append(workloads, workload{"Deployment", name, o, []string{name + "-7d9f8b6c5-x2k4q"}})
	}
	slices.SortFunc(workloads, func(a, b workload) int { return strings.Compare(a.name, b.name) })
	if len(objs["StatefulSet"]) != 3 || len(objs["Deployment"]) != 1 {
		t.Fatalf("%d StatefulSets and %d Deployments, want 3 shards and 1 frontend Deployment", len(objs["StatefulSet"]), len(objs["Deployment"]))
	}

	var raftNodes []raftNode
	headless := map[string]obj{}
	for name, s := range objs["Service"] {
		if str(s, "spec", "clusterIP") == "None" {
			headless[name] = s
		}
	}
	var images []string
	for _, w := range workloads {
		t.Run(w.kind+"/"+w.name, func(t *testing.T) {
			tmpl := get(w.o, "spec", "template")
			podLabels := labels(tmpl, "metadata", "labels")
			if sel := labels(w.o, "spec", "selector", "matchLabels"); !subset(sel, podLabels) {
				t.Errorf("selector %v does not match the pod labels %v", sel, podLabels)
			}
			spec := get(tmpl, "spec")
			containers := list(spec, "containers")
			if len(containers) != 1 {
				t.Fatalf("%d containers, want 1", len(containers))
			}
			c := containers[0]
			images = append(images, str(c, "image"))
			ports := containerPorts(c)
			for _, probe := range []string{"readinessProbe", "livenessProbe"} {
				p := get(c, probe)
				switch {
				case get(p, "exec") != nil:
					checkHealthArgs(t, strs(p, "exec", "command"))
				case get(p, "httpGet") != nil:
					if _, ok := ports[str(p, "httpGet", "port")]; !ok {
						t.Errorf("%s: port %q is not a container port", probe, str(p, "httpGet", "port"))
					}
				case get(p, "tcpSocket") != nil:
					if _, ok := ports[str(p, "tcpSocket", "port")]; !ok {
						t.Errorf("%s: port %q is not a container port", probe, str(p, "tcpSocket", "port"))
					}
				default:
					t.Errorf("%s missing", probe)
				}
			}
			if w.kind == "StatefulSet" {
				svc := headless[str(w.o, "spec", "serviceName")]
				if svc == nil || !subset(labels(svc, "spec", "selector"), podLabels) {
					t.Errorf("serviceName %q: not a headless Service selecting these pods", str(w.o, "spec", "serviceName"))
				}
				if len(w.pods) != 2 {
					t.Errorf("%d pods, want a master and a replica", len(w.pods))
				}
			}
			for i, pod := range w.pods {
				ip := "10.1.2." + strconv.Itoa(10+i)
				env := podEnv(t, c, pod, ip)
				var args []string
				for _, a := range strs(c, "args") {
					args = append(args, expand(t, a, env))
				}
				l, err := loadArgs(args, configFiles(objs, spec, c))
				if err != nil {
					t.Errorf("pod %s: args %q: %v", pod, args, err)
					continue
				}
				checkPod(t, objs, headless, w.name, pod, i, c, l)
				if l.sub == "shardd" {
					svc := str(w.o, "spec", "serviceName")
					raftNodes = append(raftNodes, checkRaft(t, "pod "+pod, pod+"."+svc, l.shardd))
					if ports := containerPorts(c); ports["raft"] != strconv.Itoa(port(t, l.shardd.Raft))+"/TCP" {
						t.Errorf("pod %s: raft %q is not the container port raft (%s)", pod, l.shardd.Raft, ports["raft"])
					}
				}
			}
		})
	}
	checkVoters(t, raftNodes)
	if u := slices.Compact(slices.Sorted(slices.Values(images))); len(u) != 1 {
		t.Errorf("images %q: want one image everywhere", images)
	}

	for name, s := range objs["Service"] {
		sel := labels(s, "spec", "selector")
		var matched []workload
		for _, w := range workloads {
			if subset(sel, labels(w.o, "spec", "template", "metadata", "labels")) {
				matched = append(matched, w)
			}
		}
		if len(matched) != 1 {
			t.Errorf("Service %s selects %d workloads, want 1", name, len(matched))
			continue
		}
		ports := containerPorts(list(matched[0].o, "spec", "template", "spec", "containers")[0])
		for _, p := range list(s, "spec", "ports") {
			proto := str(p, "protocol")
			if proto == "" {
				proto = "TCP"
			}
			target, ok := ports[str(p, "targetPort")]
			if !ok || target != str(p, "port")+"/"+proto {
				t.Errorf("Service %s port %v: targetPort is not the container port %s/%s (container ports %v)", name, p, str(p, "port"), proto, ports)
			}
		}
	}

	if len(objs["HorizontalPodAutoscaler"]) != 1 {
		t.Fatalf("%d HorizontalPodAutoscalers, want 1", len(objs["HorizontalPodAutoscaler"]))
	}
	for name, h := range objs["HorizontalPodAutoscaler"] {
		ref := get(h, "spec", "scaleTargetRef")
		d := objs["Deployment"][str(ref, "name")]
		if d == nil || str(ref, "kind") != "Deployment" || str(ref, "apiVersion") != "apps/v1" {
			t.Errorf("HPA %s: scaleTargetRef %v is not the frontend Deployment", name, ref)
			continue
		}
		if str(h, "spec", "metrics", 0, "resource", "name") != "cpu" {
			t.Errorf("HPA %s: want a cpu resource metric", name)
		}
		if str(list(d, "spec", "template", "spec", "containers")[0], "resources", "requests", "cpu") == "" {
			t.Errorf("HPA %s: the Deployment's container has no cpu request to scale against", name)
		}
		lo, _ := get(h, "spec", "minReplicas").(int)
		hi, _ := get(h, "spec", "maxReplicas").(int)
		if lo < 2 || hi <= lo {
			t.Errorf("HPA %s: replicas %d..%d", name, lo, hi)
		}
	}
}

// checkPod checks one pod's loaded settings against the objects around it.
func checkPod(t *testing.T, objs map[string]map[string]obj, headless map[string]obj, wname, pod string, ordinal int, c any, l loaded) {
	t.Helper()
	ports := containerPorts(c)
	hasPort := func(addr, name, what string) {
		if ports[name] != strconv.Itoa(port(t, addr))+"/TCP" {
			t.Errorf("pod %s: %s %q is not the container port %s (%s)", pod, what, addr, name, ports[name])
		}
	}
	joins := append(l.shardd.Join, l.frontend.Join...)
	for _, j := range joins {
		if headless[host(j)] == nil || ports["gossip-tcp"] != strconv.Itoa(port(t, j))+"/TCP" {
			t.Errorf("pod %s: join %q is not a headless Service's gossip port", pod, j)
		}
	}
	for name := range objs["StatefulSet"] {
		if !slices.Contains(joins, name+":7946") {
			t.Errorf("pod %s: join %q does not name shard Service %s", pod, joins, name)
		}
	}
	switch l.sub {
	case "shardd":
		s := l.shardd
		svc := str(objs["StatefulSet"][wname], "spec", "serviceName")
		hasPort(s.Listen, "resp", "listen")
		hasPort(s.Gossip, "gossip-tcp", "gossip")
		if s.Advertise != pod+"."+svc+":"+strconv.Itoa(port(t, s.Listen)) {
			t.Errorf("pod %s: advertise %q, want its headless DNS name", pod, s.Advertise)
		}
		if s.NodeName != pod {
			t.Errorf("pod %s: node-name %q, want the pod name (stable across restarts)", pod, s.NodeName)
		}
		mounted := false
		for _, m := range list(c, "volumeMounts") {
			for _, v := range list(objs["StatefulSet"][wname], "spec", "volumeClaimTemplates") {
				mounted = mounted || (str(m, "mountPath") == s.DataDir && str(m, "name") == str(v, "metadata", "name"))
			}
		}
		if !mounted {
			t.Errorf("pod %s: data-dir %s is not a volumeClaimTemplate mount", pod, s.DataDir)
		}
		want := ""
		if ordinal > 0 {
			want = wname + "-0." + svc + ":" + strconv.Itoa(port(t, s.Listen))
		}
		if s.ReplicaOf != want {
			t.Errorf("pod %s: replicaof %q, want %q (pod 0 master, others its replicas)", pod, s.ReplicaOf, want)
		}
		if want := "shard-" + strings.TrimPrefix(wname, "shoal-shard-"); s.Shard != want {
			t.Errorf("pod %s: shard %q, want %q", pod, s.Shard, want)
		}
	case "frontend":
		f := l.frontend
		hasPort(f.Listen, "resp", "listen")
		hasPort(f.Gossip, "gossip-tcp", "gossip")
		hasPort(f.Admin, "admin", "admin")
		if f.ExpectShards != len(objs["StatefulSet"]) {
			t.Errorf("pod %s: expect-shards %d, want %d", pod, f.ExpectShards, len(objs["StatefulSet"]))
		}
		if str(c, "readinessProbe", "httpGet", "path") != "/readyz" {
			t.Errorf("pod %s: readiness must be /readyz", pod)
		}
		spec := get(objs["Deployment"][wname], "spec", "template", "spec")
		tgp, _ := get(spec, "terminationGracePeriodSeconds").(int)
		if time.Duration(tgp)*time.Second <= f.ShutdownGrace {
			t.Errorf("pod %s: terminationGracePeriodSeconds %d must exceed shutdown-grace %v", pod, tgp, f.ShutdownGrace)
		}
		if host(f.Advertise) == "0.0.0.0" || f.Advertise == "" {
			t.Errorf("pod %s: advertise %q, want the pod's address", pod, f.Advertise)
		}
	}
}
