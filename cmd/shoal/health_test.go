package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/frontend"
	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/gossip/gossiptest"
	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/shardd"
)

// health runs `shoal health` with args through cobra, as a container's
// health check does.
func health(args ...string) error {
	cmd := healthCommand()
	cmd.SetArgs(args)
	cmd.SetOut(new(strings.Builder))
	cmd.SetErr(new(strings.Builder))
	return cmd.Execute()
}

// TestHealthShardd: a real shard daemon is healthy once it answers; with
// requirepass the check needs the password.
func TestHealthShardd(t *testing.T) {
	cfg := shardd.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.RequirePass = "s3cret"
	cfg.Logger = testutil.Logger(t)
	srv, err := shardd.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln := testutil.Listen(t)
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	addr := ln.Addr().String()

	if err := health("--addr", addr, "--password", "s3cret"); err != nil {
		t.Fatalf("healthy shardd: %v", err)
	}
	err = health("--addr", addr, "--password", "wrong")
	if err == nil || !strings.Contains(err.Error(), "AUTH failed") {
		t.Fatalf("wrong password: got %v, want AUTH failed", err)
	}
	err = health("--addr", addr)
	if err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("no password: got %v, want the NOAUTH reply", err)
	}
	down := testutil.FreePort(t, "127.0.0.1")
	if err := health("--addr", net.JoinHostPort("127.0.0.1", strconv.Itoa(down)), "--timeout", "500ms"); err == nil {
		t.Fatal("nothing listening: health passed")
	}
}

// TestHealthFrontendReady: a real frontend answers PING at once, but with
// --admin health passes only when /readyz does: once its expected shard
// has a master, and no longer once it drains.
func TestHealthFrontendReady(t *testing.T) {
	network := gossiptest.NewNetwork()
	ln := testutil.Listen(t)
	node := network.Join("fe", gossip.Tags{Role: gossip.RoleFrontend, RESPAddr: ln.Addr().String()})
	cfg := frontend.DefaultConfig()
	cfg.Logger = testutil.Logger(t)
	cfg.Membership = node
	cfg.ExpectShards = 1
	srv, err := frontend.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	aln := testutil.Listen(t)
	admin := &http.Server{Handler: srv.AdminHandler()}
	go admin.Serve(aln)
	t.Cleanup(func() { admin.Close() })
	addr, adminAddr := ln.Addr().String(), aln.Addr().String()

	if err := health("--addr", addr); err != nil {
		t.Fatalf("PING only: %v", err)
	}
	err = health("--addr", addr, "--admin", adminAddr)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "0 of 1 expected shards") {
		t.Fatalf("no shard yet: got %v, want 503 not ready", err)
	}

	network.Join("s0-m", gossip.Tags{Role: gossip.RoleShard, Shard: "s0", ReplRole: gossip.ReplMaster, Epoch: 1,
		RESPAddr: "127.0.0.1:1"})
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		if err := health("--addr", addr, "--admin", adminAddr); err != nil {
			return false, err.Error()
		}
		return true, ""
	})

	// Draining: readiness drops while the admin server still answers.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-errc; !errors.Is(err, frontend.ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	if err := readyz(adminAddr, time.Now().Add(2*time.Second)); err == nil || !strings.Contains(err.Error(), "shutting down") {
		t.Fatalf("after shutdown: /readyz gave %v, want shutting down", err)
	}
	if err := health("--addr", addr, "--admin", adminAddr, "--timeout", "500ms"); err == nil {
		t.Fatal("after shutdown: health passed")
	}
}
