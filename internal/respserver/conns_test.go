package respserver_test

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/respserver"
	"github.com/shoal-kv/shoal/internal/testutil"
)

func TestMaxClients(t *testing.T) {
	s, addr := startMini(t, "", 2)
	a := testutil.DialRaw(t, addr)
	b := testutil.DialRaw(t, addr)
	a.Do("PING")
	b.Do("PING")
	// The third client is refused with Redis's error and closed.
	c := testutil.DialRaw(t, addr)
	if r, err := c.Read(); err != nil || string(r) != respserver.MaxClientsReply {
		t.Fatalf("third client: %q, %v; want %q", r, err, respserver.MaxClientsReply)
	}
	if r, err := c.Read(); err == nil {
		t.Fatalf("refused client read %q after the error", r)
	}
	if got, want := [3]int64{int64(s.conns.Len()), s.conns.Received(), s.conns.Rejected()}, [3]int64{2, 3, 1}; got != want {
		t.Errorf("Len, Received, Rejected = %v, want %v", got, want)
	}
	// A client that leaves frees its place.
	a.Do("QUIT")
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		return s.conns.Len() == 1, fmt.Sprintf("%d connections open", s.conns.Len())
	})
	if got := string(testutil.DialRaw(t, addr).Do("PING")); got != "+PONG\r\n" {
		t.Errorf("client after one left: %q", got)
	}
	// Raising the limit takes effect for the next clients.
	s.conns.SetMaxClients(3)
	if got := string(testutil.DialRaw(t, addr).Do("PING")); got != "+PONG\r\n" {
		t.Errorf("client after SetMaxClients(3): %q", got)
	}
	s.conns.ResetStats()
	if s.conns.Received() != 0 || s.conns.Rejected() != 0 || s.conns.MaxClients() != 3 {
		t.Errorf("after ResetStats: received %d rejected %d maxclients %d", s.conns.Received(), s.conns.Rejected(), s.conns.MaxClients())
	}
}

// TestCloseStopsServe: Close makes every Serve return the server's error,
// closes the listeners, hands back the open connections, and Serve on a
// closed registry refuses at once.
func TestCloseStopsServe(t *testing.T) {
	var r respserver.Conns[*net.TCPConn]
	errClosed := errors.New("test: closed")
	r.Name, r.ErrClosed = "test", errClosed
	r.SetMaxClients(10)
	ln := testutil.Listen(t)
	served := make(chan *net.TCPConn, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- r.Serve(ln, func(nc net.Conn) *net.TCPConn { return nc.(*net.TCPConn) }, func(c *net.TCPConn) { served <- c })
	}()
	cl, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	c := <-served
	if r.Addr() == nil || r.Addr().String() != ln.Addr().String() {
		t.Errorf("Addr %v, want %v", r.Addr(), ln.Addr())
	}
	if _, port, _ := net.SplitHostPort(ln.Addr().String()); r.Port() != port {
		t.Errorf("Port %q, want %q", r.Port(), port)
	}
	open := r.Close()
	if len(open) != 1 || open[0] != c {
		t.Errorf("Close returned %v, want the one connection", open)
	}
	if err := <-errc; err != errClosed {
		t.Errorf("Serve returned %v, want %v", err, errClosed)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Errorf("the listener still accepts after Close")
	}
	if r.Addr() != nil || r.Port() != "" {
		t.Errorf("Addr, Port after Serve returned: %v, %q", r.Addr(), r.Port())
	}
	ln2 := testutil.Listen(t)
	if err := r.Serve(ln2, nil, nil); err != errClosed {
		t.Errorf("Serve after Close: %v", err)
	}
	// Wait returns once every connection is removed.
	waited := make(chan struct{})
	go func() { r.Wait(); close(waited) }()
	select {
	case <-waited:
		t.Fatal("Wait returned with a connection open")
	case <-time.After(20 * time.Millisecond):
	}
	if !r.Remove(c) || r.Remove(c) {
		t.Error("Remove: want true, then false")
	}
	<-waited
	c.Close()
}

// flakyListener fails its first Accepts with a timeout, then with a
// permanent error.
type flakyListener struct {
	net.Listener
	timeouts atomic.Int32
	calls    atomic.Int32
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "accept: too many open files (simulated)" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var errBroken = errors.New("listener broken")

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.calls.Add(1) <= l.timeouts.Load() {
		return nil, timeoutErr{}
	}
	return nil, errBroken
}

// TestAcceptErrors: temporary errors are retried after a backoff; a
// permanent one ends Serve, wrapped with the server's name.
func TestAcceptErrors(t *testing.T) {
	var r respserver.Conns[*net.TCPConn]
	r.Name = "test"
	l := &flakyListener{Listener: testutil.Listen(t)}
	l.timeouts.Store(3)
	start := time.Now()
	err := r.Serve(l, nil, nil)
	took := time.Since(start)
	if !errors.Is(err, errBroken) || !strings.HasPrefix(err.Error(), "test: accept: ") {
		t.Errorf("Serve returned %v, want test: accept: %v", err, errBroken)
	}
	if l.calls.Load() != 4 {
		t.Errorf("Accept called %d times, want 4", l.calls.Load())
	}
	// Backoff 5, 10, 20 ms.
	if took < 35*time.Millisecond {
		t.Errorf("three temporary errors retried in %v, want ≥ 35ms of backoff", took)
	}
	t.Logf("3 temporary accept errors took %v", took)
	// Without ErrClosed set, Close makes Serve return ErrClosed.
	var z respserver.Conns[*net.TCPConn]
	z.Close()
	if err := z.Serve(testutil.Listen(t), nil, nil); err != respserver.ErrClosed {
		t.Errorf("zero Conns after Close: %v", err)
	}
}
