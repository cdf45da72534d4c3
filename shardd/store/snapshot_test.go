package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// snapFillStrings fills s with n string keys of every encoding, some with a
// TTL, some raw (appended to).
func snapFillStrings(s *Store, now int64, n int) {
	for i := range n {
		k := "key:" + strconv.Itoa(i)
		switch i % 6 {
		case 0:
			storeExec(s, now, "SET", k, strconv.Itoa(i))
		case 1:
			storeExec(s, now, "SET", k, "value-"+strconv.Itoa(i), "EX", strconv.Itoa(100+i))
		case 2:
			storeExec(s, now, "SET", k, strings.Repeat("v", 50+i%7))
		case 3:
			storeExec(s, now, "APPEND", k, "raw")
			storeExec(s, now, "APPEND", k, strconv.Itoa(i))
		case 4:
			storeExec(s, now, "SETRANGE", k, strconv.Itoa(i%5), "\x00bin\xff")
			storeExec(s, now, "PEXPIREAT", k, strconv.FormatInt(now+int64(i)*1000, 10))
		case 5:
			storeExec(s, now, "SET", k, "")
		}
	}
}

func TestSnapshotStringsRoundTrip(t *testing.T) {
	now := int64(1_700_000_000_000)
	s := New(DefaultConfig())
	snapFillStrings(s, now, 500)
	storeExec(s, now, "SET", "", "empty key")
	want := dump(t, s, now)
	sn, err := s.BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginSnapshot(); !errors.Is(err, ErrSnapshotInProgress) {
		t.Fatalf("second BeginSnapshot: %v", err)
	}
	buf := snapTake(t, s, sn, 7, nil)
	s2 := snapLoad(t, buf)
	if got := dump(t, s2, now); got != want {
		t.Fatalf("loaded store differs\ngot:\n%.2000s\nwant:\n%.2000s", got, want)
	}
	// Encodings and expiry bookkeeping survive.
	for _, k := range []string{"key:0", "key:1", "key:2", "key:3", "key:4", "key:5"} {
		a, b := storeExec(s, now, "OBJECT", "ENCODING", k), storeExec(s2, now, "OBJECT", "ENCODING", k)
		if a != b {
			t.Errorf("OBJECT ENCODING %s: %q before, %q after", k, a, b)
		}
	}
	if s.Len() != s2.Len() || s.ExpiresLen() != s2.ExpiresLen() {
		t.Errorf("Len %d/%d, ExpiresLen %d/%d", s.Len(), s2.Len(), s.ExpiresLen(), s2.ExpiresLen())
	}
	// An empty store.
	e := New(DefaultConfig())
	sn, _ = e.BeginSnapshot()
	if got := dump(t, snapLoad(t, snapTake(t, e, sn, 7, nil)), now); got != "" {
		t.Fatalf("empty snapshot loaded %q", got)
	}
}

