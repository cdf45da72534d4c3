package gossip

import (
	"errors"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		c := DefaultConfig()
		c.NodeName = "n1"
		c.Tags = Tags{Role: RoleFrontend, RESPAddr: "127.0.0.1:6380"}
		return c
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	cases := []struct {
		field string
		edit  func(*Config)
	}{
		{"NodeName", func(c *Config) { c.NodeName = "a b" }},
		{"NodeName", func(c *Config) { c.NodeName = strings.Repeat("n", 129) }},
		{"BindAddr", func(c *Config) { c.BindAddr = "" }},
		{"BindAddr", func(c *Config) { c.BindAddr = "localhost" }},
		{"BindPort", func(c *Config) { c.BindPort = -1 }},
		{"BindPort", func(c *Config) { c.BindPort = 65536 }},
		{"AdvertiseAddr", func(c *Config) { c.BindAddr = "::" }},
		{"AdvertiseAddr", func(c *Config) { c.AdvertiseAddr = "a b" }},
		{"AdvertisePort", func(c *Config) { c.AdvertisePort = 70000 }},
		{"AdvertisePort", func(c *Config) { c.BindPort = 0; c.AdvertisePort = 7946 }},
		{"Profile", func(c *Config) { c.Profile = "wan" }},
		{"Tags", func(c *Config) { c.Tags = Tags{} }},
		{"Key", func(c *Config) { c.Key = "not base64!" }},
		{"Key", func(c *Config) { c.Key = "AAECAwQFBgcICQoLDA0O" }}, // 15 bytes
		{"JoinBackoffMin", func(c *Config) { c.JoinBackoffMin = 0 }},
		{"JoinBackoffMax", func(c *Config) { c.JoinBackoffMax = c.JoinBackoffMin / 2 }},
	}
	for _, tc := range cases {
		c := valid()
		tc.edit(&c)
		err := c.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.field+":") {
			t.Errorf("Validate = %v, want ErrInvalidConfig naming %s", err, tc.field)
		}
	}
	for _, key := range []string{
		"AAECAwQFBgcICQoLDA0ODw==",                     // 16 bytes
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYX",             // 24 bytes
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", // 32 bytes
	} {
		c := valid()
		c.Key = key
		if err := c.Validate(); err != nil {
			t.Errorf("key %s: %v", key, err)
		}
	}
	c := valid()
	c.BindAddr = "0.0.0.0" // memberlist picks a private IP
	if err := c.Validate(); err != nil {
		t.Errorf("0.0.0.0: %v", err)
	}
}

func TestDefaultNodeName(t *testing.T) {
	c := DefaultConfig()
	c.Tags = Tags{Role: RoleFrontend, RESPAddr: "127.0.0.1:6380"}
	if n := defaultNodeName(c); !strings.HasSuffix(n, "-6380") {
		t.Errorf("name from RESP address: %q", n)
	}
	c.Tags.RESPAddr = ""
	if n := defaultNodeName(c); !strings.HasSuffix(n, "-g7946") {
		t.Errorf("name from bind port: %q", n)
	}
	c.BindPort = 0
	if a, b := defaultNodeName(c), defaultNodeName(c); a == b {
		t.Errorf("random names collide: %q", a)
	}
}
