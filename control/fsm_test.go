package control

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/hashicorp/raft"
)

func applyOK(t *testing.T, f *fsm, c command) {
	t.Helper()
	if err := f.Apply(&raft.Log{Type: raft.LogCommand, Data: c.encode()}); err != nil {
		t.Fatalf("%v: %v", c, err)
	}
}

func applyErr(t *testing.T, f *fsm, c command, want error) {
	t.Helper()
	before := f.Map()
	err, _ := f.Apply(&raft.Log{Type: raft.LogCommand, Data: c.encode()}).(error)
	if !errors.Is(err, want) {
		t.Fatalf("%v: got %v, want %v", c, err, want)
	}
	if !slices.Equal(before, f.Map()) {
		t.Fatalf("%v changed the map although refused", c)
	}
}

// TestFSMEpochMonotonic: per shard, a set-master must raise the epoch;
// adopt only once; set-addr only for the current master and epoch.
func TestFSMEpochMonotonic(t *testing.T) {
	f := newFSM()
	a := Entry{Shard: "a", Master: "a1", Addr: "127.0.0.1:7001", Epoch: 3}
	applyOK(t, f, command{Op: opAdopt, Entry: a})
	applyErr(t, f, command{Op: opAdopt, Entry: Entry{Shard: "a", Master: "a2", Epoch: 9}}, ErrShardExists)
	applyErr(t, f, command{Op: opSetMaster, Entry: Entry{Shard: "a", Master: "a2", Epoch: 3}}, ErrStaleEpoch)
	applyErr(t, f, command{Op: opSetMaster, Entry: Entry{Shard: "a", Master: "a2", Epoch: 2}}, ErrStaleEpoch)
	applyErr(t, f, command{Op: opSetMaster, Entry: Entry{Shard: "b", Master: "b1", Epoch: 1}}, ErrUnknownShard)
	applyOK(t, f, command{Op: opSetMaster, Entry: Entry{Shard: "a", Master: "a2", Addr: "127.0.0.1:7002", Epoch: 4}})
	applyErr(t, f, command{Op: opSetMaster, Entry: Entry{Shard: "a", Master: "a1", Epoch: 4}}, ErrStaleEpoch)
	applyErr(t, f, command{Op: opSetAddr, Entry: Entry{Shard: "a", Master: "a1", Addr: "x:1", Epoch: 4}}, ErrMasterChanged)
	applyErr(t, f, command{Op: opSetAddr, Entry: Entry{Shard: "a", Master: "a2", Addr: "x:1", Epoch: 3}}, ErrMasterChanged)
	applyOK(t, f, command{Op: opSetAddr, Entry: Entry{Shard: "a", Master: "a2", Addr: "127.0.0.1:7012", Epoch: 4}})
	applyOK(t, f, command{Op: opAdopt, Entry: Entry{Shard: "0", Master: "z", Addr: "127.0.0.1:1", Epoch: 0}})
	want := Map{{Shard: "0", Master: "z", Addr: "127.0.0.1:1"}, {Shard: "a", Master: "a2", Addr: "127.0.0.1:7012", Epoch: 4}}
	if got := f.Map(); !slices.Equal(got, want) {
		t.Fatalf("map %+v, want %+v", got, want)
	}
	if err, _ := f.Apply(&raft.Log{Type: raft.LogCommand, Data: []byte{9, 0}}).(error); !errors.Is(err, ErrBadEncoding) {
		t.Fatalf("unknown op: %v", err)
	}
	if r := f.Apply(&raft.Log{Type: raft.LogNoop}); r != nil {
		t.Fatalf("noop: %v", r)
	}
}

type bufSink struct {
	bytes.Buffer
	cancelled bool
}

func (s *bufSink) ID() string    { return "test" }
func (s *bufSink) Cancel() error { s.cancelled = true; return nil }
func (s *bufSink) Close() error  { return nil }

