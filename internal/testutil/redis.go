package testutil

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// StartRedis starts a real redis-server on a free loopback port with
// persistence off and returns its address. The server is killed when the test
// ends. It fails the test when redis-server is not installed: the differential
// tests are part of `make test` and .ci/run installs Debian's redis-server.
func StartRedis(t testing.TB, extraArgs ...string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found (apt-get install -y redis-server): %v", err)
	}
	port := FreePort(t, "127.0.0.1")
	args := []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no",
		"--dir", t.TempDir(), "--logfile", "",
	}
	args = append(args, extraArgs...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	WaitFor(t, 10*time.Second, func() (bool, string) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
	return addr
}

// RawClient speaks RESP2 to a server and returns every reply as the exact
// bytes of its frame, so tests can compare two servers byte for byte.
// It is not safe for concurrent use.
type RawClient struct {
	conn net.Conn
	r    *bufio.Reader
	t    testing.TB
}

// DialRaw connects to addr and closes the connection when the test ends.
func DialRaw(t testing.TB, addr string) *RawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &RawClient{conn: c, r: bufio.NewReader(c), t: t}
}

// Conn returns the underlying connection (for tests that write raw bytes).
func (c *RawClient) Conn() net.Conn { return c.conn }

// Do sends one command as a RESP array of bulk strings and returns the raw
// reply frame. It fails the test on a transport error or a 10 s timeout.
func (c *RawClient) Do(args ...string) []byte {
	c.t.Helper()
	if err := c.Send(args...); err != nil {
		c.t.Fatalf("send %q: %v", args, err)
	}
	b, err := c.Read()
	if err != nil {
		c.t.Fatalf("read reply to %q: %v", args, err)
	}
	return b
}

// Send writes one command without reading its reply (for pipelines).
func (c *RawClient) Send(args ...string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.conn.Write(b.Bytes())
	return err
}

// Read reads one whole reply frame and returns its bytes.
func (c *RawClient) Read() ([]byte, error) {
	return c.ReadTimeout(10 * time.Second)
}

// ReadTimeout is Read with its own deadline.
func (c *RawClient) ReadTimeout(d time.Duration) ([]byte, error) {
	c.conn.SetReadDeadline(time.Now().Add(d))
	var out []byte
	err := readFrame(c.r, &out)
	return out, err
}

// readFrame appends one RESP2 frame read from r to out. It is a small,
// independent reader kept here as the tests' oracle.
func readFrame(r *bufio.Reader, out *[]byte) error {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return err
	}
	*out = append(*out, line...)
	if len(line) < 3 {
		return fmt.Errorf("short line %q", line)
	}
	switch line[0] {
	case '+', '-', ':':
		return nil
	case '$':
		n, err := strconv.Atoi(string(line[1 : len(line)-2]))
		if err != nil {
			return err
		}
		if n < 0 {
			return nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		*out = append(*out, buf...)
		return nil
	case '*':
		n, err := strconv.Atoi(string(line[1 : len(line)-2]))
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := readFrame(r, out); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unexpected reply type %q", line)
}
