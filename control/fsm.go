package control

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// Entry is one shard of the cluster map: its master and the epoch at
// which that node became master.
type Entry struct {
	Shard  string // shard name
	Master string // master's node name (its gossip name and raft ServerID)
	Addr   string // master's RESP address, HOST:PORT, as of the commit
	Epoch  uint64 // the epoch the master serves; only ever grows per shard
}

// Map is the cluster map: one Entry per shard, sorted by shard name. A Map
// returned by this package is never modified afterwards: share it freely,
// but do not modify it.
type Map []Entry

// Get returns the entry of shard.
func (m Map) Get(shard string) (Entry, bool) {
	i, ok := slices.BinarySearchFunc(m, shard, func(e Entry, s string) int { return strings.Compare(e.Shard, s) })
	if !ok {
		return Entry{}, false
	}
	return m[i], true
}

// with returns a copy of m with e inserted or replacing the entry of
// e.Shard.
func (m Map) with(e Entry) Map {
	i, ok := slices.BinarySearchFunc(m, e.Shard, func(x Entry, s string) int { return strings.Compare(x.Shard, s) })
	out := make(Map, 0, len(m)+1)
	out = append(out, m[:i]...)
	out = append(out, e)
	if ok {
		i++
	}
	return append(out, m[i:]...)
}

// Errors the FSM answers for refused commands (through Node's commit and
// raft's ApplyFuture.Response). Every node refuses the same commands, so
// the map stays identical everywhere.
var (
	// ErrStaleEpoch refuses a set-master whose epoch is not above the
	// shard's current one: epochs only grow.
	ErrStaleEpoch = errors.New("control: epoch is not above the shard's current epoch")
	// ErrShardExists refuses adopting a shard the map already has.
	ErrShardExists = errors.New("control: shard already in the map")
	// ErrUnknownShard refuses changing a shard the map does not have.
	ErrUnknownShard = errors.New("control: shard not in the map")
	// ErrMasterChanged refuses an address update for a master or epoch
	// that is no longer the shard's current one.
	ErrMasterChanged = errors.New("control: shard's master or epoch changed")
	// ErrBadEncoding wraps every decoding error of commands and snapshots.
	ErrBadEncoding = errors.New("control: bad encoding")
)

// Command operations. The numbers are part of the on-disk raft log format:
// never reuse one.
const (
	opAdopt     byte = 1 // first sighting of a shard: take its gossip master and epoch
	opSetMaster byte = 2 // failover or discovery: new master at a higher epoch
	opSetAddr   byte = 3 // same master and epoch, new RESP address (restart on a new address)
)

// command is one raft log entry of the map.
//
// Encoding (raft.Log.Data), all integers unsigned varints
// (encoding/binary.AppendUvarint), strings as length then bytes:
//
//	op byte | len shard | len node | len addr | epoch
//
// with op 1 adopt, 2 set-master, 3 set-addr. Nothing may follow the epoch.
type command struct {
	Op    byte
	Entry Entry
}

func (c command) String() string {
	name := map[byte]string{opAdopt: "adopt", opSetMaster: "set-master", opSetAddr: "set-addr"}[c.Op]
	return fmt.Sprintf("%s shard=%s master=%s addr=%s epoch=%d", name, c.Entry.Shard, c.Entry.Master, c.Entry.Addr, c.Entry.Epoch)
}

func (c command) encode() []byte {
	b := []byte{c.Op}
	return appendEntry(b, c.Entry)
}

func decodeCommand(b []byte) (command, error) {
	if len(b) == 0 {
		return command{}, fmt.Errorf("%w: empty command", ErrBadEncoding)
	}
	c := command{Op: b[0]}
	if c.Op < opAdopt || c.Op > opSetAddr {
		return command{}, fmt.Errorf("%w: unknown op %d", ErrBadEncoding, c.Op)
	}
	e, rest, err := readEntry(b[1:])
	if err != nil {
		return command{}, err
	}
	if len(rest) != 0 {
		return command{}, fmt.Errorf("%w: %d bytes after the command", ErrBadEncoding, len(rest))
	}
	c.Entry = e
	return c, nil
}

// Snapshot encoding: the magic "SHOALMAP", a version byte (1), the entry
// count, then each entry as in a command (shard, node, addr, epoch),
// sorted by shard. Nothing may follow.
const (
	snapMagic   = "SHOALMAP"
	snapVersion = 1
)

func encodeMap(m Map) []byte {
	b := append([]byte(snapMagic), snapVersion)
	b = binary.AppendUvarint(b, uint64(len(m)))
	for _, e := range m {
		b = appendEntry(b, e)
	}
	return b
}

