package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestProcExitCodeAndLogFile(t *testing.T) {
	log := filepath.Join(t.TempDir(), "p.log")
	p := StartProc(t, ProcOptions{Name: "sh", Bin: "/bin/sh", Args: []string{"-c", "echo one; echo two >&2; printf three; exit 3"}, LogFile: log})
	code, err := p.Wait(10 * time.Second)
	if err != nil || code != 3 {
		t.Fatalf("Wait: %d %v, want 3", code, err)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sh: one\n", "sh: two\n", "sh: three\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("log file lacks %q:\n%s", want, b)
		}
	}
	if err := p.Signal(syscall.SIGTERM); err == nil {
		t.Errorf("Signal to an exited process succeeded")
	}
	p.Kill() // no-op once exited
}

func TestProcSignalWaitKill(t *testing.T) {
	p := StartProc(t, ProcOptions{Name: "sleep", Bin: "/bin/sh", Args: []string{"-c", "exec sleep 30"}})
	if _, err := p.Wait(50 * time.Millisecond); err == nil {
		t.Fatalf("Wait returned before the process exited")
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code, err := p.Wait(10 * time.Second); err != nil || code != -1 {
		t.Fatalf("after SIGTERM: %d %v, want -1 (killed by a signal)", code, err)
	}
	q := StartProc(t, ProcOptions{Name: "sleep", Bin: "/bin/sh", Args: []string{"-c", "exec sleep 30"}})
	q.Kill()
	select {
	case <-q.Exited():
	default:
		t.Fatal("Kill returned before the process exited")
	}
}
