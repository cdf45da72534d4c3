package configs

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// example is one example file and the section it configures.
type example struct {
	file, section string
	defaults      func() any // a pointer to the section's defaults
	check         func(t *testing.T, c any)
}

var examples = []example{
	{"shardd-master.yaml", "shardd", func() any { d := DefaultShardd(); return &d }, func(t *testing.T, c any) {
		cfg, err := c.(*Shardd).ServerConfig()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.DataDir == "" || cfg.Diskless || cfg.ReplicaOf != "" || cfg.Gossip == nil || cfg.RESPAddr != "127.0.0.1:7001" {
			t.Errorf("not a durable master with gossip: %+v", cfg)
		}
	}},
	{"shardd-replica.yaml", "shardd", func() any { d := DefaultShardd(); return &d }, func(t *testing.T, c any) {
		cfg, err := c.(*Shardd).ServerConfig()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.DataDir == "" || cfg.Diskless || cfg.ReplicaOf != "127.0.0.1:7001" || len(cfg.Join) != 1 {
			t.Errorf("not a durable replica of the master example: %+v", cfg)
		}
	}},
	{"shardd-diskless.yaml", "shardd", func() any { d := DefaultShardd(); return &d }, func(t *testing.T, c any) {
		cfg, err := c.(*Shardd).ServerConfig()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.DataDir != "" || !cfg.Diskless || cfg.MaxMemory != 256<<20 || cfg.ReplicaOf != "127.0.0.1:7001" {
			t.Errorf("not a diskless cached replica of the master example: %+v", cfg)
		}
	}},
	{"frontend.yaml", "frontend", func() any { d := DefaultFrontend(); return &d }, func(t *testing.T, c any) {
		cfg, err := c.(*Frontend).ServerConfig()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Gossip == nil || cfg.Gossip.BindPort != 7100 || len(cfg.Join) != 1 || cfg.Join[0] != "127.0.0.1:7101" ||
			cfg.RESPAddr != "127.0.0.1:6379" || cfg.Hashring.TableSize != 65537 || c.(*Frontend).ShutdownGrace != 10*time.Second {
			t.Errorf("converted wrongly: %+v", cfg)
		}
	}},
	// cmd/shoal's tests convert dev.yaml to a cluster configuration.
	{"dev.yaml", "dev", func() any { d := DefaultDev(); return &d }, func(t *testing.T, c any) {
		if *c.(*Dev) != DefaultDev() {
			t.Errorf("dev.yaml differs from the defaults: %+v", c)
		}
	}},
}

// Every example file loads through the real loader and converts to its
// server's configuration.
func TestExampleFilesLoad(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex.file, func(t *testing.T) {
			c := ex.defaults()
			if err := Load(ex.section, c, nil, ex.file); err != nil {
				t.Fatalf("Load: %v", err)
			}
			ex.check(t, c)
		})
	}
}

// keyLine is a key in an example file, set or commented out, with its
// documented default: `  key: value   # default: D`.
var keyLine = regexp.MustCompile(`^  (?:# ?)?([a-z0-9-]+):.*?\s# default: (.*)$`)

// activeKey is a key set in the file.
var activeKey = regexp.MustCompile(`^  ([a-z0-9-]+):`)

// Every example file lists every key of its section once, with a
// "# default: D" comment, and D is the real default: the documented
// defaults, loaded through Load into an empty struct, equal DefaultX().
func TestExampleFilesAreComplete(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex.file, func(t *testing.T) {
			f, err := os.Open(ex.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			documented := map[string]string{}
			var order []string
			sc := bufio.NewScanner(f)
			for n := 1; sc.Scan(); n++ {
				line := sc.Text()
				if m := keyLine.FindStringSubmatch(line); m != nil {
					if _, dup := documented[m[1]]; dup {
						t.Errorf("line %d: %s listed twice", n, m[1])
					}
					documented[m[1]] = strings.TrimSpace(m[2])
					order = append(order, m[1])
				} else if m := activeKey.FindStringSubmatch(line); m != nil {
					t.Errorf("line %d: %s has no \"# default: ...\" comment", n, m[1])
				}
			}
			defaults := ex.defaults()
			keys, err := structKeys(defaults)
			if err != nil {
				t.Fatal(err)
			}
			known := map[string]bool{}
			for _, k := range keys {
				known[k] = true
				if _, ok := documented[k]; !ok {
					t.Errorf("key %s is missing", k)
				}
			}
			var yaml strings.Builder
			yaml.WriteString(ex.section + ":\n")
			for _, k := range order {
				if !known[k] {
					t.Errorf("%s is not a key of %s", k, ex.section)
				}
				yaml.WriteString("  " + k + ": " + documented[k] + "\n")
			}
			file := filepath.Join(t.TempDir(), "defaults.yaml")
			if err := os.WriteFile(file, []byte(yaml.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			got := reflect.New(reflect.TypeOf(defaults).Elem()) // zero: every value comes from the file
			if err := Load(ex.section, got.Interface(), nil, file); err != nil {
				t.Fatalf("loading the documented defaults: %v", err)
			}
			want := reflect.ValueOf(defaults).Elem()
			for i := 0; i < want.NumField(); i++ {
				g, w := got.Elem().Field(i), want.Field(i)
				if g.Kind() == reflect.Slice && g.Len() == 0 && w.Len() == 0 {
					continue // [] and nil
				}
				if !reflect.DeepEqual(g.Interface(), w.Interface()) {
					key := want.Type().Field(i).Tag.Get("mapstructure")
					t.Errorf("%s: documented default %q means %v, the real default is %v", key, documented[key], g, w)
				}
			}
		})
	}
}

// Each section's flags and keys are the same set.
func TestFlagsMirrorKeys(t *testing.T) {
	for section, reg := range map[string]struct {
		flags    func(*pflag.FlagSet)
		defaults any
	}{
		"shardd":   {func(fs *pflag.FlagSet) { ShardFlags(fs, DefaultShardd()) }, &Shardd{}},
		"frontend": {func(fs *pflag.FlagSet) { FrontendFlags(fs, DefaultFrontend()) }, &Frontend{}},
		"dev":      {func(fs *pflag.FlagSet) { DevFlags(fs, DefaultDev()) }, &Dev{}},
	} {
		fs := pflag.NewFlagSet(section, pflag.ContinueOnError)
		reg.flags(fs)
		keys, _ := structKeys(reg.defaults)
		var flags []string
		fs.VisitAll(func(f *pflag.Flag) { flags = append(flags, f.Name) })
		want := append([]string(nil), keys...)
		slices.Sort(want)
		slices.Sort(flags)
		if !reflect.DeepEqual(flags, want) {
			t.Errorf("%s: flags %v, keys %v", section, flags, want)
		}
	}
}

// Dev settings follow the same precedence as the others.
func TestDevPrecedence(t *testing.T) {
	c := DefaultDev()
	loadWith(t, "dev", &c, func(fs *pflag.FlagSet) { DevFlags(fs, DefaultDev()) },
		"dev:\n  shards: 5\n  replicas: 2\n  data-dir: /file\n",
		[]string{"SHOAL_DEV_REPLICAS=0", "SHOAL_DEV_DISKLESS_REPLICAS=true"}, "--data-dir", "/flag", "--port", "0")
	if c.Shards != 5 || c.Replicas != 0 || !c.DisklessReplicas || c.DataDir != "/flag" || c.Port != 0 || c.Frontends != 1 {
		t.Fatalf("precedence wrong: %+v", c)
	}
}
