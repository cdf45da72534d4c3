package respserver_test

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/respserver"
	"github.com/shoal-kv/shoal/internal/testutil"
)

// clientLines returns the lines of a CLIENT LIST reply.
func clientLines(t *testing.T, reply []byte) []string {
	t.Helper()
	s := string(reply)
	if !strings.HasPrefix(s, "$") {
		t.Fatalf("CLIENT LIST: %q", s)
	}
	_, body, _ := strings.Cut(s, "\r\n")
	body = strings.TrimSuffix(body, "\r\n")
	if body == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(body, "\n"), "\n")
}

func TestClientListInfoKill(t *testing.T) {
	_, addr := startMini(t, "", 100)
	a := testutil.DialRaw(t, addr)
	b := testutil.DialRaw(t, addr)
	sub := testutil.DialRaw(t, addr)
	a.Do("CLIENT", "SETNAME", "alpha")
	b.Do("PING")
	sub.Do("SUBSCRIBE", "ch")
	ida, idb := string(a.Do("CLIENT", "ID")), string(b.Do("CLIENT", "ID"))

	// Every line has Redis 7's fields in Redis's order; the list is in ID
	// order.
	lines := clientLines(t, a.Do("CLIENT", "LIST"))
	if len(lines) != 3 {
		t.Fatalf("CLIENT LIST: %d lines: %q", len(lines), lines)
	}
	lineRE := regexp.MustCompile(`^id=(\d+) addr=127\.0\.0\.1:\d+ laddr=127\.0\.0\.1:\d+ fd=0 name=(\S*) age=\d+ idle=\d+ flags=([NP]) db=0 sub=(\d) psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=(\S+) user=default redir=-1 resp=2 lib-name= lib-ver=$`)
	var ids []string
	for _, l := range lines {
		m := lineRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("CLIENT LIST line %q", l)
		}
		ids = append(ids, m[1])
	}
	if want := []string{ida[1 : len(ida)-2], idb[1 : len(idb)-2]}; ids[0] != want[0] || ids[1] != want[1] {
		t.Errorf("CLIENT LIST ids %v, want %v first (ID order)", ids, want)
	}
	if !strings.Contains(lines[0], " name=alpha ") || !strings.Contains(lines[0], " cmd=client|list ") {
		t.Errorf("own line %q: want name=alpha cmd=client|list", lines[0])
	}
	if !strings.Contains(lines[2], " flags=P db=0 sub=1 ") || !strings.Contains(lines[2], " cmd=subscribe ") {
		t.Errorf("subscriber's line %q: want flags=P sub=1 cmd=subscribe", lines[2])
	}

	// Filters.
	if l := clientLines(t, a.Do("CLIENT", "LIST", "TYPE", "pubsub")); len(l) != 1 || !strings.Contains(l[0], "flags=P") {
		t.Errorf("CLIENT LIST TYPE pubsub: %q", l)
	}
	if l := clientLines(t, a.Do("CLIENT", "LIST", "TYPE", "NORMAL")); len(l) != 2 {
		t.Errorf("CLIENT LIST TYPE NORMAL: %q", l)
	}
	if l := clientLines(t, a.Do("CLIENT", "LIST", "ID", idb[1:len(idb)-2], "99999")); len(l) != 1 || !strings.HasPrefix(l[0], "id="+idb[1:len(idb)-2]+" ") {
		t.Errorf("CLIENT LIST ID %s 99999: %q", idb, l)
	}
	info := string(b.Do("CLIENT", "INFO"))
	if !strings.HasPrefix(info, "$") || !strings.Contains(info, "id="+idb[1:len(idb)-2]+" ") || !strings.Contains(info, "cmd=client|info ") {
		t.Errorf("CLIENT INFO: %q", info)
	}

	// KILL by ID closes the other client.
	if got := string(a.Do("CLIENT", "KILL", "ID", idb[1:len(idb)-2])); got != ":1\r\n" {
		t.Fatalf("CLIENT KILL ID: %q", got)
	}
	if r, err := b.Read(); err == nil {
		t.Fatalf("killed client read %q", r)
	}
	// KILL of oneself: SKIPME yes (the default) spares the caller; SKIPME no
	// answers, then closes.
	own := a.Conn().LocalAddr().String()
	if got := string(a.Do("CLIENT", "KILL", "ADDR", own)); got != ":0\r\n" {
		t.Fatalf("CLIENT KILL ADDR own: %q", got)
	}
	if got := string(a.Do("CLIENT", "KILL", "ADDR", own, "SKIPME", "no")); got != ":1\r\n" {
		t.Fatalf("CLIENT KILL ADDR own SKIPME no: %q", got)
	}
	if r, err := a.Read(); err == nil {
		t.Fatalf("client that killed itself read %q", r)
	}
	// The old form, ip:port, answers +OK or an error.
	c := testutil.DialRaw(t, addr)
	if got := string(c.Do("CLIENT", "KILL", sub.Conn().LocalAddr().String())); got != "+OK\r\n" {
		t.Fatalf("CLIENT KILL ip:port: %q", got)
	}
	if r, err := sub.Read(); err == nil {
		t.Fatalf("killed subscriber read %q", r)
	}
	if got := string(c.Do("CLIENT", "KILL", c.Conn().LocalAddr().String())); got != "+OK\r\n" {
		t.Fatalf("CLIENT KILL own ip:port: %q", got)
	}
	if r, err := c.Read(); err == nil {
		t.Fatalf("client that killed itself (old form) read %q", r)
	}
}