func decodeMap(b []byte) (Map, error) {
	if !bytes.HasPrefix(b, []byte(snapMagic)) || len(b) < len(snapMagic)+1 {
		return nil, fmt.Errorf("%w: snapshot does not start with %q", ErrBadEncoding, snapMagic)
	}
	if v := b[len(snapMagic)]; v != snapVersion {
		return nil, fmt.Errorf("%w: snapshot version %d, want %d", ErrBadEncoding, v, snapVersion)
	}
	b = b[len(snapMagic)+1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) { // every entry takes at least 4 bytes
		return nil, fmt.Errorf("%w: bad entry count", ErrBadEncoding)
	}
	b = b[k:]
	m := make(Map, 0, n)
	for range n {
		e, rest, err := readEntry(b)
		if err != nil {
			return nil, err
		}
		if len(m) > 0 && m[len(m)-1].Shard >= e.Shard {
			return nil, fmt.Errorf("%w: snapshot entries not sorted by shard", ErrBadEncoding)
		}
		m = append(m, e)
		b = rest
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the snapshot", ErrBadEncoding, len(b))
	}
	return m, nil
}

func appendEntry(b []byte, e Entry) []byte {
	for _, s := range []string{e.Shard, e.Master, e.Addr} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return binary.AppendUvarint(b, e.Epoch)
}

func readEntry(b []byte) (Entry, []byte, error) {
	var f [3]string
	for i := range f {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return Entry{}, nil, fmt.Errorf("%w: truncated string", ErrBadEncoding)
		}
		f[i] = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	epoch, k := binary.Uvarint(b)
	if k <= 0 {
		return Entry{}, nil, fmt.Errorf("%w: truncated epoch", ErrBadEncoding)
	}
	if f[0] == "" || f[1] == "" {
		return Entry{}, nil, fmt.Errorf("%w: empty shard or master name", ErrBadEncoding)
	}
	return Entry{Shard: f[0], Master: f[1], Addr: f[2], Epoch: epoch}, b[k:], nil
}

// fsm is the raft state machine holding the cluster map. raft calls Apply,
// Snapshot and Restore from its own goroutines (never concurrently with
// each other); Map may be called from any goroutine: the map is immutable
// and swapped atomically.
type fsm struct {
	m atomic.Pointer[Map]
}

var _ raft.FSM = (*fsm)(nil)

func newFSM() *fsm {
	f := &fsm{}
	f.m.Store(&Map{})
	return f
}

// Map returns the current map (shared, immutable).
func (f *fsm) Map() Map { return *f.m.Load() }

// Apply applies one committed command. It returns nil or the error saying
// why the command was refused (the map is then unchanged).
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	c, err := decodeCommand(l.Data)
	if err != nil {
		return err
	}
	return f.apply(c)
}

func (f *fsm) apply(c command) error {
	m := f.Map()
	cur, ok := m.Get(c.Entry.Shard)
	switch c.Op {
	case opAdopt:
		if ok {
			return fmt.Errorf("%w: %s", ErrShardExists, c.Entry.Shard)
		}
	case opSetMaster:
		if !ok {
			return fmt.Errorf("%w: %s", ErrUnknownShard, c.Entry.Shard)
		}
		if c.Entry.Epoch <= cur.Epoch {
			return fmt.Errorf("%w: shard %s: %d <= %d", ErrStaleEpoch, c.Entry.Shard, c.Entry.Epoch, cur.Epoch)
		}
	case opSetAddr:
		if !ok {
			return fmt.Errorf("%w: %s", ErrUnknownShard, c.Entry.Shard)
		}
		if cur.Master != c.Entry.Master || cur.Epoch != c.Entry.Epoch {
			return fmt.Errorf("%w: shard %s is %s at %d", ErrMasterChanged, c.Entry.Shard, cur.Master, cur.Epoch)
		}
	}
	next := m.with(c.Entry)
	f.m.Store(&next)
	return nil
}

// Snapshot captures the current map; raft persists it from another
// goroutine while Apply goes on.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return mapSnapshot(f.Map()), nil
}

// Restore replaces the map with a snapshot's.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("control: reading snapshot: %w", err)
	}
	m, err := decodeMap(b)
	if err != nil {
		return err
	}
	f.m.Store(&m)
	return nil
}

type mapSnapshot Map

func (s mapSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(encodeMap(Map(s))); err != nil {
		sink.Cancel()
		return fmt.Errorf("control: writing snapshot: %w", err)
	}
	return sink.Close()
}

func (s mapSnapshot) Release() {}
