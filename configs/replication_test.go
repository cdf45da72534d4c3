package configs

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// loadShardArgs loads `shoal shardd`'s settings from command-line args.
func loadShardArgs(t *testing.T, args ...string) Shardd {
	t.Helper()
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	ShardFlags(fs, DefaultShardd())
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	c := DefaultShardd()
	if err := Load("shardd", &c, fs, ""); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestReplicationSettings(t *testing.T) {
	c := loadShardArgs(t, "--diskless", "--maxmemory", "64mb", "--replicaof", "10.0.0.1:6380",
		"--min-replicas-to-write", "1", "--min-replicas-max-lag", "5s", "--masterauth", "pw")
	cfg, err := c.ServerConfig()
	if err != nil {
		t.Fatalf("ServerConfig: %v", err)
	}
	if cfg.ReplicaOf != "10.0.0.1:6380" || !cfg.Diskless || cfg.MaxMemory != 64<<20 || cfg.MinReplicasToWrite != 1 ||
		cfg.MinReplicasMaxLag != 5*time.Second || cfg.MasterAuth != "pw" || cfg.RESPAddr != c.Listen {
		t.Fatalf("config: %+v", cfg)
	}
	c.ReplicaOf = "no-port"
	if _, err := c.ServerConfig(); err == nil || !strings.Contains(err.Error(), "replicaof") {
		t.Fatalf("bad replicaof accepted: %v", err)
	}
}

func TestRaftSettings(t *testing.T) {
	c := loadShardArgs(t, "--data-dir", "/d", "--gossip", "127.0.0.1:7946", "--raft", "127.0.0.1:7000",
		"--raft-bootstrap-expect", "3", "--failover-after", "250ms", "--raft-reap-after", "1m", "--min-replicas-max-lag", "500ms")
	cfg, err := c.ServerConfig()
	if err != nil {
		t.Fatalf("ServerConfig: %v", err)
	}
	if c.RaftBootstrapExpect != 3 || c.FailoverAfter != 250*time.Millisecond || c.RaftReapAfter != time.Minute ||
		!c.RaftVoter || cfg.RaftAddr != "127.0.0.1:7000" || !cfg.RaftVoter || cfg.MinReplicasMaxLag != 500*time.Millisecond {
		t.Fatalf("config: %+v / %+v", c, cfg)
	}
	// Defaults without --raft: nothing announced.
	d := DefaultShardd()
	d.DataDir = "/d"
	if cfg, err := d.ServerConfig(); err != nil || cfg.RaftAddr != "" || d.FailoverAfter != 500*time.Millisecond ||
		d.RaftReapAfter != 30*time.Second || d.RaftBootstrapExpect != 1 {
		t.Fatalf("defaults: %+v, %v", d, err)
	}
	for _, tc := range []struct {
		mutate func(*Shardd)
		want   string
	}{
		{func(c *Shardd) { c.Raft = "0.0.0.0:7000" }, "raft-advertise: required"},
		{func(c *Shardd) { c.Raft = "nope" }, "raft: want HOST:PORT"},
		{func(c *Shardd) { c.Gossip = "" }, "raft: needs gossip"},
		{func(c *Shardd) { c.Diskless, c.DataDir = true, "" }, "raft-voter: a diskless node"},
		{func(c *Shardd) { c.RaftBootstrapExpect = 0 }, "raft-bootstrap-expect"},
		{func(c *Shardd) { c.FailoverAfter = 0 }, "failover-after"},
		{func(c *Shardd) { c.RaftReapAfter = -time.Second }, "raft-reap-after"},
	} {
		bad := c
		tc.mutate(&bad)
		if _, err := bad.ServerConfig(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error naming %q, got %v", tc.want, err)
		}
	}
	c.RaftAdvertise, c.Raft = "10.0.0.5:7000", "0.0.0.0:7000"
	if cfg, err := c.ServerConfig(); err != nil || cfg.RaftAddr != "10.0.0.5:7000" {
		t.Fatalf("advertised raft address: %q, %v", cfg.RaftAddr, err)
	}
	c.Diskless, c.DataDir, c.RaftVoter = true, "", false
	if cfg, err := c.ServerConfig(); err != nil || cfg.RaftVoter {
		t.Fatalf("diskless non-voter: %+v, %v", cfg, err)
	}
}
