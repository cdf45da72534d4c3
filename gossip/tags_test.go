package gossip

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"

	"github.com/shoal-kv/shoal/internal/testutil"
)

func TestTagsRoundTrip(t *testing.T) {
	cases := []Tags{
		{Role: RoleShard, Shard: "s1", ReplRole: ReplMaster, Epoch: 3, RESPAddr: "10.0.0.1:6379", AdminAddr: "10.0.0.1:8080", Version: "v0.1.0"},
		{Role: RoleShard, Shard: "users.eu-1_b", ReplRole: ReplReplica, RESPAddr: "shardd-1:6379"},
		{Role: RoleFrontend, RESPAddr: "[::1]:6380", Version: "dev"},
		{Role: RoleFrontend, RESPAddr: "fe:1", Extra: map[string]string{"z": "future", "zone": ""}},
	}
	for _, want := range cases {
		if err := want.Validate(); err != nil {
			t.Fatalf("Validate(%+v): %v", want, err)
		}
		m := want.Encode()
		got, err := DecodeTags(m)
		if err != nil {
			t.Fatalf("DecodeTags(%v): %v", m, err)
		}
		if !got.Equal(want) {
			t.Errorf("round trip: got %+v, want %+v (wire %v)", got, want, m)
		}
	}
}

func TestTagsEncodeKeys(t *testing.T) {
	tags := Tags{Role: RoleShard, Shard: "s1", ReplRole: ReplMaster, Epoch: 42, RESPAddr: "h:1", AdminAddr: "h:2", Version: "v"}
	want := map[string]string{"r": "shard", "s": "s1", "rr": "master", "e": "42", "a": "h:1", "ad": "h:2", "v": "v"}
	got := tags.Encode()
	if len(got) != len(want) {
		t.Fatalf("Encode = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Encode[%q] = %q, want %q", k, got[k], v)
		}
	}
	// Zero epoch and empty optional fields are omitted.
	fe := Tags{Role: RoleFrontend, RESPAddr: "h:1"}.Encode()
	if len(fe) != 2 {
		t.Errorf("frontend Encode = %v, want only r and a", fe)
	}
}

func TestTagsInvalid(t *testing.T) {
	ok := func() Tags {
		return Tags{Role: RoleShard, Shard: "s1", ReplRole: ReplMaster, RESPAddr: "h:6379"}
	}
	cases := []struct {
		name  string
		edit  func(*Tags)
		field string
	}{
		{"no role", func(t *Tags) { t.Role = "" }, "Role"},
		{"bad role", func(t *Tags) { t.Role = "leader" }, "Role"},
		{"no shard", func(t *Tags) { t.Shard = "" }, "Shard"},
		{"long shard", func(t *Tags) { t.Shard = strings.Repeat("x", MaxShardNameLen+1) }, "Shard"},
		{"shard charset", func(t *Tags) { t.Shard = "a/b" }, "Shard"},
		{"no repl role", func(t *Tags) { t.ReplRole = "" }, "ReplRole"},
		{"bad repl role", func(t *Tags) { t.ReplRole = "slave" }, "ReplRole"},
		{"frontend with shard", func(t *Tags) { t.Role = RoleFrontend; t.ReplRole = "" }, "Shard"},
		{"frontend with repl role", func(t *Tags) { t.Role = RoleFrontend; t.Shard = "" }, "ReplRole"},
		{"no resp addr", func(t *Tags) { t.RESPAddr = "" }, "RESPAddr"},
		{"resp addr without port", func(t *Tags) { t.RESPAddr = "h" }, "RESPAddr"},
		{"resp addr port 0", func(t *Tags) { t.RESPAddr = "h:0" }, "RESPAddr"},
		{"resp addr port range", func(t *Tags) { t.RESPAddr = "h:65536" }, "RESPAddr"},
		{"admin addr", func(t *Tags) { t.AdminAddr = ":80" }, "AdminAddr"},
		{"long version", func(t *Tags) { t.Version = strings.Repeat("v", MaxVersionLen+1) }, "Version"},
		{"version space", func(t *Tags) { t.Version = "1 2" }, "Version"},
		{"reserved extra", func(t *Tags) { t.Extra = map[string]string{"e": "1"} }, "Extra"},
		{"empty extra key", func(t *Tags) { t.Extra = map[string]string{"": "1"} }, "Extra"},
	}
	for _, tc := range cases {
		tags := ok()
		tc.edit(&tags)
		err := tags.Validate()
		if !errors.Is(err, ErrInvalidTags) || !strings.Contains(err.Error(), tc.field+":") {
			t.Errorf("%s: Validate = %v, want ErrInvalidTags naming %s", tc.name, err, tc.field)
		}
	}
}

