package raftstore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/shoal-kv/shoal/internal/testutil"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, testutil.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func entry(i, term uint64) *raft.Log {
	return &raft.Log{Index: i, Term: term, Type: raft.LogCommand, Data: []byte(fmt.Sprintf("cmd-%d", i)),
		Extensions: []byte{byte(i)}, AppendedAt: time.UnixMilli(int64(1_700_000_000_000 + i))}
}

func store(t *testing.T, s *Store, logs ...*raft.Log) {
	t.Helper()
	if err := s.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
}

func bounds(t *testing.T, s *Store) (uint64, uint64) {
	t.Helper()
	f, err := s.FirstIndex()
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.LastIndex()
	if err != nil {
		t.Fatal(err)
	}
	return f, l
}

func wantEntry(t *testing.T, s *Store, want *raft.Log) {
	t.Helper()
	var got raft.Log
	if err := s.GetLog(want.Index, &got); err != nil {
		t.Fatalf("GetLog(%d): %v", want.Index, err)
	}
	if got.Index != want.Index || got.Term != want.Term || got.Type != want.Type || string(got.Data) != string(want.Data) ||
		string(got.Extensions) != string(want.Extensions) || !got.AppendedAt.Equal(want.AppendedAt) {
		t.Fatalf("GetLog(%d) = %+v, want %+v", want.Index, got, *want)
	}
}

func TestLogStore(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if f, l := bounds(t, s); f != 0 || l != 0 {
		t.Fatalf("empty store: %d..%d", f, l)
	}
	var out raft.Log
	if err := s.GetLog(1, &out); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog on empty: %v", err)
	}
	var logs []*raft.Log
	for i := uint64(1); i <= 10; i++ {
		logs = append(logs, entry(i, 1+i/5))
	}
	store(t, s, logs[:3]...)
	s.StoreLog(logs[3])
	store(t, s, logs[4:]...)
	if f, l := bounds(t, s); f != 1 || l != 10 {
		t.Fatalf("bounds %d..%d", f, l)
	}
	for _, e := range logs {
		wantEntry(t, s, e)
	}
	noop := &raft.Log{Index: 11, Term: 3, Type: raft.LogNoop}
	store(t, s, noop)
	wantEntry(t, s, noop)
	if err := s.StoreLog(entry(13, 3)); err == nil {
		t.Fatal("a gap was accepted")
	}

	// Compaction (prefix), conflict (suffix), the middle refused.
	if err := s.DeleteRange(1, 4); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(9, 11); err != nil {
		t.Fatal(err)
	}
	if f, l := bounds(t, s); f != 5 || l != 8 {
		t.Fatalf("after deletes %d..%d", f, l)
	}
	if err := s.GetLog(4, &out); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("GetLog of a compacted entry: %v", err)
	}
	if err := s.DeleteRange(6, 7); err == nil {
		t.Fatal("deleting from the middle was accepted")
	}
	replaced := entry(9, 7)
	store(t, s, replaced)

	// Reopen: everything is there.
	s.Close()
	s = open(t, dir)
	if f, l := bounds(t, s); f != 5 || l != 9 {
		t.Fatalf("after reopen %d..%d", f, l)
	}
	for _, e := range logs[4:8] {
		wantEntry(t, s, e)
	}
	wantEntry(t, s, replaced)

	// A snapshot install deletes everything; the log continues anywhere.
	if err := s.DeleteRange(5, 9); err != nil {
		t.Fatal(err)
	}
	if f, l := bounds(t, s); f != 0 || l != 0 {
		t.Fatalf("after deleting all %d..%d", f, l)
	}
	store(t, s, entry(100, 9), entry(101, 9))
	s.Close()
	s = open(t, dir)
	if f, l := bounds(t, s); f != 100 || l != 101 {
		t.Fatalf("after reset and reopen %d..%d", f, l)
	}
	wantEntry(t, s, entry(101, 9))
}

func TestStableStore(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if _, err := s.Get([]byte("k")); err == nil || err.Error() != "not found" {
		t.Fatalf("Get missing: %v", err)
	}
	if _, err := s.GetUint64([]byte("CurrentTerm")); err == nil || err.Error() != "not found" {
		t.Fatalf("GetUint64 missing: %v", err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 42); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("LastVoteCand"), []byte("a1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("empty"), nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir)
	if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 42 {
		t.Fatalf("CurrentTerm = %d, %v", v, err)
	}
	if v, err := s.Get([]byte("LastVoteCand")); err != nil || string(v) != "a1" {
		t.Fatalf("LastVoteCand = %q, %v", v, err)
	}
	if v, err := s.Get([]byte("empty")); err != nil || len(v) != 0 {
		t.Fatalf("empty = %q, %v", v, err)
	}
	if _, err := s.GetUint64([]byte("LastVoteCand")); err == nil {
		t.Fatal("a 2-byte value read as uint64")
	}
	s.Close()

	// A damaged file is refused, not read as empty (a lost term or vote
	// could make a node vote twice in one term).
	path := filepath.Join(dir, "stable")
	b, _ := os.ReadFile(path)
	b[len(b)-5] ^= 1
	os.WriteFile(path, b, 0o640)
	if _, err := Open(dir, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open with a damaged stable file: %v", err)
	}
}

// TestRaftOnStore runs a single raft node on the store, restarts it, and
// checks that its term, configuration and entries survive.
func TestRaftOnStore(t *testing.T) {
	dir := t.TempDir()
	run := func(bootstrap bool) (uint64, uint64) {
		s := open(t, dir)
		conf := raft.DefaultConfig()
		conf.LocalID = "n1"
		conf.HeartbeatTimeout, conf.ElectionTimeout = 50*time.Millisecond, 50*time.Millisecond
		conf.LeaderLeaseTimeout = 50 * time.Millisecond
		conf.Logger = nil
		conf.LogOutput = testWriter{t}
		_, trans := raft.NewInmemTransport("n1")
		fsm := &countFSM{}
		r, err := raft.NewRaft(conf, fsm, s, s, raft.NewInmemSnapshotStore(), trans)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { r.Shutdown().Error(); s.Close() }()
		if bootstrap {
			if err := r.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{ID: "n1", Address: trans.LocalAddr()}}}).Error(); err != nil {
				t.Fatal(err)
			}
		}
		testutil.WaitFor(t, 5*time.Second, func() (bool, string) { return r.State() == raft.Leader, r.State().String() })
		for i := 0; i < 5; i++ {
			if err := r.Apply([]byte("x"), time.Second).Error(); err != nil {
				t.Fatal(err)
			}
		}
		return r.CurrentTerm(), r.LastIndex()
	}
	term1, last1 := run(true)
	term2, last2 := run(false)
	if term2 <= term1 || last2 < last1+5 {
		t.Fatalf("after restart term %d (was %d), last index %d (was %d)", term2, term1, last2, last1)
	}
}

type countFSM struct{ n int }

func (f *countFSM) Apply(*raft.Log) any                 { f.n++; return nil }
func (f *countFSM) Snapshot() (raft.FSMSnapshot, error) { return nil, errors.New("no snapshots") }
func (f *countFSM) Restore(rc io.ReadCloser) error      { return rc.Close() }

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
