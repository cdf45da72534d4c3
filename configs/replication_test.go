package configs

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestReplicationSettings(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	ShardFlags(fs, DefaultShardd())
	if err := fs.Parse([]string{"--diskless", "--maxmemory", "64mb", "--replicaof", "10.0.0.1:6380",
		"--min-replicas-to-write", "1", "--min-replicas-max-lag", "5s", "--masterauth", "pw"}); err != nil {
		t.Fatal(err)
	}
	c := DefaultShardd()
	if err := Load("shardd", &c, fs, ""); err != nil {
		t.Fatal(err)
	}
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