// TestSnapshotWhileWriting: a snapshot taken while writes continue is
// exactly the keyspace at BeginSnapshot.
func TestSnapshotWhileWriting(t *testing.T) {
	seed := testSeed(t, 20240607)
	r := rand.New(rand.NewPCG(seed, 7))
	now := int64(1_700_000_000_000)
	s := New(DefaultConfig())
	const n = 10000
	snapFillStrings(s, now, n)
	want := dump(t, s, now)
	sn, err := s.BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	key := func() string {
		if r.IntN(8) == 0 {
			return "new:" + strconv.Itoa(r.IntN(2000)) // not in the snapshot
		}
		return "key:" + strconv.Itoa(r.IntN(n))
	}
	writes := 0
	buf := snapTake(t, s, sn, 100, func(int) {
		for range 60 {
			writes++
			k := key()
			switch r.IntN(10) {
			case 0, 1:
				storeExec(s, now, "SET", k, "new-"+strconv.Itoa(writes))
			case 2:
				storeExec(s, now, "DEL", k, key())
			case 3, 4:
				storeExec(s, now, "APPEND", k, "+"+strconv.Itoa(writes))
			case 5:
				storeExec(s, now, "SETRANGE", k, strconv.Itoa(r.IntN(10)), "##")
			case 6:
				storeExec(s, now, "EXPIRE", k, strconv.Itoa(r.IntN(1000)-100))
			case 7:
				storeExec(s, now, "RENAME", k, key())
			case 8:
				storeExec(s, now, "INCR", k)
				storeExec(s, now, "PERSIST", key())
			case 9:
				storeExec(s, now, "COPY", k, key(), "REPLACE")
				storeExec(s, now, "GETDEL", key())
			}
		}
	})
	got := dump(t, snapLoad(t, buf), now)
	if got != want {
		t.Fatalf("snapshot is not the keyspace at BeginSnapshot (%d writes during it)\n%s", writes, snapDiff(got, want))
	}
	if live := dump(t, s, now); live == want {
		t.Fatal("the writes changed nothing: the test tests nothing")
	}
	// Copy-on-write is off again: a later snapshot sees the current state.
	want2 := dump(t, s, now)
	sn, _ = s.BeginSnapshot()
	if got := dump(t, snapLoad(t, snapTake(t, s, sn, 1000, nil)), now); got != want2 {
		t.Fatalf("second snapshot differs\n%s", snapDiff(got, want2))
	}
}

// TestSnapshotFlushAllDuring: FLUSHALL in the middle of a snapshot, then new
// keys (some with the old names), leaves the snapshot as it began.
func TestSnapshotFlushAllDuring(t *testing.T) {
	now := int64(1_700_000_000_000)
	s := New(DefaultConfig())
	snapFillStrings(s, now, 3000)
	want := dump(t, s, now)
	sn, _ := s.BeginSnapshot()
	buf := snapTake(t, s, sn, 100, func(i int) {
		switch i {
		case 3:
			storeExec(s, now, "APPEND", "key:2999", "x")
			storeExec(s, now, "FLUSHALL")
			if s.Len() != 0 {
				t.Fatalf("FLUSHALL left %d keys", s.Len())
			}
		case 4, 5, 6:
			for j := range 100 {
				k := "key:" + strconv.Itoa(i*100+j)
				storeExec(s, now, "SET", k, "after-flush")
				storeExec(s, now, "APPEND", k, "!")
				storeExec(s, now, "SETRANGE", k, "0", "A")
			}
		case 7:
			storeExec(s, now, "FLUSHDB")
			storeExec(s, now, "SET", "key:1", "again")
		}
	})
	if got := dump(t, snapLoad(t, buf), now); got != want {
		t.Fatalf("snapshot with FLUSHALL during it differs\n%s", snapDiff(got, want))
	}
	if got := storeExec(s, now, "GET", "key:1"); got != "$5\r\nagain\r\n" {
		t.Fatalf("live GET key:1 = %q", got)
	}
}

// snapDiff shows the first lines where two dumps differ.
func snapDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(g), len(w)) && shown < 10; i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			b.WriteString("  got:  " + gl + "\n  want: " + wl + "\n")
			shown++
		}
	}
	return b.String()
}

// snapStringsSample is a small valid snapshot of string keys.
func snapStringsSample(t testing.TB) []byte {
	s := New(DefaultConfig())
	storeExec(s, 1000, "SET", "a", "1")
	storeExec(s, 1000, "SET", "b", "hello", "PXAT", "99999999999999")
	storeExec(s, 1000, "APPEND", "c", "x")
	storeExec(s, 1000, "APPEND", "c", "y")
	sn, _ := s.BeginSnapshot()
	return snapTake(t, s, sn, 7, nil)
}

