package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

// HostNet is a small private network of Linux network namespaces ("hosts")
// joined by one bridge, for tests that must cut hosts off from each other:
// each host has its own address, its own loopback and its own packet
// filter, so a partition is a DROP rule inside the hosts concerned and
// nothing on the machine's own loopback is touched. The test process itself
// stays in the root namespace and reaches every host through the bridge
// (its address is Gateway).
//
// Creating one needs root and iproute2/iptables; NewHostNet skips the test
// with the reason when they are missing. Everything is removed in
// t.Cleanup, including on failure. Methods are not safe for concurrent use.
type HostNet struct {
	t       testing.TB
	prefix  string // "10.<a>.<b>." unique per HostNet
	bridge  string
	Gateway string // the test process's address on the bridge
	Hosts   []*Host
	dropped map[[2]int]bool // (from, to) pairs with a DROP rule in place
}

// Host is one namespace of a HostNet.
type Host struct {
	Index int    // position in HostNet.Hosts
	Name  string // namespace name
	IP    string // address on the bridge
}

var hostNetSeq atomic.Int32

// NewHostNet creates n hosts on a fresh bridge.
func NewHostNet(t testing.TB, n int) *HostNet {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("network namespaces need %s: %v", tool, err)
		}
	}
	if n < 1 || n > 250 {
		t.Fatalf("NewHostNet: %d hosts", n)
	}
	seq := int(hostNetSeq.Add(1))
	id := fmt.Sprintf("%d%d", os.Getpid()%10000, seq%100)
	b := os.Getpid()%200 + 20
	hn := &HostNet{
		t:       t,
		prefix:  fmt.Sprintf("10.%d.%d.", b, seq%250),
		bridge:  "shbr" + id,
		dropped: map[[2]int]bool{},
	}
	hn.Gateway = hn.prefix + "1"
	t.Cleanup(hn.destroy)
	hn.must("ip", "link", "add", hn.bridge, "type", "bridge")
	hn.must("ip", "addr", "add", hn.Gateway+"/24", "dev", hn.bridge)
	hn.must("ip", "link", "set", hn.bridge, "up")
	// Docker sets the FORWARD policy to DROP and loads br_netfilter, which
	// sends bridged frames through FORWARD: let this bridge's own traffic pass.
	hn.must("iptables", "-I", "FORWARD", "-i", hn.bridge, "-o", hn.bridge, "-j", "ACCEPT")
	for i := 0; i < n; i++ {
		h := &Host{Index: i, Name: fmt.Sprintf("shns%s-%d", id, i), IP: fmt.Sprintf("%s%d", hn.prefix, i+2)}
		veth := fmt.Sprintf("shv%s-%d", id, i)
		hn.must("ip", "netns", "add", h.Name)
		hn.Hosts = append(hn.Hosts, h)
		hn.must("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", h.Name)
		hn.must("ip", "link", "set", veth, "master", hn.bridge, "up")
		hn.must("ip", "-n", h.Name, "addr", "add", h.IP+"/24", "dev", "eth0")
		hn.must("ip", "-n", h.Name, "link", "set", "eth0", "up")
		hn.must("ip", "-n", h.Name, "link", "set", "lo", "up")
	}
	return hn
}

// Command returns a command that runs name with args inside host h.
func (hn *HostNet) Command(h *Host, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", h.Name, name}, args...)...)
}

// Partition cuts every host in side from every host not in it, both ways.
// The test process (Gateway) still reaches all hosts. Hosts already cut
// stay cut; Heal removes every cut.
func (hn *HostNet) Partition(side ...*Host) {
	hn.t.Helper()
	in := map[int]bool{}
	for _, h := range side {
		in[h.Index] = true
	}
	for _, a := range hn.Hosts {
		for _, b := range hn.Hosts {
			if in[a.Index] != in[b.Index] {
				hn.drop(a, b)
			}
		}
	}
}

// drop makes host to discard everything that comes from host from.
func (hn *HostNet) drop(from, to *Host) {
	k := [2]int{from.Index, to.Index}
	if hn.dropped[k] {
		return
	}
	hn.must("ip", "netns", "exec", to.Name, "iptables", "-I", "INPUT", "-s", from.IP, "-j", "DROP")
	hn.dropped[k] = true
}

// Heal removes every cut made by Partition.
func (hn *HostNet) Heal() {
	hn.t.Helper()
	for k := range hn.dropped {
		from, to := hn.Hosts[k[0]], hn.Hosts[k[1]]
		hn.must("ip", "netns", "exec", to.Name, "iptables", "-D", "INPUT", "-s", from.IP, "-j", "DROP")
		delete(hn.dropped, k)
	}
}

func (hn *HostNet) must(name string, args ...string) {
	hn.t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		hn.t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// destroy removes the namespaces (their veths go with them), the bridge and
// the FORWARD rule; errors are logged, not fatal, so every step runs.
func (hn *HostNet) destroy() {
	run := func(name string, args ...string) {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			hn.t.Logf("cleanup: %s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
	}
	for _, h := range hn.Hosts {
		run("ip", "netns", "del", h.Name)
	}
	run("iptables", "-D", "FORWARD", "-i", hn.bridge, "-o", hn.bridge, "-j", "ACCEPT")
	run("ip", "link", "del", hn.bridge)
}