// TestFSMSnapshotRestore: snapshot, then restore into a fresh FSM, gives
// the same map; the encoding is documented (golden bytes) and strict.
func TestFSMSnapshotRestore(t *testing.T) {
	f := newFSM()
	applyOK(t, f, command{Op: opAdopt, Entry: Entry{Shard: "b", Master: "b1", Addr: "10.0.0.2:6379", Epoch: 7}})
	applyOK(t, f, command{Op: opAdopt, Entry: Entry{Shard: "a", Master: "a1", Addr: "10.0.0.1:6379", Epoch: 300}})
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	applyOK(t, f, command{Op: opSetMaster, Entry: Entry{Shard: "a", Master: "a2", Epoch: 301}}) // after the snapshot
	var sink bufSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	golden := "SHOALMAP\x01\x02" +
		"\x01a\x02a1\x0d10.0.0.1:6379\xac\x02" +
		"\x01b\x02b1\x0d10.0.0.2:6379\x07"
	if got := sink.String(); got != golden {
		t.Fatalf("snapshot bytes %q, want %q", got, golden)
	}
	g := newFSM()
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	want := Map{{Shard: "a", Master: "a1", Addr: "10.0.0.1:6379", Epoch: 300}, {Shard: "b", Master: "b1", Addr: "10.0.0.2:6379", Epoch: 7}}
	if !slices.Equal(g.Map(), want) {
		t.Fatalf("restored %+v, want %+v", g.Map(), want)
	}
	// Epoch fencing survives the restore.
	applyErr(t, g, command{Op: opSetMaster, Entry: Entry{Shard: "a", Master: "a2", Epoch: 300}}, ErrStaleEpoch)

	for name, bad := range map[string]string{
		"empty":       "",
		"magic":       "SHOALMAX\x01\x00",
		"version":     "SHOALMAP\x02\x00",
		"count":       "SHOALMAP\x01\x05",
		"trailing":    "SHOALMAP\x01\x00x",
		"truncated":   golden[:len(golden)-1],
		"unsorted":    "SHOALMAP\x01\x02\x01b\x01x\x00\x01\x01a\x01x\x00\x01",
		"empty shard": "SHOALMAP\x01\x01\x00\x01x\x00\x01",
	} {
		if err := newFSM().Restore(io.NopCloser(bytes.NewReader([]byte(bad)))); !errors.Is(err, ErrBadEncoding) {
			t.Errorf("%s: Restore = %v, want ErrBadEncoding", name, err)
		}
	}
}

func TestCommandEncoding(t *testing.T) {
	c := command{Op: opSetMaster, Entry: Entry{Shard: "a", Master: "n2", Addr: "[::1]:6379", Epoch: 1 << 40}}
	b := c.encode()
	if want := "\x02\x01a\x02n2\x0a[::1]:6379\x80\x80\x80\x80\x80\x20"; string(b) != want {
		t.Fatalf("encoding %q, want %q", b, want)
	}
	got, err := decodeCommand(b)
	if err != nil || got != c {
		t.Fatalf("decode = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "\x00\x01a\x01b\x00\x01", "\x04\x01a\x01b\x00\x01", "\x01\x01a\x01b\x00", "\x01\x01a\x01b\x00\x01x", "\x01\x05a"} {
		if _, err := decodeCommand([]byte(bad)); !errors.Is(err, ErrBadEncoding) {
			t.Errorf("decode %q = %v, want ErrBadEncoding", bad, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(command{Op: opAdopt, Entry: Entry{Shard: "a", Master: "b", Addr: "c:1", Epoch: 5}}.encode())
	f.Add(encodeMap(Map{{Shard: "a", Master: "b", Addr: "c:1", Epoch: 5}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := decodeCommand(b); err == nil && !bytes.Equal(c.encode(), b) {
			// Varints have one canonical form only when minimal; accept
			// non-minimal input but the decoded value must round-trip.
			if c2, err := decodeCommand(c.encode()); err != nil || c2 != c {
				t.Fatalf("command %q does not round-trip: %+v", b, c)
			}
		}
		if m, err := decodeMap(b); err == nil {
			m2, err := decodeMap(encodeMap(m))
			if err != nil || !slices.Equal(m, m2) {
				t.Fatalf("map %q does not round-trip: %+v", b, m)
			}
		}
	})
}
