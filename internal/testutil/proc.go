package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Proc is a child process a test started with StartProc or StartShoal.
// The test owns it: it is killed (SIGKILL, by its PID) when the test ends
// unless it has exited already. Methods are safe for concurrent use.
type Proc struct {
	Name    string    // for log prefixes and messages
	Started time.Time // just before the process was started

	cmd    *exec.Cmd
	out    *lineWriter
	exited chan struct{} // closed once the process has exited and its output is flushed
	state  *os.ProcessState
	err    error // from cmd.Wait, once exited is closed
}

// ProcOptions says what StartProc runs and where its output goes.
type ProcOptions struct {
	Name string   // prefix of every output line ("shardd a: ...")
	Bin  string   // path of the executable
	Args []string // arguments after the program name
	Env  []string // extra environment variables (KEY=VALUE), added to the test's
	// LogFile, when set, receives the process's output (stdout and stderr,
	// line-prefixed) instead of t.Log; its path is logged when the test
	// fails. Useful when many processes would flood the test log.
	LogFile string
}

// StartShoal runs the shoal binary (built once by BuildBinary) with args,
// its output going to t.Log with name as the prefix.
func StartShoal(t testing.TB, name string, args ...string) *Proc {
	t.Helper()
	return StartProc(t, ProcOptions{Name: name, Bin: BuildBinary(t, "./cmd/shoal"), Args: args})
}

// StartProc starts a process as opts says and arranges for it to be killed
// when the test ends. It fails the test when the process cannot start.
func StartProc(t testing.TB, opts ProcOptions) *Proc {
	t.Helper()
	cmd := exec.Command(opts.Bin, opts.Args...)
	if len(opts.Env) > 0 {
		cmd.Env = append(os.Environ(), opts.Env...)
	}
	lw := &lineWriter{prefix: opts.Name + ": "}
	if opts.LogFile != "" {
		f, err := os.OpenFile(opts.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatalf("log file for %s: %v", opts.Name, err)
		}
		t.Cleanup(func() {
			f.Close()
			if t.Failed() {
				t.Logf("%s: output in %s", opts.Name, opts.LogFile)
			}
		})
		lw.w = f
	} else {
		lw.t = t
		t.Cleanup(func() { lw.done.Store(true) })
	}
	cmd.Stdout, cmd.Stderr = lw, lw
	p := &Proc{Name: opts.Name, cmd: cmd, out: lw, exited: make(chan struct{})}
	p.Started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", opts.Name, err)
	}
	go func() {
		err := cmd.Wait() // returns after the output is copied
		lw.flush()
		p.state, p.err = cmd.ProcessState, err
		close(p.exited)
	}()
	t.Cleanup(p.Kill)
	return p
}

// PID is the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Signal sends sig to the process (nothing once it has exited).
func (p *Proc) Signal(sig os.Signal) error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s already exited", p.Name)
	default:
	}
	err := p.cmd.Process.Signal(sig)
	if errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s already exited", p.Name)
	}
	return err
}

// Kill sends SIGKILL (unless the process has exited) and waits for it to
// be gone. Idempotent.
func (p *Proc) Kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// Exited is closed once the process has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Wait waits up to timeout for the process to exit and returns its exit
// code (-1 when a signal ended it). It returns an error if the process is
// still running at the deadline.
func (p *Proc) Wait(timeout time.Duration) (int, error) {
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	select {
	case <-p.exited:
		return p.state.ExitCode(), nil
	case <-tm.C:
		return 0, fmt.Errorf("%s (pid %d) still running after %v", p.Name, p.PID(), timeout)
	}
}

// WaitListening waits up to 20 s until addr accepts TCP connections (a
// child process has bound its port).
func WaitListening(t testing.TB, addr string) {
	t.Helper()
	WaitFor(t, 20*time.Second, func() (bool, string) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
}

// lineWriter prefixes each whole line and sends it to t.Log or a file.
// Output after the test ended is dropped instead of panicking.
type lineWriter struct {
	prefix string
	t      testing.TB // when nil, w is used
	w      io.Writer
	done   atomic.Bool

	mu      sync.Mutex
	partial []byte
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.emit(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	return len(b), nil
}

// flush emits an unterminated last line.
func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.emit(string(l.partial))
		l.partial = nil
	}
}

func (l *lineWriter) emit(line string) {
	if l.t == nil {
		fmt.Fprintf(l.w, "%s %s%s\n", time.Now().Format("15:04:05.000"), l.prefix, line)
		return
	}
	if !l.done.Load() {
		l.t.Log(l.prefix + line)
	}
}
