package testutil

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestMain lets a test re-run this binary inside a namespace as a tiny
// helper program: SHOAL_NETNS_HELPER=listen:ADDR prints "ready" and accepts
// forever; dial:ADDR exits 0 when ADDR accepts a connection within 500 ms, 3
// otherwise.
func TestMain(m *testing.M) {
	if mode, addr, ok := strings.Cut(os.Getenv("SHOAL_NETNS_HELPER"), ":"); ok {
		switch mode {
		case "listen":
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				os.Exit(2)
			}
			os.Stdout.WriteString("ready\n")
			for {
				c, err := ln.Accept()
				if err != nil {
					os.Exit(2)
				}
				c.Close()
			}
		case "dial":
			c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
			if err != nil {
				os.Exit(3)
			}
			c.Close()
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}

func TestHostNetPartitionAndHeal(t *testing.T) {
	hn := NewHostNet(t, 3)
	a, b, c := hn.Hosts[0], hn.Hosts[1], hn.Hosts[2]
	target := b.IP + ":7000"
	ln := hn.Command(b, os.Args[0])
	ln.Env = append(os.Environ(), "SHOAL_NETNS_HELPER=listen:"+target)
	out, err := ln.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ln.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Process.Kill(); ln.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("listener in %s: %q %v", b.Name, line, err)
	}
	reach := func(from *Host) bool {
		cmd := hn.Command(from, os.Args[0])
		cmd.Env = append(os.Environ(), "SHOAL_NETNS_HELPER=dial:"+target)
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 {
			return false
		} else if err != nil {
			t.Fatalf("dial helper: %v", err)
		}
		return true
	}
	fromRoot := func() bool {
		c, err := net.DialTimeout("tcp", target, 500*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	if !reach(a) || !reach(c) || !fromRoot() {
		t.Fatal("hosts do not reach each other before the partition")
	}
	hn.Partition(a)
	if reach(a) {
		t.Error("a reaches b across the partition")
	}
	if !reach(c) || !fromRoot() {
		t.Error("c or the test process lost b though they are on its side")
	}
	hn.Heal()
	if !reach(a) {
		t.Error("a does not reach b after Heal")
	}
}
