package configs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestExampleShardFileLoads(t *testing.T) {
	c := DefaultShardd()
	if err := Load("shardd", &c, nil, "shardd.yaml"); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.DataDir != "/var/lib/shoal/shard-0" || c.AppendFsync != "everysec" || c.ActiveExpireInterval != 100*time.Millisecond {
		t.Fatalf("unexpected values: %+v", c)
	}
	if _, err := c.ServerConfig(); err != nil {
		t.Fatalf("ServerConfig: %v", err)
	}
}

func TestPrecedenceFlagsEnvFileDefaults(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	os.WriteFile(file, []byte("shardd:\n  shard: from-file\n  appendfsync: always\n  maxclients: 7\n  data-dir: /file\n"), 0o644)
	t.Setenv("SHOAL_SHARDD_APPENDFSYNC", "no")
	t.Setenv("SHOAL_SHARDD_DATA_DIR", "/env")
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	ShardFlags(fs, DefaultShardd())
	if err := fs.Parse([]string{"--data-dir", "/flag"}); err != nil {
		t.Fatal(err)
	}
	c := DefaultShardd()
	if err := Load("shardd", &c, fs, file); err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/flag" || c.AppendFsync != "no" || c.Shard != "from-file" || c.MaxClients != 7 || c.Listen != "127.0.0.1:6380" {
		t.Fatalf("precedence wrong: %+v", c)
	}
}

func TestUnknownKeyIsNamed(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("shardd:\n  shard: a\n  appendfsnyc: always\nbogus: 1\n"), 0o644)
	c := DefaultShardd()
	err := Load("shardd", &c, nil, file)
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "shardd.appendfsnyc") || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("err = %v, want both unknown keys named", err)
	}
}

func TestSizesAndValidation(t *testing.T) {
	c := DefaultShardd()
	c.DataDir = "/d"
	c.ProtoMaxBulkLen = "12zz"
	if _, err := c.ServerConfig(); err == nil || !strings.Contains(err.Error(), "proto-max-bulk-len") {
		t.Fatalf("bad size accepted: %v", err)
	}
	c = DefaultShardd()
	if _, err := c.ServerConfig(); err == nil || !strings.Contains(err.Error(), "data-dir") {
		t.Fatalf("missing data-dir accepted: %v", err)
	}
	for in, want := range map[string]int64{"100": 100, "1kb": 1024, "512mb": 512 << 20, "1gb": 1 << 30, "2k": 2000} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}
