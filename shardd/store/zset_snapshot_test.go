package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestZSetSnapshotRoundTrip snapshots a store holding sorted sets of both
// encodings while commands keep changing them, loads the snapshot into a
// fresh store and checks it holds exactly the content (and encodings) of
// the moment the snapshot began.
func TestZSetSnapshotRoundTrip(t *testing.T) {
	const now = 1_700_000_000_000
	s := New(DefaultConfig())
	for _, line := range []string{
		"ZADD small 1 a 2 b 3 c -0 zero inf i -inf ni 0.1 p",
		zsetFill("big", "m", 300, 17),
		"ZADD big -0 negzero 1e-300 tiny " + strings.Repeat("L", 100) + " long",
		"ZADD shrunk 1 " + strings.Repeat("S", 70) + " 2 x",
		"ZREM shrunk " + strings.Repeat("S", 70),
		"ZADD withttl 5 x",
		"ZADD lex 0 a 0 b 0 c",
	} {
		storeExecLine(s, now, line)
	}
	s.setExpire([]byte("withttl"), now+100000)
	for i := 0; i < 40; i++ {
		storeExecLine(s, now, fmt.Sprintf("ZADD many%d %d a %d b", i, i, -i))
	}
	want, wantEnc := dump(t, s, now), objectEncodings(s)
	wantRank := storeExecLine(s, now, "ZRANK big m299")

	sn, err := s.BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	writes := []string{
		"ZADD small 10 new", "ZREM big m001 m002", "ZPOPMIN lex", "ZINCRBY big 5 m100", "ZREMRANGEBYRANK big 0 50",
		"ZUNIONSTORE small 2 small big", "ZADD shrunk 9 y", "ZPOPMAX withttl", "BZPOPMIN many3 0", "ZRANGESTORE many4 big 0 10",
		"ZADD many5 XX INCR 1 a", "ZREMRANGEBYSCORE many6 -inf +inf", "ZREMRANGEBYLEX lex - +", "ZDIFFSTORE many7 1 nokey",
	}
	var buf []byte
	for done, i := false, 0; !done; i++ {
		buf, done = sn.Next(buf, 7)
		if i < len(writes) {
			storeExecLine(s, now, writes[i])
		}
	}
	sn.Close()
	for _, w := range writes[min(len(writes), 1):] {
		storeExecLine(s, now, w)
	}

	loaded := New(DefaultConfig())
	if err := loaded.LoadSnapshot(bytes.NewReader(buf)); err != nil {
		t.Fatal(err)
	}
	if got := dump(t, loaded, now); got != want {
		t.Errorf("loaded snapshot differs\nwant:\n%s\ngot:\n%s", want, got)
	}
	if got := objectEncodings(loaded); got != wantEnc {
		t.Errorf("encodings differ\nwant %s\ngot  %s", wantEnc, got)
	}
	// The loaded sets work.
	if out := storeExecLine(loaded, now, "ZRANK big m299"); out != wantRank || wantRank[0] != ':' {
		t.Errorf("ZRANK after load: %q, want %q", out, wantRank)
	}
}

func zsetPayload(enc byte, items ...zsetItem) []byte {
	b := []byte{enc}
	b = binary.AppendUvarint(b, uint64(len(items)))
	for _, it := range items {
		b = appendBytes(b, []byte(it.member))
		b = binary.AppendUvarint(b, math.Float64bits(it.score))
	}
	return b
}

func TestZSetSnapshotCorrupt(t *testing.T) {
	many := make([]zsetItem, 129)
	for i := range many {
		many[i] = zsetItem{score: float64(i), member: fmt.Sprint(i)}
	}
	valid := zsetPayload(0, zsetItem{1, "a"}, zsetItem{2, "b"})
	for _, tc := range []struct {
		name    string
		payload []byte
	}{
		{"empty payload", nil},
		{"encoding only", []byte{0}},
		{"bad encoding", zsetPayload(2, zsetItem{1, "a"})},
		{"no elements", zsetPayload(0)},
		{"truncated member", valid[:5]},
		{"truncated score", valid[:len(valid)-3]},
		{"NaN score", zsetPayload(0, zsetItem{math.NaN(), "a"})},
		{"duplicate member", zsetPayload(1, zsetItem{1, "a"}, zsetItem{2, "a"})},
		{"listpack too long", zsetPayload(0, many...)},
		{"listpack long member", zsetPayload(0, zsetItem{1, strings.Repeat("x", 65)})},
		{"listpack -0", zsetPayload(0, zsetItem{math.Copysign(0, -1), "a"})},
		{"huge count", append([]byte{1}, binary.AppendUvarint(nil, 1<<31)...)},
		{"absurd count", append([]byte{1}, binary.AppendUvarint(nil, 1<<40)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := New(DefaultConfig()).LoadSnapshot(bytes.NewReader(snapOneRecord(recZSet, tc.payload)))
			if !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("LoadSnapshot: %v, want ErrBadSnapshot", err)
			}
		})
	}
	if err := New(DefaultConfig()).LoadSnapshot(bytes.NewReader(snapOneRecord(recZSet, valid))); err != nil {
		t.Fatalf("valid payload: %v", err)
	}
}

// FuzzLoadSnapshotZSet feeds arbitrary zset payloads to the decoder: it
// must never panic, and whatever it accepts must be a consistent set.
func FuzzLoadSnapshotZSet(f *testing.F) {
	f.Add(zsetPayload(0, zsetItem{1, "a"}, zsetItem{2, "b"}))
	f.Add(zsetPayload(1, zsetItem{math.Copysign(0, -1), "a"}, zsetItem{math.Inf(1), strings.Repeat("x", 70)}))
	f.Add(zsetPayload(0, zsetItem{1, "a"}, zsetItem{1, "a"}))
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		s := New(DefaultConfig())
		if err := s.LoadSnapshot(bytes.NewReader(snapOneRecord(recZSet, payload))); err != nil {
			return
		}
		z, ok := s.keys["k"].val.(*zsetValue)
		if !ok {
			t.Fatalf("loaded %T", s.keys["k"].val)
		}
		var items []zsetItem
		z.tree.ascend(0, func(it *zsetItem) bool { items = append(items, *it); return true })
		if len(items) == 0 || len(items) != z.length() {
			t.Fatalf("%d items, length %d", len(items), z.length())
		}
		for i := range items {
			if i > 0 && !items[i-1].less(&items[i]) {
				t.Fatalf("out of order")
			}
			if sc, ok := z.get([]byte(items[i].member)); !ok || math.Float64bits(sc) != math.Float64bits(items[i].score) {
				t.Fatalf("member %q: %v %v", items[i].member, sc, ok)
			}
		}
		if z.dict != nil && len(z.dict) != len(items) {
			t.Fatalf("dict has %d members, tree %d", len(z.dict), len(items))
		}
		storeExecLine(s, 0, "ZRANGE k 0 -1 WITHSCORES")
		storeExecLine(s, 0, "ZPOPMIN k 1000")
	})
}
