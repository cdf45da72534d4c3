package wal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Record is one entry of the log: the effect of one write on the master,
// stamped with its position, the master's epoch and the master's clock.
type Record struct {
	// Index is the record's position in the log: consecutive, no gaps.
	Index uint64
	// Epoch is the master epoch the record was written in (failover bumps it).
	Epoch uint64
	// TimeMillis is the master's clock when the write ran, in Unix
	// milliseconds. Replicas apply the record with this time, never their own.
	TimeMillis int64
	// Payload is the effect, opaque to this package.
	Payload []byte
}

// Record encoding, version 1. All integers are little endian.
//
//	offset size field
//	0      1    magic/version byte, 0xA1 (high nibble 0xA = shoal record, low nibble = version 1)
//	1      4    CRC32C (Castagnoli) of bytes 5..end
//	5      8    index
//	13     8    epoch
//	21     8    master time, Unix milliseconds (int64)
//	29     4    payload length (uint32)
//	33     n    payload
const (
	// RecordHeaderSize is the number of bytes a record adds to its payload.
	RecordHeaderSize = 33
	// MaxPayloadSize is the largest payload Append and EncodeRecord accept.
	MaxPayloadSize = 1 << 30

	recordMagic      = 0xA1
	recordMagicMask  = 0xF0
	recordMagicValue = 0xA0
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// EncodedSize returns the size of the encoding of a record whose payload is
// payloadLen bytes long.
func EncodedSize(payloadLen int) int { return RecordHeaderSize + payloadLen }

// EncodeRecord appends the encoding of r to dst and returns the extended
// slice. It panics if the payload is longer than MaxPayloadSize (callers
// check first; Append returns ErrTooLarge instead).
func EncodeRecord(dst []byte, r Record) []byte {
	if len(r.Payload) > MaxPayloadSize {
		panic(fmt.Sprintf("wal: EncodeRecord: payload of %d bytes exceeds MaxPayloadSize", len(r.Payload)))
	}
	start := len(dst)
	var h [RecordHeaderSize]byte
	h[0] = recordMagic
	binary.LittleEndian.PutUint64(h[5:], r.Index)
	binary.LittleEndian.PutUint64(h[13:], r.Epoch)
	binary.LittleEndian.PutUint64(h[21:], uint64(r.TimeMillis))
	binary.LittleEndian.PutUint32(h[29:], uint32(len(r.Payload)))
	dst = append(dst, h[:]...)
	dst = append(dst, r.Payload...)
	crc := crc32.Checksum(dst[start+5:], castagnoli)
	binary.LittleEndian.PutUint32(dst[start+1:], crc)
	return dst
}

// DecodeRecord decodes one record that occupies exactly b. Every failure
// wraps ErrCorrupt. The returned Payload aliases b (no copy, no allocation):
// keep b unchanged while the record is in use. DecodeRecord never panics,
// whatever b holds.
func DecodeRecord(b []byte) (Record, error) {
	if len(b) < RecordHeaderSize {
		return Record{}, fmt.Errorf("%w: record of %d bytes is shorter than its %d-byte header", ErrCorrupt, len(b), RecordHeaderSize)
	}
	if b[0] != recordMagic {
		if b[0]&recordMagicMask == recordMagicValue {
			return Record{}, fmt.Errorf("%w: unsupported record version %d", ErrCorrupt, b[0]&^recordMagicMask)
		}
		return Record{}, fmt.Errorf("%w: bad magic byte 0x%02x", ErrCorrupt, b[0])
	}
	want := binary.LittleEndian.Uint32(b[1:])
	if got := crc32.Checksum(b[5:], castagnoli); got != want {
		return Record{}, fmt.Errorf("%w: checksum mismatch (stored %08x, computed %08x)", ErrCorrupt, want, got)
	}
	return decodeTrusted(b)
}

// decodeTrusted decodes a record without verifying its checksum: for bytes
// this process encoded itself (the tail cache). It still checks the length.
func decodeTrusted(b []byte) (Record, error) {
	if len(b) < RecordHeaderSize {
		return Record{}, fmt.Errorf("%w: record of %d bytes is shorter than its %d-byte header", ErrCorrupt, len(b), RecordHeaderSize)
	}
	n := binary.LittleEndian.Uint32(b[29:])
	if uint64(n) != uint64(len(b)-RecordHeaderSize) {
		return Record{}, fmt.Errorf("%w: payload length %d does not match record size %d", ErrCorrupt, n, len(b))
	}
	return Record{
		Index:      binary.LittleEndian.Uint64(b[5:]),
		Epoch:      binary.LittleEndian.Uint64(b[13:]),
		TimeMillis: int64(binary.LittleEndian.Uint64(b[21:])),
		Payload:    b[RecordHeaderSize:],
	}, nil
}

// recordEpoch reads the epoch field of an encoded record.
func recordEpoch(b []byte) uint64 { return binary.LittleEndian.Uint64(b[13:]) }
