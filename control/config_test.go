package control

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/shoal-kv/shoal/gossip"
	"github.com/shoal-kv/shoal/gossip/gossiptest"
)

func TestConfigValidate(t *testing.T) {
	nw := gossiptest.NewNetwork()
	view := nw.Join("n1", gossip.Tags{Role: gossip.RoleFrontend, RESPAddr: "127.0.0.1:1"})
	good := DefaultConfig()
	good.Membership = view
	good.RaftAddr = "127.0.0.1:0"
	good.DataDir = t.TempDir()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for field, change := range map[string]func(c *Config){
		"Membership":         func(c *Config) { c.Membership = nil },
		"RaftAddr":           func(c *Config) { c.RaftAddr = "nope" },
		"RaftAdvertise":      func(c *Config) { c.RaftAdvertise = "0.0.0.0:7000" },
		"Voter":              func(c *Config) { c.DataDir = "" },
		"BootstrapExpect":    func(c *Config) { c.BootstrapExpect = 0 },
		"FailoverAfter":      func(c *Config) { c.FailoverAfter = 0 },
		"OrderRetry":         func(c *Config) { c.OrderRetry = -time.Second },
		"LeaderLeaseTimeout": func(c *Config) { c.LeaderLeaseTimeout = time.Second },
		"ElectionTimeout":    func(c *Config) { c.ElectionTimeout = 100 * time.Millisecond },
	} {
		c := good
		change(&c)
		err := c.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: Validate = %v", field, err)
		}
	}
	// A diskless non-voter is fine.
	c := good
	c.DataDir, c.Voter = "", false
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// The defaults satisfy raft's own checks.
	rc := raft.DefaultConfig()
	rc.LocalID = "x"
	rc.HeartbeatTimeout, rc.ElectionTimeout = good.HeartbeatTimeout, good.ElectionTimeout
	rc.LeaderLeaseTimeout, rc.CommitTimeout = good.LeaderLeaseTimeout, good.CommitTimeout
	if err := raft.ValidateConfig(rc); err != nil {
		t.Fatal(err)
	}
}

func TestHclogToSlog(t *testing.T) {
	var buf bytes.Buffer
	l := newHclog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Named("snap").With("a", 1).Warn("hello", "b", 2)
	got := buf.String()
	for _, want := range []string{"level=DEBUG", "msg=hello", "component=raft", "lib_level=warn", "lib_name=snap", "a=1", "b=2"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	buf.Reset()
	quiet := newHclog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	quiet.Error("dropped")
	if buf.Len() != 0 || quiet.IsDebug() || quiet.GetLevel() != hclog.Off {
		t.Fatalf("info-level logger got raft output %q", buf.String())
	}
}

func TestBootstrapServers(t *testing.T) {
	m := func(name, ra string, voter bool, st gossip.Status) gossip.Member {
		return gossip.Member{Name: name, Status: st, Tags: raftMember("a", ra, voter)}
	}
	members := []gossip.Member{
		m("c", "127.0.0.1:3", true, gossip.StatusAlive),
		m("a", "127.0.0.1:1", true, gossip.StatusAlive),
		m("b", "127.0.0.1:2", false, gossip.StatusAlive), // non-voter
		m("d", "127.0.0.1:4", true, gossip.StatusFailed),
		m("e", "127.0.0.1:5", true, gossip.StatusAlive),
		{Name: "f", Status: gossip.StatusAlive, Tags: gossip.Tags{Role: gossip.RoleFrontend, RESPAddr: "127.0.0.1:9"}},
	}
	if s := bootstrapServers(members, 4); s != nil {
		t.Fatalf("4 expected, 3 voters alive: %v", s)
	}
	s := bootstrapServers(members, 2)
	if len(s) != 2 || s[0].ID != "a" || s[1].ID != "c" || s[1].Address != "127.0.0.1:3" || s[0].Suffrage != raft.Voter {
		t.Fatalf("bootstrap servers %+v", s)
	}
}

func TestAppendMap(t *testing.T) {
	n := &Node{fsm: newFSM()}
	if got, _ := n.AppendMap(nil); string(got) != "*0\r\n" {
		t.Fatalf("empty map %q", got)
	}
	n.fsm.apply(command{Op: opAdopt, Entry: Entry{Shard: "b", Master: "b-1", Addr: "10.0.0.2:6379", Epoch: 12}})
	n.fsm.apply(command{Op: opAdopt, Entry: Entry{Shard: "a", Master: "a-1", Addr: "10.0.0.1:6379"}})
	got, err := n.AppendMap([]byte("x"))
	want := "x*2\r\n" +
		"*4\r\n$1\r\na\r\n$3\r\na-1\r\n$13\r\n10.0.0.1:6379\r\n:0\r\n" +
		"*4\r\n$1\r\nb\r\n$3\r\nb-1\r\n$13\r\n10.0.0.2:6379\r\n:12\r\n"
	if err != nil || string(got) != want {
		t.Fatalf("AppendMap = %q, %v\nwant %q", got, err, want)
	}
}

func TestNewAdvertise(t *testing.T) {
	nw := gossiptest.NewNetwork()
	cfg := DefaultConfig()
	cfg.Membership = nw.Join("n1", gossip.Tags{Role: gossip.RoleFrontend, RESPAddr: "127.0.0.1:1"})
	cfg.DataDir = t.TempDir()
	cfg.RaftAddr = "0.0.0.0:0"
	if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "RaftAdvertise") {
		t.Fatalf("binding 0.0.0.0 without RaftAdvertise: %v", err)
	}
	cfg.RaftAddr = "127.0.0.1:0"
	cfg.RaftAdvertise = "localhost:7123"
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if got := n.RaftAddr(); got != "127.0.0.1:7123" && got != "[::1]:7123" {
		t.Fatalf("RaftAddr %q", got)
	}
	if n.ID() != "n1" {
		t.Fatalf("ID %q", n.ID())
	}
	// The data dir is locked while the node is open.
	if _, err := New(cfg); err == nil {
		t.Fatal("a second node opened the same data dir")
	}
}
