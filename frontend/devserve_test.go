package frontend

import (
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/shoal-kv/shoal/gossip"
)

// TestDevServeOverRedis is a tool, not a test: with
// SHOAL_DEV_SERVE=LISTEN and SHOAL_DEV_BACKENDS=addr1,addr2,... it serves a
// frontend on LISTEN over those Redis-protocol servers (one shard each,
// announced through an in-memory gossip network) until killed. It lets
// bench runs compare the proxy alone against twemproxy over the same
// redis-servers.
func TestDevServeOverRedis(t *testing.T) {
	listen, backends := os.Getenv("SHOAL_DEV_SERVE"), os.Getenv("SHOAL_DEV_BACKENDS")
	if listen == "" || backends == "" {
		t.Skip("set SHOAL_DEV_SERVE and SHOAL_DEV_BACKENDS to run")
	}
	net_ := newNet()
	for i, a := range strings.Split(backends, ",") {
		net_.Join("b"+strconv.Itoa(i), shardTags("s"+strconv.Itoa(i), gossip.ReplMaster, a, 1))
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	node := net_.Join("fe", gossip.Tags{Role: gossip.RoleFrontend, RESPAddr: listen})
	cfg := DefaultConfig()
	cfg.Membership = node
	cfg.EnablePprof = true
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a := os.Getenv("SHOAL_DEV_ADMIN"); a != "" {
		aln, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatal(err)
		}
		go serveHTTP(aln, srv)
	}
	t.Fatal(srv.Serve(ln))
}

func serveHTTP(ln net.Listener, srv *Server) { (&http.Server{Handler: srv.AdminHandler()}).Serve(ln) }