func TestClientInfoLine(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ci := respserver.ClientInfo{
		ID: 7, Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}, LAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 6379},
		Name: "n", Created: now.Add(-90 * time.Second), LastCmd: now.Add(-2500 * time.Millisecond).UnixMilli(),
		PubSub: true, Sub: 2, PSub: 1, Multi: 3, Cmd: "get", LibName: "go-redis", LibVer: "9.0",
	}
	want := "id=7 addr=127.0.0.1:5000 laddr=127.0.0.2:6379 fd=0 name=n age=90 idle=2 flags=P db=0 sub=2 psub=1 ssub=0 multi=3 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=get user=default redir=-1 resp=2 lib-name=go-redis lib-ver=9.0\n"
	if got := ci.Line(now); got != want {
		t.Errorf("Line:\n got  %q\n want %q", got, want)
	}
}

func TestParseInt(t *testing.T) {
	for _, tc := range []struct {
		in string
		n  int64
		ok bool
	}{
		{"0", 0, true}, {"1", 1, true}, {"-1", -1, true}, {"9223372036854775807", 9223372036854775807, true},
		{"-9223372036854775808", -9223372036854775808, true}, {"9223372036854775808", 0, false},
		{"", 0, false}, {"-", 0, false}, {"+1", 0, false}, {"01", 0, false}, {"-0", 0, false}, {"00", 0, false},
		{" 1", 0, false}, {"1 ", 0, false}, {"1x", 0, false}, {"123456789012345678901", 0, false},
	} {
		n, ok := respserver.ParseInt([]byte(tc.in))
		if n != tc.n || ok != tc.ok {
			t.Errorf("ParseInt(%q) = %d, %v; want %d, %v", tc.in, n, ok, tc.n, tc.ok)
		}
	}
}

func TestValidClientName(t *testing.T) {
	for in, want := range map[string]bool{"a": true, "conn-1": true, "~!": true, "": true, "a b": false, "a\n": false, "é": false, "\x7f": false} {
		if got := respserver.ValidClientName([]byte(in)); got != want {
			t.Errorf("ValidClientName(%q) = %v", in, got)
		}
	}
}

func ExampleErrSubcommand() {
	fmt.Println(respserver.ErrSubcommand("CONFIG", []byte("nosuch")))
	// Output: ERR unknown subcommand or wrong number of arguments for 'nosuch'. Try CONFIG HELP.
}
