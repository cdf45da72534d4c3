package testutil

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

// EncodeCommand returns args as a RESP array of bulk strings.
func EncodeCommand(args ...string) []byte {
	b := []byte("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b = append(b, "$"+strconv.Itoa(len(a))+"\r\n"+a+"\r\n"...)
	}
	return b
}

// BenchPipeline measures a server's request path over a real loopback
// connection: each round writes depth copies of req with one write and
// reads depth copies of reply, which must come back byte for byte. One
// benchmark op is one command, so ns/op is the cost per command and, for an
// in-process server, allocs/op counts the server's allocations per command
// (the client side allocates nothing per round). b.N is rounded up to whole
// rounds.
func BenchPipeline(b *testing.B, addr string, req, reply []byte, depth int) {
	b.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		b.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	out := bytes.Repeat(req, depth)
	want := bytes.Repeat(reply, depth)
	got := make([]byte, len(want))
	round := func() {
		if _, err := c.Write(out); err != nil {
			b.Fatalf("write: %v", err)
		}
		if _, err := io.ReadFull(c, got); err != nil {
			b.Fatalf("read: %v", err)
		}
	}
	c.SetDeadline(time.Now().Add(time.Minute))
	round() // warm up: connection state, buffers, the key
	if !bytes.Equal(got, want) {
		b.Fatalf("reply %q, want %q", got, want)
	}
	c.SetDeadline(time.Time{}) // go test's -timeout bounds the rest
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += depth {
		round()
	}
	b.StopTimer()
	if !bytes.Equal(got, want) {
		b.Fatalf("reply %q, want %q", got, want)
	}
}

// BenchRequestPath runs BenchPipeline for GET (of a key it sets first), SET
// and PING at pipeline depths 1 and 16, as sub-benchmarks named
// GET/P1 ... PING/P16: the request path benchmark shardd and the frontend
// share, so their figures compare.
func BenchRequestPath(b *testing.B, addr string) {
	b.Helper()
	WaitFor(b, 10*time.Second, func() (bool, string) {
		r := string(DialRaw(b, addr).Do("SET", "key", "value"))
		return r == "+OK\r\n", r
	})
	cases := []struct {
		name       string
		req, reply []byte
	}{
		{"GET", EncodeCommand("GET", "key"), []byte("$5\r\nvalue\r\n")},
		{"SET", EncodeCommand("SET", "key", "value"), []byte("+OK\r\n")},
		{"PING", EncodeCommand("PING"), []byte("+PONG\r\n")},
	}
	for _, depth := range []int{1, 16} {
		for _, c := range cases {
			b.Run(c.name+"/P"+strconv.Itoa(depth), func(b *testing.B) {
				BenchPipeline(b, addr, c.req, c.reply, depth)
			})
		}
	}
}
