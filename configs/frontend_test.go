package configs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/shoal-kv/shoal/frontend"
)

func TestFrontendPrecedence(t *testing.T) {
	c := DefaultFrontend()
	loadWith(t, "frontend", &c, func(fs *pflag.FlagSet) { FrontendFlags(fs, DefaultFrontend()) },
		"frontend:\n  gossip: 127.0.0.1:1\n  read-policy: replica\n  expect-shards: 5\n  max-replica-lag: 3s\n",
		[]string{"SHOAL_FRONTEND_READ_POLICY=prefer-replica", "SHOAL_FRONTEND_UPSTREAM_CONNS=4"}, "--expect-shards", "7")
	if c.ExpectShards != 7 || c.ReadPolicy != "prefer-replica" || c.UpstreamConns != 4 || c.MaxReplicaLag != 3*time.Second || c.Listen != "127.0.0.1:6379" {
		t.Fatalf("precedence wrong: %+v", c)
	}
	cfg, err := c.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ReadPolicy != frontend.ReadPreferReplica || cfg.ExpectShards != 7 || cfg.UpstreamConns != 4 {
		t.Fatalf("ServerConfig: %+v", cfg)
	}
}

func TestFrontendValidation(t *testing.T) {
	c := DefaultFrontend()
	if _, err := c.ServerConfig(); err == nil || !strings.Contains(err.Error(), "gossip") {
		t.Errorf("missing gossip accepted: %v", err)
	}
	c.Gossip = "127.0.0.1:7946"
	c.ReadPolicy = "nearest"
	if _, err := c.ServerConfig(); !errors.Is(err, frontend.ErrInvalidConfig) || !strings.Contains(err.Error(), "ReadPolicy") {
		t.Errorf("bad read policy: %v", err)
	}
	c = DefaultFrontend()
	c.Gossip = "127.0.0.1:7946"
	c.ProtoMaxBulkLen = "12zz"
	if _, err := c.ServerConfig(); err == nil || !strings.Contains(err.Error(), "proto-max-bulk-len") {
		t.Errorf("bad size accepted: %v", err)
	}
	c = DefaultFrontend()
	c.Gossip = "127.0.0.1:7946"
	c.HashringTableSize = 65536
	if _, err := c.ServerConfig(); err == nil || !strings.Contains(err.Error(), "TableSize") {
		t.Errorf("non-prime table accepted: %v", err)
	}
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("frontend:\n  gossip: a:1\n  read-polcy: master\n"), 0o644)
	c = DefaultFrontend()
	if err := Load("frontend", &c, nil, file); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "frontend.read-polcy") {
		t.Errorf("unknown key: %v", err)
	}
}

// failover-buffer: flag, YAML key and environment variable reach the
// typed Config; a negative value is refused by Validate, 0 turns it off.
func TestFrontendFailoverBuffer(t *testing.T) {
	if d := DefaultFrontend(); d.FailoverBuffer != 2*time.Second || d.FailoverBufferSize != 10000 {
		t.Fatalf("defaults: %v %d", d.FailoverBuffer, d.FailoverBufferSize)
	}
	load := func(args []string, yaml string) (frontend.Config, error) {
		t.Helper()
		file := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(file, []byte("frontend:\n  gossip: 127.0.0.1:1\n"+yaml), 0o644)
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		FrontendFlags(fs, DefaultFrontend())
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		c := DefaultFrontend()
		if err := Load("frontend", &c, fs, file); err != nil {
			t.Fatal(err)
		}
		return c.ServerConfig()
	}
	cfg, err := load(nil, "  failover-buffer: 750ms\n  failover-buffer-size: 5\n")
	if err != nil || cfg.FailoverBuffer != 750*time.Millisecond || cfg.FailoverBufferSize != 5 {
		t.Errorf("from the file: %v %d %v", cfg.FailoverBuffer, cfg.FailoverBufferSize, err)
	}
	t.Setenv("SHOAL_FRONTEND_FAILOVER_BUFFER", "3s")
	if cfg, err = load(nil, "  failover-buffer: 750ms\n"); err != nil || cfg.FailoverBuffer != 3*time.Second {
		t.Errorf("from the environment: %v %v", cfg.FailoverBuffer, err)
	}
	if cfg, err = load([]string{"--failover-buffer", "0"}, ""); err != nil || cfg.FailoverBuffer != 0 {
		t.Errorf("--failover-buffer 0: %v %v", cfg.FailoverBuffer, err)
	}
	if _, err = load([]string{"--failover-buffer", "-1s"}, ""); !errors.Is(err, frontend.ErrInvalidConfig) || !strings.Contains(err.Error(), "FailoverBuffer") {
		t.Errorf("negative failover-buffer: %v", err)
	}
	if _, err = load([]string{"--failover-buffer-size", "0"}, ""); !errors.Is(err, frontend.ErrInvalidConfig) || !strings.Contains(err.Error(), "FailoverBufferSize") {
		t.Errorf("failover-buffer-size 0: %v", err)
	}
}
