package gossip

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Role says what a process is.
type Role string

// Roles.
const (
	RoleShard    Role = "shard"    // a shardd daemon serving one shard
	RoleFrontend Role = "frontend" // a stateless frontend proxy
)

// ReplRole is a shard node's place in its replica set.
type ReplRole string

// Replication roles.
const (
	ReplMaster  ReplRole = "master"
	ReplReplica ReplRole = "replica"
)

// Tag keys on the wire. They are short because serf limits all of a node's
// tags together to 512 encoded bytes. They are part of the cluster's wire
// contract: never reuse a key for another meaning.
const (
	KeyRole      = "r"  // Role: "shard" or "frontend"
	KeyShard     = "s"  // shard name (shard nodes only)
	KeyReplRole  = "rr" // ReplRole: "master" or "replica" (shard nodes only)
	KeyEpoch     = "e"  // epoch, decimal uint64; absent means 0
	KeyRESPAddr  = "a"  // RESP (client protocol) address, HOST:PORT
	KeyAdminAddr = "ad" // admin HTTP address, HOST:PORT; absent when none
	KeyVersion   = "v"  // software version; absent when unknown
)

// Tag keys carried in Tags.Extra (not decoded into named fields). Like the
// keys above they are part of the wire contract.
const (
	// KeyCached is "1" on a diskless cached replica (reads that miss there
	// answer -NOTCACHED and go to the master).
	KeyCached = "dl"
	// KeyRaftAddr is the HOST:PORT of a shardd's raft transport; present
	// only on nodes that run the control plane.
	KeyRaftAddr = "ra"
	// KeyRaftVoter is "1" on nodes configured as raft voters.
	KeyRaftVoter = "rv"
	// KeyMasterLink is "down" on a replica whose replication link to its
	// master is broken; absent while it streams. The leader reads it as an
	// early sign of a master failure, earlier than gossip's suspicion.
	KeyMasterLink = "ml"
)

// reservedKeys are the keys Tags decodes into its named fields.
var reservedKeys = map[string]bool{
	KeyRole: true, KeyShard: true, KeyReplRole: true, KeyEpoch: true,
	KeyRESPAddr: true, KeyAdminAddr: true, KeyVersion: true,
}

// Limits checked by Tags.Validate.
const (
	// MaxTagsSize is serf's limit on the encoded tags of one node
	// (memberlist.MetaMaxSize): one magic byte plus a msgpack map.
	MaxTagsSize = 512
	// MaxShardNameLen is the longest shard name accepted.
	MaxShardNameLen = 64
	// MaxVersionLen is the longest version string accepted.
	MaxVersionLen = 64
)

// Errors returned by Tags.Validate and DecodeTags; the returned error wraps
// one of these and names the field.
var (
	ErrInvalidTags  = errors.New("gossip: invalid tags")
	ErrTagsTooLarge = errors.New("gossip: encoded tags exceed serf's 512-byte limit")
)

// Tags is what a node announces about itself through gossip: the typed form
// of serf's tag map. The zero value is not valid (Role and RESPAddr are
// required). A Tags value is plain data; copy it freely, but Extra is a map:
// do not mutate one that another goroutine may read.
type Tags struct {
	Role      Role     // required
	Shard     string   // required for RoleShard, empty for RoleFrontend
	ReplRole  ReplRole // required for RoleShard, empty for RoleFrontend
	Epoch     uint64   // the shard's epoch as this node knows it (0 for frontends)
	RESPAddr  string   // required: HOST:PORT clients and frontends dial
	AdminAddr string   // optional HOST:PORT of the admin HTTP endpoint
	Version   string   // optional software version

	// Extra holds small fields added later, under keys other than the
	// reserved ones above. DecodeTags puts every key it does not know here,
	// so a node passes on what newer nodes announce.
	Extra map[string]string
}

// Encode returns the serf tag map. It does not validate: call Validate
// first (Agent does). Empty optional fields and a zero Epoch are omitted.
func (t Tags) Encode() map[string]string {
	m := make(map[string]string, 7+len(t.Extra))
	for k, v := range t.Extra {
		m[k] = v
	}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put(KeyRole, string(t.Role))
	put(KeyShard, t.Shard)
	put(KeyReplRole, string(t.ReplRole))
	if t.Epoch != 0 {
		m[KeyEpoch] = strconv.FormatUint(t.Epoch, 10)
	}
	put(KeyRESPAddr, t.RESPAddr)
	put(KeyAdminAddr, t.AdminAddr)
	put(KeyVersion, t.Version)
	return m
}

// EncodedSize returns how many bytes serf will use for these tags: a magic
// byte followed by the msgpack map serf writes (go-msgpack's MsgpackHandle,
// which encodes strings as legacy raw: fixraw below 32 bytes, raw16 below
// 64 KiB). A test checks this against serf itself.
func (t Tags) EncodedSize() int {
	return encodedMapSize(t.Encode())
}

func encodedMapSize(m map[string]string) int {
	n := 1 // tagMagicByte
	switch l := len(m); {
	case l < 16:
		n++
	case l < 1<<16:
		n += 3
	default:
		n += 5
	}
	for k, v := range m {
		n += rawStringSize(len(k)) + rawStringSize(len(v))
	}
	return n
}

