package frontend

import (
	"strings"
	"testing"

	"github.com/shoal-kv/shoal/internal/testutil"
)

func TestBasicRouting(t *testing.T) {
	mc := newMemCluster(t, 3)
	_, addr := mc.frontend()
	c := testutil.DialRaw(t, addr)
	if got := do(c, "PING"); got != "+PONG\r\n" {
		t.Fatalf("PING: %q", got)
	}
	for i := 0; i < 100; i++ {
		k := "key" + string(rune('a'+i%26)) + strings.Repeat("x", i)
		if got := do(c, "SET", k, "v"); got != "+OK\r\n" {
			t.Fatalf("SET: %q", got)
		}
		if got := do(c, "GET", k); got != bulk("v") {
			t.Fatalf("GET: %q", got)
		}
	}
	if got := do(c, "GET", "missing"); got != "$-1\r\n" {
		t.Fatalf("GET missing: %q", got)
	}
	if got := do(c, "MSET", "a", "1", "b", "2", "c", "3", "d", "4"); got != "+OK\r\n" {
		t.Fatalf("MSET: %q", got)
	}
	if got := do(c, "MGET", "a", "b", "nope", "c", "d"); got != "*5\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n$1\r\n3\r\n$1\r\n4\r\n" {
		t.Fatalf("MGET: %q", got)
	}
	if got := do(c, "DEL", "a", "b", "nope", "c"); got != ":3\r\n" {
		t.Fatalf("DEL: %q", got)
	}
	if got := do(c, "DBSIZE"); got != ":101\r\n" {
		t.Fatalf("DBSIZE: %q", got)
	}
	_, port, _ := strings.Cut(addr, ":")
	if info := do(c, "INFO", "server"); !strings.Contains(info, "\r\ntcp_port:"+port+"\r\n") {
		t.Errorf("INFO server: want tcp_port:%s in\n%s", port, info)
	}
}
