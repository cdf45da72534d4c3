package proto

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
)

// startMiniServer serves PING and ECHO with this package's Reader and
// answers everything else with Resolve's errors or "unknown command", so
// that the bytes it sends can be compared with a real redis-server's for
// the same input.
func startMiniServer(t *testing.T, auth bool) string {
	t.Helper()
	ln := testutil.Listen(t)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				serveMini(c, auth)
			}()
		}
	}()
	return ln.Addr().String()
}

func serveMini(c net.Conn, auth bool) {
	defer c.Close()
	var out []byte
	flush := func() error {
		if len(out) == 0 {
			return nil
		}
		_, err := c.Write(out)
		out = out[:0]
		return err
	}
	r := NewReader(FlushBeforeRead(c, flush), Limits{})
	r.SetAuthRequired(auth)
	for {
		args, err := r.ReadCommand()
		if err != nil {
			var pe *ProtocolError
			if errors.As(err, &pe) {
				out = AppendError(out, pe.Reply())
			}
			flush()
			return
		}
		switch spec, err := Resolve(args); {
		case err != nil:
			out = AppendError(out, err.Error())
		case spec.Name == "ping" && len(args) == 1:
			out = AppendStatus(out, "PONG")
		case spec.Name == "ping" && len(args) == 2:
			out = AppendBulk(out, args[1])
		case spec.Name == "ping":
			out = AppendError(out, ErrWrongArity("ping"))
		case spec.Name == "echo":
			out = AppendBulk(out, args[1])
		case spec.Name == "command" || (spec.Parent != nil && spec.Parent.Name == "command"):
			out = AppendCommandReply(out, args)
		default:
			out = AppendError(out, "ERR mini server does not run "+spec.FullName)
		}
	}
}

// exchange sends in, half-closes, and returns everything received until
// the server closes.
func exchange(t *testing.T, addr string, in []byte) []byte {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.Write(in) // may fail once the server closed on an error
		c.(*net.TCPConn).CloseWrite()
	}()
	out, err := io.ReadAll(c)
	wg.Wait()
	if err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("read: %v", err)
	}
	return out
}

// diffInputs are request streams whose every command is PING, ECHO, an
// unknown command or a lookup error, so both servers must answer alike.
func diffInputs() []string {
	ins := []string{
		"PING\r\n",
		"ping\r\nPing hello\r\nPING a b\r\n",
		"ECHO\r\nECHO a b\r\n",
		"foo a b\r\n",
		"foo\r\n",
		"foo a b c d e f g h i j k l m n o p q r s t u v w x y z aa bb cc dd\r\n",
		"foo " + strings.Repeat("x", 200) + " y\r\n",
		strings.Repeat("f", 200) + " y\r\n",
		"foo " + strings.Repeat("a", 100) + " " + strings.Repeat("b", 100) + " c\r\n",
		"foo " + strings.Repeat("x", 125) + " abcdef z\r\n",
		"foo " + strings.Repeat("x", 124) + " abcdef z\r\n",
		"foo " + strings.Repeat("x", 126) + " abcdef z\r\n",
		"*2\r\n$3\r\nfoo\r\n$5\r\na\r\nb\x00\r\n",
		"*3\r\n$3\r\nf\ro\r\n$2\r\n\n\n\r\n$0\r\n\r\n",
		"*1\r\n$4\r\n\x00foo\r\n",
		"CONFIG foo\r\nConFig\r\nclient x y\r\nCoNfIg GeT\r\nobject\r\ncommand nope\r\n",
		"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n",
		"*1\rx$4\rxPINGxx",
		"*1\r\n+PING\r\n",
		"*1\r\n\n\r\n",
		"*1\r\n\r\r\n",
		"*1\r\n\xff\r\n",
		"*1\r\n\xc3\xa9\r\n",
		"foo \xff\xfe \xc3\xa9\r\n",
		"\xff\r\n",
		"*01\r\n$4\r\nPING\r\n",
		"*+1\r\n",
		"*\r\n",
		"*2147483648\r\n",
		"*2147483647\r\n",
		"*1048577\r\n$4\r\nPING\r\n",
		"*1\r\n$-1\r\n",
		"*1\r\n$04\r\nPING\r\n",
		"*1\r\n$536870913\r\n",
		"*1\r\n$536870912\r\nabc",
		"*1\r\n$9223372036854775807\r\n",
		"*9223372036854775807\r\n",
		"*0\r\n*-1\r\n*-5\r\nPING\r\n\r\n\n  \t \r\nPING\r\n",
		"ECHO \"a\\x41\\n\" 'a\\'b\\n'\r\n",
		`ECHO "a"b` + "\r\n",
		`ECHO "ab` + "\r\n",
		`ECHO 'ab` + "\r\n",
		`ECHO 'a'b` + "\r\n",
		`ECHO "a\` + "\r\n",
		"ECHO a\vb\r\nECHO \va\r\nECHO \"a\"\vb\r\n",
		"ECHO \"\\xZZ\"\r\nECHO \"\\q\"\r\nECHO \"\"\r\nECHO ''\r\n",
		"ECHO foo\"bar\"\r\nECHO foo'bar'\r\n",
		"ECHO a\rb\n",
		"PING\r\nECHO \"b\x00c\"\r\nPING\r\n",
		"*1\x00\r\n$4\r\nPING\r\n",
		"*1\r\n$\x004\r\nPING\r\n",
		"*1\r\n\x00\r\n",
		"*2\r\n$4\r\nECHO\r\n$3\r\n",
		"PING",
		"*2\r\n$4\r\nECHO\r\n$40000\r\n" + strings.Repeat("z", 40000) + "\r\nPING\r\n",
		"ECHO " + strings.Repeat("a", 60000) + "\n",
		strings.Repeat("a", 100_000),
		"*" + strings.Repeat("1", 100_000),
		"*1\r\n$" + strings.Repeat("1", 100_000),
		"*1\r\n$" + strings.Repeat("\x00", 100_000),
	}
	// The reader's own table, with SET/GET renamed so they stay unknown.
	for _, tc := range readerCases() {
		if tc.lim != (Limits{}) || tc.auth {
			continue
		}
		in := strings.NewReplacer("SET", "XST", "GET", "XGT").Replace(tc.in)
		ins = append(ins, in)
	}
	return ins
}

// TestReaderMatchesRedis sends every input to redis-server and to the mini
// server and requires byte-identical answers (including where Redis closes
// the connection after a protocol error).
func TestReaderMatchesRedis(t *testing.T) {
	redis := testutil.StartRedis(t)
	mini := startMiniServer(t, false)
	for i, in := range diffInputs() {
		want := exchange(t, redis, []byte(in))
		got := exchange(t, mini, []byte(in))
		if !bytes.Equal(got, want) {
			t.Errorf("input %d %.80q:\nredis %.300q\nshoal %.300q", i, in, want, got)
		}
	}
}

// TestReaderMatchesRedisUnauthenticated compares the limits Redis applies
// before AUTH.
func TestReaderMatchesRedisUnauthenticated(t *testing.T) {
	redis := testutil.StartRedis(t, "--requirepass", "secret")
	mini := startMiniServer(t, true)
	for i, in := range []string{
		"*11\r\n",
		"*10\r\n$3\r\nfoo\r\n",
		"*1\r\n$16385\r\n",
		"*1\r\n$16384\r\n",
	} {
		want := exchange(t, redis, []byte(in))
		got := exchange(t, mini, []byte(in))
		if !bytes.Equal(got, want) {
			t.Errorf("input %d %.80q:\nredis %.300q\nshoal %.300q", i, in, want, got)
		}
	}
}