func TestSnapshotStringsCorrupt(t *testing.T) {
	good := snapStringsSample(t)
	if err := New(DefaultConfig()).LoadSnapshot(bytes.NewReader(good)); err != nil {
		t.Fatalf("good snapshot: %v", err)
	}
	// Every proper prefix is an error (the end marker is missing).
	for i := 0; i < len(good); i++ {
		err := New(DefaultConfig()).LoadSnapshot(bytes.NewReader(good[:i]))
		if !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("prefix of %d bytes: %v", i, err)
		}
	}
	cases := map[string][]byte{
		"unknown record type": {0x42, 1, 'k', 0, 1, 'v', recEnd},
		"string too long":     append([]byte{recString, 1, 'k', 0}, 0xff, 0xff, 0xff, 0xff, 0x7f),
		"key too long":        {recRaw, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"bad varint":          {recString, 1, 'k', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"truncated value":     {recString, 1, 'k', 0, 5, 'a', 'b'},
	}
	for name, b := range cases {
		s := New(DefaultConfig())
		storeExec(s, 1000, "SET", "keep", "me")
		err := s.LoadSnapshot(bytes.NewReader(b))
		if !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s: %v", name, err)
		}
		if got := storeExec(s, 1000, "GET", "keep"); got != "$2\r\nme\r\n" {
			t.Errorf("%s: a failed load changed the store: GET keep = %q", name, got)
		}
	}
}

func FuzzLoadSnapshotString(f *testing.F) {
	f.Add(snapStringsSample(f))
	f.Add([]byte{recEnd})
	f.Add([]byte{recString, 1, 'k', 0, 1, 'v', recEnd})
	f.Add([]byte{recRaw, 0, 2, 0, recEnd})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := New(DefaultConfig())
		if err := s.LoadSnapshot(bytes.NewReader(b)); err != nil {
			if !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("error not wrapping ErrBadSnapshot: %v", err)
			}
			return
		}
		// Whatever loaded must be usable and snapshot again identically.
		now := int64(1000)
		want := dump(t, s, now)
		for k := range s.keys {
			storeExec(s, now, "TYPE", k)
			storeExec(s, now, "OBJECT", "ENCODING", k)
			storeExec(s, now, "PTTL", k)
			break
		}
		sn, err := s.BeginSnapshot()
		if err != nil {
			t.Fatal(err)
		}
		if got := dump(t, snapLoad(t, snapTake(t, s, sn, 3, nil)), now); got != want {
			t.Fatalf("reloaded differs\n%s", snapDiff(got, want))
		}
	})
}

// TestSnapshotCorruptLengthAlloc: a record declaring a huge string (within
// the 512 MB limit) followed by a few bytes fails without allocating
// anything near the declared size; a big string that is really there loads.
func TestSnapshotCorruptLengthAlloc(t *testing.T) {
	declared := binary.AppendUvarint(nil, 500<<20)
	for name, data := range map[string][]byte{
		"value": append(append([]byte{recString, 1, 'k', 0}, declared...), "abc"...),
		"key":   append(append([]byte{recString}, declared...), "abc"...),
		"list":  append(append(snapRecord(recList, "k", 1), declared...), "abc"...),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := New(DefaultConfig()).LoadSnapshot(bytes.NewReader(data))
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s: %v, want ErrBadSnapshot", name, err)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
			t.Errorf("%s: loading allocated %d bytes for a %d-byte input", name, got, len(data))
		}
	}
	// A real string of several chunks still loads, byte for byte.
	big := make([]byte, 3*snapChunk+12345)
	for i := range big {
		big[i] = byte(i * 7)
	}
	rec := append(binary.AppendUvarint([]byte{recString, 1, 'k', 0}, uint64(len(big))), big...)
	s := snapLoad(t, append(rec, recEnd))
	if got := s.keys["k"].val.([]byte); !bytes.Equal(got, big) || cap(got) != len(big) {
		t.Errorf("loaded %d bytes (cap %d), want the %d written", len(got), cap(got), len(big))
	}
}
