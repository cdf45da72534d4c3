package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	cases := []Record{
		{Index: 1, Epoch: 0, TimeMillis: 0, Payload: nil},
		{Index: 42, Epoch: 7, TimeMillis: 1_700_000_000_123, Payload: []byte("SET k v")},
		{Index: math.MaxUint64, Epoch: math.MaxUint64, TimeMillis: math.MinInt64, Payload: bytes.Repeat([]byte{0xA1}, 1000)},
		{Index: 3, Epoch: 1, TimeMillis: -1, Payload: []byte{}},
	}
	for _, want := range cases {
		b := EncodeRecord([]byte("prefix"), want)
		if !bytes.HasPrefix(b, []byte("prefix")) {
			t.Fatalf("EncodeRecord did not append to dst")
		}
		b = b[len("prefix"):]
		if len(b) != EncodedSize(len(want.Payload)) {
			t.Fatalf("encoded %d bytes, EncodedSize says %d", len(b), EncodedSize(len(want.Payload)))
		}
		got, err := DecodeRecord(b)
		if err != nil {
			t.Fatalf("DecodeRecord(%+v): %v", want, err)
		}
		if got.Index != want.Index || got.Epoch != want.Epoch || got.TimeMillis != want.TimeMillis || !bytes.Equal(got.Payload, want.Payload) {
			t.Fatalf("round trip: got %+v, want %+v", got, want)
		}
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	good := EncodeRecord(nil, Record{Index: 9, Epoch: 2, TimeMillis: 5, Payload: []byte("payload")})
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"zero-filled", make([]byte, 40)},
		{"header only, cut", good[:RecordHeaderSize-1]},
		{"payload cut", good[:len(good)-1]},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"bad magic", mutate(func(b []byte) []byte { b[0] = 0x00; return b })},
		{"future version", mutate(func(b []byte) []byte { b[0] = 0xA2; return b })},
		{"flipped index", mutate(func(b []byte) []byte { b[5] ^= 1; return b })},
		{"flipped payload", mutate(func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b })},
		{"flipped crc", mutate(func(b []byte) []byte { b[1] ^= 1; return b })},
		{"length lies, crc fixed", mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[29:], 1<<31)
			return fixCRC(b)
		})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeRecord(c.in)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("DecodeRecord: got %v, want ErrCorrupt", err)
			}
		})
	}
}

func fixCRC(b []byte) []byte {
	binary.LittleEndian.PutUint32(b[1:], crcOf(b[5:]))
	return b
}

func TestDecodeRecordDoesNotAllocate(t *testing.T) {
	b := EncodeRecord(nil, Record{Index: 1, Payload: make([]byte, 4096)})
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := DecodeRecord(b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("DecodeRecord allocates %v times per call, want 0", allocs)
	}
}

// FuzzDecodeRecord: the decoder never panics, and whatever it accepts
// re-encodes to the same bytes (the encoding is canonical).
func FuzzDecodeRecord(f *testing.F) {
	seeds := []Record{
		{Index: 1, Epoch: 1, TimeMillis: 1, Payload: []byte("x")},
		{Index: 1 << 40, Epoch: 3, TimeMillis: 1_700_000_000_000, Payload: []byte("HSET h f v")},
		{Index: 7, Payload: nil},
		{Index: 8, Epoch: 9, Payload: bytes.Repeat([]byte("ab"), 100)},
	}
	for _, r := range seeds {
		b := EncodeRecord(nil, r)
		f.Add(b)
		for _, cut := range []int{0, 1, 5, RecordHeaderSize - 1, RecordHeaderSize, len(b) - 1} {
			if cut <= len(b) {
				f.Add(b[:cut])
			}
		}
		for _, pos := range []int{0, 1, 4, 5, 13, 21, 29, 32, len(b) - 1} {
			if pos < len(b) {
				flipped := append([]byte(nil), b...)
				flipped[pos] ^= 0x40
				f.Add(flipped)
			}
		}
	}
	f.Add(make([]byte, 64))
	f.Add([]byte{0xA1, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := DecodeRecord(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if again := EncodeRecord(nil, rec); !bytes.Equal(again, b) {
			t.Fatalf("accepted %x but re-encodes to %x", b, again)
		}
	})
}

// FuzzScanSegment: the segment scanner used by repair never panics, its
// valid prefix re-scans clean, and it never reports a later intact record
// inside the valid prefix.
func FuzzScanSegment(f *testing.F) {
	var seg []byte
	for i := uint64(1); i <= 4; i++ {
		seg = appendEntry(seg, EncodeRecord(nil, Record{Index: i, Epoch: 1, Payload: []byte("value")}))
	}
	f.Add(seg)
	f.Add(seg[:len(seg)-3])
	f.Add(append(append([]byte(nil), seg...), 0, 0, 0, 0, 0))
	mid := append([]byte(nil), seg...)
	mid[len(seg)/2] ^= 0xff
	f.Add(mid)
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := scanSegment(data, 1)
		if s.goodBytes > len(data) || s.goodBytes < 0 {
			t.Fatalf("goodBytes %d outside [0,%d]", s.goodBytes, len(data))
		}
		if (s.damage == damageNone) != (s.goodBytes == len(data)) {
			t.Fatalf("damage %v but goodBytes %d of %d", s.damage, s.goodBytes, len(data))
		}
		if s.laterOffset >= 0 && s.laterOffset <= s.goodBytes {
			t.Fatalf("later record at %d inside valid prefix %d", s.laterOffset, s.goodBytes)
		}
		again := scanSegment(data[:s.goodBytes], 1)
		if again.damage != damageNone || again.goodRecords != s.goodRecords {
			t.Fatalf("valid prefix re-scans as %+v, first scan %+v", again, s)
		}
	})
}

// appendEntry appends one tidwall binary entry: uvarint(len) + data.
func appendEntry(dst, data []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(data)))
	return append(dst, data...)
}