func rawStringSize(l int) int {
	switch {
	case l < 32:
		return 1 + l
	case l < 1<<16:
		return 3 + l
	default:
		return 5 + l
	}
}

// Equal reports whether two tag sets are the same.
func (t Tags) Equal(o Tags) bool {
	return t.Role == o.Role && t.Shard == o.Shard && t.ReplRole == o.ReplRole &&
		t.Epoch == o.Epoch && t.RESPAddr == o.RESPAddr && t.AdminAddr == o.AdminAddr &&
		t.Version == o.Version && maps.Equal(t.Extra, o.Extra)
}

// Validate checks every field and the encoded size. Errors wrap
// ErrInvalidTags (naming the field) or ErrTagsTooLarge.
func (t Tags) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidTags, field, fmt.Sprintf(format, args...))
	}
	switch t.Role {
	case RoleShard:
		if err := validShardName(t.Shard); err != nil {
			return bad("Shard", "%v", err)
		}
		if t.ReplRole != ReplMaster && t.ReplRole != ReplReplica {
			return bad("ReplRole", "%q is not %q or %q", t.ReplRole, ReplMaster, ReplReplica)
		}
	case RoleFrontend:
		if t.Shard != "" {
			return bad("Shard", "must be empty for role %q (got %q)", t.Role, t.Shard)
		}
		if t.ReplRole != "" {
			return bad("ReplRole", "must be empty for role %q (got %q)", t.Role, t.ReplRole)
		}
	default:
		return bad("Role", "%q is not %q or %q", t.Role, RoleShard, RoleFrontend)
	}
	if t.RESPAddr == "" {
		return bad("RESPAddr", "required")
	}
	if err := validHostPort(t.RESPAddr); err != nil {
		return bad("RESPAddr", "%v", err)
	}
	if t.AdminAddr != "" {
		if err := validHostPort(t.AdminAddr); err != nil {
			return bad("AdminAddr", "%v", err)
		}
	}
	if len(t.Version) > MaxVersionLen {
		return bad("Version", "%d bytes, longer than %d", len(t.Version), MaxVersionLen)
	}
	if !printable(t.Version) {
		return bad("Version", "%q has spaces or control characters", t.Version)
	}
	for _, k := range slices.Sorted(maps.Keys(t.Extra)) {
		if k == "" {
			return bad("Extra", "empty key")
		}
		if reservedKeys[k] {
			return bad("Extra", "key %q is reserved", k)
		}
	}
	if n := t.EncodedSize(); n > MaxTagsSize {
		return fmt.Errorf("%w: %d bytes encoded, limit %d", ErrTagsTooLarge, n, MaxTagsSize)
	}
	return nil
}

// DecodeTags parses a serf tag map and validates the result. Unknown keys
// go to Extra. The error wraps ErrInvalidTags or ErrTagsTooLarge.
func DecodeTags(m map[string]string) (Tags, error) {
	var t Tags
	for k, v := range m {
		switch k {
		case KeyRole:
			t.Role = Role(v)
		case KeyShard:
			t.Shard = v
		case KeyReplRole:
			t.ReplRole = ReplRole(v)
		case KeyEpoch:
			e, err := strconv.ParseUint(v, 10, 64)
			if err != nil || v == "" || (len(v) > 1 && v[0] == '0') {
				return Tags{}, fmt.Errorf("%w: Epoch: %q is not a decimal uint64", ErrInvalidTags, v)
			}
			t.Epoch = e
		case KeyRESPAddr:
			t.RESPAddr = v
		case KeyAdminAddr:
			t.AdminAddr = v
		case KeyVersion:
			t.Version = v
		default:
			if t.Extra == nil {
				t.Extra = make(map[string]string)
			}
			t.Extra[k] = v
		}
	}
	// Encode omits empty fields; an explicitly empty value would not survive
	// a round trip, so refuse it.
	for _, k := range []string{KeyRole, KeyShard, KeyReplRole, KeyRESPAddr, KeyAdminAddr, KeyVersion} {
		if v, ok := m[k]; ok && v == "" {
			return Tags{}, fmt.Errorf("%w: key %q present with an empty value", ErrInvalidTags, k)
		}
	}
	if err := t.Validate(); err != nil {
		return Tags{}, err
	}
	return t, nil
}

// validShardName accepts 1..MaxShardNameLen bytes of ASCII letters, digits,
// '-', '_' and '.'.
func validShardName(s string) error {
	if s == "" {
		return errors.New("required for role shard")
	}
	if len(s) > MaxShardNameLen {
		return fmt.Errorf("%d bytes, longer than %d", len(s), MaxShardNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%q: only letters, digits, '-', '_' and '.' are allowed", s)
		}
	}
	return nil
}

// validHostPort accepts HOST:PORT with a non-empty host without spaces and
// a decimal port 0..65535 (0 is refused: nobody can dial it).
func validHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT: %w", s, err)
	}
	if host == "" || !printable(host) {
		return fmt.Errorf("%q: bad host", s)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return fmt.Errorf("%q: bad port %q", s, port)
	}
	return nil
}

// printable reports whether s has no spaces or control characters.
func printable(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f })
}
