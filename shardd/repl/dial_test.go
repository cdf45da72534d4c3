package repl

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// TestStopDuringSilentDial: a master whose address answers no SYN (a
// crashed machine, a partition) must neither hold the dial for repl-timeout
// nor hold up Stop, which a promotion calls first. The silence is an
// iptables DROP on a loopback address (root only).
func TestStopDuringSilentDial(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for iptables")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("needs iptables")
	}
	ip := testutil.LoopbackIP()
	port := testutil.FreePort(t, ip)
	rule := []string{"INPUT", "-p", "tcp", "-d", ip, "--dport", strconv.Itoa(port), "-j", "DROP"}
	if out, err := exec.Command("iptables", append([]string{"-I"}, rule...)...).CombinedOutput(); err != nil {
		t.Skipf("iptables: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("iptables", append([]string{"-D"}, rule...)...).Run() })

	r := StartReplica(ReplicaConfig{
		MasterAddr: net.JoinHostPort(ip, strconv.Itoa(port)),
		Applier:    &memApplier{},
		Timeout:    10 * time.Second,
	})
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		return r.Status().State == stateNames[StateConnecting], "state " + r.Status().State
	})
	start := time.Now()
	r.Stop()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Stop during a silent dial took %v", d)
	}
	// A dial that is not stopped gives up after dialTimeout, not Timeout.
	failed := make(chan time.Time, 1)
	start = time.Now()
	r2 := StartReplica(ReplicaConfig{
		MasterAddr: net.JoinHostPort(ip, strconv.Itoa(port)),
		Applier:    &memApplier{},
		Timeout:    10 * time.Second,
		OnLink: func(up bool) {
			select {
			case failed <- time.Now():
			default:
			}
		},
	})
	defer r2.Stop()
	select {
	case at := <-failed:
		if d := at.Sub(start); d < dialTimeout/2 || d > dialTimeout+time.Second {
			t.Errorf("the silent dial gave up after %v, want about %v", d, dialTimeout)
		}
	case <-time.After(dialTimeout + 5*time.Second):
		t.Errorf("the silent dial did not give up within %v", dialTimeout+5*time.Second)
	}
}