func TestDecodeTagsInvalid(t *testing.T) {
	base := map[string]string{"r": "shard", "s": "s1", "rr": "master", "a": "h:1"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		m[k] = v
		return m
	}
	for _, m := range []map[string]string{
		nil,
		{"role": "db"},                    // serf's old role-only encoding
		with("e", "-1"),                   // not unsigned
		with("e", "01"),                   // not canonical
		with("e", ""),                     // empty
		with("e", "18446744073709551616"), // overflows uint64
		with("v", ""),                     // empty value would not round trip
		with("rr", "leader"),
	} {
		if _, err := DecodeTags(m); !errors.Is(err, ErrInvalidTags) {
			t.Errorf("DecodeTags(%v) = %v, want ErrInvalidTags", m, err)
		}
	}
	got, err := DecodeTags(with("e", "18446744073709551615"))
	if err != nil || got.Epoch != math.MaxUint64 {
		t.Errorf("max epoch: %+v, %v", got, err)
	}
	got, err = DecodeTags(with("new", "x"))
	if err != nil || got.Extra["new"] != "x" {
		t.Errorf("unknown key not kept in Extra: %+v, %v", got, err)
	}
}

// largestTags is the largest realistic tag set: a 64-byte shard name,
// IPv6 addresses with ports, the largest epoch and a 64-byte version.
func largestTags() Tags {
	return Tags{
		Role:      RoleShard,
		Shard:     strings.Repeat("s", MaxShardNameLen),
		ReplRole:  ReplReplica,
		Epoch:     math.MaxUint64,
		RESPAddr:  "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
		AdminAddr: "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535",
		Version:   "v" + strings.Repeat("9", MaxVersionLen-1),
	}
}

func TestLargestTagsFitSerf(t *testing.T) {
	tags := largestTags()
	if err := tags.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	size := tags.EncodedSize()
	t.Logf("largest realistic tags encode to %d of %d bytes (%d left for future fields)", size, MaxTagsSize, MaxTagsSize-size)
	if size > MaxTagsSize-100 {
		t.Errorf("largest tags use %d bytes: less than 100 bytes left for future fields", size)
	}
	// A real serf accepts them and gossips them back intact.
	a := startAgent(t, "big", testutil.LoopbackIP(), func(c *Config) { c.Tags = tags })
	if got := a.LocalMember(); got.TagsErr != nil || !got.Tags.Equal(tags) {
		t.Fatalf("LocalMember tags %+v (err %v), want %+v", got.Tags, got.TagsErr, tags)
	}
	b := startAgent(t, "big-peer", testutil.LoopbackIP(), nil)
	joinAgent(t, b, a.Addr().String())
	testutil.WaitFor(t, 5*time.Second, func() (bool, string) {
		for _, m := range b.Members() {
			if m.Name == "big" {
				return m.Tags.Equal(tags), "peer sees other tags"
			}
		}
		return false, "peer does not see big"
	})
}

func TestOversizeTagsRejected(t *testing.T) {
	tags := largestTags()
	tags.Extra = map[string]string{"x": strings.Repeat("p", 300)}
	err := tags.Validate()
	if !errors.Is(err, ErrTagsTooLarge) {
		t.Fatalf("Validate = %v, want ErrTagsTooLarge", err)
	}
	t.Logf("oversize: %v", err)

	cfg := DefaultConfig()
	cfg.NodeName = "oversize"
	cfg.BindAddr = testutil.LoopbackIP()
	cfg.BindPort = 0
	cfg.Tags = tags
	if a, err := New(cfg); !errors.Is(err, ErrTagsTooLarge) {
		if a != nil {
			a.Close()
		}
		t.Fatalf("New with oversize tags = %v, want ErrTagsTooLarge", err)
	}

	a := startAgent(t, "resize", testutil.LoopbackIP(), nil)
	if err := a.SetTags(tags); !errors.Is(err, ErrTagsTooLarge) {
		t.Fatalf("SetTags with oversize tags = %v, want ErrTagsTooLarge", err)
	}
}

