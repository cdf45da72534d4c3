package configs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// loadWith loads section into out (holding its defaults) from a YAML
// file with body, the environment variables env (KEY=VALUE) and the flags
// registered by register, parsed from args.
func loadWith(t *testing.T, section string, out any, register func(*pflag.FlagSet), body string, env []string, args ...string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := Load(section, out, fs, file); err != nil {
		t.Fatal(err)
	}
}

func TestPrecedenceFlagsEnvFileDefaults(t *testing.T) {
	c := DefaultShardd()
	loadWith(t, "shardd", &c, func(fs *pflag.FlagSet) { ShardFlags(fs, DefaultShardd()) },
		"shardd:\n  shard: from-file\n  appendfsync: always\n  maxclients: 7\n  data-dir: /file\n",
		[]string{"SHOAL_SHARDD_APPENDFSYNC=no", "SHOAL_SHARDD_DATA_DIR=/env"}, "--data-dir", "/flag")
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
