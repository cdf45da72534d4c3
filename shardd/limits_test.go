package shardd

import (
	"bufio"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// sendRaw writes raw bytes on a new connection and returns everything the
// server answers until it closes the connection or goes quiet.
func sendRaw(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	var out strings.Builder
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		out.WriteString(line)
		if err != nil {
			return out.String()
		}
	}
}

// TestMalformedInputIsRefusedAndServerStaysUp sends inputs that crash or
// exhaust naive RESP servers (redcon v1.6.2 panics on the first one) and
// checks each gets Redis's error and a closed connection, while the server
// keeps serving everyone else.
func TestMalformedInputIsRefusedAndServerStaysUp(t *testing.T) {
	_, addr := startServer(t)
	bystander := testutil.DialRaw(t, addr)
	mustDo(t, bystander, "+OK\r\n", "SET", "kept", "yes")
	cases := []struct{ name, input, want string }{
		{"huge bulk length (redcon crash)", "*1\r\n$9223372036854775807\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk over proto-max-bulk-len", "*1\r\n$536870913\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"multibulk over INT_MAX", "*2147483648\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"negative bulk length", "*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"not a bulk", "*1\r\n+PING\r\n", "-ERR Protocol error: expected '$', got '+'\r\n"},
		{"garbage multibulk length", "*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"unbalanced quotes", "SET \"a b\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"inline too big", strings.Repeat("a", 70*1024), "-ERR Protocol error: too big inline request\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := sendRaw(t, addr, tc.input); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	mustDo(t, bystander, "$3\r\nyes\r\n", "GET", "kept")
	// Inline commands work as in Redis (telnet users).
	if got := sendRaw(t, addr, "PING\r\nECHO \"hi there\"\r\nQUIT\r\n"); got != "+PONG\r\n$8\r\nhi there\r\n+OK\r\n" {
		t.Fatalf("inline commands: %q", got)
	}
}

func TestMaxClients(t *testing.T) {
	_, addr := startServer(t, func(c *Config) { c.MaxClients = 2 })
	a := testutil.DialRaw(t, addr)
	b := testutil.DialRaw(t, addr)
	mustDo(t, a, "+PONG\r\n", "PING")
	mustDo(t, b, "+PONG\r\n", "PING")
	if got := sendRaw(t, addr, "PING\r\n"); got != "-ERR max number of clients reached\r\n" {
		t.Fatalf("third client got %q", got)
	}
	a.Conn().Close()
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		got := sendRaw(t, addr, "PING\r\nQUIT\r\n")
		return got == "+PONG\r\n+OK\r\n", got
	})
	// INFO counts the refused clients and names the listener's port.
	info := string(b.Do("INFO"))
	_, port, _ := strings.Cut(addr, ":")
	if !regexp.MustCompile(`\r\nrejected_connections:[1-9]\d*\r\n`).MatchString(info) || !strings.Contains(info, "\r\ntcp_port:"+port+"\r\n") {
		t.Errorf("INFO after a refused client:\n%s", info)
	}
}

func TestRequirePass(t *testing.T) {
	_, addr := startServer(t, func(c *Config) { c.RequirePass = "sekret" })
	c := testutil.DialRaw(t, addr)
	mustDo(t, c, "-NOAUTH Authentication required.\r\n", "GET", "a")
	mustDo(t, c, "-WRONGPASS invalid username-password pair or user is disabled.\r\n", "AUTH", "nope")
	mustDo(t, c, "+OK\r\n", "AUTH", "sekret")
	mustDo(t, c, "$-1\r\n", "GET", "a")
	d := testutil.DialRaw(t, addr)
	if got := string(d.Do("HELLO", "2", "AUTH", "default", "sekret")); !strings.HasPrefix(got, "*14\r\n") {
		t.Fatalf("HELLO 2 AUTH = %q", got)
	}
	mustDo(t, d, "+PONG\r\n", "PING")
}

func TestHello3IsRefusedSoClientsFallBackToRESP2(t *testing.T) {
	_, addr := startServer(t)
	c := testutil.DialRaw(t, addr)
	mustDo(t, c, "-NOPROTO unsupported protocol version\r\n", "HELLO", "3")
	if got := string(c.Do("HELLO")); !strings.HasPrefix(got, "*14\r\n$6\r\nserver\r\n") || !strings.Contains(got, "proto\r\n:2\r\n") {
		t.Fatalf("HELLO = %q", got)
	}
}

// A client that sends a whole request plus the start of the next and then
// waits must get the first reply (replies are flushed whenever the reader
// would wait, not only when its buffer is empty).
func TestReplyFlushedBeforeWaitingForRestOfPipeline(t *testing.T) {
	_, addr := startServer(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nEC")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil || line != "+PONG\r\n" {
		t.Fatalf("first reply %q, %v", line, err)
	}
	c.Write([]byte("HO\r\n$2\r\nhi\r\n"))
	if line, err = r.ReadString('\n'); err != nil || line != "$2\r\n" {
		t.Fatalf("second reply %q, %v", line, err)
	}
}