// TestEncodedSizeMatchesSerf checks EncodedSize against serf's own check
// at the boundary, for tag sets whose strings fall in each msgpack length
// class (fixraw < 32 bytes, raw16 >= 32).
func TestEncodedSizeMatchesSerf(t *testing.T) {
	sc := serf.DefaultConfig()
	sc.NodeName = "size-probe"
	sc.LogOutput = io.Discard
	sc.MemberlistConfig = memberlist.DefaultLocalConfig()
	sc.MemberlistConfig.BindAddr = testutil.LoopbackIP()
	sc.MemberlistConfig.BindPort = 0
	sc.MemberlistConfig.LogOutput = io.Discard
	s, err := serf.Create(sc)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()

	bases := []map[string]string{
		{},
		{"k": strings.Repeat("a", 31)},
		{"k": strings.Repeat("a", 32), strings.Repeat("b", 31): "", strings.Repeat("c", 32): "x"},
		largestTags().Encode(),
	}
	// 15 and 16 entries (with the pad) straddle fixmap and map16.
	for _, n := range []int{14, 15} {
		many := map[string]string{}
		for i := range n {
			many[string(rune('A'+i))] = "v"
		}
		bases = append(bases, many)
	}
	for i, base := range bases {
		for _, want := range []int{MaxTagsSize, MaxTagsSize + 1} {
			m := map[string]string{}
			for k, v := range base {
				m[k] = v
			}
			m["pad"] = strings.Repeat("p", 32)
			grow := want - encodedMapSize(m)
			if grow < 0 {
				t.Fatalf("base %d too large", i)
			}
			m["pad"] = strings.Repeat("p", 32+grow)
			if got := encodedMapSize(m); got != want {
				t.Fatalf("base %d: padded size %d, want %d", i, got, want)
			}
			err := s.SetTags(m)
			if fits := want <= MaxTagsSize; fits != (err == nil) {
				t.Errorf("base %d (%d entries), %d bytes by EncodedSize: serf SetTags err = %v", i, len(m), want, err)
			}
		}
	}
}

func FuzzDecodeTags(f *testing.F) {
	f.Add("shard", "s1", "master", "1", "h:6379", "", "v1", "", "")
	f.Add("frontend", "", "", "", "[::1]:6380", "[::1]:8080", "", "zone", "eu")
	f.Add("shard", "s", "replica", "18446744073709551615", "a:1", "b:2", "x", "e", "1")
	f.Add("", "", "", "00", ":", "", "", "", "")
	f.Fuzz(func(t *testing.T, role, shard, repl, epoch, resp, admin, version, xk, xv string) {
		m := map[string]string{}
		for k, v := range map[string]string{"r": role, "s": shard, "rr": repl, "e": epoch, "a": resp, "ad": admin, "v": version} {
			if v != "" {
				m[k] = v
			}
		}
		if xk != "" {
			m[xk] = xv
		}
		tags, err := DecodeTags(m)
		if err != nil {
			if !errors.Is(err, ErrInvalidTags) && !errors.Is(err, ErrTagsTooLarge) {
				t.Fatalf("DecodeTags error %v wraps neither sentinel", err)
			}
			return
		}
		if err := tags.Validate(); err != nil {
			t.Fatalf("decoded tags do not validate: %v", err)
		}
		if tags.EncodedSize() > MaxTagsSize {
			t.Fatalf("decoded tags encode to %d bytes", tags.EncodedSize())
		}
		again, err := DecodeTags(tags.Encode())
		if err != nil || !again.Equal(tags) {
			t.Fatalf("re-decode: %+v, %v; want %+v", again, err, tags)
		}
	})
}
