package repl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoal-kv/shoal/internal/testutil"
	"github.com/shoal-kv/shoal/proto"
	"github.com/shoal-kv/shoal/wal"
)

// openLog opens a log in a temp dir with records of the given epochs.
func openLog(t *testing.T, epochs ...uint64) *wal.Log {
	t.Helper()
	cfg := wal.DefaultConfig()
	cfg.Dir = t.TempDir()
	cfg.Fsync = wal.FsyncNo
	lg, err := wal.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close() })
	appendEpochs(t, lg, epochs...)
	return lg
}

func appendEpochs(t *testing.T, lg *wal.Log, epochs ...uint64) {
	t.Helper()
	var last uint64
	for _, e := range epochs {
		idx, err := lg.Append(e, time.Now().UnixMilli(), fmt.Appendf(nil, "rec-%d", lg.NextIndex()))
		if err != nil {
			t.Fatal(err)
		}
		last = idx
	}
	if last > 0 {
		if err := lg.WaitDurable(context.Background(), last); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDecide(t *testing.T) {
	// Master log: 1-4 epoch 1, 5-7 epoch 3, 8-9 epoch 4.
	lg := openLog(t, 1, 1, 1, 1, 3, 3, 3, 4, 4)
	m := NewMaster(MasterConfig{Log: lg})
	for _, tc := range []struct {
		name string
		req  SyncRequest
		want plan
	}{
		{"empty replica, whole log", SyncRequest{Next: 1}, plan{kind: wordContinue, index: 1}},
		{"same history", SyncRequest{Next: 6, LastEpoch: 3}, plan{kind: wordContinue, index: 6}},
		{"caught up", SyncRequest{Next: 10, LastEpoch: 4}, plan{kind: wordContinue, index: 10}},
		{"diverged in epoch 2 after 4", SyncRequest{Next: 7, LastEpoch: 2}, plan{kind: wordTruncate, index: 4}},
		{"deposed master of epoch 3 with a longer suffix", SyncRequest{Next: 13, LastEpoch: 3}, plan{kind: wordTruncate, index: 7}},
		{"ahead in the master's own epoch", SyncRequest{Next: 12, LastEpoch: 4}, plan{kind: wordTruncate, index: 9}},
		{"diverged before the first record", SyncRequest{Next: 3, LastEpoch: 0}, plan{kind: wordTruncate, index: 0}},
	} {
		if got := m.decide(tc.req); got != tc.want {
			t.Errorf("%s: %+v → %+v, want %+v", tc.name, tc.req, got, tc.want)
		}
	}
	// After compaction, positions before the log's start need a snapshot.
	if err := lg.TruncateFront(5); err != nil {
		t.Fatal(err)
	}
	for _, req := range []SyncRequest{{Next: 1}, {Next: 3, LastEpoch: 1}, {Next: 5, LastEpoch: 1}} {
		if got := m.decide(req); got.kind != wordFullSync {
			t.Errorf("%+v after compaction → %+v, want FULLSYNC", req, got)
		}
	}
	if got := m.decide(SyncRequest{Next: 7, LastEpoch: 2}); got != (plan{kind: wordTruncate, index: 4}) {
		t.Errorf("divergence below the log's start → %+v, want TRUNCATE 4 (then a snapshot)", got)
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := int64(1); i <= 1000; i++ {
		h.add(i) // 1..1000 µs
	}
	st := h.stats()
	if st.Samples != 1000 || st.Max != 1000*time.Microsecond {
		t.Fatalf("stats %+v", st)
	}
	within := func(got time.Duration, want int64) bool {
		g := got.Microseconds()
		return g >= want && g <= want+want/8+1
	}
	if !within(st.P50, 500) || !within(st.P99, 990) {
		t.Fatalf("p50 %v p99 %v, want about 500µs and 990µs", st.P50, st.P99)
	}
	for us := int64(0); us < 1<<40; us = us*3 + 1 {
		b := bucketOf(us)
		if bucketUpper(b) < us || (b > 0 && bucketUpper(b-1) >= us) {
			t.Fatalf("%d µs in bucket %d [%d, %d]", us, b, bucketUpper(b-1)+1, bucketUpper(b))
		}
	}
	h.reset()
	if st := h.stats(); st.Samples != 0 || st.P99 != 0 {
		t.Fatalf("after reset: %+v", st)
	}
}

func TestFrames(t *testing.T) {
	r := wal.Record{Index: 7, Epoch: 2, TimeMillis: 1234, Payload: []byte("*1\r\n$4\r\nPING\r\n")}
	f := appendRecordFrame(nil, r)
	rd := proto.NewReader(bytes.NewReader(f), proto.Limits{})
	frame, err := rd.ReadReply()
	if err != nil {
		t.Fatal(err)
	}
	b, ok := bulkPayload(frame)
	if !ok {
		t.Fatalf("not a bulk frame: %q", frame)
	}
	got, err := wal.DecodeRecord(b)
	if err != nil || got.Index != 7 || got.Epoch != 2 || got.TimeMillis != 1234 || !bytes.Equal(got.Payload, r.Payload) {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	b[len(b)-1] ^= 1
	if _, err := wal.DecodeRecord(b); !errors.Is(err, wal.ErrCorrupt) {
		t.Fatalf("a flipped bit was not caught: %v", err)
	}
	req, err := ParseSync(bytes.Fields(bytes.TrimSpace([]byte("SHOAL SYNC 12 3 6380"))))
	if err != nil || req != (SyncRequest{Next: 12, LastEpoch: 3, Port: 6380}) {
		t.Fatalf("ParseSync: %+v, %v", req, err)
	}
	for _, bad := range []string{"SHOAL SYNC 0 0 1", "SHOAL SYNC x 0 1", "SHOAL SYNC 1 0 70000", "SHOAL SYNC 1 0"} {
		if _, err := ParseSync(bytes.Fields([]byte(bad))); !errors.Is(err, ErrProtocol) {
			t.Errorf("ParseSync(%q) = %v", bad, err)
		}
	}
}

// memApplier is an in-memory replica state: the records it applied.
type memApplier struct {
	mu       sync.Mutex
	recs     []wal.Record // recs[i].Index == base+i+1
	base     uint64       // index covered by the installed snapshot
	baseEp   uint64
	snapshot []byte
	epoch    uint64
}

func (a *memApplier) Position() (uint64, uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if n := len(a.recs); n > 0 {
		return a.recs[n-1].Index, a.recs[n-1].Epoch
	}
	return a.base, a.baseEp
}

func (a *memApplier) Logged() uint64 { i, _ := a.Position(); return i }

func (a *memApplier) Apply(recs []wal.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range recs {
		if want := a.base + uint64(len(a.recs)) + 1; r.Index != want {
			return fmt.Errorf("applied %d, expected %d", r.Index, want)
		}
		r.Payload = append([]byte(nil), r.Payload...)
		a.recs = append(a.recs, r)
	}
	return nil
}

func (a *memApplier) Truncate(index uint64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if index < a.base {
		a.recs, a.base, a.baseEp, a.snapshot = nil, 0, 0, nil
		return nil
	}
	a.recs = a.recs[:min(uint64(len(a.recs)), index-a.base)]
	return nil
}

func (a *memApplier) InstallSnapshot(index, epoch uint64) (SnapshotSink, error) {
	return &memSink{a: a, index: index, epoch: epoch}, nil
}

func (a *memApplier) MasterEpoch(e uint64) {
	a.mu.Lock()
	a.epoch = max(a.epoch, e)
	a.mu.Unlock()
}

type memSink struct {
	a            *memApplier
	buf          bytes.Buffer
	index, epoch uint64
}

func (s *memSink) Write(p []byte) (int, error) { return s.buf.Write(p) }
func (s *memSink) Abort()                      {}
func (s *memSink) Commit() error {
	s.a.mu.Lock()
	defer s.a.mu.Unlock()
	s.a.recs, s.a.base, s.a.baseEp, s.a.snapshot = nil, s.index, s.epoch, s.buf.Bytes()
	return nil
}

// fakeSnapshots serves a fixed image "image@<index>" in small chunks.
type fakeSnapshots struct{ lg *wal.Log }

func (f fakeSnapshots) BeginSnapshot() (Snapshot, error) {
	idx := f.lg.LastIndex()
	return &fakeSnap{index: idx, data: []byte(strings.Repeat(fmt.Sprintf("image@%d;", idx), 100))}, nil
}

type fakeSnap struct {
	index uint64
	data  []byte
}

func (s *fakeSnap) Index() uint64 { return s.index }
func (s *fakeSnap) Epoch() uint64 { return 1 }
func (s *fakeSnap) Next(dst []byte) ([]byte, bool) {
	n := min(len(s.data), 100)
	dst = append(dst, s.data[:n]...)
	s.data = s.data[n:]
	return dst, len(s.data) == 0
}
func (s *fakeSnap) Close() {}

// serveMaster accepts connections and hands SHOAL SYNC to m, as shardd does.
func serveMaster(t *testing.T, m *Master) (addr string, conns chan net.Conn) {
	ln := testutil.Listen(t)
	conns = make(chan net.Conn, 16)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- nc
			go func() {
				defer nc.Close()
				rd := proto.NewReader(nc, proto.Limits{})
				for {
					args, err := rd.ReadCommand()
					if err != nil {
						return
					}
					req, err := ParseSync(args)
					if err != nil {
						nc.Write(proto.AppendError(nil, "ERR "+err.Error()))
						continue
					}
					if keep, _ := m.ServeSync(nc, rd, req); !keep {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), conns
}

func TestStreamReconnectAndSnapshot(t *testing.T) {
	lg := openLog(t, 1, 1, 1)
	m := NewMaster(MasterConfig{Log: lg, Snapshots: fakeSnapshots{lg}, Epoch: func() uint64 { return 1 }, HeartbeatInterval: 50 * time.Millisecond})
	addr, conns := serveMaster(t, m)
	app := &memApplier{}
	r := StartReplica(ReplicaConfig{MasterAddr: addr, Applier: app, Logger: testutil.Logger(t), AckInterval: 20 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	defer r.Stop()
	caughtUp := func(want uint64) {
		t.Helper()
		testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
			i, _ := app.Position()
			return i == want && m.Acked(want) == 1, fmt.Sprintf("replica at %d, acked by %d, want %d", i, m.Acked(want), want)
		})
	}
	caughtUp(3)
	// Records are pushed as they are written.
	appendEpochs(t, lg, 1, 1)
	caughtUp(5)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n := m.WaitAck(ctx, 5, 1); n != 1 {
		t.Fatalf("WaitAck = %d", n)
	}
	if fs := m.Followers(); len(fs) != 1 || fs[0].State != "online" || fs[0].Acked != 5 {
		t.Fatalf("followers: %+v", fs)
	}
	// A broken connection: the replica reconnects and resumes from 6.
	(<-conns).Close()
	appendEpochs(t, lg, 1)
	caughtUp(6)
	if st := r.Status(); st.PartialSyncs != 2 || st.FullSyncs != 0 || !st.LinkUp {
		t.Fatalf("status after reconnect: %+v", st)
	}
	// Compaction past the replica's position while it is away: snapshot.
	r.Stop()
	appendEpochs(t, lg, 1, 1, 1)
	if err := lg.TruncateFront(8); err != nil {
		t.Fatal(err)
	}
	r = StartReplica(ReplicaConfig{MasterAddr: addr, Applier: app, Logger: testutil.Logger(t), AckInterval: 20 * time.Millisecond})
	caughtUp(9)
	app.mu.Lock()
	snap, base := string(app.snapshot), app.base
	app.mu.Unlock()
	if base != 9 || !strings.HasPrefix(snap, "image@9;") || len(snap) != 100*len("image@9;") {
		t.Fatalf("snapshot at %d: %.40q (%d bytes)", base, snap, len(snap))
	}
	appendEpochs(t, lg, 2)
	caughtUp(10)
	if st := m.Stats(); st.SyncFull != 1 || st.SyncPartial != 2 {
		t.Fatalf("master stats %+v", st)
	}
	// A master that cannot serve answers an error; the replica retries.
	if _, err := ParseSync([][]byte{[]byte("SHOAL"), []byte("SYNC")}); err == nil {
		t.Fatal("short SYNC parsed")
	}
}

func TestReplicaTruncatesDivergentSuffix(t *testing.T) {
	lg := openLog(t, 1, 1, 1, 2, 2) // the new master: epoch 2 from index 4
	m := NewMaster(MasterConfig{Log: lg, Epoch: func() uint64 { return 2 }})
	addr, _ := serveMaster(t, m)
	// The deposed master's history: 1-3 shared, then 4-6 of its own epoch 1.
	app := &memApplier{}
	for i := uint64(1); i <= 6; i++ {
		app.recs = append(app.recs, wal.Record{Index: i, Epoch: 1, Payload: []byte("old")})
	}
	r := StartReplica(ReplicaConfig{MasterAddr: addr, Applier: app, Logger: testutil.Logger(t)})
	defer r.Stop()
	testutil.WaitFor(t, 10*time.Second, func() (bool, string) {
		i, e := app.Position()
		return i == 5 && e == 2, fmt.Sprintf("at %d epoch %d", i, e)
	})
	app.mu.Lock()
	defer app.mu.Unlock()
	for _, rec := range app.recs[3:] {
		if rec.Epoch != 2 || string(rec.Payload) == "old" {
			t.Fatalf("record %d kept from the divergent suffix: %+v", rec.Index, rec)
		}
	}
	if st := r.Status(); st.Truncates != 1 {
		t.Fatalf("truncations %d", st.Truncates)
	}
	if app.epoch != 2 {
		t.Fatalf("master epoch seen %d", app.epoch)
	}
}
